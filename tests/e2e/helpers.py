"""Shared helpers for Sluice's end-to-end tests (imported by conftest.py and the tests).

Everything here talks to real processes: the local MariaDB cluster started by
deploy/local/cluster.sh and Sluice itself. Nothing is mocked.
"""
from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import time
import uuid
from pathlib import Path

import pymysql
from pymysql.constants import CLIENT

REPO = Path(__file__).resolve().parents[2]

# Ports. The brief fixes them; the env vars only exist to run two suites side by side.
PORT_BASE = int(os.environ.get("SLUICE_E2E_PORT_BASE", "23306"))
PRIMARY_PORT = PORT_BASE
REPLICA_PORTS = (PORT_BASE + 1, PORT_BASE + 2)
ALL_PORTS = (PRIMARY_PORT,) + REPLICA_PORTS
SLUICE_PORT = int(os.environ.get("SLUICE_E2E_SLUICE_PORT", "26033"))
SLUICE_ADMIN_PORT = SLUICE_PORT - 1
SLUICE_METRICS_PORT = int(os.environ.get("SLUICE_E2E_METRICS_PORT", "26070"))
# Extra Sluice instances (sluice_factory): SLUICE_E2E_EXTRA_PORTS="LO-HI" moves them, so
# several suites can run side by side on one machine.
EXTRA_PORT_RANGE = tuple(int(x) for x in os.environ.get("SLUICE_E2E_EXTRA_PORTS", "26100-26999").split("-"))

HOST = "127.0.0.1"
DB = "sluice_test"
APP_USER, APP_PASSWORD = "app", "app"
MONITOR_USER, MONITOR_PASSWORD = "monitor", "monitor"
WRITER_HG, READER_HG = 10, 20

MiB = 1024 * 1024


# ---------------------------------------------------------------------------------------
# Small utilities
# ---------------------------------------------------------------------------------------

def unique_name(prefix: str) -> str:
    """A table/procedure name no other test (or earlier run) uses."""
    return f"{prefix}_{uuid.uuid4().hex[:12]}"


def wait_for(cond, timeout: float, interval: float = 0.05, what: str = "condition"):
    """Polls cond() until it returns a truthy value; returns that value or raises."""
    deadline = time.monotonic() + timeout
    last_exc = None
    while True:
        try:
            value = cond()
            if value:
                return value
        except Exception as exc:  # noqa: BLE001 - polling tolerates transient errors
            last_exc = exc
        if time.monotonic() >= deadline:
            raise TimeoutError(f"timed out after {timeout:.1f}s waiting for {what}"
                               + (f" (last error: {last_exc!r})" if last_exc else ""))
        time.sleep(interval)


def port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((HOST, port))
        except OSError:
            return False
    return True


def tcp_accepts(port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((HOST, port), timeout=timeout):
            return True
    except OSError:
        return False


def tail(path: Path, max_bytes: int = 8000) -> str:
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        return f"<cannot read {path}: {exc}>"
    return data[-max_bytes:].decode("utf-8", "replace")


def run(cmd, timeout=120, check=True, **kw) -> subprocess.CompletedProcess:
    """subprocess.run with captured text output and a readable failure message."""
    cp = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kw)
    if check and cp.returncode != 0:
        raise AssertionError(f"command failed ({cp.returncode}): {' '.join(map(str, cmd))}\n"
                             f"--- stdout ---\n{cp.stdout[-4000:]}\n--- stderr ---\n{cp.stderr[-4000:]}")
    return cp


# ---------------------------------------------------------------------------------------
# Connections
# ---------------------------------------------------------------------------------------

def connect(port: int, user: str = APP_USER, password: str = APP_PASSWORD, database=DB,
            autocommit=True, multi=False, **kw) -> pymysql.connections.Connection:
    """PyMySQL connection with sane timeouts. autocommit=True unless asked: PyMySQL's own
    default (False) sends SET AUTOCOMMIT=0 at connect, which changes routing."""
    flags = kw.pop("client_flag", 0)
    if multi:
        flags |= CLIENT.MULTI_STATEMENTS
    kw.setdefault("connect_timeout", 10)
    kw.setdefault("read_timeout", 60)
    kw.setdefault("write_timeout", 60)
    return pymysql.connect(host=HOST, port=port, user=user, password=password,
                           database=database, autocommit=autocommit, client_flag=flags, **kw)


