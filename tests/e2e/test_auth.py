"""Authentication plugins on Sluice's frontend."""
import pymysql
import pytest

import helpers as h
from helpers import REPLICA_PORTS


def _cc(cclient, port, *sql, auth=None, password=h.APP_PASSWORD):
    opts = ["--default-auth", auth] if auth else []
    return h.run([str(cclient)] + opts + [h.HOST, str(port), h.APP_USER, password] + list(sql),
                 check=False)


def test_caching_sha2_password(sluice_factory, cclient):
    s = sluice_factory({"frontend": {"default_auth": "caching_sha2_password"}})

    # PyMySQL follows the plugin announced in the handshake (caching_sha2 fast auth).
    for _ in range(3):  # first and later logins (a cache, if any, is warm afterwards)
        c = h.connect(s.port)
        try:
            assert c._auth_plugin_name == "caching_sha2_password", c._auth_plugin_name
            assert h.scalar(c, "SELECT @@port") in REPLICA_PORTS
            assert h.scalar(c, "SELECT CURRENT_USER()").startswith("app@")
        finally:
            c.close()

    with pytest.raises(pymysql.err.MySQLError) as ei:
        h.connect(s.port, password="wrong")
    code, msg = h.mysql_error(ei.value)
    assert code == 1045 and "Access denied for user 'app'@" in msg, (code, msg)

    # Connector/C (plugin caching_sha2_password.so) and the CLI.
    cp = _cc(cclient, s.port, "SELECT 1")
    assert cp.returncode == 0 and h.parse_cclient(cp.stdout)[1] == ("rs", ["1"], [["1"]]), cp.stderr
    cp = _cc(cclient, s.port, "SELECT 1", password="wrong")
    assert cp.returncode == 1 and "ERROR 1045 (28000)" in cp.stderr, cp.stderr
    cp = h.mariadb_cli(s.port, "-N", "-e", "SELECT 7")
    assert (cp.returncode, cp.stdout) == (0, "7\n"), cp.stderr


@pytest.mark.parametrize("announced,client", [
    ("mysql_native_password", "caching_sha2_password"),
    ("caching_sha2_password", "mysql_native_password"),
])
def test_client_with_other_auth_plugin_logs_in(sluice_factory, cclient, announced, client):
    """The client answers the handshake with a different plugin than Sluice announced:
    Sluice accepts it or switches the client to its plugin (auth switch); either way the
    login succeeds with the right password and fails with a wrong one."""
    s = sluice_factory({"frontend": {"default_auth": announced}}, wait_for_replicas=False)
    cp = _cc(cclient, s.port, "SELECT 'in'", auth=client)
    assert cp.returncode == 0, cp.stderr
    assert h.parse_cclient(cp.stdout)[1] == ("rs", ["in"], [["in"]])
    cp = _cc(cclient, s.port, "SELECT 'in'", auth=client, password="wrong")
    assert cp.returncode == 1 and "ERROR 1045 (28000)" in cp.stderr, cp.stderr
    cp = h.mariadb_cli(s.port, f"--default-auth={client}", "-N", "-e", "SELECT 8")
    assert (cp.returncode, cp.stdout) == (0, "8\n"), cp.stderr


def test_backend_logins_use_the_clients_own_user(sluice_factory, make_user):
    """Backends log in as the client's user, so server-side grants keep working: e2e_grants
    has rights on sluice_test only."""
    user, password = make_user("e2e_grants")
    s = sluice_factory({"users": [{"username": h.APP_USER, "password": h.APP_PASSWORD},
                                  {"username": user, "password": password}]})
    for _ in range(2):  # interleaved, so pooled connections of one user could leak to the other
        for u, pw in ((user, password), (h.APP_USER, h.APP_PASSWORD)):
            c = h.connect(s.port, user=u, password=pw)
            try:
                assert h.scalar(c, "SELECT CURRENT_USER()") == f"{u}@%"
                h.query(c, "BEGIN")
                assert h.scalar(c, "SELECT CURRENT_USER()") == f"{u}@%", "on the primary"
                h.query(c, "COMMIT")
                if u == user:
                    with pytest.raises(pymysql.err.MySQLError) as ei:
                        h.query(c, "SELECT COUNT(*) FROM mysql.db")
                    assert h.mysql_error(ei.value)[0] == 1142, ei.value
                else:
                    assert h.scalar(c, "SELECT COUNT(*) FROM mysql.db") >= 0
            finally:
                c.close()
