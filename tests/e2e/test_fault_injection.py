"""Issue 6, fault injection: what clients of Sluice see while the cluster misbehaves.

Each test starts its own Sluice (sluice_factory) with a fast monitor (checks every 200 ms),
runs a client load through it (client_load.ReadLoad / WriteLoad: every statement recorded
with its start and end time, the server that answered and the error), injects one fault with
deploy/local/cluster.sh (through the `faults` fixture, which puts the cluster back as it
found it afterwards, pass or fail), and measures:
  - how long after the fault clients were still answered by the wrong server or got errors
    (client_load.recovered_after: the end of the last bad statement, relative to the fault);
  - how long after the repair the repaired server answered again (first_good_after);
  - the longest any client statement took.
The figures go to the `recovery_times` fixture (printed at the end of the run and written to
<pytest basetemp>/recovery-times.json) for the issue's closing note.
"""
from __future__ import annotations

import time

import pytest

import helpers as h
from client_load import ReadLoad, WriteLoad, create_seq_table, first_good_after, recovered_after
from helpers import HOST, PRIMARY_PORT, READER_HG, REPLICA_PORTS, WRITER_HG

pytestmark = pytest.mark.destructive

FAST_MONITOR = {
    "ping_interval_ms": 200,
    "read_only_interval_ms": 200,
    "replication_lag_interval_ms": 200,
    "connect_timeout_ms": 500,
    "ping_max_failures": 2,
    "shun_recovery_ms": 500,
    "down_retry_ms": 500,
}
FAST_POOL = {"connect_timeout_ms": 1000, "checkout_timeout_ms": 2000}

MOVE_WITHIN_S = 2.0    # issue 6: reads leave a dead replica, writes reach a promoted one, within 2 s
BACK_WITHIN_S = 3.0    # a repaired (caught-up) server answers again within this
MAX_LAG_S = 2          # servers[].max_replication_lag in the lag tests


def when(seconds) -> str:
    return "never" if seconds is None else f"after {seconds:.2f}s"


def fast_config(max_replication_lag: int = 0, **sections) -> dict:
    servers = [{"hostgroup": WRITER_HG, "host": HOST, "port": PRIMARY_PORT}]
    servers += [{"hostgroup": READER_HG, "host": HOST, "port": p, "weight": 1,
                 "max_replication_lag": max_replication_lag} for p in REPLICA_PORTS]
    return h.deep_merge({"monitor": dict(FAST_MONITOR), "pool": dict(FAST_POOL), "servers": servers},
                        sections)


def hang_bound_s(cfg: dict) -> float:
    """The longest a client statement may take while a server hangs: the monitor needs
    ping_max_failures checks, each at most a check timeout plus an interval, to shun it; a
    new backend connection gives up after pool.connect_timeout_ms; one second of slack."""
    m, p = cfg["monitor"], cfg["pool"]
    detect = m["ping_interval_ms"] + m["ping_max_failures"] * (m["connect_timeout_ms"] + m["ping_interval_ms"])
    return max(detect, p["connect_timeout_ms"]) / 1000.0 + 1.0


def observe(load, n: int, since: float, timeout: float, good=lambda o: True) -> bool:
    """Lets the load run until n good, successful statements started after `since` (False
    on timeout: the assertions that follow say what went wrong)."""
    try:
        load.wait_ok(n, since, timeout, what=f"{n} good statements", good=good)
        return True
    except TimeoutError:
        return False


def warm_up(reads: ReadLoad, timeout: float = 20.0):
    """Both replicas answer reads before the fault (so moving away from one is observable)."""
    t0 = time.monotonic()
    h.wait_for(lambda: all(len(reads.answered_by(p, t0)) >= 10 for p in REPLICA_PORTS), timeout=timeout,
               what=f"both replicas answering reads before the fault ({reads.summary(t0)})")


def sluice_user(make_user, name: str):
    user, password = make_user(name)
    return user, password, [{"username": user, "password": password}]


