"""Pool limits as the servers and the clients see them: max_connections under 200 clients,
checkout_timeout when a pool is held full, idle_timeout and max_lifetime closing connections
(and the pool counters saying so), and the client limits (1040, 1203).

Each test runs its own Sluice instance with a user of its own: backends log in as the
client's user, so PROCESSLIST on the servers counts exactly that instance's connections.
"""
import threading
import time

import pymysql
import pytest

import helpers as h
from helpers import DB, HOST, PRIMARY_PORT, REPLICA_PORTS


def _instance(sluice_factory, make_user, user: str, pool: dict, **extra):
    make_user(user)
    tweaks = {"pool": pool, "users": [{"username": user, "password": user}]}
    tweaks.update(extra)
    return sluice_factory(tweaks)


def _conn(s, **kw):
    return h.connect(s.port, user=s.user, password=s.password, **kw)


def _table(name: str) -> str:
    t = h.unique_name(name)
    d = h.direct(PRIMARY_PORT)
    try:
        h.query(d, f"CREATE TABLE {t} (id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(32))")
    finally:
        d.close()
    return t


# ---------------------------------------------------------------------------------------
# 200 clients, reader pools of 10 per replica
# ---------------------------------------------------------------------------------------

def test_200_clients_never_exceed_reader_pool(sluice_factory, make_user):
    user, n_clients, rounds, cap = "e2e_lim200", 200, 10, 10
    s = _instance(sluice_factory, make_user, user,
                  {"max_connections": cap, "max_idle": cap, "checkout_timeout_ms": 60000})
    errors, answers = [], []
    ready = threading.Barrier(n_clients + 1)

    def client(th):
        try:
            c = _conn(s, read_timeout=120)
        except Exception as exc:  # noqa: BLE001
            errors.append((th, "connect", repr(exc)))
            ready.wait(60)
            return
        try:
            ready.wait(60)
            for i in range(rounds):
                rows = h.query(c, f"SELECT SLEEP(0.02), @@port, {th * 1000 + i}")
                assert len(rows) == 1 and rows[0][0] == 0, rows
                assert rows[0][1] in REPLICA_PORTS, f"read answered by {rows[0][1]}"
                assert rows[0][2] == th * 1000 + i, f"client {th} got another's answer {rows}"
                answers.append(rows[0][1])
        except Exception as exc:  # noqa: BLE001
            errors.append((th, "query", repr(exc)))
        finally:
            c.close()

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(n_clients)]
    with h.ProcesslistSampler(user) as sampler:
        for t in threads:
            t.start()
        ready.wait(120)  # all 200 clients connected at once
        t0 = time.monotonic()
        for t in threads:
            t.join(180)
        elapsed = time.monotonic() - t0
    assert not any(t.is_alive() for t in threads), "client threads still running"
    assert not errors, f"{len(errors)} clients failed, first: {errors[:3]}"
    assert len(answers) == n_clients * rounds, f"{len(answers)} answers of {n_clients * rounds}"
    assert not sampler.errors, sampler.errors
    assert sampler.samples >= 5, f"only {sampler.samples} PROCESSLIST samples in {elapsed:.1f}s"
    print(f"200 clients x {rounds} reads in {elapsed:.1f}s; per-server peaks {sampler.peaks} "
          f"over {sampler.samples} samples")
    for port in REPLICA_PORTS:
        assert sampler.peaks[port] <= cap, \
            f"replica {port} showed {sampler.peaks[port]} connections of {user}, pool max is {cap}"
        assert sampler.peaks[port] >= cap // 2, \
            f"replica {port} peaked at {sampler.peaks[port]}: the load never filled the pool"
    assert sampler.peaks[PRIMARY_PORT] <= cap  # logins check the schema on the writer
    m = h.scrape_metrics(s.metrics_port)
    for port in REPLICA_PORTS:
        assert h.metric(m, "sluice_pool_max_open_connections", server=port) == cap
        assert h.metric(m, "sluice_pool_wait_count_total", server=port) > 0, \
            f"no waits counted on {port} with 200 clients over {cap} connections"
        assert h.metric(m, "sluice_pool_open_connections", server=port) <= cap


# ---------------------------------------------------------------------------------------
# checkout_timeout with the pool held full
# ---------------------------------------------------------------------------------------

TIMEOUT_MS = 1500


