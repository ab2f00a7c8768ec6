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
