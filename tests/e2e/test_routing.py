"""Read/write splitting as a client sees it: which server (@@port / @@server_id) answers."""
from collections import Counter

import pymysql
import pytest

import helpers as h
from helpers import PRIMARY_PORT, REPLICA_PORTS


def test_reads_go_to_replicas(sluice):
    answers = []
    for _ in range(50):
        c = h.connect(sluice.port)
        try:
            port, server_id = h.query(c, "SELECT @@port, @@server_id")[0]
        finally:
            c.close()
        assert server_id == port, "cluster invariant: server_id = port"
        answers.append(port)
    seen = Counter(answers)
    assert set(seen) <= set(REPLICA_PORTS), f"autocommit reads answered by {dict(seen)}; " \
                                            f"expected only replicas {REPLICA_PORTS}"
    assert set(seen) == set(REPLICA_PORTS), f"50 fresh connections used only {dict(seen)}"

    # Same on one reused connection, and for other read statements.
    c = h.connect(sluice.port)
    try:
        for sql in ["SELECT @@port", "/* leading comment */ SELECT @@port",
                    "  select\n@@port", "(SELECT @@port)"]:
            port = h.scalar(c, sql)
            assert port in REPLICA_PORTS, f"{sql!r} answered by {port}"
        rows = h.query(c, "SHOW VARIABLES LIKE 'port'")
        assert int(rows[0][1]) in REPLICA_PORTS, f"SHOW VARIABLES answered by {rows}"
    finally:
        c.close()


def test_writes_go_to_primary(sluice):
    t = h.unique_name("t_writes")
    c = h.connect(sluice.port)
    try:
        h.query(c, f"CREATE TABLE {t} (id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(64), "
                   f"sid INT) CHARACTER SET utf8mb4")
        with c.cursor() as cur:
            n = cur.execute(f"INSERT INTO {t} (v, sid) VALUES (%s, @@server_id), (%s, @@server_id)",
                            ("hello", "日本語 🐟"))
            assert n == 2
        # UPDATE and DELETE too.
        with c.cursor() as cur:
            assert cur.execute(f"UPDATE {t} SET v = CONCAT(v, '!') WHERE v = 'hello'") == 1
            assert cur.execute(f"INSERT INTO {t} (v, sid) VALUES ('gone', @@server_id)") == 1
            assert cur.execute(f"DELETE FROM {t} WHERE v = 'gone'") == 1
    finally:
        c.close()

    d = h.direct(PRIMARY_PORT)
    try:
        rows = h.query(d, f"SELECT v, sid FROM {t} ORDER BY id")
    finally:
        d.close()
    assert rows == (("hello!", PRIMARY_PORT), ("日本語 🐟", PRIMARY_PORT)), \
        f"rows on the primary (read directly): {rows}"

    # ...and it replicates: the replicas have the same rows, readable through Sluice too.
    h.wait_replicas_caught_up()
    for port in REPLICA_PORTS:
        d = h.direct(port)
        try:
            assert h.query(d, f"SELECT v, sid FROM {t} ORDER BY id") == rows, f"replica {port}"
        finally:
            d.close()
    c = h.connect(sluice.port)
    try:
        assert h.query(c, f"SELECT v, sid FROM {t} ORDER BY id") == rows
    finally:
        c.close()


def test_transaction_reads_from_primary(sluice):
    t = h.unique_name("t_txn")
    d = h.direct(PRIMARY_PORT)
    h.query(d, f"CREATE TABLE {t} (id INT PRIMARY KEY)")
    h.wait_replicas_caught_up()

    c = h.connect(sluice.port)  # autocommit on
    try:
        for begin in ("BEGIN", "START TRANSACTION", "start transaction read write"):
            h.query(c, begin)
            ports = [h.scalar(c, "SELECT @@port") for _ in range(3)]
            assert ports == [PRIMARY_PORT] * 3, f"after {begin!r}: SELECT @@port answered by {ports}"
            h.query(c, "COMMIT")
            after = h.scalar(c, "SELECT @@port")
            assert after in REPLICA_PORTS, f"after COMMIT a read went to {after}, not a replica"

        # The transaction sees its own uncommitted write; others do not until COMMIT.
        h.query(c, "BEGIN")
        h.query(c, f"INSERT INTO {t} VALUES (1)")
        assert h.query(c, f"SELECT COUNT(*), @@port FROM {t}") == ((1, PRIMARY_PORT),)
        assert h.scalar(d, f"SELECT COUNT(*) FROM {t}") == 0, "uncommitted row visible outside"
        h.query(c, "COMMIT")
        assert h.scalar(d, f"SELECT COUNT(*) FROM {t}") == 1, "row missing on primary after COMMIT"

        # ROLLBACK really rolls back (same backend connection for the whole transaction).
        h.query(c, "START TRANSACTION")
        h.query(c, f"INSERT INTO {t} VALUES (2)")
        h.query(c, "ROLLBACK")
        assert h.scalar(d, f"SELECT COUNT(*) FROM {t} WHERE id = 2") == 0
    finally:
        c.close()

    # SET autocommit=0 explicitly: every read belongs to a transaction.
    c = h.connect(sluice.port)
    try:
        h.query(c, "SET autocommit=0")
        ports = [h.scalar(c, "SELECT @@port") for _ in range(3)]
        assert ports == [PRIMARY_PORT] * 3, f"after SET autocommit=0: {ports}"
        h.query(c, "COMMIT")
        assert h.scalar(c, "SELECT @@port") == PRIMARY_PORT, "autocommit=0 after COMMIT"
    finally:
        c.close()

    # PyMySQL's default is autocommit off (it sends SET AUTOCOMMIT = 0 after login).
    c = h.connect(sluice.port, autocommit=False)
    try:
        assert c.get_autocommit() is False
        ports = [h.scalar(c, "SELECT @@port") for _ in range(3)]
        assert ports == [PRIMARY_PORT] * 3, f"PyMySQL default (autocommit off): {ports}"
        c.commit()
        assert h.scalar(c, "SELECT @@port") == PRIMARY_PORT
        c.rollback()
    finally:
        d.close()
        c.close()


