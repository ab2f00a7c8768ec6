"""The admin port (issue 4): ProxySQL-compatible SQL administration on SLUICE_PORT-1.

Read-only checks use the shared Sluice; anything that edits tables, the config file or
restarts runs on an instance of its own (sluice_factory), whose config file is the disk
layer.
"""
import json
import os
import threading
import time

import pymysql
import pytest

import helpers as h
from helpers import DB, HOST, PRIMARY_PORT, REPLICA_PORTS, READER_HG, WRITER_HG

ADMIN_USER, ADMIN_PASSWORD = "admin", "admin"


def admin(port, user=ADMIN_USER, password=ADMIN_PASSWORD, **kw):
    return h.connect(port, user=user, password=password, database=None, **kw)


def rows(conn, sql, args=None):
    return [tuple(r) for r in h.query(conn, sql, args)]


def admin_error(conn, sql):
    with pytest.raises(pymysql.MySQLError) as e:
        h.query(conn, sql)
    return h.mysql_error(e.value)


@pytest.fixture
def own(sluice_factory):
    """A Sluice of the test's own (its config file is the disk layer) and an admin conn."""
    s = sluice_factory()
    c = admin(s.admin_port)
    yield s, c
    c.close()


def disk(s):
    return json.loads(s.config_path.read_text())


# ---------------------------------------------------------------------------------------
# Login and the usual client queries
# ---------------------------------------------------------------------------------------

def test_admin_login_with_right_and_wrong_password(sluice):
    c = admin(sluice.admin_port)
    assert h.scalar(c, "SELECT 1") == 1
    c.close()
    for user, password in ((ADMIN_USER, "wrong"), ("app", "app"), (ADMIN_USER, "")):
        with pytest.raises(pymysql.err.OperationalError) as e:
            admin(sluice.admin_port, user=user, password=password)
        code, msg = h.mysql_error(e.value)
        assert code == 1045, msg
        assert f"Access denied for user '{user}'" in msg


def test_client_connect_queries_answered(sluice):
    c = admin(sluice.admin_port)
    assert h.scalar(c, "SELECT @@version_comment LIMIT 1").startswith("Sluice admin")
    assert h.scalar(c, "SELECT @@version") == "10.11.0-MariaDB-sluice"
    assert h.scalar(c, "SELECT DATABASE()") == "main"
    with c.cursor() as cur:
        cur.execute("SELECT @@session.auto_increment_increment AS inc, @@max_allowed_packet")
        assert [d[0] for d in cur.description] == ["inc", "@@max_allowed_packet"]
        assert cur.fetchall() == ((1, 67108864),)
    for stmt in ("SET NAMES utf8mb4", "SET autocommit=1", "SET SESSION sql_mode=''", "USE main"):
        h.query(c, stmt)
    h.query(c, "USE stats")
    assert h.scalar(c, "SELECT DATABASE()") == "stats"
    assert admin_error(c, "USE nope")[0] == 1049
    c.close()


def test_show_tables_and_databases(sluice):
    c = admin(sluice.admin_port)
    tables = {r[0] for r in rows(c, "SHOW TABLES")}
    for t in ("mysql_servers", "mysql_users", "mysql_query_rules", "mysql_replication_hostgroups",
              "global_variables", "runtime_mysql_servers", "runtime_mysql_users",
              "runtime_mysql_query_rules", "runtime_global_variables"):
        assert t in tables
    stats = {r[0] for r in rows(c, "SHOW TABLES FROM stats")}
    for t in ("stats_mysql_connection_pool", "stats_mysql_query_digest", "stats_mysql_query_digest_reset",
              "stats_mysql_processlist", "stats_mysql_commands_counters", "stats_mysql_global"):
        assert t in stats
    assert {r[1] for r in rows(c, "SHOW DATABASES")} >= {"main", "stats", "monitor"}
    create = rows(c, "SHOW CREATE TABLE mysql_servers")
    assert create[0][0] == "mysql_servers"
    assert "hostgroup_id INT" in create[0][1] and "max_idle INT" in create[0][1]
    assert admin_error(c, "SHOW CREATE TABLE nope")[0] == 1146
    c.close()