def query(conn, sql: str, args=None):
    with conn.cursor() as cur:
        cur.execute(sql, args)
        return cur.fetchall()


def scalar(conn, sql: str, args=None):
    rows = query(conn, sql, args)
    assert rows, f"no rows from {sql!r}"
    return rows[0][0]


def one_shot(port: int, sql: str, **kw):
    """Opens a fresh connection, runs one statement, closes. Returns all rows."""
    conn = connect(port, **kw)
    try:
        return query(conn, sql)
    finally:
        conn.close()


def direct(port: int, **kw):
    """A direct connection to one MariaDB server (bypassing Sluice)."""
    return connect(port, **kw)


def monitor_conn(port: int):
    return connect(port, user=MONITOR_USER, password=MONITOR_PASSWORD, database=None)


def mysql_error(exc: BaseException):
    """(code, message) from a PyMySQL error."""
    args = getattr(exc, "args", ())
    if len(args) >= 2 and isinstance(args[0], int):
        return args[0], str(args[1])
    return None, str(exc)


# ---------------------------------------------------------------------------------------
# Replication
# ---------------------------------------------------------------------------------------

def primary_gtid_pos() -> str:
    c = monitor_conn(PRIMARY_PORT)
    try:
        return scalar(c, "SELECT @@gtid_binlog_pos")
    finally:
        c.close()


def wait_replicas_caught_up(timeout: float = 60.0, replicas=REPLICA_PORTS):
    """Waits until every replica has applied everything the primary has binlogged so far
    (MASTER_GTID_WAIT on each replica; falls back to polling gtid_slave_pos)."""
    pos = primary_gtid_pos()
    if not pos:
        return
    for port in replicas:
        c = connect(port, database=None, read_timeout=timeout + 10)
        try:
            res = scalar(c, "SELECT MASTER_GTID_WAIT(%s, %s)", (pos, timeout))
            if res != 0:
                status = query(c, "SHOW SLAVE STATUS")
                raise AssertionError(f"replica {port} did not reach primary GTID {pos} within "
                                     f"{timeout}s (gtid_slave_pos={scalar(c, 'SELECT @@gtid_slave_pos')}, "
                                     f"slave status={status!r})")
        finally:
            c.close()


# ---------------------------------------------------------------------------------------
# Cluster (deploy/local/cluster.sh)
# ---------------------------------------------------------------------------------------

