"""Commands that restart or extend a session: COM_RESET_CONNECTION, COM_CHANGE_USER and
LOAD DATA LOCAL INFILE, each checked against what MariaDB itself answers."""
import pymysql
import pytest

import helpers as h


def _cc(cclient, port, *sql, db=h.DB):
    cmd = [str(cclient), "-D", db, h.HOST, str(port), h.APP_USER, h.APP_PASSWORD] + list(sql)
    return h.run(cmd, check=False, timeout=120)


def _rows(cp):
    assert cp.returncode == 0, cp.stderr
    return [r[2] for r in h.parse_cclient(cp.stdout) if r[0] == "rs"]


def test_reset_connection_forgets_session_state(sluice, cclient):
    cp = _cc(cclient, sluice.port, "SET @x = 7", "SET time_zone = '+02:00'", "SELECT @x, @@time_zone",
             "\\reset", "SELECT @x, @@time_zone, DATABASE()")
    assert _rows(cp) == [[["7", "+02:00"]], [["\\N", "SYSTEM", h.DB]]]


def test_change_user_starts_a_fresh_session(sluice, cclient):
    cp = _cc(cclient, sluice.port, "SET @y = 1", f"\\change_user {h.APP_USER} {h.APP_PASSWORD} mysql",
             "SELECT @y, DATABASE(), CURRENT_USER() LIKE 'app@%'")
    assert _rows(cp) == [[["\\N", "mysql", "1"]]]


def test_change_user_with_a_wrong_password_is_refused(sluice, cclient):
    cp = _cc(cclient, sluice.port, f"\\change_user {h.APP_USER} wrong")
    assert cp.returncode == 1
    assert h.parse_cli_error(cp.stderr)[0] == 1045


@pytest.fixture
def infile_table(tmp_path):
    t = h.unique_name("li")
    d = h.direct(h.PRIMARY_PORT)
    h.query(d, f"CREATE TABLE {t} (id INT PRIMARY KEY, v VARCHAR(10))")
    data = tmp_path / "rows.tsv"
    data.write_text("".join(f"{i}\tv{i}\n" for i in range(1, 1001)))
    yield t, data
    h.query(d, f"DROP TABLE IF EXISTS {t}")
    d.close()


def _count(port, table):
    d = h.direct(port)
    try:
        return h.scalar(d, f"SELECT COUNT(*) FROM {table}")
    finally:
        d.close()


def test_load_data_local_infile(sluice, infile_table):
    table, data = infile_table
    cp = h.mariadb_cli(sluice.port, "--local-infile=1", "-e",
               f"LOAD DATA LOCAL INFILE '{data}' INTO TABLE {table}; SELECT ROW_COUNT()",
               database=h.DB)
    assert cp.returncode == 0, cp.stderr
    assert _count(h.PRIMARY_PORT, table) == 1000


def test_load_data_local_refused_like_mariadb_without_local_files(sluice, infile_table):
    table, data = infile_table
    sql = f"LOAD DATA LOCAL INFILE '{data}' INTO TABLE {table}"
    errors = []
    for port in (h.PRIMARY_PORT, sluice.port):
        c = h.connect(port, local_infile=False)
        try:
            with pytest.raises(pymysql.err.MySQLError) as ei:
                h.query(c, sql)
            errors.append(h.mysql_error(ei.value))
            assert h.scalar(c, "SELECT 1") == 1  # the session carries on
        finally:
            c.close()
    assert errors[0] == errors[1]
    assert _count(h.PRIMARY_PORT, table) == 0


def _sleep_in_thread(conn, seconds):
    import threading
    import time
    out = {}

    def run():
        t = time.monotonic()
        try:
            h.query(conn, f"SELECT SLEEP({seconds})")
            out["result"] = ("ok", time.monotonic() - t)
        except pymysql.err.MySQLError as e:
            out["result"] = (h.mysql_error(e), time.monotonic() - t)

    th = threading.Thread(target=run)
    th.start()
    return th, out


def test_kill_query_interrupts_the_statement_on_its_backend(sluice):
    victim, killer = h.connect(sluice.port), h.connect(sluice.port)
    try:
        th, out = _sleep_in_thread(victim, 20)
        servers = list(h.REPLICA_PORTS) + [h.PRIMARY_PORT]
        h.wait_for(lambda: any(_running_sleep(p) for p in servers), timeout=10)
        h.query(killer, f"KILL QUERY {victim.thread_id()}")
        th.join(timeout=15)
        err, took = out["result"]
        assert err[0] == 1317 and took < 10, out
        assert h.scalar(victim, "SELECT 1") == 1  # only the statement was killed
    finally:
        victim.close()
        killer.close()


def _running_sleep(port):
    d = h.direct(port)
    try:
        return h.scalar(d, "SELECT COUNT(*) FROM information_schema.PROCESSLIST "
                           "WHERE INFO LIKE 'SELECT SLEEP(%'") > 0
    finally:
        d.close()


def test_kill_connection_closes_the_client_session(sluice):
    victim, killer = h.connect(sluice.port), h.connect(sluice.port)
    try:
        h.query(killer, f"KILL {victim.thread_id()}")
        h.wait_for(lambda: _is_closed(victim), timeout=10)
        with pytest.raises(pymysql.err.MySQLError) as ei:
            h.query(killer, "KILL 4000000000")
        assert h.mysql_error(ei.value) == (1094, "Unknown thread id: 4000000000")
    finally:
        killer.close()


def _is_closed(conn):
    try:
        h.query(conn, "SELECT 1")
        return False
    except pymysql.err.Error:
        return True