def test_sqlite_errors_come_back_as_mysql_errors(sluice):
    c = admin(sluice.admin_port)
    code, msg = admin_error(c, "SELECT * FROM no_such_table")
    assert (code, msg) == (1146, "no such table: no_such_table")
    code, msg = admin_error(c, "SELEKT 1")
    assert code == 1064 and "syntax error" in msg
    code, msg = admin_error(c, "INSERT INTO mysql_servers (hostgroup_id, hostname, port, status) "
                               "VALUES (10, 'x', 1, 'BROKEN')")
    assert code == 4025 and "CHECK constraint failed" in msg
    assert h.scalar(c, "SELECT 1") == 1  # the session goes on
    c.close()


def test_mysql_servers_shows_the_config(sluice):
    c = admin(sluice.admin_port)
    got = rows(c, "SELECT hostgroup_id, hostname, port, status, weight, max_connections, max_idle, use_ssl "
                  "FROM mysql_servers ORDER BY hostgroup_id, port")
    assert got == [(WRITER_HG, HOST, PRIMARY_PORT, "ONLINE", 1, 64, 64, 0),
                   (READER_HG, HOST, REPLICA_PORTS[0], "ONLINE", 1, 64, 64, 0),
                   (READER_HG, HOST, REPLICA_PORTS[1], "ONLINE", 1, 64, 64, 0)]
    assert rows(c, "SELECT * FROM runtime_mysql_servers ORDER BY hostgroup_id, port") == \
        rows(c, "SELECT * FROM mysql_servers ORDER BY hostgroup_id, port")
    assert rows(c, "SELECT username, password, active, default_hostgroup, transaction_persistent "
                   "FROM runtime_mysql_users") == [("app", "app", 1, None, 1)]
    variables = dict(rows(c, "SELECT * FROM global_variables"))
    assert variables["mysql-interfaces"] == f"{HOST}:{sluice.port}"
    assert variables["mysql-monitor_username"] == "monitor"
    assert variables["admin-admin_credentials"] == "admin:admin"
    assert variables["mysql-writer_hostgroup"] == str(WRITER_HG)
    c.close()


# ---------------------------------------------------------------------------------------
# LOAD ... TO RUNTIME: validation names the row; nothing changes on refusal
# ---------------------------------------------------------------------------------------

def test_invalid_regex_refused_naming_the_row(own):
    s, c = own
    h.query(c, "INSERT INTO mysql_query_rules (rule_id, active, match_pattern, destination_hostgroup, apply) "
               "VALUES (7, 1, '^SELECT (', 20, 1)")
    code, msg = admin_error(c, "LOAD MYSQL QUERY RULES TO RUNTIME")
    assert code == 1105
    assert msg.startswith("mysql_query_rules rule_id 7: match_pattern: invalid regular expression: missing )"), msg
    assert rows(c, "SELECT * FROM runtime_mysql_query_rules") == []


def test_unknown_hostgroup_refused_naming_the_row(own):
    s, c = own
    h.query(c, "INSERT INTO mysql_query_rules (rule_id, active, match_digest, destination_hostgroup, apply) "
               "VALUES (3, 1, '^SELECT', 30, 1)")
    code, msg = admin_error(c, "LOAD MYSQL QUERY RULES TO RUNTIME")
    assert msg == ("mysql_query_rules rule_id 3: destination_hostgroup: hostgroup 30 has no servers "
                   "and is not a replication hostgroup"), msg
    h.query(c, "UPDATE mysql_users SET default_hostgroup = 99")
    code, msg = admin_error(c, "LOAD MYSQL USERS TO RUNTIME")
    assert msg == "mysql_users username 'app': default_hostgroup: hostgroup 99 has no servers", msg
    h.query(c, "INSERT INTO mysql_servers (hostgroup_id, hostname, port, weight) VALUES (30, '127.0.0.1', 1, 0)")
    code, msg = admin_error(c, "LOAD MYSQL SERVERS TO RUNTIME")
    assert msg == "mysql_servers row hostgroup 30 127.0.0.1:1: weight: must be an integer between 1 and 1000000 (got 0)"