class Cluster:
    def __init__(self, script: Path, base: Path, port_base: int = PORT_BASE):
        self.script = Path(script)
        self.base = Path(base)
        self.port_base = port_base
        self.primary = port_base
        self.replicas = (port_base + 1, port_base + 2)

    def _cmd(self, action: str, timeout: float = 300) -> subprocess.CompletedProcess:
        return run([str(self.script), action, "--base", str(self.base),
                    "--port-base", str(self.port_base)], timeout=timeout)

    def up(self):
        return self._cmd("up")

    def down(self):
        return self._cmd("down")

    def status(self) -> str:
        cp = run([str(self.script), "status", "--base", str(self.base),
                  "--port-base", str(self.port_base)], check=False, timeout=60)
        return cp.stdout + cp.stderr

    # -- fault injection (cluster.sh kill/start/freeze/... ; servers named by port here)
    NAMES = ("primary", "replica1", "replica2")

    def name_of(self, port: int) -> str:
        ports = (self.primary,) + self.replicas
        if port not in ports:
            raise ValueError(f"{port} is not a port of this cluster ({ports})")
        return self.NAMES[ports.index(port)]

    def fault(self, action: str, *args, timeout: float = 300) -> dict:
        """Runs `cluster.sh ACTION ARGS...`; returns the events it printed (`killed_at=...`
        lines) as {"killed": time.monotonic() equivalent}."""
        cp = run([str(self.script), action, *map(str, args), "--base", str(self.base),
                  "--port-base", str(self.port_base)], timeout=timeout)
        offset = time.time() - time.monotonic()
        events = {}
        for line in cp.stdout.splitlines():
            m = re.match(r"^(\w+)_at=(\d+\.\d+)$", line)
            if m:
                events[m.group(1)] = float(m.group(2)) - offset
        return events

    def kill(self, port: int) -> dict:
        """kill -9 of one mariadbd; returns when it is gone. Event: killed."""
        return self.fault("kill", self.name_of(port))

    def start(self, port: int) -> dict:
        """Starts a killed server with its own defaults file and datadir; returns once it
        answers and (a replica) has caught up with the writer. Events: started, caught_up."""
        return self.fault("start", self.name_of(port))

    def freeze(self, port: int) -> dict:
        """SIGSTOP. Event: frozen."""
        return self.fault("freeze", self.name_of(port))

    def thaw(self, port: int) -> dict:
        """SIGCONT. Event: thawed."""
        return self.fault("thaw", self.name_of(port))

    def stop_replication(self, port: int, sql_thread_only: bool = False) -> dict:
        """STOP SLAVE (or STOP SLAVE SQL_THREAD). Event: replication_stopped."""
        return self.fault("stop-replication", self.name_of(port),
                          *(["--sql-thread"] if sql_thread_only else []))

    def start_replication(self, port: int) -> dict:
        """START SLAVE, then waits until caught up. Events: replication_started, caught_up."""
        return self.fault("start-replication", self.name_of(port))

    def delay(self, port: int, seconds: int) -> dict:
        """CHANGE MASTER TO MASTER_DELAY=seconds (0: waits until caught up). Events:
        delay_set (and caught_up for 0)."""
        return self.fault("delay", self.name_of(port), int(seconds))

    def promote(self, port: int) -> dict:
        """Makes `port` the writer: the others read_only=1, it catches up, becomes writable,
        everyone else replicates from it. Events: old_writer_read_only, writable."""
        return self.fault("promote", self.name_of(port))

    def restore(self) -> dict:
        """Back to the original topology: every server running and thawed, primary the
        writer, replicas following it with no delay, caught up."""
        return self.fault("restore")

    def writer_port(self) -> int:
        """The port of the current writer, as cluster.sh records it."""
        try:
            name = (self.base / ".writer").read_text().strip()
        except OSError:
            name = "primary"
        return ((self.primary,) + self.replicas)[self.NAMES.index(name)]

    def server_var(self, port: int, name: str):
        c = monitor_conn(port)
        try:
            return scalar(c, f"SELECT @@{name}")
        finally:
            c.close()

    def pid_of(self, port: int) -> int:
        """PID of the mariadbd serving `port`, from its own pid file."""
        pid_file = self.server_var(port, "pid_file")
        if not os.path.isabs(pid_file):
            pid_file = os.path.join(self.server_var(port, "datadir"), pid_file)
        return int(Path(pid_file).read_text().strip())

    def root_sql(self, port: int, sql: str) -> str:
        """Runs SQL as root over the server's unix socket (unix_socket auth, we are root)."""
        sock = self.server_var(port, "socket")
        cp = run(["mariadb", "-S", sock, "-uroot", "--batch", "--skip-column-names", "-e", sql],
                 check=False, timeout=60)
        if cp.returncode != 0:
            raise RuntimeError(f"root SQL on {port} failed: {cp.stderr.strip()}")
        return cp.stdout

    def ensure_user(self, user: str, password: str):
        """Creates an application-like user (ALL on sluice_test, no READ_ONLY ADMIN) on the
        primary and waits until it replicated."""
        sql = (f"CREATE USER IF NOT EXISTS '{user}'@'%' IDENTIFIED BY '{password}'; "
               f"GRANT ALL ON `{DB}`.* TO '{user}'@'%';")
        try:
            self.root_sql(self.primary, sql)
        except RuntimeError:
            # Fallback: the app user, if it holds GRANT OPTION.
            c = direct(self.primary, database=None)
            try:
                for stmt in sql.split(";"):
                    if stmt.strip():
                        query(c, stmt)
            finally:
                c.close()
        wait_replicas_caught_up()


