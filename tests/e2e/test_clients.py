"""Real clients through Sluice: the mariadb CLI, MariaDB Connector/C and PyMySQL.
Where the exact output matters, Sluice's answer is compared with MariaDB's own (direct)."""
import subprocess

import pymysql
import pytest

import helpers as h
from helpers import PRIMARY_PORT, REPLICA_PORTS


def _norm_port(text: str) -> str:
    for p in (PRIMARY_PORT,) + REPLICA_PORTS:
        text = text.replace(str(p), "<port>")
    return text


# ---------------------------------------------------------------------------------------
# mariadb CLI
# ---------------------------------------------------------------------------------------

def test_mariadb_cli(sluice):
    # Plain -e: the CLI prints a header line and the value (batch mode, tab separated).
    cp = h.mariadb_cli(sluice.port, "-e", "SELECT @@port")
    assert cp.returncode == 0, cp.stderr
    lines = cp.stdout.splitlines()
    assert lines[0] == "@@port" and len(lines) == 2, cp.stdout
    assert int(lines[1]) in REPLICA_PORTS, f"CLI read answered by {lines[1]}"

    # --batch output parsing, several columns incl. NULL and an escaped tab.
    cp = h.mariadb_cli(sluice.port, "--batch", "--skip-column-names", "-e",
                       "SELECT @@port, @@server_id, NULL, 'a\\tb', 42")
    assert cp.returncode == 0, cp.stderr
    port, sid, null, tabbed, num = cp.stdout.rstrip("\n").split("\t")
    assert int(port) in REPLICA_PORTS and sid == port
    assert (null, tabbed, num) == ("NULL", "a\\tb", "42"), cp.stdout

    # Multi-statement -e and other output formats: byte-identical to MariaDB's own answer.
    for args in (["-e", "SELECT 1; SELECT 2"],
                 ["-e", "SELECT 1 AS one, 'x' AS two; SELECT 2 AS three; SELECT 'done'"],
                 ["--table", "-e", "SELECT 1 AS one, NULL AS n, 'héllo' AS s"],
                 ["--vertical", "-e", "SELECT 1 AS a, 2 AS b"],
                 ["--batch", "-e", "SELECT 1 FROM DUAL WHERE 0"],
                 ["--xml", "-e", "SELECT 1 AS a"]):
        via = h.mariadb_cli(sluice.port, *args)
        direct = h.mariadb_cli(PRIMARY_PORT, *args)
        assert direct.returncode == 0, direct.stderr
        assert (via.returncode, via.stdout, via.stderr) == (0, direct.stdout, direct.stderr), \
            f"mariadb {' '.join(args)}"
    cp = h.mariadb_cli(sluice.port, "-e", "SELECT 1; SELECT 2")
    assert cp.stdout == "1\n1\n2\n2\n"

    # Inside BEGIN … COMMIT reads come from the primary; writes land on the primary.
    cp = h.mariadb_cli(sluice.port, "-N", "-e", "BEGIN; SELECT @@port; COMMIT")
    assert (cp.returncode, cp.stdout) == (0, f"{PRIMARY_PORT}\n"), cp.stderr
    t = h.unique_name("t_cli")
    cp = h.mariadb_cli(sluice.port, "-e",
                       f"CREATE TABLE {t} (id INT PRIMARY KEY, sid INT); "
                       f"INSERT INTO {t} VALUES (1, @@server_id)")
    assert cp.returncode == 0, cp.stderr
    d = h.direct(PRIMARY_PORT)
    try:
        assert h.query(d, f"SELECT id, sid FROM {t}") == ((1, PRIMARY_PORT),)
    finally:
        d.close()

    # Errors: same exit code and message as MariaDB itself.
    for sql in (f"SELECT * FROM no_such_table_{t}", "SELEC 1", f"INSERT INTO {t} VALUES (1, 1)"):
        via = h.mariadb_cli(sluice.port, "-e", sql)
        direct = h.mariadb_cli(PRIMARY_PORT, "-e", sql)
        assert direct.returncode == 1
        assert (via.returncode, via.stderr) == (1, direct.stderr), sql

    # Wrong password through the CLI.
    via = h.mariadb_cli(sluice.port, "-e", "SELECT 1", password="wrong")
    assert via.returncode == 1
    err = h.parse_cli_error(via.stderr)
    assert err is not None and err[:2] == (1045, "28000"), via.stderr
    assert "Access denied for user 'app'@" in err[2] and "(using password: YES)" in err[2], via.stderr