def pool_figures_settle(s, user: str, servers, timeout: float = 15.0):
    """After the load: nothing in use or waiting, and Sluice's open connections per server equal
    the connections `user` really has there (PROCESSLIST): no phantom connections left from
    a dead server, none leaked."""
    last = {}

    def settled():
        m = h.scrape_metrics(s.metrics_port)
        for port in servers:
            last[port] = {
                "open": h.metric(m, "sluice_pool_open_connections", server=port),
                "in_use": h.metric(m, "sluice_pool_in_use_connections", server=port),
                "waiting": h.metric(m, "sluice_pool_waiting_clients", server=port),
                "processlist": len(h.user_conns(port, user)),
                "up": h.metric(m, "sluice_backend_up", server=port),
            }
        return all(f["in_use"] == 0 and f["waiting"] == 0 and f["open"] == f["processlist"] and f["up"] == 1
                   for f in last.values())

    try:
        h.wait_for(settled, timeout=timeout, interval=0.2, what="pool figures to settle")
    except TimeoutError:
        pytest.fail(f"pool figures not back to normal {timeout}s after the load stopped "
                    f"(want in_use=0, waiting=0, open == PROCESSLIST, up=1 per server): {last}")
    return last


def observe_metric(s, name: str, port: int, pred, timeout: float) -> bool:
    try:
        h.wait_for(lambda: pred(h.metric(h.scrape_metrics(s.metrics_port), name, server=port)),
                   timeout=timeout, interval=0.1, what=f"{name}{{server={port}}}")
        return True
    except TimeoutError:
        return False


# ---------------------------------------------------------------------------------------
# kill -9 of a replica
# ---------------------------------------------------------------------------------------

def test_replica_kill9_reads_move_to_the_other_replica_and_come_back(
        faults, sluice_factory, make_user, recovery_times):
    """kill -9 of a replica's mariadbd under reads: every read from 2 s after the kill on is
    answered by the other replica; once the killed one is restarted and caught up it answers
    again (within 3 s); afterwards the pool figures match the servers (PROCESSLIST of this
    instance's own user) and sluice_backend_up is 1 for every server."""
    victim, survivor = REPLICA_PORTS[1], REPLICA_PORTS[0]
    user, password, users = sluice_user(make_user, "ft_kill")
    s = sluice_factory(fast_config(users=users))
    with ReadLoad(s.port, fresh=1, reused=3, user=user, password=password) as reads:
        warm_up(reads)
        t_kill = faults.kill(victim)["killed"]
        observe(reads, 100, t_kill + MOVE_WITHIN_S, timeout=20)
        seen_down = observe_metric(s, "sluice_backend_up", victim, lambda v: v == 0, timeout=3)
        t_repair = time.monotonic()
        t_back = faults.start(victim)["caught_up"]
        observe(reads, 1, t_back, timeout=10, good=lambda o: o.port == victim)
        t_steady = time.monotonic()
        observe(reads, 100, t_steady, timeout=20)
    down_ops = [o for o in reads.since(t_kill) if o.start < t_repair]
    moved = recovered_after(down_ops, t_kill, lambda o: o.ok and o.port == survivor)
    back = first_good_after(reads.ops, t_back, lambda o: o.ok and o.port == victim)
    errors_after_back = [o.error for o in reads.started_after(t_back) if not o.ok]
    recovery_times.record("replica kill -9", reads_moved_s=moved, used_again_after_catch_up_s=back,
                          errors_after_kill=len([o for o in down_ops if not o.ok]),
                          max_read_latency_s=max(o.latency for o in down_ops))
    summary = f"after the kill: {reads.summary(t_kill, t_repair)}; after the restart: {reads.summary(t_back)}"
    print(summary)
    assert moved <= MOVE_WITHIN_S, \
        f"reads still failed or hit the dead replica {moved:.2f}s after kill -9 (want <= {MOVE_WITHIN_S}s): {summary}"
    assert back is not None and back <= BACK_WITHIN_S, \
        f"restarted replica {victim} not answering reads {BACK_WITHIN_S}s after it caught up (first read: " \
        f"{when(back)}): {summary}"
    assert not errors_after_back, f"reads failed after the replica was back: {errors_after_back[:5]}"
    assert seen_down, f"sluice_backend_up{{server={victim}}} never showed 0 while it was dead"
    pool_figures_settle(s, user, (PRIMARY_PORT,) + REPLICA_PORTS)


# ---------------------------------------------------------------------------------------
# SIGSTOP of a replica (a hang, not a crash)
# ---------------------------------------------------------------------------------------

