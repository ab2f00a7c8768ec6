"""Issue 6, read-your-writes: "I inserted, then selected, and it was not there" must not
happen because of the read/write split.

The replicas are held back on purpose (through the `faults` fixture, which restores them
afterwards): MASTER_DELAY=30, or the SQL thread stopped. Then a client runs INSERT of a row
and SELECT of that same row, in autocommit, over and over:
  - routing.read_your_writes = "session" (the default): it never misses its row;
  - "off": the same loop misses (every SELECT goes to a replica that does not have the row),
    which proves the loop can fail;
  - "global": another client's SELECT right after the INSERT never misses either.
And read-your-writes must not keep a client on the primary forever: once the replicas have
applied its last write, its reads go to them again.

max_replication_lag is 0 (never skip for lag) throughout, so held-back replicas stay in use
and only read-your-writes can keep a SELECT away from them.
"""
from __future__ import annotations

import time

import pytest

import helpers as h
from helpers import PRIMARY_PORT, REPLICA_PORTS

pytestmark = pytest.mark.destructive

FAST_MONITOR = {"ping_interval_ms": 200, "read_only_interval_ms": 200, "replication_lag_interval_ms": 200,
                "connect_timeout_ms": 500, "shun_recovery_ms": 500, "down_retry_ms": 500}
LOOPS = 150
BACK_ON_REPLICAS_WITHIN_S = 2.0


def ryw_config(mode: str | None) -> dict:
    cfg = {"monitor": dict(FAST_MONITOR)}
    if mode is not None:  # None: leave the default, which must be "session"
        cfg["routing"] = {"read_your_writes": mode}
    return cfg


def make_table() -> str:
    name = h.unique_name("ryw")
    c = h.direct(PRIMARY_PORT)
    try:
        h.query(c, f"CREATE TABLE `{name}` (id INT PRIMARY KEY, v VARCHAR(64) NOT NULL) ENGINE=InnoDB")
    finally:
        c.close()
    h.wait_replicas_caught_up()
    return name


def hold_back_replicas(faults, how: str):
    for port in REPLICA_PORTS:
        if how == "master_delay":
            faults.delay(port, 30)
        else:
            faults.stop_replication(port, sql_thread_only=True)


def select_row(conn, table: str, row_id: int):
    """(v or None, @@port of the server that answered): one row even when the row is missing."""
    return h.query(conn, f"SELECT (SELECT v FROM `{table}` WHERE id = %s), @@port", (row_id,))[0]


def insert_then_select(writer, reader, table: str, loops: int = LOOPS):
    """INSERT (id, token) on `writer`, then SELECT it on `reader` (may be the same
    connection). Returns (misses, ports that answered the SELECTs)."""
    token = h.unique_name("t")
    misses, ports = [], {}
    for i in range(1, loops + 1):
        h.query(writer, f"INSERT INTO `{table}` (id, v) VALUES (%s, %s)", (i, token))
        v, port = select_row(reader, table, i)
        ports[port] = ports.get(port, 0) + 1
        if v != token:
            misses.append(i)
    return misses, ports


@pytest.mark.parametrize("how", ["master_delay", "sql_thread_stopped"])
@pytest.mark.parametrize("mode", ["session", "default", "off"])
def test_insert_then_select_same_session(faults, sluice_factory, mode, how):
    """INSERT then SELECT of the same row on one connection, replicas held back: "session"
    and the default never miss; "off" misses (the test can fail)."""
    table = make_table()
    s = sluice_factory(ryw_config(None if mode == "default" else mode))
    hold_back_replicas(faults, how)
    c = h.connect(s.port)
    try:
        misses, ports = insert_then_select(c, c, table)
    finally:
        c.close()
    print(f"read_your_writes={mode}, replicas held back by {how}: {len(misses)}/{LOOPS} misses, "
          f"SELECTs answered by {ports}")
    if mode == "off":
        assert misses, f"read_your_writes=off never missed its row with replicas held back ({how}): " \
                       f"the loop cannot tell the option apart (SELECTs answered by {ports})"
    else:
        assert not misses, f"read_your_writes={mode}: {len(misses)}/{LOOPS} SELECTs right after the " \
                           f"INSERT missed the row (first ids {misses[:10]}; replicas held back by {how}; " \
                           f"SELECTs answered by {ports})"


