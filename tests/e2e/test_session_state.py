"""Session state across multiplexing, as a client sees it.

Backend connections are lent per statement, so a client's session state must follow it to
whichever connection it borrows next (replayed variables and schema), or the client must
keep its connection (pins) until the state is gone. Every test here runs against a Sluice
instance with tiny pools, so clients really share backend connections: where it matters, a
test checks through CONNECTION_ID() that two clients with different state were served by
the same backend connection.

Backends log in as the client's user, so dedicated users (`pin_user`, `mux_user`: the app's
grants minus READ_ONLY ADMIN) let PROCESSLIST on the servers count one instance's connections.
"""
import threading
import time

import pymysql
import pytest

import helpers as h
from helpers import DB, PRIMARY_PORT, REPLICA_PORTS

PIN_USER = "pin_user"
MUX_USER = "mux_user"
OTHER_DB = "sluice_ss_other"
CHECKOUT_MS = 20000


def _make_app_like_user(cluster, user: str):
    cluster.root_sql(PRIMARY_PORT, f"""
        CREATE USER IF NOT EXISTS '{user}'@'%' IDENTIFIED BY '{user}';
        GRANT ALL PRIVILEGES ON *.* TO '{user}'@'%';
        REVOKE READ_ONLY ADMIN ON *.* FROM '{user}'@'%';
    """)


@pytest.fixture(scope="module")
def pin_user(cluster):
    """pin_user (the instance with single-connection pools) and mux_user (the other one):
    each instance's backend connections are told apart in PROCESSLIST by user."""
    _make_app_like_user(cluster, PIN_USER)
    _make_app_like_user(cluster, MUX_USER)
    cluster.root_sql(PRIMARY_PORT, f"""
        CREATE DATABASE IF NOT EXISTS {OTHER_DB};
        CREATE TABLE IF NOT EXISTS {OTHER_DB}.marker (id INT PRIMARY KEY, v VARCHAR(32));
        REPLACE INTO {OTHER_DB}.marker VALUES (1, 'other-db');
    """)
    h.wait_replicas_caught_up()
    return PIN_USER


def _tweaks(user: str, pool: dict, replica_pool: dict | None = None) -> dict:
    t = {"pool": {"checkout_timeout_ms": CHECKOUT_MS, **pool},
         "users": [{"username": user, "password": user}]}
    if replica_pool:
        t["servers"] = [{"hostgroup": h.WRITER_HG, "host": h.HOST, "port": PRIMARY_PORT}] + [
            {"hostgroup": h.READER_HG, "host": h.HOST, "port": p, **replica_pool} for p in REPLICA_PORTS]
    return t


def _module_sluice(name, tweaks, sluice_bin, workdir):
    """A Sluice instance shared by this module's tests (starting and stopping one costs
    about 2 s), registered like sluice_factory's so failures show its log."""
    import conftest  # the e2e conftest, already imported by pytest under this name
    port, admin, metrics = conftest._ports.take(3)
    cfg = h.deep_merge(h.base_sluice_config(port, admin, metrics), tweaks)
    s = h.SluiceProcess(sluice_bin, workdir, f"{name}-{port}", cfg)
    conftest.ACTIVE_SLUICES.append(s)
    s.start()
    return s, conftest.ACTIVE_SLUICES


@pytest.fixture(scope="module")
def _mux(pin_user, sluice_bin, workdir):
    s, active = _module_sluice("sluice-session-mux",
                               _tweaks(MUX_USER, {"max_connections": 2, "max_idle": 2},
                                       {"max_connections": 1, "max_idle": 1}), sluice_bin, workdir)
    yield s
    s.stop()
    active.remove(s)


@pytest.fixture(scope="module")
def _single(pin_user, sluice_bin, workdir):
    s, active = _module_sluice("sluice-session-single",
                               _tweaks(PIN_USER, {"max_connections": 1, "max_idle": 0, "checkout_timeout_ms": 1000}),
                               sluice_bin, workdir)
    yield s
    s.stop()
    active.remove(s)


@pytest.fixture(scope="module")
def _solo(pin_user, sluice_bin, workdir):
    cfg = _tweaks(MUX_USER, {"max_connections": 1, "max_idle": 1, "checkout_timeout_ms": 5000})
    cfg["workers"] = 1
    s, active = _module_sluice("sluice-session-solo", cfg, sluice_bin, workdir)
    yield s
    s.stop()
    active.remove(s)


