"""Errors as a client sees them: login failures, backend errors, a backend that dies."""
import re
import threading
import time

import pymysql
import pytest

import helpers as h
from helpers import PRIMARY_PORT, REPLICA_PORTS

ACCESS_DENIED = re.compile(r"Access denied for user '(?P<user>[^']*)'@'(?P<host>[^']*)' "
                           r"\(using password: (?P<pw>YES|NO)\)")


def _login_error(port, user, password):
    with pytest.raises(pymysql.err.MySQLError) as ei:
        h.connect(port, user=user, password=password, database=None).close()
    return h.mysql_error(ei.value)


def test_wrong_password(sluice, cclient):
    good = h.connect(sluice.port)
    try:
        before = h.scalar(good, "SELECT @@port")
        for user, password, pw in (("app", "wrong", "YES"), ("app", "", "NO"),
                                   ("no_such_user", "app", "YES"), ("no_such_user", "", "NO")):
            direct = _login_error(PRIMARY_PORT, user, password)
            code, msg = _login_error(sluice.port, user, password)
            assert code == 1045, f"{user}/{password!r}: got {code} {msg!r}; MariaDB says {direct}"
            m = ACCESS_DENIED.fullmatch(msg)
            assert m and m["user"] == user and m["pw"] == pw, \
                f"{user}/{password!r}: message {msg!r}; MariaDB says {direct[1]!r}"
            assert m["host"] == "127.0.0.1", f"host part: {msg!r} (MariaDB says {direct[1]!r})"

        # Many failures in a row neither block 127.0.0.1 nor disturb other sessions.
        for _ in range(20):
            assert _login_error(sluice.port, "app", "wrong")[0] == 1045
        assert h.scalar(good, "SELECT @@port") in REPLICA_PORTS and before in REPLICA_PORTS
        assert h.one_shot(sluice.port, "SELECT 1") == ((1,),)
    finally:
        good.close()

    # Connector/C sees SQLSTATE 28000 too.
    cp = h.run([str(cclient), h.HOST, str(sluice.port), "app", "wrong", "SELECT 1"], check=False)
    assert cp.returncode == 1
    err = h.parse_cli_error(cp.stderr)
    assert err and err[:2] == (1045, "28000") and ACCESS_DENIED.fullmatch(err[2]), cp.stderr


def test_backend_errors_pass_through(sluice):
    t = h.unique_name("t_err")
    d = h.direct(PRIMARY_PORT)
    h.query(d, f"CREATE TABLE {t} (id INT PRIMARY KEY, u INT UNIQUE)")
    h.query(d, f"INSERT INTO {t} VALUES (1, 10)")
    h.wait_replicas_caught_up()

    cases = [
        f"SELECT * FROM no_such_{t}",                       # 1146, read (replica)
        f"INSERT INTO no_such_{t} VALUES (1)",              # 1146, write (primary)
        f"INSERT INTO {t} VALUES (1, 11)",                  # 1062 on PRIMARY
        f"INSERT INTO {t} VALUES (2, 10)",                  # 1062 on the unique key
        f"SELECT nope FROM {t}",                            # 1054
        "SELEC 1",                                          # 1064
        "SELECT * FROM mysql.no_such_table_here",           # 1146 other schema
        f"UPDATE {t} SET id = 'abc'",                       # 1366 (strict mode)
    ]
    c = h.connect(sluice.port)
    try:
        for sql in cases:
            with pytest.raises(pymysql.err.MySQLError) as de:
                h.query(d, sql)
            with pytest.raises(pymysql.err.MySQLError) as se:
                h.query(c, sql)
            assert h.mysql_error(se.value) == h.mysql_error(de.value), sql
            assert h.scalar(c, "SELECT 1") == 1, f"connection unusable after error from {sql!r}"
        assert h.mysql_error(se.value)[0] in (1366, 1292)

        # An error inside a transaction leaves the transaction open and usable.
        h.query(c, "BEGIN")
        h.query(c, f"INSERT INTO {t} VALUES (3, 30)")
        with pytest.raises(pymysql.err.IntegrityError) as ei:
            h.query(c, f"INSERT INTO {t} VALUES (3, 31)")
        assert ei.value.args[0] == 1062
        h.query(c, f"INSERT INTO {t} VALUES (4, 40)")
        h.query(c, "COMMIT")
    finally:
        c.close()
    assert h.query(d, f"SELECT id FROM {t} ORDER BY id") == ((1,), (3,), (4,))
    d.close()


