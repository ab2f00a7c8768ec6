"""Server-side prepared statements (COM_STMT_*) through Sluice, with real clients: what a
client reads back is exactly what MariaDB gives it directly."""
import re
import subprocess

import helpers as h


def _run_cstmt(cstmt, port):
    return h.run([str(cstmt), h.HOST, str(port), h.APP_USER, h.APP_PASSWORD, h.DB], check=False, timeout=120)


def test_connector_c_prepared_statements_match_mariadb(sluice, cstmt):
    direct = _run_cstmt(cstmt, h.PRIMARY_PORT)
    assert direct.returncode == 0, direct.stderr
    via = _run_cstmt(cstmt, sluice.port)
    assert via.returncode == 0, via.stderr
    assert via.stdout == direct.stdout
    # The script's own checks: values of every bound type, long data, a whole cursor.
    assert "TYPED ROW\t45\t2.5\théllo!\t1\t2024-02-29 13:14:15" in via.stdout
    assert "LONGDATA ROW\t3000000\t" in via.stdout
    assert via.stdout.count("CURSOR ROWS 9") == 2


def test_sysbench_with_server_side_prepared_statements(sluice):
    sb = ["sysbench", f"--mysql-host={h.HOST}", f"--mysql-port={sluice.port}", f"--mysql-user={h.APP_USER}",
          f"--mysql-password={h.APP_PASSWORD}", f"--mysql-db={h.DB}", "--tables=1", "--table-size=2000",
          "--db-ps-mode=auto", "--rand-type=uniform"]
    prep = subprocess.run(sb[:2] + [f"--mysql-port={h.PRIMARY_PORT}"] + sb[3:] + ["oltp_read_write", "prepare"],
                          capture_output=True, text=True, timeout=120)
    try:
        assert prep.returncode == 0 or "already exists" in prep.stderr + prep.stdout, prep.stderr
        run = subprocess.run(sb + ["--threads=8", "--time=8", "oltp_read_write", "run"],
                             capture_output=True, text=True, timeout=120)
        assert run.returncode == 0, run.stderr[-2000:]
        assert "FATAL" not in run.stdout + run.stderr
        assert int(re.search(r"reconnects:\s+(\d+)", run.stdout).group(1)) == 0
        assert int(re.search(r"transactions:\s+(\d+)", run.stdout).group(1)) > 100
    finally:
        subprocess.run(sb[:2] + [f"--mysql-port={h.PRIMARY_PORT}"] + sb[3:] + ["oltp_read_write", "cleanup"],
                       capture_output=True, text=True, timeout=120)


NODE_DIR = h.REPO / "tests/e2e/node"


def _node_execute(port):
    return h.run(["node", "execute.js", h.HOST, str(port), h.APP_USER, h.APP_PASSWORD, h.DB],
                 cwd=NODE_DIR, check=False, timeout=120)


def test_node_mysql2_execute_matches_mariadb(sluice):
    """mysql2 (npm) execute(): binary protocol with CLIENT_DEPRECATE_EOF, parameters of
    common types (int, BigInt, float, double, decimal, unicode string, bytes, NULL, date,
    boolean), re-executions, inserts, and an error."""
    if not (NODE_DIR / "node_modules/mysql2").exists():
        h.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=NODE_DIR, timeout=300)
    direct = _node_execute(h.PRIMARY_PORT)
    assert direct.returncode == 0, direct.stderr
    via = _node_execute(sluice.port)
    assert via.returncode == 0, via.stderr
    assert via.stdout == direct.stdout
    assert '"big": "-9007199254740993"' in via.stdout and '"hex": "0001ff0a"' in via.stdout


# ---------------------------------------------------------------------------------------
# Statements shared across pooled connections (global cache, lazy prepare, LRU)
# ---------------------------------------------------------------------------------------
# Each test that counts runs its own Sluice with a user of its own: PROCESSLIST then counts
# exactly that instance's backend connections. The servers' Com_stmt_prepare and
# Prepared_stmt_count are global, so they are compared as deltas (no other Sluice of this
# suite prepares anything while a test runs).