def _alive(s, request):
    assert s.alive(), f"{s.name} died before {request.node.name}:\n{s.log_tail()}"
    yield s
    assert not s.crashed(), f"{s.name} died during {request.node.name}:\n{s.log_tail()}"


@pytest.fixture
def mux(_mux, request):
    """1 backend connection per replica, 2 on the primary, 2 workers: clients share
    connections (each worker keeps its own idle connections, so a pool of 1 is what makes
    clients on different workers use the very same replica connection)."""
    yield from _alive(_mux, request)


@pytest.fixture
def solo(_solo, request):
    """One worker, one connection per server kept idle: every client borrows the very same
    primary connection, deterministically."""
    yield from _alive(_solo, request)


@pytest.fixture
def single(_single, request):
    """1 backend connection per server, none kept idle: a connection on a server exists
    only while a client uses (or holds) it, and a second client needing the primary waits
    (checkout_timeout 1 s) while the first one holds it."""
    yield from _alive(_single, request)


def _conn(s, **kw):
    return h.connect(s.port, user=s.user, password=s.password, **kw)


def _server_conns(port: int, user: str = PIN_USER):
    """[(id, command, info)] of one user's connections on one server."""
    m = h.monitor_conn(port)
    try:
        return list(h.query(m, "SELECT ID, COMMAND, INFO FROM information_schema.PROCESSLIST "
                               "WHERE USER = %s ORDER BY ID", (user,)))
    finally:
        m.close()


def _server_ids(port: int, user: str):
    return {row[0] for row in _server_conns(port, user)}


def _global(port: int, name: str):
    m = h.monitor_conn(port)
    try:
        return h.scalar(m, f"SELECT @@global.{name}")
    finally:
        m.close()


# ---------------------------------------------------------------------------------------
# Replayed state: the value follows the client to every connection it borrows
# ---------------------------------------------------------------------------------------

def _select_db(db):
    return lambda c: c.select_db(db)  # COM_INIT_DB


# name: (statements or callables run once by the "setter" client, probe expression, value
#        the setter must see). Other clients must see what a fresh direct session sees.
REPLAY_CASES = {
    "time_zone": (["SET time_zone = '+05:00'"], "@@time_zone", "+05:00"),
    "sql_mode": (["SET sql_mode = ''"], "@@sql_mode", ""),
    "isolation": (["SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED"], "@@tx_isolation",
                  "READ-COMMITTED"),
    "use_db": ([f"USE {OTHER_DB}"], "DATABASE()", OTHER_DB),
    "init_db": ([_select_db(OTHER_DB)], "DATABASE()", OTHER_DB),
    "several_in_one_set": (
        ["SET SESSION sql_select_limit = 3, group_concat_max_len = 5000, foreign_key_checks = 0, "
         "max_statement_time = 7, wait_timeout = 1234, unique_checks = 0"],
        "CONCAT_WS(',', @@sql_select_limit, @@group_concat_max_len, @@foreign_key_checks, "
        "@@max_statement_time, @@wait_timeout, @@unique_checks)",
        "3,5000,OFF,7.000000,1234,OFF"),
}