def test_backend_connection_killed_mid_statement(sluice):
    """The backend connection serving a client dies mid-statement: that client gets an
    error (not a hang), and its next statement works on another backend connection."""
    c = h.connect(sluice.port, read_timeout=60)
    d = h.direct(PRIMARY_PORT)
    mon = h.monitor_conn(PRIMARY_PORT)
    try:
        h.query(c, "BEGIN")  # keeps the client on one primary backend connection
        backend_id = h.scalar(c, "SELECT CONNECTION_ID()")
        result = {}

        def sleeper():
            t0 = time.monotonic()
            try:
                result["rows"] = h.query(c, "SELECT SLEEP(30)")
            except Exception as exc:  # noqa: BLE001
                result["error"] = exc
            result["seconds"] = time.monotonic() - t0

        th = threading.Thread(target=sleeper, daemon=True)
        th.start()
        h.wait_for(lambda: h.query(mon, "SELECT 1 FROM information_schema.PROCESSLIST "
                                        "WHERE ID = %s AND INFO LIKE 'SELECT SLEEP%%'", (backend_id,)),
                   timeout=10, what=f"SELECT SLEEP on backend thread {backend_id}")
        h.query(d, f"KILL CONNECTION {backend_id}")
        th.join(40)
        assert not th.is_alive(), "client still waiting 40 s after its backend connection was killed"
        assert "error" in result, f"no error after the backend died; got {result}"
        assert result["seconds"] < 20, f"error came only after {result['seconds']:.1f}s"
        code, msg = h.mysql_error(result["error"])
        assert code in (1927, 2013, 2006, 1053, 1317), (code, msg)

        # The same client connection goes on: next statements work.
        assert h.scalar(c, "SELECT 1") == 1
        assert h.scalar(c, "SELECT @@port") in (PRIMARY_PORT,) + REPLICA_PORTS
    finally:
        c.close()
        d.close()
        mon.close()


def test_idle_backend_connections_killed_by_server(sluice_factory, make_user):
    """The server closes Sluice's idle pooled connections (KILL, wait_timeout, restart):
    clients must not see errors for connections they were not using."""
    user, password = make_user("e2e_idle")
    s = sluice_factory({"users": [{"username": user, "password": password}]},
                       wait_for_replicas=False)
    t = h.unique_name("t_idle")
    d = h.direct(PRIMARY_PORT)
    h.query(d, f"CREATE TABLE {t} (id INT PRIMARY KEY)")
    h.wait_replicas_caught_up()
    mons = {p: h.monitor_conn(p) for p in (PRIMARY_PORT,) + REPLICA_PORTS}

    def idle_ids():
        return {p: [r[0] for r in h.query(m, "SELECT ID FROM information_schema.PROCESSLIST "
                                             "WHERE USER = %s AND COMMAND = 'Sleep'", (user,))]
                for p, m in mons.items()}

    try:
        # Warm the pools: reads on both replicas, writes on the primary.
        for i in range(20):
            c = h.connect(s.port, user=user, password=password)
            try:
                h.query(c, f"SELECT COUNT(*) FROM {t}")
                if i % 5 == 0:
                    h.query(c, f"INSERT INTO {t} VALUES ({i})")
            finally:
                c.close()
        before = idle_ids()
        assert before[PRIMARY_PORT], f"no idle pooled connection on the primary: {before}"
        killer = {p: h.direct(p, database=None) for p in mons}
        try:
            for p, ids in before.items():
                for i in ids:
                    try:
                        h.query(killer[p], f"KILL CONNECTION {i}")
                    except Exception:  # noqa: BLE001 - already gone
                        pass
        finally:
            for k in killer.values():
                k.close()
        h.wait_for(lambda: not any(set(before[p]) & set(v) for p, v in idle_ids().items()),
                   timeout=10, what="killed connections to disappear from PROCESSLIST")

        errors = []
        for i in range(20):
            try:
                c = h.connect(s.port, user=user, password=password)
                try:
                    h.query(c, f"SELECT COUNT(*) FROM {t}")
                    if i % 5 == 0:
                        h.query(c, f"INSERT INTO {t} VALUES ({100 + i})")
                finally:
                    c.close()
            except Exception as exc:  # noqa: BLE001
                errors.append((i, repr(exc)))
        assert not errors, (f"{len(errors)} of 20 clients got errors after the server closed "
                            f"idle pooled connections {before}: {errors[:3]}")
    finally:
        for m in mons.values():
            m.close()
        d.close()
