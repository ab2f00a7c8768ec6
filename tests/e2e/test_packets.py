"""Packets of 16 MiB and more, both directions (a packet of exactly 0xFFFFFF bytes is followed
by an empty one: the classic off-by-one)."""
import hashlib
import os

import pymysql

import helpers as h
from helpers import MiB, PRIMARY_PORT, REPLICA_PORTS

MAX_PAYLOAD = 0xFFFFFF


def _q(conn, sql, args=None, what=""):
    """h.query, but an error's message is cut short (PyMySQL puts whole 16 MiB values into
    conversion errors)."""
    try:
        return h.query(conn, sql, args)
    except Exception as exc:  # noqa: BLE001
        raise AssertionError(f"{what or sql[:80]}: {type(exc).__name__}: {str(exc)[:300]}") from None


def _big_conn(port, **kw):
    return h.connect(port, max_allowed_packet=1024 * MiB, read_timeout=300, write_timeout=300, **kw)


def _first_diff(a: bytes, b: bytes) -> str:
    n = min(len(a), len(b))
    for i in range(0, n, 4096):
        if a[i:i + 4096] != b[i:i + 4096]:
            j = next(k for k in range(i, min(i + 4096, n)) if a[k] != b[k])
            return f"first difference at byte {j} of {len(a)} (got len {len(b)})"
    return f"lengths differ: expected {len(a)}, got {len(b)}"


def test_big_blob_round_trip(sluice):
    size = 64 * MiB
    data = os.urandom(size)  # every byte value, so escaping grows the INSERT well past 64 MiB
    digest = hashlib.sha256(data).hexdigest()
    t = h.unique_name("t_blob")
    c = _big_conn(sluice.port)
    try:
        _q(c, f"CREATE TABLE {t} (id INT PRIMARY KEY, b LONGBLOB)")
        # Escaped with bytes.replace (C speed; PyMySQL's own escaping of 64 MiB takes seconds).
        literal = data.replace(b"\\", b"\\\\").replace(b"'", b"\\'").replace(b"\0", b"\\0")
        sql = f"INSERT INTO {t} VALUES (1, _binary'".encode() + literal + b"')"
        del literal
        try:
            n = c.query(sql)
        except Exception as exc:  # noqa: BLE001
            raise AssertionError(f"64 MiB INSERT: {type(exc).__name__}: {str(exc)[:300]}") from None
        del sql
        assert n == 1

        # What landed on the primary (read directly) is exact.
        d = h.direct(PRIMARY_PORT)
        try:
            assert h.query(d, f"SELECT LENGTH(b), SHA2(b, 256) FROM {t}") == ((size, digest),), \
                "the blob written through Sluice differs on the primary"
        finally:
            d.close()

        # Read back through Sluice from the primary (in a transaction)...
        _q(c, "BEGIN")
        rows = _q(c, f"SELECT b, @@port FROM {t} WHERE id = 1", what="read blob in transaction")
        _q(c, "COMMIT")
        assert rows[0][1] == PRIMARY_PORT
        got = rows[0][0]
        same = got == data  # not inside assert: pytest would try to diff 64 MiB
        assert same, "blob read through Sluice (primary): " + _first_diff(data, got)
        del rows, got

        # ...and from a replica (autocommit read) once it has the row. Read-your-writes keeps
        # this session's reads on the primary until Sluice knows a replica applied the insert
        # (the monitor saw it, or a short MASTER_GTID_WAIT on a replica not lagging).
        h.wait_replicas_caught_up(timeout=120)
        h.wait_for(lambda: _q(c, f"SELECT @@port FROM {t} WHERE id = 1")[0][0] in REPLICA_PORTS,
                   timeout=10, what="reads of this session back on a replica")
        rows = _q(c, f"SELECT b, @@port FROM {t} WHERE id = 1", what="read blob autocommit")
        assert rows[0][1] in REPLICA_PORTS
        got = rows[0][0]
        same = got == data
        assert same, "blob read through Sluice (replica): " + _first_diff(data, got)
        del rows, got

        # The connection is still in sync after the big packets.
        assert _q(c, "SELECT 'still ok'") == (("still ok",),)
        _q(c, f"DROP TABLE {t}")
    finally:
        c.close()


def test_packets_at_16mib_boundaries(sluice):
    c = _big_conn(sluice.port)
    try:
        # Client -> server: COM_QUERY payloads of exactly 0xFFFFFF (needs a trailing empty
        # packet), one byte more, one less, and exactly two full packets.
        for payload in (MAX_PAYLOAD - 1, MAX_PAYLOAD, MAX_PAYLOAD + 1, 2 * MAX_PAYLOAD):
            prefix, suffix = "SELECT LENGTH('", "')"
            n = payload - 1 - len(prefix) - len(suffix)  # 1 byte for the COM_QUERY command
            sql = prefix + "a" * n + suffix
            assert 1 + len(sql.encode()) == payload
            got = _q(c, sql, what=f"query with payload {payload}")
            assert got == ((n,),), f"query payload {payload}: got {str(got)[:200]}"

        # Server -> client: a row whose packet payload is around 0xFFFFFF. A LONGTEXT value of
        # n bytes costs n + 4 bytes (length prefix 0xFD + 3 bytes) in the text-protocol row.
        # From 2^24 bytes on the prefix is 0xFE + 8 bytes.
        for n in (MAX_PAYLOAD - 5, MAX_PAYLOAD - 4, MAX_PAYLOAD - 3, 2 * MAX_PAYLOAD - 9,
                  2 * MAX_PAYLOAD):
            v = _q(c, f"SELECT REPEAT('b', {n})")[0][0]
            same = isinstance(v, str) and v == "b" * n
            assert same, f"REPEAT('b', {n}): got {type(v).__name__} of length {len(v)}"
        assert _q(c, "SELECT 'still ok'") == (("still ok",),)
    finally:
        c.close()