@pytest.mark.parametrize("case", list(REPLAY_CASES))
def test_replayed_value_survives_multiplexing(mux, case):
    setup, expr, want = REPLAY_CASES[case]
    defaults = set()
    for port in REPLICA_PORTS:
        d = h.direct(port)
        try:
            defaults.add(h.scalar(d, f"SELECT {expr}"))
        finally:
            d.close()
    assert len(defaults) == 1, f"replicas disagree on the default of {expr}: {defaults}"
    default = defaults.pop()
    assert str(default) != str(want), f"test needs a non-default value for {expr}"
    probe = f"SELECT {expr}, @@port, CONNECTION_ID()"

    setter, other, third = _conn(mux), _conn(mux), _conn(mux)
    try:
        # Everybody has used the pools before the setter changes its state.
        for c in (setter, other, third):
            h.query(c, probe)
        for step in setup:
            step(setter) if callable(step) else h.query(setter, step)
        served = {"setter": set(), "other": set()}
        for i in range(40):
            for who, c, expected in (("setter", setter, want), ("other", other, default)):
                value, port, conn_id = h.query(c, probe)[0]
                assert str(value) == str(expected), (
                    f"{case}: round {i}, {who} client saw {expr} = {value!r} on backend "
                    f"{port}/{conn_id}; expected {expected!r}")
                assert port in REPLICA_PORTS, f"{case}: read answered by {port}"
                served[who].add((port, conn_id))
            if expr == "DATABASE()":  # unqualified names resolve in the client's schema
                assert h.query(setter, "SELECT v FROM marker") == (("other-db",),)
            h.query(third, "SELECT SLEEP(0.002)")  # a third client moves connections around
        shared = served["setter"] & served["other"]
        assert shared, (f"{case}: the two clients never shared a backend connection "
                        f"(setter {sorted(served['setter'])}, other {sorted(served['other'])}): "
                        "the test did not exercise multiplexing")
        # Writes see the state too (the primary's connections get the replay as well).
        h.query(setter, "BEGIN")
        value, port, _ = h.query(setter, probe)[0]
        h.query(setter, "COMMIT")
        assert (str(value), port) == (str(want), PRIMARY_PORT), \
            f"{case}: inside a transaction (primary) the setter saw {value!r} on {port}"
    finally:
        for c in (setter, other, third):
            c.close()


def test_set_names_latin1_round_trips(mux):
    """SET NAMES latin1 (and PyMySQL switched to latin1 on its side): the server must decode the client's latin1 bytes and encode results in latin1
    on every connection the client borrows, while a utf8mb4 client keeps utf8mb4."""
    latin, utf = _conn(mux, charset="utf8mb4"), _conn(mux, charset="utf8mb4")
    try:
        h.query(latin, "SET NAMES latin1")
        latin.charset, latin.encoding = "latin1", "latin1"  # PyMySQL now speaks latin1
        served = {"latin": set(), "utf": set()}
        for i in range(30):
            rows = h.query(latin, "SELECT @@character_set_client, @@character_set_results, "
                                  "'café', HEX(CONVERT('café' USING utf8mb4)), @@port, CONNECTION_ID()")
            cs_client, cs_results, text, hexed, port, conn_id = rows[0]
            assert (cs_client, cs_results) == ("latin1", "latin1"), f"round {i}: on {port}/{conn_id}"
            assert (text, hexed) == ("café", "636166C3A9"), \
                f"round {i}: latin1 client got {text!r} / {hexed} from {port}/{conn_id}"
            served["latin"].add((port, conn_id))

            rows = h.query(utf, "SELECT @@character_set_client, '日本語 🐟', "
                                "HEX('é'), @@port, CONNECTION_ID()")
            cs_client, text, hexed, port, conn_id = rows[0]
            assert (cs_client, text, hexed) == ("utf8mb4", "日本語 🐟", "C3A9"), \
                f"round {i}: utf8mb4 client on {port}/{conn_id}: {rows[0]}"
            served["utf"].add((port, conn_id))
        assert served["latin"] & served["utf"], f"no shared backend connection: {served}"

        # Writes on the primary: a latin1 insert stored as the right character.
        t = h.unique_name("t_names")
        h.query(latin, f"CREATE TABLE {t} (id INT PRIMARY KEY, v VARCHAR(16)) CHARACTER SET utf8mb4")
        h.query(latin, f"INSERT INTO {t} VALUES (1, 'café')")
        d = h.direct(PRIMARY_PORT)
        try:
            assert h.scalar(d, f"SELECT HEX(v) FROM {t}") == "636166C3A9"
        finally:
            d.close()
    finally:
        latin.close()
        utf.close()