# ---------------------------------------------------------------------------------------
# Sluice processes
# ---------------------------------------------------------------------------------------

def deep_merge(base: dict, tweaks: dict) -> dict:
    out = dict(base)
    for k, v in tweaks.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = deep_merge(out[k], v)
        else:
            out[k] = v
    return out


def base_sluice_config(port: int, admin_port: int, metrics_port: int,
                       cluster_ports=ALL_PORTS) -> dict:
    primary, r1, r2 = cluster_ports
    return {
        "workers": 2,
        "log_level": "info",
        "frontend": {
            "listen": {"address": HOST, "port": port},
            "default_auth": "mysql_native_password",
        },
        "admin": {"listen": {"address": HOST, "port": admin_port},
                  "user": "admin", "password": "admin"},
        "metrics": {"listen": {"address": HOST, "port": metrics_port}},
        "monitor": {"user": MONITOR_USER, "password": MONITOR_PASSWORD, "down_retry_ms": 1000},
        "pool": {"max_connections": 64, "max_idle": 64, "connect_timeout_ms": 3000,
                 "checkout_timeout_ms": 10000},
        "routing": {"writer_hostgroup": WRITER_HG, "reader_hostgroup": READER_HG,
                    "reads_fallback_to_writer": True},
        "users": [{"username": APP_USER, "password": APP_PASSWORD}],
        # The monitor places servers by read_only (a promoted replica becomes the writer).
        "replication_hostgroups": [{"writer_hostgroup": WRITER_HG, "reader_hostgroup": READER_HG}],
        "servers": [
            {"hostgroup": WRITER_HG, "host": HOST, "port": primary},
            {"hostgroup": READER_HG, "host": HOST, "port": r1, "weight": 1},
            {"hostgroup": READER_HG, "host": HOST, "port": r2, "weight": 1},
        ],
    }