def test_unsupported_columns_and_static_variables_refused(own):
    s, c = own
    h.query(c, "UPDATE mysql_users SET fast_forward = 1")
    assert admin_error(c, "LOAD MYSQL USERS TO RUNTIME")[1] == \
        "mysql_users username 'app': fast_forward: fast_forward is not supported (must be 0, got 1)"
    h.query(c, "UPDATE mysql_servers SET use_ssl = 1 WHERE hostgroup_id = 10")
    assert "use_ssl: TLS to backends is not supported" in admin_error(c, "LOAD MYSQL SERVERS TO RUNTIME")[1]
    h.query(c, "SET mysql-threads = 8")
    msg = admin_error(c, "LOAD MYSQL VARIABLES TO RUNTIME")[1]
    assert msg.startswith("cannot be changed at run time: mysql-threads (running: 2, memory: 8)"), msg
    assert admin_error(c, "SET mysql-no_such_thing = 1")[0] == 1193
    assert dict(rows(c, "SELECT * FROM runtime_global_variables"))["mysql-threads"] == "2"


def test_save_to_memory_restores_the_tables_from_runtime(own):
    s, c = own
    h.query(c, "DELETE FROM mysql_servers")
    assert rows(c, "SELECT COUNT(*) FROM mysql_servers") == [(0,)]
    h.query(c, "SAVE MYSQL SERVERS TO MEMORY")
    assert rows(c, "SELECT COUNT(*) FROM mysql_servers") == [(3,)]


def test_admin_credentials_change_at_runtime(own):
    s, c = own
    h.query(c, "SET admin-admin_credentials = 'root:s3cret'")
    h.query(c, "LOAD ADMIN VARIABLES TO RUNTIME")
    c2 = admin(s.admin_port, user="root", password="s3cret")
    assert dict(rows(c2, "SELECT * FROM runtime_global_variables"))["admin-admin_credentials"] == "root:s3cret"
    c2.close()
    with pytest.raises(pymysql.err.OperationalError):
        admin(s.admin_port)
    assert h.scalar(c, "SELECT 1") == 1  # sessions already open stay open


def test_multi_statements(own):
    s, c0 = own
    c = admin(s.admin_port, multi=True)
    with c.cursor() as cur:
        cur.execute("LOAD ADMIN VARIABLES TO RUNTIME; SELECT 1; SELECT 2")
        assert cur.fetchall() == ()
        assert cur.nextset() and cur.fetchall() == ((1,),)
        assert cur.nextset() and cur.fetchall() == ((2,),)
    c.close()


# ---------------------------------------------------------------------------------------
# Disk: SAVE ... TO DISK rewrites the config file, LOAD ... FROM DISK reads it
# ---------------------------------------------------------------------------------------

def test_save_to_disk_rewrites_the_config_file(own, sluice_bin):
    s, c = own
    before = disk(s)
    mode = os.stat(s.config_path).st_mode
    h.query(c, "INSERT INTO mysql_query_rules (rule_id, active, match_digest, destination_hostgroup, apply, comment) "
               "VALUES (1, 1, '^SELECT.*FOR UPDATE$', 10, 1, 'writer')")
    h.query(c, "UPDATE mysql_servers SET max_idle = 5, comment = 'replica' WHERE port = %s", (REPLICA_PORTS[0],))
    h.query(c, "SAVE MYSQL QUERY RULES TO DISK")
    after = disk(s)
    assert [(r["rule_id"], r["match_digest"], r["destination_hostgroup"], r["comment"]) for r in after["query_rules"]] == \
        [(1, "^SELECT.*FOR UPDATE$", 10, "writer")]
    # Only that module changed: servers are as the file had them (defaults now written out).
    assert [(x["hostgroup"], x["port"]) for x in after["servers"]] == \
        [(x["hostgroup"], x["port"]) for x in before["servers"]]
    assert all("comment" not in x or x["comment"] == "" for x in after["servers"])
    h.query(c, "SAVE MYSQL SERVERS TO DISK")
    after = disk(s)
    assert [x for x in after["servers"] if x["port"] == REPLICA_PORTS[0]][0]["max_idle"] == 5
    assert os.stat(s.config_path).st_mode == mode
    assert not [p for p in os.listdir(s.config_path.parent) if ".sluice-tmp." in p]
    cp = h.run([str(sluice_bin), "--check-config", str(s.config_path)], check=False)
    assert cp.returncode == 0, cp.stderr
    # A config the file would refuse is never written.
    h.query(c, "UPDATE mysql_query_rules SET match_digest = '(' WHERE rule_id = 1")
    msg = admin_error(c, "SAVE MYSQL QUERY RULES TO DISK")[1]
    assert msg.startswith("mysql_query_rules rule_id 1: match_digest: invalid regular expression"), msg
    assert disk(s) == after