def test_fresh_client_never_inherits_state(single):
    """A client leaves behind every kind of state, then disconnects; fresh clients on the same
    (single) backend connections see none of it."""
    a = _conn(single)
    h.query(a, "SET time_zone = '+07:00'")
    h.query(a, "SET sql_mode = ''")
    h.query(a, "SET NAMES latin1")
    h.query(a, f"USE {OTHER_DB}")
    h.query(a, "SET @leak = 'secret'")
    h.query(a, "CREATE TEMPORARY TABLE leak_tmp (id INT)")
    assert h.scalar(a, "SELECT @leak") == "secret"
    a_conn_id = h.scalar(a, "SELECT CONNECTION_ID()")
    a.close()

    default_mode = _global(PRIMARY_PORT, "sql_mode")
    default_tz = _global(PRIMARY_PORT, "time_zone")
    seen_primary_ids = set()
    for i in range(6):
        b = _conn(single)
        try:
            # Reads (replicas) and a transaction (primary, where a's pinned connection was).
            for sql in ("SELECT @@time_zone, @@sql_mode, @@character_set_client, DATABASE(), @leak",
                        "BEGIN",
                        "SELECT @@time_zone, @@sql_mode, @@character_set_client, DATABASE(), @leak",
                        "COMMIT"):
                rows = h.query(b, sql)
                if rows:
                    assert rows[0] == (default_tz, default_mode, "utf8mb4", DB, None), \
                        f"fresh client {i} inherited state: {rows[0]} for {sql!r}"
            h.query(b, "BEGIN")
            seen_primary_ids.add(h.scalar(b, "SELECT CONNECTION_ID()"))
            h.query(b, "COMMIT")
            with pytest.raises(pymysql.err.ProgrammingError) as exc:
                h.query(b, "SELECT * FROM leak_tmp")
            assert h.mysql_error(exc.value)[0] == 1146, exc.value
        finally:
            b.close()
    assert seen_primary_ids, "no primary connection id seen"
    # Either a's connection was reset or closed; if it was reused, the checks above ran on it.
    print(f"a's connection {a_conn_id}; fresh clients used primary connections {seen_primary_ids}")


# ---------------------------------------------------------------------------------------
# Pins: the client keeps its backend connection (on the primary) while others hammer
# ---------------------------------------------------------------------------------------

class Hammer:
    """Clients of the same user hammering the same pools from threads (reads, writes,
    statements with warnings, short transactions) while a test's own client works. Records
    every (server port, backend connection id) it was served by, and its errors."""

    def __init__(self, s, n: int = 3):
        self.s, self.n = s, n
        self.stop = threading.Event()
        self.errors, self.seen, self.count = [], set(), 0
        self.lock = threading.Lock()
        self.table = h.unique_name("t_hammer")
        d = h.direct(PRIMARY_PORT)
        try:
            h.query(d, f"CREATE TABLE {self.table} (id INT AUTO_INCREMENT PRIMARY KEY, th INT)")
        finally:
            d.close()
        self.threads = [threading.Thread(target=self._run, args=(i,), daemon=True) for i in range(n)]

    def _run(self, th: int):
        try:
            c = _conn(self.s)
        except Exception as exc:  # noqa: BLE001
            self.errors.append((th, "connect", exc))
            return
        try:
            i = 0
            while not self.stop.is_set():
                step = i % 4
                if step == 0:
                    rows = h.query(c, "SELECT @@port, CONNECTION_ID()")
                elif step == 1:
                    h.query(c, f"INSERT INTO {self.table} (th) VALUES ({th})")
                    rows = h.query(c, "SELECT @@port, CONNECTION_ID() FROM DUAL WHERE LAST_INSERT_ID() > 0")
                elif step == 2:
                    h.query(c, "SELECT CAST('x' AS SIGNED)")  # leaves a warning
                    rows = ()
                else:
                    h.query(c, "BEGIN")
                    rows = h.query(c, "SELECT @@port, CONNECTION_ID()")
                    h.query(c, "COMMIT")
                with self.lock:
                    self.seen.update(rows)
                    self.count += 1
                i += 1
        except Exception as exc:  # noqa: BLE001
            self.errors.append((th, f"statement {i}", exc))
        finally:
            c.close()

    def __enter__(self):
        for t in self.threads:
            t.start()
        # Busy before the test's own client starts: every thread got going.
        h.wait_for(lambda: self.count >= 4 * self.n or self.errors, 20, what="hammer clients started")
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for t in self.threads:
            t.join(30)
        if exc[0] is None:
            assert not any(t.is_alive() for t in self.threads), "hammer threads stuck"
            assert not self.errors, f"hammer clients failed: {self.errors[:3]}"
            assert self.count >= 8 * self.n, f"hammer clients ran only {self.count} statements"
        return False