class SluiceProcess:
    """One running build/sluice with its generated config and captured log."""

    def __init__(self, binary: Path, workdir: Path, name: str, config: dict):
        self.binary = Path(binary)
        self.workdir = Path(workdir)
        self.name = name
        self.config = config
        self.port = config["frontend"]["listen"]["port"]
        self.admin_port = config["admin"]["listen"]["port"]
        self.metrics_port = config["metrics"]["listen"]["port"]
        self.config_path = self.workdir / f"{name}.json"
        self.log_path = self.workdir / f"{name}.log"
        self.proc: subprocess.Popen | None = None
        self.restarts = 0
        self.stopped = False   # stopped on purpose (not a crash)
        self.log_mark = 0      # log offset at the start of the current test
        users = config.get("users") or [{"username": APP_USER, "password": APP_PASSWORD}]
        self.user, self.password = users[0]["username"], users[0]["password"]

    def __repr__(self):
        return f"<Sluice {self.name} port={self.port} pid={self.pid}>"

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self, ready_timeout: float = 20.0, wait_for_replicas: bool = True):
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.config_path.write_text(json.dumps(self.config, indent=2))
        for p in (self.port, self.admin_port, self.metrics_port):
            if not port_is_free(p):
                raise RuntimeError(f"port {p} for Sluice {self.name} is already in use")
        log = open(self.log_path, "ab")
        log.write(f"\n===== starting {self.binary} --config {self.config_path} =====\n".encode())
        log.flush()
        self.proc = subprocess.Popen([str(self.binary), "--config", str(self.config_path)],
                                     stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                     start_new_session=True, cwd=str(self.workdir))
        log.close()
        self.stopped = False
        try:
            self.wait_ready(ready_timeout)
            if wait_for_replicas:
                self.wait_reads_on_replicas(5.0)
        except BaseException:
            self.stop()
            raise
        return self

    def wait_ready(self, timeout: float):
        """Ready = a client can log in and ping (polled, not slept)."""
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            if not self.alive():
                raise RuntimeError(f"Sluice {self.name} exited with code {self.proc.returncode} "
                                   f"during startup; log tail:\n{tail(self.log_path)}")
            if tcp_accepts(self.port):
                try:
                    c = connect(self.port, user=self.user, password=self.password,
                                database=None, connect_timeout=3, read_timeout=5)
                    try:
                        c.ping(reconnect=False)  # not a query: readiness must not depend on routing
                        return
                    finally:
                        c.close()
                except Exception as exc:  # noqa: BLE001
                    last = exc
            time.sleep(0.05)
        raise RuntimeError(f"Sluice {self.name} not ready on port {self.port} after {timeout}s "
                           f"(last error: {last!r}); log tail:\n{tail(self.log_path)}")

    def wait_reads_on_replicas(self, timeout: float):
        """Best effort: give the monitor time to see replicas healthy before routing tests.
        Never fails; the routing tests assert the behaviour."""
        deadline = time.monotonic() + timeout
        seen = set()
        while time.monotonic() < deadline and seen != set(REPLICA_PORTS):
            try:
                port = one_shot(self.port, "SELECT @@port", user=self.user, password=self.password,
                                database=None, connect_timeout=3, read_timeout=5)[0][0]
                if port in REPLICA_PORTS:
                    seen.add(port)
            except Exception:  # noqa: BLE001 - not our business here: the tests will say
                return
            if seen != set(REPLICA_PORTS):
                time.sleep(0.02)

    def crashed(self) -> bool:
        return self.proc is not None and not self.stopped and self.proc.poll() is not None

    def mark_log(self):
        try:
            self.log_mark = self.log_path.stat().st_size
        except OSError:
            self.log_mark = 0

    def stop(self, timeout: float = 10.0):
        if self.proc is None:
            return
        self.stopped = True
        if self.proc.poll() is None:
            try:
                os.kill(self.proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                with open(self.log_path, "ab") as log:
                    log.write(b"\n===== did not exit within timeout after SIGTERM: SIGKILL =====\n")
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)

    def log_tail(self, max_bytes: int = 4000, since_mark: bool = False) -> str:
        """Tail of the log; with since_mark only what was logged during the current test."""
        state = "running" if self.alive() else f"exited with code {self.proc.returncode if self.proc else None}"
        try:
            data = self.log_path.read_bytes()
        except OSError as exc:
            data = f"<cannot read log: {exc}>".encode()
        if since_mark:
            data = data[self.log_mark:]
        cut = len(data) > max_bytes
        text = data[-max_bytes:].decode("utf-8", "replace")
        return (f"[{self.name} pid={self.pid} {state}; log {self.log_path}]\n"
                + ("...\n" if cut else "") + text)


class PortAllocator:
    """Hands out free ports from EXTRA_PORT_RANGE (26100-26999 by default) for extra Sluice
    instances, each port once per session. The ports need not be consecutive: the range may
    lie in the kernel's ephemeral range, where the local ends of client connections (and their
    TIME_WAIT) take ports here and there."""

    def __init__(self, lo=EXTRA_PORT_RANGE[0], hi=EXTRA_PORT_RANGE[1]):
        self.lo, self.next, self.hi = lo, lo, hi

    def take(self, n: int = 3):
        ports = []
        while self.next <= self.hi and len(ports) < n:
            if port_is_free(self.next):
                ports.append(self.next)
            self.next += 1
        if len(ports) < n:
            raise RuntimeError(f"no {n} free ports left in {self.lo}-{self.hi}")
        return ports


# ---------------------------------------------------------------------------------------
# The mariadb CLI and the Connector/C client
# ---------------------------------------------------------------------------------------