def test_replica_sigstop_does_not_hang_clients(faults, sluice_factory, recovery_times):
    """SIGSTOP of a replica: the kernel still accepts TCP connections to it, and statements
    on connections already open to it get no answer. No client read may take longer than
    the configured timeouts allow (hang_bound_s: monitor detection or backend connect
    timeout, plus 1 s); reads move to the other replica within that bound; after SIGCONT the
    replica answers again (within 3 s)."""
    victim, survivor = REPLICA_PORTS[0], REPLICA_PORTS[1]
    cfg = fast_config()
    bound = hang_bound_s(cfg)
    s = sluice_factory(cfg)
    # The client's own read timeout is far above the bound: a hang is measured, not cut short.
    with ReadLoad(s.port, fresh=1, reused=3, read_timeout=bound + 6) as reads:
        warm_up(reads)
        t_freeze = faults.freeze(victim)["frozen"]
        try:
            observe(reads, 60, t_freeze + bound, timeout=bound + 15, good=lambda o: o.port == survivor)
        finally:
            t_thaw = faults.thaw(victim)["thawed"]
        observe(reads, 1, t_thaw, timeout=10, good=lambda o: o.port == victim)
        observe(reads, 60, time.monotonic(), timeout=20)
    frozen_ops = [o for o in reads.since(t_freeze) if o.start <= t_thaw]
    worst = max((o.latency for o in frozen_ops), default=0.0)
    moved = recovered_after(frozen_ops, t_freeze, lambda o: o.ok and o.port == survivor)
    back = first_good_after(reads.ops, t_thaw, lambda o: o.ok and o.port == victim)
    recovery_times.record("replica SIGSTOP", max_read_latency_s=worst, bound_s=bound, reads_moved_s=moved,
                          used_again_after_sigcont_s=back,
                          errors_while_frozen=len([o for o in frozen_ops if not o.ok]))
    summary = f"while frozen: {reads.summary(t_freeze, t_thaw)}; after SIGCONT: {reads.summary(t_thaw)}"
    print(summary)
    assert worst <= bound, f"a read took {worst:.2f}s while replica {victim} was frozen (bound {bound}s): {summary}"
    assert moved <= bound, \
        f"reads still failed or went to the frozen replica {moved:.2f}s after SIGSTOP (bound {bound}s): {summary}"
    assert back is not None and back <= BACK_WITHIN_S, \
        f"replica {victim} not answering reads {BACK_WITHIN_S}s after SIGCONT (first: {when(back)}): {summary}"


# ---------------------------------------------------------------------------------------
# Replication lag
# ---------------------------------------------------------------------------------------

def seconds_behind_master(port: int):
    c = h.monitor_conn(port)
    try:
        with c.cursor() as cur:
            cur.execute("SHOW SLAVE STATUS")
            cols = [d[0] for d in cur.description]
            row = cur.fetchone()
        return None if row is None else row[cols.index("Seconds_Behind_Master")]
    finally:
        c.close()