def test_load_from_disk_fills_memory_only(own):
    s, c = own
    cfg = disk(s)
    cfg["query_rules"] = [{"rule_id": 9, "active": True, "match_digest": "^SELECT", "destination_hostgroup": 20,
                           "apply": True}]
    cfg["monitor"]["ping_interval_ms"] = 3456
    s.config_path.write_text(json.dumps(cfg))
    h.query(c, "LOAD MYSQL QUERY RULES FROM DISK")
    assert rows(c, "SELECT rule_id, active, match_digest, destination_hostgroup, apply, re_modifiers "
                   "FROM mysql_query_rules") == [(9, 1, "^SELECT", 20, 1, "CASELESS")]
    assert rows(c, "SELECT * FROM runtime_mysql_query_rules") == []
    h.query(c, "LOAD MYSQL VARIABLES TO MEMORY")
    assert h.scalar(c, "SELECT variable_value FROM global_variables "
                       "WHERE variable_name = 'mysql-monitor_ping_interval'") == "3456"
    s.config_path.write_text("{ not json")
    code, msg = admin_error(c, "LOAD MYSQL SERVERS FROM DISK")
    assert code == 1105 and msg.startswith("the config file is not valid:"), msg
    assert rows(c, "SELECT COUNT(*) FROM mysql_servers") == [(3,)]


# ---------------------------------------------------------------------------------------
# Stats tables
# ---------------------------------------------------------------------------------------

def _pool(c):
    return {(r[0], r[2]): r for r in rows(c, "SELECT hostgroup, srv_host, srv_port, status, ConnUsed, ConnFree, "
                                           "ConnOK, ConnERR, MaxConn, Waiting, WaitCount FROM stats_mysql_connection_pool")}


def test_connection_pool_agrees_with_the_servers(sluice_factory, make_user):
    user = "e2e_admin_pool"
    make_user(user)
    s = sluice_factory({"users": [{"username": user, "password": user}]})
    c = admin(s.admin_port)
    clients = [h.connect(s.port, user=user, password=user) for _ in range(4)]
    for cl in clients:
        for _ in range(5):
            h.query(cl, "SELECT @@port")
        h.query(cl, "DO 1")  # a write: the primary's pool too
    held = clients[0]
    h.query(held, "BEGIN")
    h.query(held, "SELECT 1 FOR UPDATE")  # keeps one writer connection in use

    def agree():
        pool = _pool(c)
        for port in (PRIMARY_PORT,) + REPLICA_PORTS:
            key = [k for k in pool if k[1] == port][0]
            used, free = pool[key][4], pool[key][5]
            if used + free != len(h.user_conns(port, user)):
                return False
        return pool
    pool = h.wait_for(agree, 10, what="pool figures equal to PROCESSLIST on every server")
    writer = pool[(WRITER_HG, PRIMARY_PORT)]
    assert writer[3] == "ONLINE" and writer[4] == 1 and writer[8] == 64
    assert sum(pool[k][6] for k in pool) >= 3  # ConnOK
    h.query(held, "COMMIT")
    for cl in clients:
        cl.close()
    c.close()