import threading  # noqa: E402

from helpers import ALL_PORTS, PRIMARY_PORT, REPLICA_PORTS, StmtClient  # noqa: E402


def _instance(sluice_factory, make_user, user, pool, servers=None):
    make_user(user)
    tweaks = {"pool": pool, "users": [{"username": user, "password": user}]}
    if servers is not None:
        tweaks["servers"] = servers
    return sluice_factory(tweaks)


def _client(s, **kw):
    return StmtClient(s.port, user=s.user, password=s.password, **kw)


def _status(port, name):
    m = h.monitor_conn(port)
    try:
        return int(h.query(m, "SHOW GLOBAL STATUS LIKE %s", (name,))[0][1])
    finally:
        m.close()


def _statuses(name):
    return {p: _status(p, name) for p in ALL_PORTS}


def _table(rows=10):
    t = h.unique_name("ps")
    d = h.direct(PRIMARY_PORT)
    try:
        h.query(d, f"CREATE TABLE {t} (id INT PRIMARY KEY, v VARCHAR(32))")
        for i in range(1, rows + 1):
            h.query(d, f"INSERT INTO {t} VALUES ({i}, 'v{i}')")
    finally:
        d.close()
    h.wait_replicas_caught_up()
    return t


def _server_ids():
    ids = {}
    for p in ALL_PORTS:
        m = h.monitor_conn(p)
        try:
            ids[p] = int(h.scalar(m, "SELECT @@server_id"))
        finally:
            m.close()
    return ids


def _pins(s, reason):
    return h.metric(h.scrape_metrics(s.metrics_port), "sluice_pins_total", reason=reason)


def test_second_client_prepare_is_answered_from_the_cache(sluice_factory, make_user):
    """8 clients prepare the same SELECT and execute it in turns: the servers see one
    COM_STMT_PREPARE per backend connection that ran it, not one per client."""
    s = _instance(sluice_factory, make_user, "e2e_ps_cache", {"max_connections": 2, "max_idle": 2})
    t = _table()
    sql = f"SELECT v, id FROM {t} WHERE id = ?"
    prepares_before = _statuses("Com_stmt_prepare")
    m0 = h.scrape_metrics(s.metrics_port)
    clients = [_client(s) for _ in range(8)]
    try:
        stmts = [c.prepare(sql) for c in clients]
        assert [st.id for st in stmts] == [1] * 8  # ids are per client, from 1, as a server gives them
        assert all(st.params == 1 and st.columns == 2 for st in stmts)
        for rnd in range(5):
            for i, (c, st) in enumerate(zip(clients, stmts)):
                k = (rnd * 8 + i) % 10 + 1
                assert c.run(st, k) == [(f"v{k}", k)]
        conns = {p: len(h.user_conns(p, s.user)) for p in ALL_PORTS}
    finally:
        for c in clients:
            c.close()
    prepares = {p: _status(p, "Com_stmt_prepare") - prepares_before[p] for p in ALL_PORTS}
    m1 = h.scrape_metrics(s.metrics_port)
    summary = f"COM_STMT_PREPAREs {prepares}, backend connections {conns}"
    for p in ALL_PORTS:
        assert prepares[p] <= conns[p], summary
    assert sum(prepares[p] for p in REPLICA_PORTS) >= 1, f"no execution ran on a replica: {summary}"
    assert h.metric(m1, "sluice_stmt_cache_hits_total") - h.metric(m0, "sluice_stmt_cache_hits_total") == 7
    assert h.metric(m1, "sluice_stmt_backend_prepares_total") - h.metric(m0, "sluice_stmt_backend_prepares_total") \
        == sum(prepares.values())