@pytest.fixture
def held_full(sluice_factory, make_user):
    """An instance with writer max_connections 2 and two clients holding both connections
    in open transactions. Yields (instance, table, holders, waiter): the waiter logged in
    before the pool filled (a login naming a schema checks it on a writer connection)."""
    s = _instance(sluice_factory, make_user, "e2e_limfull",
                  {"max_connections": 2, "max_idle": 2, "checkout_timeout_ms": TIMEOUT_MS})
    t = _table("t_full")
    holders = []
    waiter = _conn(s)
    try:
        for i in range(2):
            c = _conn(s)
            h.query(c, "BEGIN")
            h.query(c, f"INSERT INTO {t} (v) VALUES ('holder{i}')")
            holders.append(c)
        ids = {r[0] for r in h.user_conns(PRIMARY_PORT, "e2e_limfull")}
        assert len(ids) == 2, f"the primary should show the 2 held connections: {ids}"
        yield s, t, holders, waiter
    finally:
        for c in holders + [waiter]:
            if c.open:
                c.close()


def _blocked_insert(c, t):
    t0 = time.monotonic()
    with pytest.raises(pymysql.MySQLError) as exc:
        h.query(c, f"INSERT INTO {t} (v) VALUES ('waiter')")
    return time.monotonic() - t0, exc.value


def test_checkout_timeout_when_pool_held_full(held_full):
    s, t, holders, waiter = held_full
    try:
        before = h.scrape_metrics(s.metrics_port)
        waited, err = _blocked_insert(waiter, t)
        code, msg = h.mysql_error(err)
        assert code == 9001, f"expected error 9001, got {err!r}"
        assert TIMEOUT_MS / 1000 - 0.05 <= waited <= TIMEOUT_MS / 1000 + 1.0, \
            f"error after {waited:.2f}s, checkout_timeout_ms is {TIMEOUT_MS}"
        for part in (f"{TIMEOUT_MS} ms", "hostgroup 10", f"server {HOST}:{PRIMARY_PORT}", "pool full 2/2"):
            assert part in msg, f"{part!r} missing from the error message: {msg!r}"
        after = h.scrape_metrics(s.metrics_port)
        assert h.metric(after, "sluice_pool_checkout_timeouts_total", server=PRIMARY_PORT) == \
            h.metric(before, "sluice_pool_checkout_timeouts_total", server=PRIMARY_PORT) + 1

        # The waiter's session is fine: reads go to replicas, whose pools are free.
        assert h.scalar(waiter, "SELECT @@port") in REPLICA_PORTS

        # A waiter is served as soon as a holder commits, before its timeout.
        result = {}

        def wait_then_insert():
            t0 = time.monotonic()
            try:
                h.query(waiter, f"INSERT INTO {t} (v) VALUES ('served')")
                result["ok"] = time.monotonic() - t0
            except Exception as exc:  # noqa: BLE001
                result["err"] = exc

        th = threading.Thread(target=wait_then_insert, daemon=True)
        th.start()
        h.wait_for(lambda: h.metric(h.scrape_metrics(s.metrics_port), "sluice_pool_waiting_clients",
                                    server=PRIMARY_PORT) == 1, 1.0, what="the waiter to queue")
        time.sleep(0.3)
        h.query(holders[0], "COMMIT")
        th.join(10)
        assert "ok" in result, f"the waiter failed after the holder committed: {result}"
        assert result["ok"] < TIMEOUT_MS / 1000, f"served after {result['ok']:.2f}s"
        m = h.scrape_metrics(s.metrics_port)
        assert h.metric(m, "sluice_pool_wait_count_total", server=PRIMARY_PORT) >= 1
        assert h.metric(m, "sluice_pool_wait_duration_seconds_total", server=PRIMARY_PORT) >= 0.25
    finally:
        waiter.close()
    d = h.direct(PRIMARY_PORT)
    try:
        rows = sorted(r[0] for r in h.query(d, f"SELECT v FROM {t}"))
    finally:
        d.close()
    assert rows == ["holder0", "served"], rows  # holder1 still uncommitted, 'waiter' never ran


def test_checkout_timeout_error_after_earlier_queries(held_full):
    s, t, _, waiter = held_full
    try:
        assert h.query(waiter, "SELECT 1, 'x' UNION ALL SELECT 2, 'y'") == ((1, "x"), (2, "y"))
        _, err = _blocked_insert(waiter, t)
        assert h.mysql_error(err)[0] == 9001, f"expected error 9001, got {err!r}"
    finally:
        waiter.close()


def test_login_while_writer_pool_held_full(held_full):
    s, _, _, _ = held_full
    c = _conn(s, connect_timeout=10)
    try:
        assert h.scalar(c, "SELECT @@port") in REPLICA_PORTS
    finally:
        c.close()


@pytest.mark.parametrize("last_statement", ["INSERT INTO {t} (v) VALUES ('idle')",
                                            "DROP TABLE IF EXISTS no_such_table_idle"])