@pytest.mark.parametrize("threads", ["all", "sql_thread"])
def test_replica_with_replication_stopped_is_skipped_then_used_again(
        faults, sluice_factory, recovery_times, threads):
    """Replication stopped on one replica (STOP SLAVE, or STOP SLAVE SQL_THREAD) while writes
    go on through Sluice. MariaDB then reports Seconds_Behind_Master as NULL, not a growing
    number: the lag is real but unmeasured. Sluice must treat a replica whose replication
    threads are stopped as lagging (like ProxySQL's monitor_slave_lag_when_null), at the
    latest once it has missed max_replication_lag seconds of writes: from
    t_stop + max_replication_lag (2 s) on, every read started more than 2 s later is answered
    by another replica. After START SLAVE (and catch-up) it answers again within 3 s."""
    victim = REPLICA_PORTS[0]
    table = h.unique_name("ft_lag")
    create_seq_table(table)
    s = sluice_factory(fast_config(max_replication_lag=MAX_LAG_S))
    with WriteLoad(s.port, table, pause=0.05) as writes, ReadLoad(s.port, fresh=1, reused=2) as reads:
        warm_up(reads)
        t_stop = faults.stop_replication(victim, sql_thread_only=threads == "sql_thread")["replication_stopped"]
        t_over = t_stop + MAX_LAG_S
        observe(reads, 60, t_over + MOVE_WITHIN_S, timeout=20)
        t_repair = time.monotonic()
        t_back = faults.start_replication(victim)["caught_up"]
        observe(reads, 1, t_back, timeout=10, good=lambda o: o.port == victim)
    lagging_ops = [o for o in reads.since(t_stop) if o.start < t_repair]
    skipped = recovered_after(lagging_ops, t_over, lambda o: o.ok and o.port != victim)
    last_on_victim = max((o.end for o in lagging_ops if o.ok and o.port == victim), default=t_stop)
    back = first_good_after(reads.ops, t_back, lambda o: o.ok and o.port == victim)
    read_errors = [o.error for o in reads.ops if not o.ok]
    write_errors = [o.error for o in writes.ops if not o.ok]
    recovery_times.record(f"replication stopped ({threads})", skipped_after_stop_s=last_on_victim - t_stop,
                          skipped_after_max_lag_s=skipped, used_again_after_catch_up_s=back)
    summary = (f"while stopped: reads {reads.summary(t_stop, t_repair)}, writes {writes.summary(t_stop, t_repair)}; "
               f"after restart: reads {reads.summary(t_back)}")
    print(summary)
    late = [o for o in lagging_ops if o.start >= t_over + MOVE_WITHIN_S and o.ok and o.port == victim]
    assert skipped <= MOVE_WITHIN_S, \
        f"replica {victim} with replication stopped still answered reads {skipped:.2f}s after it had missed " \
        f"{MAX_LAG_S}s of writes ({len(late)} reads started later than {MOVE_WITHIN_S}s after that; " \
        f"max_replication_lag={MAX_LAG_S}): {summary}"
    assert back is not None and back <= BACK_WITHIN_S, \
        f"replica {victim} not answering reads {BACK_WITHIN_S}s after replication caught up " \
        f"(first: {when(back)}): {summary}"
    assert not read_errors, f"reads failed: {read_errors[:5]}"
    assert not write_errors, f"writes failed: {write_errors[:5]}"


def test_replica_lagging_past_max_replication_lag_is_skipped_then_used_again(
        faults, sluice_factory, recovery_times):
    """Real, measured lag: MASTER_DELAY=8 on one replica while writes go on, so its
    Seconds_Behind_Master climbs past max_replication_lag (2). From the moment the test sees
    it above 2 (polling SHOW SLAVE STATUS itself), reads started 2 s later are all answered
    by the other replica, and sluice_backend_replication_lag_seconds shows the lag. With the
    delay removed and the replica caught up, it answers again within 3 s."""
    victim = REPLICA_PORTS[1]
    table = h.unique_name("ft_delay")
    create_seq_table(table)
    s = sluice_factory(fast_config(max_replication_lag=MAX_LAG_S))
    lag_metric = None
    with WriteLoad(s.port, table, pause=0.05) as writes, ReadLoad(s.port, fresh=1, reused=2) as reads:
        warm_up(reads)
        faults.delay(victim, 8)

        def lag_over_max():
            v = seconds_behind_master(victim)
            return time.monotonic() if v is not None and v > MAX_LAG_S else None

        t_over = h.wait_for(lag_over_max, timeout=20, interval=0.05,
                            what=f"Seconds_Behind_Master of {victim} above {MAX_LAG_S}")
        observe(reads, 60, t_over + MOVE_WITHIN_S, timeout=20)
        m = h.scrape_metrics(s.metrics_port)
        lag_metric = h.metric(m, "sluice_backend_replication_lag_seconds", server=victim)
        t_repair = time.monotonic()
        t_back = faults.delay(victim, 0)["caught_up"]
        observe(reads, 1, t_back, timeout=10, good=lambda o: o.port == victim)
    lagging_ops = [o for o in reads.since(t_over) if o.start < t_repair]
    skipped = recovered_after(lagging_ops, t_over, lambda o: o.ok and o.port != victim)
    back = first_good_after(reads.ops, t_back, lambda o: o.ok and o.port == victim)
    recovery_times.record("replica lag (MASTER_DELAY) past max_replication_lag", skipped_after_lag_over_max_s=skipped,
                          lag_metric_s=lag_metric, used_again_after_catch_up_s=back)
    summary = (f"while lagging: reads {reads.summary(t_over, t_repair)}, writes {writes.summary(t_over, t_repair)}; "
               f"after catch-up: reads {reads.summary(t_back)}")
    print(summary)
    late = [o for o in lagging_ops if o.start >= t_over + MOVE_WITHIN_S and o.ok and o.port == victim]
    assert skipped <= MOVE_WITHIN_S, \
        f"replica {victim} lagging over max_replication_lag={MAX_LAG_S}s still answered reads {skipped:.2f}s " \
        f"later ({len(late)} reads started later than {MOVE_WITHIN_S}s after that): {summary}"
    assert lag_metric is not None and lag_metric > MAX_LAG_S, \
        f"sluice_backend_replication_lag_seconds{{server={victim}}} = {lag_metric} while it lagged > {MAX_LAG_S}s"
    assert back is not None and back <= BACK_WITHIN_S, \
        f"replica {victim} not answering reads {BACK_WITHIN_S}s after catching up (first: {when(back)}): {summary}"
    assert not [o for o in reads.ops if not o.ok], f"reads failed: {reads.summary()}"
    assert not [o for o in writes.ops if not o.ok], f"writes failed: {writes.summary()}"