def test_clients_holding_statements_share_a_small_pool(sluice_factory, make_user):
    """10 clients keep a prepared INSERT open and execute it in turns through a writer pool
    of 2: nobody is pinned (each would hold a connection), nobody waits for a checkout."""
    s = _instance(sluice_factory, make_user, "e2e_ps_share",
                  {"max_connections": 2, "max_idle": 2, "checkout_timeout_ms": 3000})
    t = _table(rows=0)
    pins_before = {r: _pins(s, r) for r in ("prepare", "cursor", "long_data")}
    clients = [_client(s) for _ in range(10)]
    try:
        with h.ProcesslistSampler(s.user) as sampler:
            stmts = [c.prepare(f"INSERT INTO {t} VALUES (?, ?)") for c in clients]
            for rnd in range(5):
                for i, (c, st) in enumerate(zip(clients, stmts)):
                    r = c.execute(st, (rnd * 100 + i, f"c{i}r{rnd}"))
                    assert r.affected == 1
                # A text query in between: still answered while every client holds a statement.
                assert clients[rnd].query(f"SELECT COUNT(*) FROM {t}")[0][0] != 0xFF
    finally:
        for c in clients:
            c.close()
    assert not sampler.errors, sampler.errors
    assert sampler.peaks[PRIMARY_PORT] <= 2, sampler.peaks
    d = h.direct(PRIMARY_PORT)
    try:
        assert h.scalar(d, f"SELECT COUNT(*) FROM {t}") == 50
    finally:
        d.close()
    for reason, before in pins_before.items():
        assert _pins(s, reason) == before, f"pins for {reason} grew"


def test_prepared_select_goes_to_a_replica_and_to_the_writer_in_a_transaction(sluice):
    ids = _server_ids()
    c = StmtClient(sluice.port)
    try:
        st = c.prepare("SELECT @@server_id")
        seen = {c.run(st)[0][0] for _ in range(20)}
        assert seen <= {ids[p] for p in REPLICA_PORTS}, f"autocommit reads answered by {seen}, ids {ids}"
        c.query("BEGIN")
        assert c.run(st) == [(ids[PRIMARY_PORT],)]
        assert c.run(st) == [(ids[PRIMARY_PORT],)]
        c.query("COMMIT")
        assert c.run(st)[0][0] in {ids[p] for p in REPLICA_PORTS}
        # A prepared write goes to the writer whatever the session does.
        w = c.prepare("SELECT @@server_id, LAST_INSERT_ID()")
        assert c.run(w) == [(ids[PRIMARY_PORT], 0)]
    finally:
        c.close()


def test_lru_bounds_prepared_statements_per_connection(sluice_factory, make_user):
    """pool.max_prepared_statements=4: one client runs 10 statements in turn (reads on the
    replicas, then inside a transaction on the writer); every answer is right and no server
    ever holds more than 4 of them per backend connection."""
    s = _instance(sluice_factory, make_user, "e2e_ps_lru",
                  {"max_connections": 2, "max_idle": 2, "max_prepared_statements": 4})
    t = _table()
    baseline = _statuses("Prepared_stmt_count")
    worst = {p: 0 for p in ALL_PORTS}
    c = _client(s)
    try:
        stmts = [c.prepare(f"SELECT v, {k} FROM {t} WHERE id = ?") for k in range(10)]
        for rnd in range(4):
            in_txn = rnd == 2
            if in_txn:
                c.query("BEGIN")
            for k, st in enumerate(stmts):
                row = (rnd + k) % 10 + 1
                assert c.run(st, row) == [(f"v{row}", k)]
                conns = {p: len(h.user_conns(p, s.user)) for p in ALL_PORTS}
                for p in ALL_PORTS:
                    held = _status(p, "Prepared_stmt_count") - baseline[p]
                    worst[p] = max(worst[p], held)
                    assert held <= 4 * conns[p], f"{p}: {held} statements over {conns[p]} connections"
            if in_txn:
                c.query("COMMIT")
    finally:
        c.close()
    m = h.scrape_metrics(s.metrics_port)
    assert h.metric(m, "sluice_stmt_lru_closes_total") > 0
    assert worst[PRIMARY_PORT] >= 1 and max(worst[p] for p in REPLICA_PORTS) >= 1, worst