def test_user_variable_pins_while_others_hammer(mux):
    a = _conn(mux)
    try:
        h.query(a, "SET @x = 42")
        pinned = h.query(a, "SELECT @x, @@port, CONNECTION_ID()")[0]
        assert pinned[:2] == (42, PRIMARY_PORT), f"after SET @x: {pinned}"
        a_id = pinned[2]
        with Hammer(mux) as hammer:
            for i in range(60):
                got = h.query(a, "SELECT @x, @@port, CONNECTION_ID()")[0]
                assert got == (42, PRIMARY_PORT, a_id), f"round {i}: SELECT @x gave {got}"
                if i % 10 == 0:
                    assert a_id in _server_ids(PRIMARY_PORT, MUX_USER), "pinned connection gone from the primary"
                time.sleep(0.005)
            # SELECT @y := ... sets a variable too (and reads of it keep working).
            assert h.scalar(a, "SELECT @y := 7") == 7
            assert h.query(a, "SELECT @x + @y, CONNECTION_ID()")[0] == (49, a_id)
        assert (PRIMARY_PORT, a_id) not in hammer.seen, \
            f"another client was served by the pinned connection {a_id}"
        assert any(p == PRIMARY_PORT for p, _ in hammer.seen), hammer.seen
        # A fresh client does not see the variables.
        b = _conn(mux)
        try:
            assert h.query(b, "SELECT @x, @y") == ((None, None),)
        finally:
            b.close()
    finally:
        a.close()


def test_select_assignment_pins(mux):
    a = _conn(mux)
    try:
        assert h.scalar(a, "SELECT @z := 'zed'") == "zed"
        with Hammer(mux, n=2):
            for i in range(30):
                assert h.scalar(a, "SELECT @z") == "zed", f"round {i}"
                time.sleep(0.005)
    finally:
        a.close()


def test_temp_table_across_statements(mux):
    a = _conn(mux)
    try:
        h.query(a, "CREATE TEMPORARY TABLE tmp_pin (id INT PRIMARY KEY, v VARCHAR(16))")
        a_id = h.query(a, "SELECT CONNECTION_ID()")[0][0]
        with Hammer(mux) as hammer:
            for i in range(40):
                h.query(a, f"INSERT INTO tmp_pin VALUES ({i}, 'v{i}')")
                time.sleep(0.005)
                # Reads of the temp table go to its connection, not to a replica.
                assert h.query(a, "SELECT COUNT(*), MAX(id), @@port, CONNECTION_ID() FROM tmp_pin") \
                    == ((i + 1, i, PRIMARY_PORT, a_id),), f"round {i}"
        assert (PRIMARY_PORT, a_id) not in hammer.seen
        b = _conn(mux)
        try:
            with pytest.raises(pymysql.err.ProgrammingError) as exc:
                h.query(b, "SELECT * FROM tmp_pin")
            assert h.mysql_error(exc.value)[0] == 1146
        finally:
            b.close()
    finally:
        a.close()


# ---------------------------------------------------------------------------------------
# Held and released, as the primary's PROCESSLIST and a second client see it
# (pool of 1 connection per server, max_idle 0: a released connection is closed)
# ---------------------------------------------------------------------------------------

def _write_blocked(s, table: str):
    """A second client's write while the primary's only connection is held: error 9001 after
    checkout_timeout (1 s), naming the pool. (No default schema: a login with one checks it
    on a writer connection, which would wait too.)"""
    b = _conn(s, database=None)
    try:
        t0 = time.monotonic()
        with pytest.raises(pymysql.err.OperationalError) as exc:
            h.query(b, f"INSERT INTO {DB}.{table} (v) VALUES ('blocked')")
        waited = time.monotonic() - t0
    finally:
        b.close()
    code, msg = h.mysql_error(exc.value)
    assert code == 9001 and "pool full 1/1" in msg, (code, msg)
    assert 0.9 <= waited <= 3.0, f"9001 after {waited:.2f}s, checkout_timeout is 1 s"


def _write_works(s, table: str):
    b = _conn(s)
    try:
        t0 = time.monotonic()
        h.query(b, f"INSERT INTO {table} (v) VALUES ('free')")
        assert time.monotonic() - t0 < 0.9, "the second client had to wait for the primary"
    finally:
        b.close()