# ---------------------------------------------------------------------------------------
# Multi-statements
# ---------------------------------------------------------------------------------------

def _error_of(port, sql, **kw):
    c = h.connect(port, **kw)
    try:
        with pytest.raises(pymysql.err.MySQLError) as ei:
            h.query(c, sql)
        # The connection stays usable after the error.
        assert h.scalar(c, "SELECT 42") == 42
        return h.mysql_error(ei.value)
    finally:
        c.close()


def test_multi_statements(sluice):
    # Without CLIENT_MULTI_STATEMENTS MariaDB refuses "SELECT 1; SELECT 2" with a syntax
    # error; Sluice must answer exactly the same.
    direct_err = _error_of(PRIMARY_PORT, "SELECT 1; SELECT 2")
    assert direct_err[0] == 1064, direct_err
    assert _error_of(sluice.port, "SELECT 1; SELECT 2") == direct_err

    c = h.connect(sluice.port, multi=True)
    try:
        with c.cursor() as cur:
            cur.execute("SELECT 1; SELECT 2")
            assert cur.fetchall() == ((1,),)
            assert cur.nextset() and cur.fetchall() == ((2,),)
            assert not cur.nextset()

            # A read-only batch runs on one replica.
            cur.execute("SELECT @@port; SELECT @@port")
            first = cur.fetchall()[0][0]
            assert cur.nextset()
            assert cur.fetchall()[0][0] == first and first in REPLICA_PORTS
            assert not cur.nextset()

            # A batch with writes goes to the primary as one unit and reads its own writes.
            t = h.unique_name("t_multi")
            cur.execute(f"CREATE TABLE {t} (id INT PRIMARY KEY); INSERT INTO {t} VALUES (1),(2); "
                        f"SELECT COUNT(*), @@port FROM {t}")
            assert cur.description is None
            assert cur.nextset() and cur.rowcount == 2
            assert cur.nextset() and cur.fetchall() == ((2, PRIMARY_PORT),)
            assert not cur.nextset()

            # An error in the middle ends the batch; the connection goes on.
            cur.execute(f"SELECT 1; SELECT * FROM no_such_{t}; SELECT 3")
            assert cur.fetchall() == ((1,),)
            with pytest.raises(pymysql.err.ProgrammingError) as ei:
                cur.nextset()
            assert ei.value.args[0] == 1146
        assert h.scalar(c, "SELECT 4") == 4

        # A big first result followed by a small one.
        with c.cursor() as cur:
            cur.execute("SELECT seq, REPEAT('x', 1000) FROM seq_1_to_5000; SELECT 'tail'")
            assert len(cur.fetchall()) == 5000
            assert cur.nextset() and cur.fetchall() == (("tail",),)
            assert not cur.nextset()
    finally:
        c.close()


# ---------------------------------------------------------------------------------------
# Stored procedure with two result sets
# ---------------------------------------------------------------------------------------

@pytest.fixture
def two_rs_proc(sluice):
    p = h.unique_name("p_two")
    d = h.direct(PRIMARY_PORT)
    h.query(d, f"CREATE PROCEDURE {p}() BEGIN "
               f"SELECT 1 AS a, 'one' AS b UNION ALL SELECT 2, 'two'; "
               f"SELECT @@port AS port; END")
    yield p
    h.query(d, f"DROP PROCEDURE IF EXISTS {p}")
    d.close()