def test_parameter_types_sent_once_bind_on_every_connection(sluice_factory, make_user):
    """A client sends parameter types with its first execution only (flag 0 later, as
    libmysqlclient does). Its next executions may land on connections that never saw those
    types, or saw another client's: Sluice adds the client's types there."""
    s = _instance(sluice_factory, make_user, "e2e_ps_types", {"max_connections": 1, "max_idle": 1})
    a, b = _client(s), _client(s)
    try:
        sa = a.prepare("SELECT CONCAT('x', ?)")
        sb = b.prepare("SELECT CONCAT('x', ?)")
        assert a.run(sa, 1) == [("x1",)]
        assert b.run(sb, "abc") == [("xabc",)]
        for i in range(2, 30):
            assert a.run(sa, i, send_types=False) == [(f"x{i}",)], i
            assert b.run(sb, f"s{i}", send_types=False) == [(f"xs{i}",)], i
    finally:
        a.close()
        b.close()


def test_cursor_and_long_data_hold_the_connection_only_while_needed(sluice_factory, make_user, cluster):
    """Writer only, pool of 1: a cursor keeps the connection until it is exhausted, long
    data until its EXECUTE; then another client gets the connection at once."""
    writer_only = [{"hostgroup": h.WRITER_HG, "host": h.HOST, "port": PRIMARY_PORT}]
    s = _instance(sluice_factory, make_user, "e2e_ps_hold",
                  {"max_connections": 1, "max_idle": 1, "checkout_timeout_ms": 2000}, servers=writer_only)
    t = h.unique_name("ps_blob")
    a, b = _client(s), _client(s)
    try:
        b.query(f"CREATE TABLE {t} (id INT PRIMARY KEY, blob_col LONGBLOB)")
        cur = a.prepare("SELECT seq FROM seq_1_to_10")
        r = a.execute(cur, cursor=True)
        assert r.status & h.SERVER_STATUS_CURSOR_EXISTS
        held = b.query("SELECT 1")  # the only connection serves the open cursor
        assert held[0][0] == 0xFF and b"timed out" in held[0], held
        got = [row[0] for row in a.fetch(cur, 4).rows]
        got += [row[0] for row in a.fetch(cur, 4).rows]
        last = a.fetch(cur, 4)
        got += [row[0] for row in last.rows]
        assert got == list(range(1, 11))
        assert last.status & h.SERVER_STATUS_LAST_ROW_SENT
        assert b.query("SELECT 1")[0][0] != 0xFF  # the cursor is done: the connection is free
        ins = a.prepare(f"INSERT INTO {t} VALUES (?, ?)")
        for chunk in (b"a" * 70000, b"b" * 70000, b"c" * 70000):
            a.send_long_data(ins, 1, chunk)
        assert a.execute(ins, (1, None), long_data=(1,)).affected == 1
        sel = b.prepare(f"SELECT LENGTH(blob_col), MD5(blob_col) FROM {t} WHERE id = ?")
        import hashlib
        assert b.run(sel, 1) == [(210000, hashlib.md5(b"a" * 70000 + b"b" * 70000 + b"c" * 70000).hexdigest())]
    finally:
        a.close()
        b.close()
    m = h.scrape_metrics(s.metrics_port)
    assert h.metric(m, "sluice_pins_total", reason="cursor") == 1
    assert h.metric(m, "sluice_pins_total", reason="long_data") == 1