def mariadb_cli(port: int, *args, user=APP_USER, password=APP_PASSWORD, database=DB,
                timeout=60, check=False) -> subprocess.CompletedProcess:
    cmd = ["mariadb", f"-h{HOST}", f"-P{port}", f"-u{user}", f"-p{password}",
           "--connect-timeout=10"]
    if database:
        cmd.append(f"-D{database}")
    cmd += list(args)
    return run(cmd, timeout=timeout, check=check)


def parse_cclient(stdout: str):
    """Parses cclient output into a list of results: ('rs', columns, rows) or ('ok', affected)."""
    results = []
    for line in stdout.splitlines():
        if line.startswith("RS\t") or line == "RS":
            results.append(["rs", line.split("\t")[1:], []])
        elif line.startswith("OK "):
            results.append(["ok", int(line.split()[1])])
        elif line.startswith("ROW\t") or line == "ROW":
            assert results and results[-1][0] == "rs", f"row outside result set: {line!r}"
            results[-1][2].append(line.split("\t")[1:])
        elif line.startswith("STMT "):
            results.append(["stmt", line[5:]])
        elif line in ("RESET", "CHANGED"):
            results.append([line.lower()])
        else:
            raise AssertionError(f"unexpected cclient output line: {line!r}")
    return [tuple(r) for r in results]


def parse_cli_error(stderr: str):
    """('1146', '42S02', message) from 'ERROR 1146 (42S02) at line 1: msg' or cclient's form."""
    m = re.search(r"ERROR (\d+) \(([0-9A-Z]{5})\)(?: at line \d+)?: ([^\n]*)", stderr)
    if not m:
        return None
    return int(m.group(1)), m.group(2), m.group(3).strip()


# ---------------------------------------------------------------------------------------
# A raw MySQL protocol client: exact control over capability flags, packet-level answers
# ---------------------------------------------------------------------------------------

class Caps:
    LONG_PASSWORD = 0x1
    LONG_FLAG = 0x4
    CONNECT_WITH_DB = 0x8
    PROTOCOL_41 = 0x200
    TRANSACTIONS = 0x2000
    SECURE_CONNECTION = 0x8000
    MULTI_STATEMENTS = 0x10000
    MULTI_RESULTS = 0x20000
    PLUGIN_AUTH = 0x80000
    PLUGIN_AUTH_LENENC = 0x200000
    SESSION_TRACK = 0x800000
    DEPRECATE_EOF = 0x1000000
    BASE = (LONG_PASSWORD | LONG_FLAG | PROTOCOL_41 | TRANSACTIONS | SECURE_CONNECTION
            | PLUGIN_AUTH | PLUGIN_AUTH_LENENC)


SERVER_MORE_RESULTS_EXISTS = 0x0008


def _native_scramble(password: str, salt: bytes) -> bytes:
    import hashlib
    if not password:
        return b""
    h1 = hashlib.sha1(password.encode()).digest()
    h2 = hashlib.sha1(h1).digest()
    h3 = hashlib.sha1(salt + h2).digest()
    return bytes(a ^ b for a, b in zip(h1, h3))


def _lenenc_int(buf: bytes, pos: int):
    b = buf[pos]
    if b < 0xFB:
        return b, pos + 1
    if b == 0xFC:
        return int.from_bytes(buf[pos + 1:pos + 3], "little"), pos + 3
    if b == 0xFD:
        return int.from_bytes(buf[pos + 1:pos + 4], "little"), pos + 4
    if b == 0xFE:
        return int.from_bytes(buf[pos + 1:pos + 9], "little"), pos + 9
    raise ValueError(f"bad length-encoded integer 0x{b:02x}")