# ---------------------------------------------------------------------------------------
# Promotion
# ---------------------------------------------------------------------------------------

def rows_by_seq(port: int, table: str) -> dict:
    c = h.direct(port)
    try:
        return dict(h.query(c, f"SELECT seq, server_id FROM `{table}`"))
    finally:
        c.close()


def test_promotion_writes_resume_on_the_new_primary_and_none_are_lost(
        faults, sluice_factory, recovery_times):
    """A writer loop (autocommit INSERTs of seq = 1, 2, 3... with the executing server's
    @@server_id) runs through Sluice configured with replication_hostgroups while
    cluster.sh promotes replica1: old primary read_only=1, replica1 catches up, stops
    replicating and becomes writable, the old primary and replica2 replicate from it.
    Then:
      - every INSERT the client saw acknowledged is on the new primary (counted);
      - writes resume on the new primary within 2 s of it becoming writable;
      - rows were written by the old primary, then only by the new one (never back);
      - once resumed, no write fails; no write waits longer than routing.writer_wait_ms + 2 s;
      - the old primary and replica2 have every row (replication intact, nothing diverged);
      - no client saw 1290 (read-only): Sluice never sent a write to a read_only server.
        The window between the old primary turning read_only and the monitor noticing is
        Sluice's to cover (issue 6: "writes arriving meanwhile wait rather than fail")."""
    old, new, other = PRIMARY_PORT, REPLICA_PORTS[0], REPLICA_PORTS[1]
    table = h.unique_name("ft_promote")
    create_seq_table(table)
    writer_wait_ms = 5000
    s = sluice_factory(fast_config(
        replication_hostgroups=[{"writer_hostgroup": WRITER_HG, "reader_hostgroup": READER_HG,
                                 "check_type": "read_only"}],
        routing={"writer_wait_ms": writer_wait_ms}))
    with WriteLoad(s.port, table, pause=0.005) as writes:
        writes.wait_ok(50, 0.0, timeout=20, what=f"50 writes before the promotion ({writes.summary()})")
        ev = faults.promote(new)
        t_ro, t_sw = ev["old_writer_read_only"], ev["writable"]
        observe(writes, 100, t_sw, timeout=15)
    # Everything the new primary has written has reached the others (nothing diverged).
    mc = h.monitor_conn(new)
    try:
        pos = h.scalar(mc, "SELECT @@gtid_binlog_pos")
    finally:
        mc.close()
    for port in (old, other):
        c = h.connect(port, database=None, read_timeout=40)
        try:
            assert h.scalar(c, "SELECT MASTER_GTID_WAIT(%s, 30)", (pos,)) == 0, \
                f"{port} did not replicate the new primary's writes: {faults.status()}"
        finally:
            c.close()
    rows = rows_by_seq(new, table)
    acked = writes.acked()
    missing = sorted(set(acked) - set(rows))
    on_old = [q for q, sid in rows.items() if sid == old]
    on_new = [q for q, sid in rows.items() if sid == new]
    elsewhere = {q: sid for q, sid in rows.items() if sid not in (old, new)}
    resumed = first_good_after(writes.ops, t_sw, lambda o: o.ok and rows.get(o.seq) == new)
    first_new = min((o.end for o in writes.ops if o.ok and rows.get(o.seq) == new), default=None)
    last_old = max((o.end for o in writes.ops if o.ok and rows.get(o.seq) == old), default=None)
    t_resumed = t_sw + resumed if resumed is not None else None
    errors_after = [o for o in writes.ops if t_resumed is not None and o.start >= t_resumed and not o.ok]
    errors_1290 = [o for o in writes.ops if o.code == 1290]
    all_errors = [o for o in writes.ops if not o.ok]
    worst = max(o.latency for o in writes.ops)
    recovery_times.record(
        "promotion", writes_resumed_after_writable_s=resumed,
        write_outage_s=(first_new - last_old) if first_new and last_old else None,
        read_only_to_writable_s=t_sw - t_ro, acknowledged=len(acked), missing=len(missing),
        client_errors=len(all_errors), errors_1290=len(errors_1290), max_write_latency_s=worst)
    summary = (f"{writes.summary()}; rows: {len(rows)} ({len(on_old)} by old primary {old}, {len(on_new)} by "
               f"new primary {new}); acknowledged {len(acked)}")
    print(summary)
    assert not missing, f"{len(missing)} acknowledged writes missing on the new primary: {missing[:20]}; {summary}"
    assert resumed is not None and resumed <= MOVE_WITHIN_S, \
        f"writes did not resume on the new primary {new} within {MOVE_WITHIN_S}s of it becoming writable " \
        f"(first acknowledged write there: {when(resumed)}): {summary}"
    assert not elsewhere, f"rows written by a server that was never the writer: {elsewhere}"
    assert not on_old or not on_new or max(on_old) < min(on_new), \
        f"writes went back to the old primary after the switch: seqs on old after the first on new: " \
        f"{[q for q in on_old if q > min(on_new)][:20]}"
    assert len(errors_after) == 0, \
        f"{len(errors_after)} writes failed after they had resumed: {[o.error for o in errors_after[:5]]}"
    assert worst <= writer_wait_ms / 1000 + 2, f"a write took {worst:.2f}s (writer_wait_ms={writer_wait_ms})"
    for port in (old, other):
        theirs = rows_by_seq(port, table)
        assert theirs == rows, f"server {port} has {len(theirs)} rows, the new primary {len(rows)}"
    assert len(errors_1290) == 0, \
        f"{len(errors_1290)} writes were sent to a read_only server and failed with 1290 instead of waiting " \
        f"for the new writer: {[o.error for o in errors_1290[:3]]}; {summary}"