def _held(a_id):
    conns = _server_conns(PRIMARY_PORT)
    assert [c[0] for c in conns] == [a_id], \
        f"primary should show exactly the held connection {a_id}, shows {conns}"


def _released():
    h.wait_for(lambda: not _server_conns(PRIMARY_PORT), 5,
               what="the released connection to leave the primary (max_idle 0)")


@pytest.fixture
def table(single):
    t = h.unique_name("t_held")
    d = h.direct(PRIMARY_PORT)
    try:
        h.query(d, f"CREATE TABLE {t} (id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(32))")
    finally:
        d.close()
    _released()  # nothing of ours on the primary before the test
    return t


def test_get_lock_held_then_released(single, table):
    a = _conn(single)
    try:
        lock = h.unique_name("lk")
        assert h.query(a, f"SELECT GET_LOCK('{lock}', 0), @@port")[0] == (1, PRIMARY_PORT)
        a_id = h.scalar(a, "SELECT CONNECTION_ID()")
        _held(a_id)
        d = h.direct(PRIMARY_PORT)
        try:
            assert h.scalar(d, f"SELECT IS_USED_LOCK('{lock}')") == a_id
            assert h.scalar(d, f"SELECT GET_LOCK('{lock}', 0)") == 0  # really held
        finally:
            d.close()
        _write_blocked(single, table)
        assert h.scalar(a, f"SELECT RELEASE_LOCK('{lock}')") == 1
        _released()
        d = h.direct(PRIMARY_PORT)
        try:
            assert h.scalar(d, f"SELECT IS_USED_LOCK('{lock}')") is None
        finally:
            d.close()
        _write_works(single, table)

        # Two locks: held until both are released; RELEASE_ALL_LOCKS releases everything.
        assert h.scalar(a, f"SELECT GET_LOCK('{lock}_1', 0)") == 1
        assert h.scalar(a, f"SELECT GET_LOCK('{lock}_2', 0)") == 1
        a_id = h.scalar(a, "SELECT CONNECTION_ID()")
        assert h.scalar(a, f"SELECT RELEASE_LOCK('{lock}_1')") == 1
        _held(a_id)
        assert h.scalar(a, f"SELECT RELEASE_LOCK('{lock}_2')") == 1
        _released()
        assert h.scalar(a, f"SELECT GET_LOCK('{lock}_3', 0)") == 1
        assert h.scalar(a, f"SELECT GET_LOCK('{lock}_4', 0)") == 1
        _held(h.scalar(a, "SELECT CONNECTION_ID()"))
        assert h.scalar(a, "SELECT RELEASE_ALL_LOCKS()") == 2
        _released()
        _write_works(single, table)
    finally:
        a.close()


def test_two_get_locks_in_one_statement_stay_held(single, table):
    a = _conn(single)
    try:
        lock = h.unique_name("lk2")
        assert h.scalar(a, f"SELECT GET_LOCK('{lock}_a', 0) + GET_LOCK('{lock}_b', 0)") == 2
        a_id = h.scalar(a, "SELECT CONNECTION_ID()")
        assert h.scalar(a, f"SELECT RELEASE_LOCK('{lock}_a')") == 1
        time.sleep(0.2)
        d = h.direct(PRIMARY_PORT)
        try:
            holder = h.scalar(d, f"SELECT IS_USED_LOCK('{lock}_b')")
        finally:
            d.close()
        assert holder == a_id, f"lock b held by {holder!r}, expected the client's connection {a_id}"
        _held(a_id)
        assert h.scalar(a, f"SELECT RELEASE_LOCK('{lock}_b')") == 1
        _released()
    finally:
        a.close()


def test_lock_inquiry_does_not_pin(single, table):
    a = _conn(single)
    try:
        lock = h.unique_name("lk3")
        assert h.query(a, f"SELECT IS_FREE_LOCK('{lock}'), IS_USED_LOCK('{lock}')") == ((1, None),)
        time.sleep(0.2)
        assert not _server_conns(PRIMARY_PORT), "the client still holds a primary connection"
        _write_works(single, table)
    finally:
        a.close()