def test_stored_procedure_two_result_sets(sluice, cclient, two_rs_proc):
    p = two_rs_proc
    for multi in (False, True):
        c = h.connect(sluice.port, multi=multi)
        try:
            for _ in range(2):  # twice: the connection must be clean after a CALL
                with c.cursor() as cur:
                    cur.execute(f"CALL {p}()")
                    assert cur.fetchall() == ((1, "one"), (2, "two"))
                    assert cur.nextset(), "second result set missing"
                    assert cur.fetchall() == ((PRIMARY_PORT,),)
                    assert cur.nextset(), "final OK of the CALL missing"
                    assert cur.description is None
                    assert not cur.nextset()
                assert h.scalar(c, "SELECT 'after'") == "after"
        finally:
            c.close()

    cp = h.run([str(cclient), "-D", h.DB, h.HOST, str(sluice.port), h.APP_USER, h.APP_PASSWORD,
                f"CALL {p}()", "SELECT 'after'"], check=False)
    assert cp.returncode == 0, cp.stderr
    assert h.parse_cclient(cp.stdout) == [
        ("stmt", f"CALL {p}()"),
        ("rs", ["a", "b"], [["1", "one"], ["2", "two"]]),
        ("rs", ["port"], [[str(PRIMARY_PORT)]]),
        ("ok", 0),
        ("stmt", "SELECT 'after'"),
        ("rs", ["after"], [["after"]]),
    ]


# ---------------------------------------------------------------------------------------
# Connector/C
# ---------------------------------------------------------------------------------------

def _cc(cclient, port, *sql, opts=(), db=h.DB, user=h.APP_USER, password=h.APP_PASSWORD):
    cmd = [str(cclient)] + list(opts) + (["-D", db] if db else []) + \
          [h.HOST, str(port), user, password] + list(sql)
    return h.run(cmd, check=False, timeout=120)


def test_connector_c(sluice, cclient, two_rs_proc):
    cp = _cc(cclient, sluice.port, "SELECT @@port, @@server_id")
    assert cp.returncode == 0, cp.stderr
    (_, (_, cols, rows)) = h.parse_cclient(cp.stdout)
    assert int(rows[0][0]) in REPLICA_PORTS and rows[0][0] == rows[0][1], cp.stdout

    cp = _cc(cclient, sluice.port, "SELECT 1 AS a; SELECT 2 AS b, NULL AS c")
    assert cp.returncode == 0, cp.stderr
    assert h.parse_cclient(cp.stdout)[1:] == [("rs", ["a"], [["1"]]),
                                             ("rs", ["b", "c"], [["2", "\\N"]])]

    cp = _cc(cclient, sluice.port, f"CALL {two_rs_proc}()")
    assert cp.returncode == 0, cp.stderr
    assert h.parse_cclient(cp.stdout)[1:] == [
        ("rs", ["a", "b"], [["1", "one"], ["2", "two"]]),
        ("rs", ["port"], [[str(PRIMARY_PORT)]]), ("ok", 0)]

    # Transactions and writes.
    t = h.unique_name("t_cc")
    cp = _cc(cclient, sluice.port, f"CREATE TABLE {t} (id INT PRIMARY KEY, sid INT)",
             "BEGIN", f"INSERT INTO {t} VALUES (1, @@server_id), (2, @@server_id)",
             "SELECT @@port", "COMMIT")
    assert cp.returncode == 0, cp.stderr
    res = h.parse_cclient(cp.stdout)
    assert ("ok", 2) in res and ("rs", ["@@port"], [[str(PRIMARY_PORT)]]) in res, cp.stdout
    d = h.direct(PRIMARY_PORT)
    try:
        assert h.query(d, f"SELECT id, sid FROM {t} ORDER BY id") == ((1, PRIMARY_PORT), (2, PRIMARY_PORT))
    finally:
        d.close()

    # Errors keep their code and SQLSTATE; without multi-statements "a; b" is a syntax error.
    for opts, sql in (((), f"SELECT * FROM no_such_{t}"), (("--no-multi",), "SELECT 1; SELECT 2")):
        via = _cc(cclient, sluice.port, sql, opts=opts)
        direct = _cc(cclient, PRIMARY_PORT, sql, opts=opts)
        assert direct.returncode == 1
        assert (via.returncode, via.stderr) == (1, direct.stderr), sql


# ---------------------------------------------------------------------------------------
# Clients negotiating different capabilities share one backend connection
# ---------------------------------------------------------------------------------------