# ---------------------------------------------------------------------------------------
# Both replicas down
# ---------------------------------------------------------------------------------------

def test_both_replicas_down_reads_go_to_the_writer_then_back(faults, sluice_factory, recovery_times):
    """kill -9 of both replicas under reads: from 2 s after the second kill on, every read is
    answered by the writer (routing.reads_fallback_to_writer, the default); once both are
    restarted and caught up, reads go back to them (within 3 s) and no longer to the writer."""
    s = sluice_factory(fast_config())
    with ReadLoad(s.port, fresh=1, reused=3) as reads:
        warm_up(reads)
        faults.kill(REPLICA_PORTS[0])
        t_down = faults.kill(REPLICA_PORTS[1])["killed"]
        observe(reads, 60, t_down + MOVE_WITHIN_S, timeout=20)
        t_restart = time.monotonic()
        faults.start(REPLICA_PORTS[0])
        t_back = faults.start(REPLICA_PORTS[1])["caught_up"]
        observe(reads, 60, t_back + BACK_WITHIN_S, timeout=20)
    to_writer = recovered_after([o for o in reads.ops if o.start < t_restart], t_down,
                                lambda o: o.ok and o.port == PRIMARY_PORT)
    back = recovered_after(reads.ops, t_back, lambda o: o.ok and o.port in REPLICA_PORTS)
    recovery_times.record("both replicas down", reads_on_writer_after_s=to_writer,
                          reads_back_on_replicas_after_s=back,
                          errors=len([o for o in reads.since(t_down) if not o.ok]))
    summary = f"while down: {reads.summary(t_down, t_restart)}; after restart: {reads.summary(t_back)}"
    print(summary)
    assert to_writer <= MOVE_WITHIN_S, \
        f"reads failed or did not reach the writer {to_writer:.2f}s after both replicas died: {summary}"
    late = [o for o in reads.started_after(t_back + BACK_WITHIN_S)]
    assert late and back <= BACK_WITHIN_S, \
        f"reads not all back on the replicas {BACK_WITHIN_S}s after they caught up ({back:.2f}s): {summary}"