def test_processlist_shows_client_sessions(own):
    s, c = own
    cl = h.connect(s.port)
    done = threading.Event()

    def slow():
        h.query(cl, "SELECT SLEEP(1.5) AS marker_e2e_admin")
        done.set()
    t = threading.Thread(target=slow)
    t.start()

    def running():
        r = rows(c, "SELECT user, db, cli_host, command, info, hostgroup, srv_port, time_ms "
                    "FROM stats_mysql_processlist WHERE info LIKE '%marker_e2e_admin%'")
        # Until a backend connection is lent (checkout, state replay) hostgroup is NULL.
        return r[0] if r and r[0][5] is not None else None
    row = h.wait_for(running, 5, what="the running statement in stats_mysql_processlist")
    assert row[:4] == ("app", DB, HOST, "Query")
    assert row[5] in (WRITER_HG, READER_HG) and row[6] in (PRIMARY_PORT,) + REPLICA_PORTS
    t.join(10)
    assert done.is_set()
    idle = rows(c, "SELECT command, info FROM stats_mysql_processlist WHERE user = 'app'")
    assert ("Sleep", None) in idle
    cl.close()


def test_stats_global_and_other_tables(own):
    s, c = own
    cl = h.connect(s.port)
    for _ in range(3):
        h.query(cl, "SELECT 1")
    g = dict(rows(c, "SELECT * FROM stats.stats_mysql_global"))
    assert int(g["Questions"]) >= 3
    assert int(g["Client_Connections_connected"]) >= 1
    assert int(g["Server_Connections_created"]) >= 1
    assert int(dict(rows(c, "SHOW STATUS LIKE 'Questions'"))["Questions"]) >= int(g["Questions"])
    assert rows(c, "SELECT username, frontend_connections FROM stats_mysql_users") == [("app", 1)]
    # Created with ProxySQL's columns; filled by the digest engine (rules branch).
    with c.cursor() as cur:
        cur.execute("SELECT * FROM stats_mysql_query_digest_reset")
        assert [d[0] for d in cur.description][:6] == ["hostgroup", "schemaname", "username", "client_address",
                                                         "digest", "digest_text"]
    counters = {r[0]: r for r in rows(c, "SELECT * FROM stats_mysql_commands_counters")}
    assert counters["SELECT"][2] >= 3  # Total_cnt
    assert counters["SELECT"][2] == sum(counters["SELECT"][3:])  # cnt_100us .. cnt_INFs
    h.query(cl, "CREATE TEMPORARY TABLE e2e_admin_tmp (a INT)")
    h.query(cl, "INSERT INTO e2e_admin_tmp VALUES (1), (2)")
    counters = {r[0]: r for r in rows(c, "SELECT Command, Total_cnt FROM stats_mysql_commands_counters")}
    assert counters["CREATE_TEMPORARY"][1] == 1 and counters["INSERT"][1] == 1
    cl.close()


def test_query_digest_counts_a_known_workload(own):
    s, c = own
    h.query(c, "SELECT * FROM stats_mysql_query_digest_reset")
    cl = h.connect(s.port)
    for i in range(7):
        h.query(cl, f"SELECT {i} AS e2e_admin_digest FROM DUAL WHERE 'x{i}' = 'x{i}'")
    h.query(cl, "SELECT 1 AS e2e_admin_digest_other")
    got = rows(c, "SELECT username, schemaname, count_star, digest_text, hostgroup, digest "
                  "FROM stats_mysql_query_digest WHERE digest_text LIKE '%e2e_admin_digest%' ORDER BY count_star")
    assert [(r[0], r[1], r[2]) for r in got] == [("app", DB, 1), ("app", DB, 7)], got
    assert got[1][3] == "SELECT ? AS e2e_admin_digest FROM DUAL WHERE ? = ?", got
    assert got[1][4] in (WRITER_HG, READER_HG) and got[1][5].startswith("0x") and len(got[1][5]) == 18
    # _reset returns the rows and starts the counters again.
    assert len(rows(c, "SELECT * FROM stats_mysql_query_digest_reset WHERE digest_text LIKE '%e2e_admin_digest%'")) == 2
    assert rows(c, "SELECT * FROM stats_mysql_query_digest WHERE digest_text LIKE '%e2e_admin_digest%'") == []
    cl.close()


# ---------------------------------------------------------------------------------------
# The mariadb CLI
# ---------------------------------------------------------------------------------------