def test_idle_clients_do_not_hold_connections(sluice_factory, make_user, last_statement):
    s = _instance(sluice_factory, make_user, "e2e_limidlehold",
                  {"max_connections": 2, "max_idle": 2, "checkout_timeout_ms": 1000})
    t = _table("t_idlehold")
    idle = [_conn(s) for _ in range(2)]
    other = _conn(s, database=None)
    try:
        for c in idle:
            h.query(c, last_statement.format(t=t))
        h.query(other, f"INSERT INTO {DB}.{t} (v) VALUES ('other')")
    finally:
        for c in idle + [other]:
            c.close()


# ---------------------------------------------------------------------------------------
# idle_timeout and max_lifetime
# ---------------------------------------------------------------------------------------

def _txn_burst(s, n: int, seconds: float):
    """n clients at once, each holding a primary connection for `seconds` (no default schema:
    a login with one borrows a writer connection of its own to check it)."""
    errors = []
    together = threading.Barrier(n)

    def one():
        try:
            c = _conn(s, database=None)
            try:
                together.wait(10)
                h.query(c, "BEGIN")
                h.query(c, f"SELECT SLEEP({seconds})")
                h.query(c, "COMMIT")
            finally:
                c.close()
        except Exception as exc:  # noqa: BLE001
            errors.append(repr(exc))

    threads = [threading.Thread(target=one, daemon=True) for _ in range(n)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(30)
    assert not errors, errors


def test_idle_timeout_closes_idle_connections(sluice_factory, make_user):
    user, idle_ms, n = "e2e_limidle", 2000, 6
    s = _instance(sluice_factory, make_user, user,
                  {"max_connections": 10, "max_idle": 10, "idle_timeout_ms": idle_ms,
                   "max_lifetime_ms": 0})
    _txn_burst(s, n, 0.3)
    t_idle = time.monotonic()
    conns = h.user_conns(PRIMARY_PORT, user)
    assert len(conns) == n, f"after {n} concurrent transactions the primary shows {conns}"
    assert all(c[1] == "Sleep" for c in conns), conns
    m = h.scrape_metrics(s.metrics_port)
    assert h.metric(m, "sluice_pool_idle_connections", server=PRIMARY_PORT) == n
    closed_before = h.metric(m, "sluice_pool_closed_total", server=PRIMARY_PORT, reason="idle_timeout")

    time.sleep(max(0.0, idle_ms / 1000 - 0.6 - (time.monotonic() - t_idle)))
    still = h.user_conns(PRIMARY_PORT, user)
    assert len(still) == n, f"idle connections closed before idle_timeout ({idle_ms} ms): {still}"
    h.wait_for(lambda: not h.user_conns(PRIMARY_PORT, user), idle_ms / 1000 + 3,
               what=f"idle connections to be closed after idle_timeout {idle_ms} ms (reaper: 1 s)")
    gone_after = time.monotonic() - t_idle
    assert gone_after <= idle_ms / 1000 + 1.0 + 1.0, f"closed only after {gone_after:.1f}s"
    m = h.scrape_metrics(s.metrics_port)
    assert h.metric(m, "sluice_pool_closed_total", server=PRIMARY_PORT, reason="idle_timeout") \
        == closed_before + n
    assert h.metric(m, "sluice_pool_open_connections", server=PRIMARY_PORT) == 0
    # And the pool opens connections again on demand.
    c = _conn(s)
    try:
        h.query(c, "BEGIN")
        assert h.scalar(c, "SELECT @@port") == PRIMARY_PORT
        h.query(c, "COMMIT")
    finally:
        c.close()


def test_max_lifetime_rotates_connections(sluice_factory, make_user):
    user, life_ms, run_s = "e2e_limlife", 1500, 5.0
    s = _instance(sluice_factory, make_user, user,
                  {"max_connections": 4, "max_idle": 4, "max_lifetime_ms": life_ms,
                   "idle_timeout_ms": 600000})
    t = _table("t_life")
    c = _conn(s)
    spans = {}  # (port, backend id) -> [first seen, last seen]
    server_ids = []
    try:
        t0 = time.monotonic()
        while time.monotonic() - t0 < run_s:
            now = time.monotonic()
            key = tuple(h.query(c, "SELECT @@port, CONNECTION_ID()")[0])  # a replica
            spans.setdefault(key, [now, now])[1] = now
            h.query(c, "BEGIN")
            h.query(c, f"INSERT INTO {t} (v) VALUES ('tick')")
            key = tuple(h.query(c, "SELECT @@port, CONNECTION_ID()")[0])
            h.query(c, "COMMIT")
            spans.setdefault(key, [now, now])[1] = time.monotonic()
            server_ids.append({r[0] for r in h.user_conns(PRIMARY_PORT, user)})
            time.sleep(0.1)
        # An expiry never closes a connection in use: a statement and a transaction that
        # outlive max_lifetime both complete.
        assert h.query(c, f"SELECT SLEEP({life_ms / 1000 + 0.5}), @@port")[0][0] == 0
        h.query(c, "BEGIN")
        h.query(c, f"INSERT INTO {t} (v) VALUES ('long1')")
        first = h.scalar(c, "SELECT CONNECTION_ID()")
        time.sleep(life_ms / 1000 + 0.3)
        h.query(c, f"INSERT INTO {t} (v) VALUES ('long2')")
        assert h.scalar(c, "SELECT CONNECTION_ID()") == first
        h.query(c, "COMMIT")
    finally:
        c.close()
    d = h.direct(PRIMARY_PORT)
    try:
        assert h.scalar(d, f"SELECT COUNT(*) FROM {t} WHERE v LIKE 'long%'") == 2
    finally:
        d.close()

    by_port = {}
    for (port, cid), (first, last) in spans.items():
        by_port.setdefault(port, []).append((cid, last - first))
    assert PRIMARY_PORT in by_port, by_port
    for port, ids in by_port.items():
        longest = max(span for _, span in ids)
        assert longest <= life_ms / 1000 + 0.5, \
            f"server {port}: connection used for {longest:.2f}s, max_lifetime is {life_ms} ms: {ids}"
    assert len(by_port[PRIMARY_PORT]) >= run_s * 1000 // life_ms, \
        f"primary connection ids over {run_s}s with max_lifetime {life_ms} ms: {by_port[PRIMARY_PORT]}"
    # The server saw them change too: the ids present at the start are gone later.
    assert server_ids[0] and not (server_ids[0] & server_ids[-1]), \
        f"primary connections at start {server_ids[0]}, at the end {server_ids[-1]}"
    m = h.scrape_metrics(s.metrics_port)
    assert h.metric(m, "sluice_pool_closed_total", server=PRIMARY_PORT, reason="max_lifetime") \
        >= len(by_port[PRIMARY_PORT]) - 2


# ---------------------------------------------------------------------------------------
# Client limits
# ---------------------------------------------------------------------------------------

def _open_when_possible(s, **kw):
    """Connects, retrying while clients closed just before are still being counted."""
    return h.wait_for(lambda: _conn(s, **kw), 5, what="a client connection to be accepted")


def test_max_client_connections_1040(sluice_factory, make_user):
    s = _instance(sluice_factory, make_user, "e2e_lim1040", {"max_connections": 4},
                  frontend={"max_client_connections": 3})
    clients = [_open_when_possible(s) for _ in range(3)]
    try:
        before = h.metric(h.scrape_metrics(s.metrics_port), "sluice_client_connections_total",
                          result="denied")
        for _ in range(2):
            with pytest.raises(pymysql.err.OperationalError) as exc:
                _conn(s)
            assert h.mysql_error(exc.value) == (1040, "Too many connections"), exc.value
        # The clients already in are unaffected.
        for c in clients:
            assert h.scalar(c, "SELECT 1") == 1
        m = h.scrape_metrics(s.metrics_port)
        assert h.metric(m, "sluice_client_connections_total", result="denied") == before + 2
        assert h.metric(m, "sluice_client_connections") == 3
        clients.pop().close()
        clients.append(_open_when_possible(s))
        assert h.scalar(clients[-1], "SELECT 1") == 1
    finally:
        for c in clients:
            c.close()


def test_user_max_connections_1203(sluice_factory, make_user):
    user = "e2e_lim1203"
    make_user(user)
    s = sluice_factory({"users": [{"username": h.APP_USER, "password": h.APP_PASSWORD},
                                  {"username": user, "password": user, "max_connections": 2}]})
    kw = {"user": user, "password": user}
    clients = [h.wait_for(lambda: h.connect(s.port, **kw), 5, what="login") for _ in range(2)]
    try:
        with pytest.raises(pymysql.err.OperationalError) as exc:
            h.connect(s.port, **kw)
        code, msg = h.mysql_error(exc.value)
        assert code == 1203, exc.value
        assert msg == f"User {user} already has more than 'max_user_connections' active connections"
        # Other users are not limited by it.
        others = [h.connect(s.port) for _ in range(3)]
        for c in others:
            assert h.scalar(c, "SELECT 1") == 1
            c.close()
        clients.pop().close()
        clients.append(h.wait_for(lambda: h.connect(s.port, **kw), 5, what="login after a close"))
        assert h.scalar(clients[-1], "SELECT 1") == 1
    finally:
        for c in clients:
            c.close()