@pytest.mark.parametrize("sql", [
    "SELECT @@port FOR UPDATE",
    "SELECT @@port FROM DUAL FOR UPDATE",
    "select @@port lock in share mode",
    "/* comment */ SELECT @@port FOR UPDATE",
    "SELECT @@port /*! FOR UPDATE */",
])
def test_locking_reads_go_to_primary(sluice, sql):
    c = h.connect(sluice.port)  # autocommit on, no transaction
    try:
        assert h.scalar(c, sql) == PRIMARY_PORT, f"{sql!r} outside a transaction"
    finally:
        c.close()


def test_select_into_variable_goes_to_primary(sluice):
    c = h.connect(sluice.port)
    try:
        h.query(c, "SELECT @@port INTO @sluice_p")
        # The variable lives where SELECT … INTO ran: the primary; the client keeps seeing it.
        assert h.scalar(c, "SELECT @sluice_p") == PRIMARY_PORT
    finally:
        c.close()


def test_call_goes_to_primary(sluice):
    p = h.unique_name("p_port")
    c = h.connect(sluice.port)
    try:
        h.query(c, f"CREATE PROCEDURE {p}() SELECT @@port")
        assert h.scalar(c, f"CALL {p}()") == PRIMARY_PORT
        h.query(c, f"DROP PROCEDURE {p}")
    finally:
        c.close()


def test_write_on_replica_is_refused_by_cluster(cluster):
    """Guards the other tests' meaning: a misrouted write would fail loudly, not diverge."""
    d = h.direct(REPLICA_PORTS[0])
    try:
        with pytest.raises(pymysql.err.MySQLError) as ei:
            h.query(d, f"CREATE TABLE {h.unique_name('t_ro')} (a INT)")
        assert h.mysql_error(ei.value)[0] == 1290, ei.value
    finally:
        d.close()


def _dead_ports(n=2):
    """Ports in the cluster's neighbourhood where nothing listens (replicas that are down)."""
    ports = [p for p in range(h.PORT_BASE + 80, h.PORT_BASE + 99) if h.port_is_free(p)
             and not h.tcp_accepts(p)]
    assert len(ports) >= n
    return ports[:n]


def _servers_with_dead_replicas():
    d1, d2 = _dead_ports()
    return [{"hostgroup": h.WRITER_HG, "host": h.HOST, "port": PRIMARY_PORT},
            {"hostgroup": h.READER_HG, "host": h.HOST, "port": d1},
            {"hostgroup": h.READER_HG, "host": h.HOST, "port": d2}]


def test_reads_fall_back_to_primary_without_replicas(sluice_factory):
    s = sluice_factory({"servers": _servers_with_dead_replicas()}, wait_for_replicas=False)
    answers, errors = [], []
    for _ in range(20):
        try:
            answers.append(h.one_shot(s.port, "SELECT @@port")[0][0])
        except Exception as exc:  # noqa: BLE001
            errors.append(repr(exc))
    assert not errors, f"{len(errors)} of 20 reads failed with no replica up: {errors[:3]}"
    assert set(answers) == {PRIMARY_PORT}, answers


def test_reads_without_replicas_fail_when_fallback_is_off(sluice_factory):
    s = sluice_factory({"servers": _servers_with_dead_replicas(),
                        "routing": {"reads_fallback_to_writer": False}}, wait_for_replicas=False)
    c = h.connect(s.port)
    try:
        with pytest.raises(pymysql.err.MySQLError) as ei:
            h.query(c, "SELECT @@port")
        code, msg = h.mysql_error(ei.value)
        assert code and msg, (code, msg)
        # Writes and transactions still work on the same client connection.
        h.query(c, "BEGIN")
        assert h.scalar(c, "SELECT @@port") == PRIMARY_PORT
        h.query(c, "COMMIT")
    finally:
        c.close()