class RawClient:
    """Speaks the client side of the protocol itself (mysql_native_password only), with the
    capability flags given, and returns each command's answer as the list of raw payloads."""

    def __init__(self, port: int, caps: int = Caps.BASE, user=APP_USER, password=APP_PASSWORD,
                 database=DB, timeout=30.0):
        self.sock = socket.create_connection((HOST, port), timeout=timeout)
        self.seq = 0
        self.caps = caps | (Caps.CONNECT_WITH_DB if database else 0)
        hs = self._read()
        assert hs[0] == 10, f"not a v10 handshake: {hs[:16]!r}"
        pos = hs.index(b"\0", 1) + 1
        pos += 4  # connection id
        salt = hs[pos:pos + 8]
        pos += 9
        server_caps = int.from_bytes(hs[pos:pos + 2], "little")
        pos += 2 + 1 + 2  # caps low, charset, status
        server_caps |= int.from_bytes(hs[pos:pos + 2], "little") << 16
        pos += 2
        auth_len = hs[pos]
        pos += 1 + 10
        part2 = max(13, auth_len - 8)
        salt += hs[pos:pos + part2 - 1]  # trailing NUL not part of the scramble
        pos += part2
        self.server_caps = server_caps
        self.server_plugin = hs[pos:].split(b"\0")[0].decode()
        # Never claim what the server does not offer. Bit 0 (CLIENT_LONG_PASSWORD, which
        # MariaDB calls CLIENT_MYSQL and clears in its own handshake) stays as asked.
        self.caps &= server_caps | Caps.LONG_PASSWORD
        auth = _native_scramble(password, salt[:20])
        resp = (self.caps.to_bytes(4, "little") + (1 << 30).to_bytes(4, "little") + bytes([45])
                + bytes(23) + user.encode() + b"\0" + bytes([len(auth)]) + auth)
        if database:
            resp += database.encode() + b"\0"
        resp += b"mysql_native_password\0"
        self._write(resp)
        while True:
            p = self._read()
            if p[0] == 0x00:
                break
            if p[0] == 0xFF:
                self.close()
                raise RawError(p)
            if p[0] == 0xFE:  # auth switch
                plugin, _, data = p[1:].partition(b"\0")
                if plugin != b"mysql_native_password":
                    raise AssertionError(f"RawClient cannot do auth plugin {plugin!r}")
                self._write(_native_scramble(password, data.rstrip(b"\0")[:20]))
                continue
            raise AssertionError(f"unexpected packet during login: {p[:32]!r}")

    # -- packets
    def _recv(self, n: int) -> bytes:
        out = bytearray()
        while len(out) < n:
            chunk = self.sock.recv(n - len(out))
            if not chunk:
                raise ConnectionError(f"connection closed by peer after {len(out)} of {n} bytes")
            out += chunk
        return bytes(out)

    def _read(self) -> bytes:
        payload = b""
        while True:
            hdr = self._recv(4)
            n, seq = int.from_bytes(hdr[:3], "little"), hdr[3]
            assert seq == self.seq, f"packet sequence id {seq}, expected {self.seq}"
            self.seq = (self.seq + 1) & 0xFF
            payload += self._recv(n)
            if n < 0xFFFFFF:
                return payload

    def _write(self, payload: bytes):
        out = bytearray()
        while True:
            chunk, payload = payload[:0xFFFFFF], payload[0xFFFFFF:]
            out += len(chunk).to_bytes(3, "little") + bytes([self.seq]) + chunk
            self.seq = (self.seq + 1) & 0xFF
            if len(chunk) < 0xFFFFFF:
                break
        self.sock.sendall(out)

    def _is_eof(self, p: bytes) -> bool:
        return p[0] == 0xFE and len(p) < 9

    def _status_of_end(self, p: bytes) -> int:
        if p[0] == 0xFE and len(p) < 9 and not (self.caps & Caps.DEPRECATE_EOF):
            return int.from_bytes(p[3:5], "little")  # EOF: warnings(2), status(2)
        pos = 1
        _, pos = _lenenc_int(p, pos)
        _, pos = _lenenc_int(p, pos)
        return int.from_bytes(p[pos:pos + 2], "little")

    def command(self, cmd: int, arg: bytes = b""):
        """Sends one command; returns the raw payloads of the whole answer (all results)."""
        self.seq = 0
        self._write(bytes([cmd]) + arg)
        packets = []
        while True:
            p = self._read()
            packets.append(p)
            if p[0] == 0xFF:
                return packets
            if p[0] == 0x00:
                if self._status_of_end(p) & SERVER_MORE_RESULTS_EXISTS:
                    continue
                return packets
            if p[0] == 0xFB:
                raise AssertionError("LOAD DATA LOCAL request not expected")
            ncols, _ = _lenenc_int(p, 0)
            for _ in range(ncols):
                packets.append(self._read())
            if not self.caps & Caps.DEPRECATE_EOF:
                eof = self._read()
                packets.append(eof)
                assert self._is_eof(eof), f"expected EOF after column definitions: {eof[:16]!r}"
            while True:
                p = self._read()
                packets.append(p)
                if p[0] == 0xFF:
                    return packets
                if p[0] == 0xFE and len(p) < 0xFFFFFF and (
                        self._is_eof(p) or self.caps & Caps.DEPRECATE_EOF):
                    break
            if not self._status_of_end(packets[-1]) & SERVER_MORE_RESULTS_EXISTS:
                return packets

    def query(self, sql: str):
        return self.command(0x03, sql.encode())

    def close(self):
        try:
            self.seq = 0
            self._write(b"\x01")  # COM_QUIT
        except OSError:
            pass
        self.sock.close()


