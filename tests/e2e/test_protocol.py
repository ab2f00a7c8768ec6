"""Packet-level answers: whatever capabilities a client negotiated (CLIENT_DEPRECATE_EOF,
multi-statements, multi-results), Sluice's answer is byte-identical to MariaDB's own answer
to a client with the same capabilities, even when clients with different capabilities take
turns on the same backend connection."""
import pytest

import helpers as h
from helpers import Caps, PRIMARY_PORT, RawClient

CAPS = {
    "plain": Caps.BASE,
    "multi": Caps.BASE | Caps.MULTI_STATEMENTS | Caps.MULTI_RESULTS,
    "multi+deprecate_eof": Caps.BASE | Caps.MULTI_STATEMENTS | Caps.MULTI_RESULTS | Caps.DEPRECATE_EOF,
    "deprecate_eof": Caps.BASE | Caps.DEPRECATE_EOF,
}


@pytest.fixture(scope="module")
def proc_two_rs(cluster):
    p = h.unique_name("p_raw")
    d = h.direct(PRIMARY_PORT)
    h.query(d, f"CREATE PROCEDURE {p}() BEGIN SELECT 1 AS a; SELECT 'two' AS b, NULL AS c; END")
    h.wait_replicas_caught_up()
    yield p
    h.query(d, f"DROP PROCEDURE IF EXISTS {p}")
    d.close()


def _statements(proc):
    return [
        "SELECT 1 AS a, 'x' AS b, NULL AS c, 2.5 AS d",
        "SELECT 1 FROM DUAL WHERE 0",
        "DO 1",
        "SELECT * FROM no_such_table_raw",
        "SELEC 1",
        "SELECT 1 AS one; SELECT 2 AS two",   # syntax error unless CLIENT_MULTI_STATEMENTS
        "DO 1; SELECT 'after do' AS s",
        "SELECT 1; SELECT * FROM no_such_table_raw; SELECT 3",
        f"CALL {proc}()",                     # error 1312 unless CLIENT_MULTI_RESULTS
        "SELECT 'end' AS e",
    ]


def _answers(port, caps, statements):
    c = RawClient(port, caps)
    try:
        got_caps = c.caps
        return got_caps, [(sql, c.query(sql)) for sql in statements]
    finally:
        c.close()


def _fmt(packets):
    return [p[:80].hex(" ") + (" …" if len(p) > 80 else "") for p in packets]


def _server_caps(port):
    c = RawClient(port)
    try:
        return c.server_caps
    finally:
        c.close()


def _compare(port, name, caps, statements, direct):
    """direct: MariaDB's answers to a client with the capabilities this client ends up with
    on Sluice (Sluice may offer fewer; test_offers_the_capabilities_mariadb_offers says so)."""
    got_caps, got = _answers(port, caps, statements)
    want_caps, want = direct
    assert got_caps == want_caps
    for (sql, g), (_, w) in zip(got, want):
        assert g == w, (f"client '{name}' (caps 0x{caps:08x}), {sql!r}:\n"
                        f"Sluice:  {_fmt(g)}\nMariaDB: {_fmt(w)}")


@pytest.mark.parametrize("name", list(CAPS))
def test_answer_format_matches_negotiated_capabilities(sluice, proc_two_rs, name):
    statements = _statements(proc_two_rs)
    caps = CAPS[name] & _server_caps(sluice.port)
    direct = _answers(PRIMARY_PORT, caps, statements)
    _compare(sluice.port, name, CAPS[name], statements, direct)


def test_offers_the_capabilities_mariadb_offers(sluice):
    """Modern connectors use CLIENT_DEPRECATE_EOF when offered; MariaDB 10.11 offers it."""
    wanted = (Caps.DEPRECATE_EOF | Caps.MULTI_STATEMENTS | Caps.MULTI_RESULTS | Caps.PLUGIN_AUTH
              | Caps.PLUGIN_AUTH_LENENC | Caps.SECURE_CONNECTION | Caps.PROTOCOL_41
              | Caps.TRANSACTIONS | Caps.CONNECT_WITH_DB)
    mariadb, sluice_caps = _server_caps(PRIMARY_PORT), _server_caps(sluice.port)
    assert mariadb & wanted == wanted
    missing = wanted & ~sluice_caps
    assert not missing, (f"Sluice's handshake lacks capability bits 0x{missing:08x} that MariaDB "
                         f"offers (Sluice 0x{sluice_caps:08x}, MariaDB 0x{mariadb:08x})")


def test_clients_with_different_capabilities_take_turns_on_one_backend(sluice_factory, proc_two_rs):
    s = sluice_factory({"pool": {"max_connections": 1, "max_idle": 1}})
    statements = _statements(proc_two_rs)
    offered = _server_caps(s.port)
    direct = {name: _answers(PRIMARY_PORT, caps & offered, statements)
              for name, caps in CAPS.items()}
    for _ in range(2):
        for name, caps in CAPS.items():
            _compare(s.port, name, caps, statements, direct[name])