def test_mariadb_cli_against_the_admin_port(sluice):
    cp = h.mariadb_cli(sluice.admin_port, "--batch", "-e",
                       "SELECT hostgroup_id, port FROM mysql_servers ORDER BY port; SHOW TABLES LIKE 'mysql_users'",
                       user=ADMIN_USER, password=ADMIN_PASSWORD, database=None, check=True)
    lines = cp.stdout.splitlines()
    assert lines[:4] == ["hostgroup_id\tport", f"{WRITER_HG}\t{PRIMARY_PORT}", f"{READER_HG}\t{REPLICA_PORTS[0]}",
                         f"{READER_HG}\t{REPLICA_PORTS[1]}"]
    assert lines[-1] == "mysql_users"
    # Interactive-style session: database on the command line, table completion, \s status.
    cp = h.mariadb_cli(sluice.admin_port, "-e", "status; SELECT COUNT(*) FROM runtime_mysql_users",
                       user=ADMIN_USER, password=ADMIN_PASSWORD, database="main", check=True)
    assert "Sluice admin" in cp.stdout
    cp = h.mariadb_cli(sluice.admin_port, "-e", "LOAD MYSQL SERVERS TO DISKK",
                       user=ADMIN_USER, password=ADMIN_PASSWORD, database=None)
    assert h.parse_cli_error(cp.stderr)[0] == 1064


# ---------------------------------------------------------------------------------------
# ProxySQL's read/write split how-to, verbatim, against the admin port
# ---------------------------------------------------------------------------------------

def test_proxysql_read_write_split_howto(sluice_factory, sluice_bin):
    # Start with the primary only: every statement runs there.
    s = sluice_factory({"servers": [{"hostgroup": WRITER_HG, "host": HOST, "port": PRIMARY_PORT}]},
                       wait_for_replicas=False)
    client = h.connect(s.port)
    assert h.scalar(client, "SELECT @@port") == PRIMARY_PORT
    c = admin(s.admin_port)
    for stmt in [
        f"INSERT INTO mysql_servers (hostgroup_id, hostname, port) VALUES (20, '{HOST}', {REPLICA_PORTS[0]})",
        f"INSERT INTO mysql_servers (hostgroup_id, hostname, port) VALUES (20, '{HOST}', {REPLICA_PORTS[1]})",
        "LOAD MYSQL SERVERS TO RUNTIME",
        "SAVE MYSQL SERVERS TO DISK",
        "UPDATE mysql_users SET default_hostgroup=10",
        "LOAD MYSQL USERS TO RUNTIME",
        "SAVE MYSQL USERS TO DISK",
        "INSERT INTO mysql_query_rules (rule_id,active,match_digest,destination_hostgroup,apply) "
        "VALUES (1,1,'^SELECT.*FOR UPDATE$',10,1), (2,1,'^SELECT',20,1)",
        "LOAD MYSQL QUERY RULES TO RUNTIME",
        "SAVE MYSQL QUERY RULES TO DISK",
    ]:
        h.query(c, stmt)
    # The same client connection, still open: reads now go to the replicas.
    h.wait_for(lambda: h.scalar(client, "SELECT @@port") in REPLICA_PORTS, 10,
               what="reads on a replica after LOAD ... TO RUNTIME")
    seen = {h.scalar(client, "SELECT @@port") for _ in range(20)}
    assert seen <= set(REPLICA_PORTS)
    assert h.query(client, "SELECT @@port FOR UPDATE")[0][0] == PRIMARY_PORT
    assert {h.scalar(client, "SELECT @@server_id")} != {h.scalar(h.direct(PRIMARY_PORT), "SELECT @@server_id")}
    client.close()
    c.close()

    # Restart: the saved config is in force.
    cp = h.run([str(sluice_bin), "--check-config", str(s.config_path)], check=False)
    assert cp.returncode == 0, cp.stderr
    s.stop()
    s.config = disk(s)
    s.start(wait_for_replicas=False)
    c = admin(s.admin_port)
    assert rows(c, "SELECT rule_id, match_digest, destination_hostgroup FROM runtime_mysql_query_rules") == \
        [(1, "^SELECT.*FOR UPDATE$", 10), (2, "^SELECT", 20)]
    assert rows(c, "SELECT COUNT(*) FROM runtime_mysql_servers WHERE hostgroup_id = 20") == [(2,)]
    client = h.connect(s.port)
    h.wait_for(lambda: h.scalar(client, "SELECT @@port") in REPLICA_PORTS, 10, what="reads on a replica after restart")
    client.close()
    c.close()