class RawError(Exception):
    def __init__(self, packet: bytes):
        self.code = int.from_bytes(packet[1:3], "little")
        self.sqlstate = packet[4:9].decode() if packet[3:4] == b"#" else ""
        self.message = (packet[9:] if self.sqlstate else packet[3:]).decode("utf-8", "replace")
        super().__init__(f"{self.code} ({self.sqlstate}): {self.message}")


# ---------------------------------------------------------------------------------------
# Pool observation: Sluice's /metrics and the servers' PROCESSLIST
# ---------------------------------------------------------------------------------------

def scrape_metrics(metrics_port: int) -> dict:
    """Sluice's /metrics as {(name, ((label, value), ...sorted)): float}."""
    import urllib.request
    text = urllib.request.urlopen(f"http://{HOST}:{metrics_port}/metrics", timeout=10).read().decode()
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = re.match(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)', line)
        if not m:
            continue
        labels = tuple(sorted(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', m.group(2) or "")))
        out[(m.group(1), labels)] = float(m.group(3))
    return out


def metric(metrics: dict, name: str, **labels) -> float:
    """Sum of the samples of `name` whose labels include all of `labels` (server=port works
    too: server=23306 matches server="127.0.0.1:23306")."""
    want = {k: (f"{HOST}:{v}" if k == "server" and isinstance(v, int) else str(v))
            for k, v in labels.items()}
    return sum(v for (n, lab), v in metrics.items()
               if n == name and all(dict(lab).get(k) == x for k, x in want.items()))


def user_conns(port: int, user: str) -> list:
    """[(id, command, time)] of `user`'s connections on one server (PROCESSLIST)."""
    m = monitor_conn(port)
    try:
        return list(query(m, "SELECT ID, COMMAND, TIME FROM information_schema.PROCESSLIST "
                             "WHERE USER = %s ORDER BY ID", (user,)))
    finally:
        m.close()


class ProcesslistSampler:
    """Samples, in a thread, how many connections `user` has on each server, as fast as the
    servers answer, until stopped. peaks[port] is the highest count seen."""

    def __init__(self, user: str, ports=ALL_PORTS):
        import threading
        self.user, self.ports = user, tuple(ports)
        self.peaks = {p: 0 for p in self.ports}
        self.samples = 0
        self.errors = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        try:
            mons = {p: monitor_conn(p) for p in self.ports}
        except Exception as exc:  # noqa: BLE001
            self.errors.append(exc)
            return
        try:
            while not self._stop.is_set():
                for p, m in mons.items():
                    n = scalar(m, "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE USER = %s",
                               (self.user,))
                    self.peaks[p] = max(self.peaks[p], n)
                self.samples += 1
        except Exception as exc:  # noqa: BLE001
            self.errors.append(exc)
        finally:
            for m in mons.values():
                m.close()

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(30)
        return False