def test_lock_tables_held_then_released(single, table):
    a = _conn(single)
    try:
        h.query(a, f"LOCK TABLES {table} WRITE")
        a_id = h.scalar(a, "SELECT CONNECTION_ID()")
        _held(a_id)
        # Reads of the locked table run on the locked connection (a replica would not know
        # the lock; another primary connection would wait for it).
        h.query(a, f"INSERT INTO {table} (v) VALUES ('locked')")
        assert h.query(a, f"SELECT COUNT(*), @@port, CONNECTION_ID() FROM {table}") \
            == ((1, PRIMARY_PORT, a_id),)
        other = h.unique_name("t_other")
        d = h.direct(PRIMARY_PORT)
        try:
            h.query(d, f"CREATE TABLE {other} (id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(32))")
        finally:
            d.close()
        _write_blocked(single, other)
        h.query(a, "UNLOCK TABLES")
        _released()
        _write_works(single, table)
    finally:
        a.close()


@pytest.mark.parametrize("begin,end", [("BEGIN", "COMMIT"), ("START TRANSACTION", "ROLLBACK"),
                                       ("SET autocommit = 0", "SET autocommit = 1")])
def test_transaction_held_then_released(single, table, begin, end):
    a = _conn(single)
    try:
        h.query(a, begin)
        h.query(a, f"INSERT INTO {table} (v) VALUES ('in-txn')")
        a_id, port = h.query(a, "SELECT CONNECTION_ID(), @@port")[0]
        assert port == PRIMARY_PORT, "read inside a transaction left the primary"
        _held(a_id)
        _write_blocked(single, table)
        h.query(a, end)
        _released()
        _write_works(single, table)
        d = h.direct(PRIMARY_PORT)
        try:
            n = h.scalar(d, f"SELECT COUNT(*) FROM {table} WHERE v = 'in-txn'")
        finally:
            d.close()
        assert n == (0 if end == "ROLLBACK" else 1), f"{end}: {n} rows"
    finally:
        a.close()


def test_user_variable_and_temp_table_held_until_disconnect(single, table):
    a = _conn(single)
    h.query(a, "SET @held = 1")
    _held(h.scalar(a, "SELECT CONNECTION_ID()"))
    a.close()
    _released()
    a = _conn(single)
    try:
        h.query(a, "CREATE TEMPORARY TABLE tmp_held (id INT)")
        h.query(a, "INSERT INTO tmp_held VALUES (1)")
        _held(h.scalar(a, "SELECT CONNECTION_ID()"))
        _write_blocked(single, table)
    finally:
        a.close()
    _released()
    _write_works(single, table)


# ---------------------------------------------------------------------------------------
# Next-statement holds: questions about the previous statement get its connection
# ---------------------------------------------------------------------------------------

def _threads(n: int, fn):
    """Runs fn(i) in n threads at once; returns the errors."""
    errors = []
    start = threading.Barrier(n)

    def run(i):
        try:
            start.wait(10)
            fn(i)
        except Exception as exc:  # noqa: BLE001
            errors.append((i, repr(exc)))

    threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not any(t.is_alive() for t in threads), "client threads stuck"
    return errors


def test_last_insert_id_after_insert(mux):
    t = h.unique_name("t_lastid")
    d = h.direct(PRIMARY_PORT)
    h.query(d, f"CREATE TABLE {t} (id INT AUTO_INCREMENT PRIMARY KEY, th INT, i INT)")
    got = {}

    def client(th):
        c = _conn(mux)
        try:
            for i in range(25):
                with c.cursor() as cur:
                    cur.execute(f"INSERT INTO {t} (th, i) VALUES ({th}, {i})")
                    ok_id = cur.lastrowid
                last = h.scalar(c, "SELECT LAST_INSERT_ID()")
                assert last == ok_id and last > 0, \
                    f"client {th} insert {i}: OK packet said id {ok_id}, LAST_INSERT_ID() {last}"
                got[(th, i)] = last
        finally:
            c.close()

    errors = _threads(4, client)
    assert not errors, errors[:3]
    rows = dict(((th, i), rid) for rid, th, i in h.query(d, f"SELECT id, th, i FROM {t}"))
    d.close()
    assert rows == got, "LAST_INSERT_ID() returned ids of other clients' rows"