def test_loaded_rule_overrides_the_split(own):
    """A rule the built-in split would not apply: a marked SELECT goes to the writer."""
    s, c = own
    client = h.connect(s.port)
    probe = "SELECT @@port /* e2e_admin_rule_probe */"
    h.wait_for(lambda: h.scalar(client, probe) in REPLICA_PORTS, 10, what="the probe on a replica")
    h.query(c, "INSERT INTO mysql_query_rules (rule_id, active, match_pattern, destination_hostgroup, apply) "
               "VALUES (1, 1, 'e2e_admin_rule_probe', 10, 1)")
    h.query(c, "LOAD MYSQL QUERY RULES TO RUNTIME")
    assert {h.scalar(client, probe) for _ in range(10)} == {PRIMARY_PORT}
    assert rows(c, "SELECT rule_id, hits FROM stats_mysql_query_rules") == [(1, 10)]
    h.query(c, "DELETE FROM mysql_query_rules")
    h.query(c, "LOAD MYSQL QUERY RULES TO RUNTIME")
    h.wait_for(lambda: h.scalar(client, probe) in REPLICA_PORTS, 10, what="the probe back on a replica")
    client.close()


# ---------------------------------------------------------------------------------------
# LOAD ... TO RUNTIME under load
# ---------------------------------------------------------------------------------------

@pytest.mark.sysbench
def test_load_to_runtime_under_sysbench_causes_no_client_errors(own):
    import shutil
    import subprocess
    from test_sysbench import SECONDS, THREADS, _deadlocks, _stat, _sysbench
    if shutil.which("sysbench") is None:
        pytest.fail("sysbench is not installed", pytrace=False)
    s, c = own
    for action in ("cleanup", "prepare"):
        cp = _sysbench(PRIMARY_PORT, action)
        assert cp.returncode == 0, cp.stdout + cp.stderr
    h.wait_replicas_caught_up(timeout=120)
    deadlocks_before = _deadlocks()
    bench = subprocess.Popen(
        ["sysbench", "oltp_read_write", "--db-driver=mysql", "--db-ps-mode=disable", f"--mysql-host={HOST}",
         f"--mysql-port={s.port}", f"--mysql-user={h.APP_USER}", f"--mysql-password={h.APP_PASSWORD}",
         f"--mysql-db={DB}", "--tables=2", "--table-size=10000", f"--threads={THREADS}", f"--time={SECONDS}",
         "--report-interval=0", "--rand-type=uniform", "run"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    loads = 0
    try:
        deadline = time.monotonic() + SECONDS - 2
        while time.monotonic() < deadline:
            # Rules on and off, server weights and pool limits changed: each a new table swap.
            h.query(c, "REPLACE INTO mysql_query_rules (rule_id, active, match_digest, destination_hostgroup, apply) "
                       f"VALUES (1, {loads % 2}, '^SELECT.*FOR UPDATE$', 10, 1)")
            h.query(c, "LOAD MYSQL QUERY RULES TO RUNTIME")
            h.query(c, f"UPDATE mysql_servers SET weight = {1 + loads % 3}, max_connections = {48 + loads % 16} "
                       f"WHERE hostgroup_id = {READER_HG}")
            h.query(c, "LOAD MYSQL SERVERS TO RUNTIME")
            h.query(c, "LOAD MYSQL USERS TO RUNTIME")
            loads += 3
            time.sleep(0.3)
        out, _ = bench.communicate(timeout=SECONDS + 120)
    finally:
        if bench.poll() is None:
            bench.kill()
            bench.wait()
    deadlocks = _deadlocks() - deadlocks_before
    assert bench.returncode == 0, out[-4000:]
    errors, reconnects = _stat(out, "ignored errors"), _stat(out, "reconnects")
    summary = f"{loads} LOADs during {SECONDS}s of sysbench: errors={errors} reconnects={reconnects} deadlocks={deadlocks}"
    print(summary)
    assert loads >= 10, summary
    assert reconnects == 0, summary
    assert errors <= deadlocks, f"{summary}\n{out[-3000:]}"