def test_insert_then_select_other_session_global(faults, sluice_factory):
    """read_your_writes=global: a client that SELECTs a row right after another client
    INSERTed it, replicas delayed, never misses."""
    table = make_table()
    s = sluice_factory(ryw_config("global"))
    hold_back_replicas(faults, "master_delay")
    w, r = h.connect(s.port), h.connect(s.port)
    try:
        misses, ports = insert_then_select(w, r, table)
    finally:
        w.close()
        r.close()
    print(f"read_your_writes=global, other session: {len(misses)}/{LOOPS} misses, SELECTs answered by {ports}")
    assert not misses, f"read_your_writes=global: {len(misses)}/{LOOPS} SELECTs by another client right " \
                       f"after the INSERT missed the row (first ids {misses[:10]}; answered by {ports})"


def test_reads_return_to_replicas_once_they_caught_up(faults, sluice_factory, recovery_times):
    """Read-your-writes keeps a writing client on the primary only until the replicas have its
    last write: with replicas delayed by 3 s, a client that never wrote reads from replicas
    all along; a client that INSERTs reads its row (from the primary) at once, and once both
    replicas have applied the INSERT its reads go back to the replicas within 2 s, still
    seeing the row."""
    table = make_table()
    s = sluice_factory(ryw_config(None))
    for port in REPLICA_PORTS:
        faults.delay(port, 3)
    writer, bystander = h.connect(s.port), h.connect(s.port)
    try:
        h.query(writer, f"INSERT INTO `{table}` (id, v) VALUES (1, 'mine')")
        v, first_port = select_row(writer, table, 1)
        assert v == "mine", f"the row was missing right after the INSERT (answered by {first_port})"
        # A client without writes is not held on the primary by someone else's write.
        others = [h.scalar(bystander, "SELECT @@port") for _ in range(10)]
        assert set(others) <= set(REPLICA_PORTS), \
            f"a client that never wrote was sent to the primary: {others}"

        pos = h.primary_gtid_pos()
        for port in REPLICA_PORTS:
            c = h.connect(port, database=None, read_timeout=30)
            try:
                assert h.scalar(c, "SELECT MASTER_GTID_WAIT(%s, 20)", (pos,)) == 0, f"replica {port} did not catch up"
            finally:
                c.close()
        t_caught = time.monotonic()

        def on_replica():
            v, port = select_row(writer, table, 1)
            assert v == "mine", f"row missing after the replicas caught up (answered by {port})"
            return port in REPLICA_PORTS and time.monotonic()

        try:
            t_first = h.wait_for(on_replica, timeout=10, interval=0.05,
                                 what="the writing client's reads to reach a replica")
        except TimeoutError:
            t_first = None
        back = t_first - t_caught if t_first else None
        after = [select_row(writer, table, 1) for _ in range(20)]
    finally:
        writer.close()
        bystander.close()
    recovery_times.record("read-your-writes: back on replicas after catch-up", back_on_replicas_s=back,
                          first_read_answered_by=first_port)
    assert back is not None and back <= BACK_ON_REPLICAS_WITHIN_S, \
        f"after the replicas applied its write, the client's reads stayed on the primary (first replica " \
        f"read after {back if back is None else round(back, 2)}s, want <= {BACK_ON_REPLICAS_WITHIN_S}s)"
    assert all(v == "mine" for v, _ in after), f"row missing in later reads: {after}"
    assert all(p in REPLICA_PORTS for _, p in after), f"later reads went back to the primary: {after}"