def test_last_insert_id_after_another_statement(solo):
    t = h.unique_name("t_lastid2")
    d = h.direct(PRIMARY_PORT)
    try:
        h.query(d, f"CREATE TABLE {t} (id INT AUTO_INCREMENT PRIMARY KEY, v INT)")
    finally:
        d.close()
    c, other = _conn(solo), _conn(solo)
    try:
        wrong = []
        for i in range(10):
            with c.cursor() as cur:
                cur.execute(f"INSERT INTO {t} (v) VALUES (1)")
                ok_id = cur.lastrowid
            h.query(c, "SELECT 1")
            h.query(other, f"INSERT INTO {t} (v) VALUES (2)")  # another client's insert
            h.query(other, "SELECT 1")  # ... whose own hold then ends
            last = h.scalar(c, "SELECT LAST_INSERT_ID()")
            if last != ok_id:
                wrong.append((ok_id, last))
        assert not wrong, f"(inserted id, LAST_INSERT_ID()) pairs that differ: {wrong}"
    finally:
        c.close()
        other.close()


def test_found_rows_after_sql_calc_found_rows(mux):
    tables = {}
    d = h.direct(PRIMARY_PORT)
    try:
        for n in (7, 13, 21):
            t = h.unique_name(f"t_found{n}")
            h.query(d, f"CREATE TABLE {t} (id INT PRIMARY KEY)")
            h.query(d, f"INSERT INTO {t} SELECT seq FROM seq_1_to_{n}")
            tables[n] = t
    finally:
        d.close()
    h.wait_replicas_caught_up()
    sizes = list(tables)

    def client(th):
        n = sizes[th % len(sizes)]
        c = _conn(mux)
        try:
            for i in range(25):
                rows = h.query(c, f"SELECT SQL_CALC_FOUND_ROWS id FROM {tables[n]} ORDER BY id LIMIT 2")
                assert rows == ((1,), (2,))
                found = h.scalar(c, "SELECT FOUND_ROWS()")
                assert found == n, f"client {th} round {i}: FOUND_ROWS() = {found}, table has {n} rows"
        finally:
            c.close()

    errors = _threads(6, client)
    assert not errors, errors[:3]


def test_show_warnings_after_warning_or_error(mux):
    def client(th):
        c = _conn(mux)
        try:
            for i in range(20):
                tag = f"w{th}x{i}"
                h.query(c, f"SELECT CAST('{tag}' AS SIGNED)")
                w = h.query(c, "SHOW WARNINGS")
                assert w == (("Warning", 1292, f"Truncated incorrect INTEGER value: '{tag}'"),), \
                    f"client {th} round {i}: SHOW WARNINGS gave {w}"
                assert h.scalar(c, "SELECT @@warning_count") == 0  # SHOW WARNINGS itself: none
                with pytest.raises(pymysql.err.ProgrammingError):
                    h.query(c, f"SELECT * FROM no_such_table_{tag}")
                w = h.query(c, "SHOW WARNINGS")
                assert w == (("Error", 1146, f"Table '{DB}.no_such_table_{tag}' doesn't exist"),), \
                    f"client {th} round {i}: SHOW WARNINGS after an error gave {w}"
                h.query(c, "SELECT 1 / 0")
                assert h.scalar(c, "SHOW COUNT(*) WARNINGS") == 1, f"client {th} round {i}"
        finally:
            c.close()

    errors = _threads(4, client)
    assert not errors, errors[:3]


def test_show_warnings_after_clean_statement_is_empty(solo):
    other = _conn(solo)
    c = _conn(solo)
    try:
        leaks = []
        for i in range(20):
            # A note on the primary's connection (SHOW WARNINGS is answered there).
            h.query(other, f"DROP TABLE IF EXISTS no_such_table_leak{i}")
            h.query(other, "SELECT 1")  # the hold ends; the note stays on that connection
            h.query(c, "SELECT 2")
            w = h.query(c, "SHOW WARNINGS")
            if w:
                leaks.append(w)
        assert not leaks, f"{len(leaks)}/20 SHOW WARNINGS after a clean SELECT showed {leaks[:2]}"
    finally:
        c.close()
        other.close()