def test_clients_with_different_capabilities_share_backends(sluice_factory, cclient, two_rs_proc):
    """With one backend connection per server, PyMySQL (no CLIENT_DEPRECATE_EOF),
    Connector/C and the CLI take turns on the same backend connections; each must get the
    result format it negotiated."""
    s = sluice_factory({"pool": {"max_connections": 1, "max_idle": 1}})
    sql = "SELECT 1 AS a, 'x' AS b UNION ALL SELECT 2, NULL"
    persistent = h.connect(s.port, multi=True)
    try:
        for _ in range(3):
            assert h.one_shot(s.port, sql) == ((1, "x"), (2, None))
            assert h.one_shot(s.port, "SELECT 1 FROM DUAL WHERE 0") == ()
            cp = _cc(cclient, s.port, sql, "SELECT 1 FROM DUAL WHERE 0", f"CALL {two_rs_proc}()")
            assert cp.returncode == 0, cp.stderr
            assert h.parse_cclient(cp.stdout) == [
                ("stmt", sql), ("rs", ["a", "b"], [["1", "x"], ["2", "\\N"]]),
                ("stmt", "SELECT 1 FROM DUAL WHERE 0"), ("rs", ["1"], []),
                ("stmt", f"CALL {two_rs_proc}()"),
                ("rs", ["a", "b"], [["1", "one"], ["2", "two"]]),
                ("rs", ["port"], [[str(PRIMARY_PORT)]]), ("ok", 0)]
            cp = h.mariadb_cli(s.port, "--batch", "-e", sql)
            assert cp.stdout == "a\tb\n1\tx\n2\tNULL\n", cp.stderr
            with persistent.cursor() as cur:
                cur.execute(f"{sql}; CALL {two_rs_proc}()")
                assert cur.fetchall() == ((1, "x"), (2, None))
                assert cur.nextset() and cur.fetchall() == ((1, "one"), (2, "two"))
                assert cur.nextset() and cur.fetchall() == ((PRIMARY_PORT,),)
                assert cur.nextset() and cur.description is None
                assert not cur.nextset()
    finally:
        persistent.close()


# ---------------------------------------------------------------------------------------
# Small session commands
# ---------------------------------------------------------------------------------------

def test_ping_and_change_database(sluice):
    c = h.connect(sluice.port, database=None)
    try:
        c.ping(reconnect=False)  # COM_PING
        assert h.scalar(c, "SELECT DATABASE()") is None
        c.select_db(h.DB)  # COM_INIT_DB
        assert h.scalar(c, "SELECT DATABASE()") == h.DB
        c.select_db("mysql")
        assert h.scalar(c, "SELECT DATABASE()") == "mysql"
        h.query(c, f"USE {h.DB}")
        assert h.scalar(c, "SELECT DATABASE()") == h.DB
        with pytest.raises(pymysql.err.MySQLError) as ei:
            c.select_db("no_such_db_xyz")
        assert h.mysql_error(ei.value) == (1049, "Unknown database 'no_such_db_xyz'")
        c.ping(reconnect=False)
        assert h.scalar(c, "SELECT DATABASE()") == h.DB
    finally:
        c.close()
    # Unknown database in the handshake: the same error as MariaDB gives at login.
    with pytest.raises(pymysql.err.MySQLError) as ei:
        h.connect(sluice.port, database="no_such_db_xyz")
    assert h.mysql_error(ei.value) == (1049, "Unknown database 'no_such_db_xyz'")


@pytest.mark.parametrize("charset,text", [("utf8mb4", "日本語 🐟 é"), ("latin1", "héllo wörld")])
def test_client_charset_is_honoured(sluice, charset, text):
    """The character set a client asks for in its handshake is the one its statements run
    with, whichever pooled backend connection serves them."""
    t = h.unique_name("t_cs")
    d = h.direct(PRIMARY_PORT)
    h.query(d, f"CREATE TABLE {t} (id INT PRIMARY KEY, s VARCHAR(64)) CHARACTER SET utf8mb4")
    d.close()
    for port in (PRIMARY_PORT, sluice.port):
        c = h.connect(port, charset=charset)
        try:
            assert h.query(c, "SELECT @@character_set_client, @@character_set_results, %s",
                           (text,)) == ((charset, charset, text),), f"port {port}"
            h.query(c, "BEGIN")
            h.query(c, f"REPLACE INTO {t} VALUES (1, %s)", (text,))
            assert h.scalar(c, f"SELECT s FROM {t} WHERE id = 1") == text
            h.query(c, "COMMIT")
        finally:
            c.close()
    d = h.direct(PRIMARY_PORT)
    try:
        assert h.scalar(d, f"SELECT s FROM {t} WHERE id = 1") == text, "stored text (utf8mb4 reader)"
    finally:
        d.close()