def test_statement_changed_by_ddl_is_prepared_again(sluice_factory, make_user):
    """A cached answer that no longer matches the server (ALTER TABLE added a column) is not
    given out again: the execution that finds out fails with 1615 (as MariaDB's own
    "needs to be re-prepared"), and the next prepare asks the server."""
    writer_only = [{"hostgroup": h.WRITER_HG, "host": h.HOST, "port": PRIMARY_PORT}]
    s = _instance(sluice_factory, make_user, "e2e_ps_ddl", {"max_connections": 2, "max_idle": 2}, servers=writer_only)
    t = _table(rows=3)
    a, b = _client(s), _client(s)
    try:
        sa = a.prepare(f"SELECT * FROM {t} WHERE id = ?")
        assert a.run(sa, 1) == [(1, "v1")]
        # a keeps the only connection that has the statement (not touching the table, so
        # the ALTER does not wait for its transaction)
        a.query("BEGIN")
        assert a.query("SELECT 1")[0][0] != 0xFF
        d = h.direct(PRIMARY_PORT)
        try:
            h.query(d, f"ALTER TABLE {t} ADD COLUMN w INT DEFAULT 5")
        finally:
            d.close()
        sb = b.prepare(f"SELECT * FROM {t} WHERE id = ?")  # from the cache: 2 columns
        assert sb.columns == 2
        try:
            b.execute(sb, (2,))
            raise AssertionError("execution with stale metadata succeeded")
        except h.RawError as exc:
            assert exc.code == 1615 and "re-prepared" in exc.message, exc
        sb = b.prepare(f"SELECT * FROM {t} WHERE id = ?")
        assert sb.columns == 3
        assert b.run(sb, 2) == [(2, "v2", 5)]
        a.query("COMMIT")
    finally:
        a.close()
        b.close()


def test_statement_runs_in_the_schema_it_was_prepared_in(sluice, cluster):
    """Prepared in one schema, executed after USE another (on connections that never
    prepared it): the same rows as MariaDB gives directly."""
    other = "sluice_ps_other"
    cluster.root_sql(PRIMARY_PORT, f"CREATE DATABASE IF NOT EXISTS {other}; "
                                   f"GRANT ALL ON {other}.* TO '{h.APP_USER}'@'%';")
    t = h.unique_name("ps_schema")
    d = h.direct(PRIMARY_PORT)
    try:
        h.query(d, f"CREATE TABLE {h.DB}.{t} (v VARCHAR(8))")
        h.query(d, f"INSERT INTO {h.DB}.{t} VALUES ('home')")
        h.query(d, f"CREATE TABLE {other}.{t} (v VARCHAR(8))")
        h.query(d, f"INSERT INTO {other}.{t} VALUES ('other')")
    finally:
        d.close()
    h.wait_replicas_caught_up()
    answers = {}
    for port in (PRIMARY_PORT, sluice.port):
        c = StmtClient(port)
        try:
            st = c.prepare(f"SELECT v, DATABASE() FROM {t}")
            c.query(f"USE {other}")
            answers[port] = [c.run(st) for _ in range(6)]
        finally:
            c.close()
    assert answers[sluice.port] == answers[PRIMARY_PORT], answers
    assert answers[PRIMARY_PORT][0] == [("home", h.DB)]


def test_prepared_insert_then_select_sees_the_row(sluice):
    """Read-your-writes holds for prepared statements: a SELECT right after an INSERT (both
    prepared, autocommit) finds the row, though SELECTs may go to replicas."""
    t = _table(rows=0)
    ids = _server_ids()
    c = StmtClient(sluice.port)
    try:
        ins = c.prepare(f"INSERT INTO {t} VALUES (?, ?)")
        sel = c.prepare(f"SELECT v, @@server_id FROM {t} WHERE id = ?")
        answered_by = set()
        for i in range(1, 41):
            assert c.execute(ins, (i, f"r{i}")).affected == 1
            rows = c.run(sel, i)
            assert rows and rows[0][0] == f"r{i}", f"row {i} missing right after its insert: {rows}"
            answered_by.add(rows[0][1])
        assert answered_by <= set(ids.values())
    finally:
        c.close()
