"""Fixtures for Sluice's end-to-end tests.

Session:
  cluster      MariaDB primary (23306) + replicas (23307, 23308) from deploy/local/cluster.sh,
               in a throwaway base dir, stopped at the end. SLUICE_E2E_KEEP_CLUSTER=1 reuses
               (and keeps) one at SLUICE_E2E_CLUSTER_BASE (default /tmp/sluice-e2e-cluster).
  sluice       build/sluice on 127.0.0.1:26033 (admin 26032, metrics 26070), 2 workers.
  sluice_factory  starts extra Sluice instances with config tweaks on ports 26100-26999.
  cclient      path to the MariaDB Connector/C test client (tests/e2e/cclient.c).
  faults       the cluster, for tests that kill, freeze, delay or promote its servers
               (helpers.Cluster.kill/start/freeze/...): restored to the original topology
               after the test, pass or fail.
  recovery_times  record(scenario, **figures): measured recovery times, written to
               <pytest basetemp>/recovery-times.json and listed at the end of the run.

Env knobs: SLUICE_E2E_SLUICE_BIN (binary), SLUICE_E2E_CLUSTER_SH (cluster script),
SLUICE_E2E_SYSBENCH_SECONDS / SLUICE_E2E_SYSBENCH_THREADS.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

import helpers as h

ACTIVE_SLUICES: list = []


def pytest_configure(config):
    config.addinivalue_line("markers", "sysbench: long sysbench run (deselect with -m 'not sysbench')")
    config.addinivalue_line("markers", "destructive: kills/restarts cluster servers")


def pytest_collection_modifyitems(config, items):
    # Destructive tests (killing a replica) last, so a failure to restore the cluster hits
    # as few tests as possible. They restore the cluster themselves either way.
    items.sort(key=lambda it: 1 if it.get_closest_marker("destructive") else 0)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    for s in ACTIVE_SLUICES:
        s.mark_log()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if rep.failed:
        for s in list(ACTIVE_SLUICES):
            rep.sections.append((f"Sluice log during this test: {s.name}",
                                 s.log_tail(since_mark=True)))


# ---------------------------------------------------------------------------------------
# Session work dir, cluster
# ---------------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def workdir(tmp_path_factory) -> Path:
    keep = os.environ.get("SLUICE_E2E_WORKDIR")
    if keep:
        p = Path(keep)
        p.mkdir(parents=True, exist_ok=True)
        return p
    return tmp_path_factory.mktemp("sluice-e2e")


@pytest.fixture(scope="session")
def cluster():
    script = Path(os.environ.get("SLUICE_E2E_CLUSTER_SH", h.REPO / "deploy/local/cluster.sh"))
    if not script.exists():
        pytest.fail(f"{script} does not exist: cannot start the MariaDB cluster", pytrace=False)
    keep = os.environ.get("SLUICE_E2E_KEEP_CLUSTER") == "1"
    if keep:
        base = Path(os.environ.get("SLUICE_E2E_CLUSTER_BASE", "/tmp/sluice-e2e-cluster"))
        base.mkdir(parents=True, exist_ok=True)
    else:
        base = Path(tempfile.mkdtemp(prefix="sluice-e2e-cluster-"))
    # mariadbd runs as the mysql user: it must be able to traverse the base dir.
    os.chmod(base, 0o755)
    c = h.Cluster(script, base, h.PORT_BASE)
    try:
        try:
            c.up()
        except AssertionError as first:
            # `up` is idempotent; one retry absorbs a transient failure (seen: parallel
            # mariadb-install-db runs on a loaded machine). A second failure is real.
            print(f"cluster.sh up failed once, retrying:\n{first}")
            c.up()
    except BaseException:
        if not keep:
            subprocess.run([str(script), "down", "--base", str(base), "--port-base", str(h.PORT_BASE)],
                           capture_output=True, timeout=120)
        raise
    yield c
    if not keep:
        try:
            c.down()
        finally:
            shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def faults(cluster):
    """The cluster, restored afterwards (pass or fail): every server running and thawed,
    primary the writer, replicas following it with no delay, caught up. A restore that
    fails is this test's error: later tests would run on a broken cluster."""
    yield cluster
    cluster.restore()


class RecoveryTimes:
    """Measured recovery times, one entry per scenario, rewritten to a JSON file on every
    record (so an interrupted run keeps what it measured)."""

    def __init__(self, path: Path):
        self.path = path
        self.entries: dict = {}

    def record(self, scenario: str, **figures):
        self.entries[scenario] = {k: (round(v, 3) if isinstance(v, float) else v)
                                  for k, v in figures.items()}
        self.path.write_text(json.dumps(self.entries, indent=2, sort_keys=True) + "\n")
        print(f"\n[recovery] {scenario}: {json.dumps(self.entries[scenario], sort_keys=True)}"
              f"\n[recovery] written to {self.path}")


_recovery_key = pytest.StashKey[RecoveryTimes]()


@pytest.fixture(scope="session")
def recovery_times(request, tmp_path_factory) -> RecoveryTimes:
    rec = request.config.stash.get(_recovery_key, None)
    if rec is None:
        rec = RecoveryTimes(tmp_path_factory.getbasetemp() / "recovery-times.json")
        request.config.stash[_recovery_key] = rec
    return rec


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    rec = config.stash.get(_recovery_key, None)
    if rec is None or not rec.entries:
        return
    terminalreporter.section("measured recovery times (s)")
    for scenario, figures in rec.entries.items():
        terminalreporter.write_line(f"{scenario}: " + ", ".join(f"{k}={v}" for k, v in figures.items()))
    terminalreporter.write_line(f"(JSON: {rec.path})")


@pytest.fixture(scope="session")
def make_user(cluster):
    """make_user(name) -> (name, password): an app-like user (ALL on sluice_test) created on
    the primary and replicated. Backends log in as the client's user, so a Sluice instance
    with a user of its own can be told apart from others in PROCESSLIST."""
    made = {}

    def make(name: str):
        if name not in made:
            cluster.ensure_user(name, name)
            made[name] = (name, name)
        return made[name]

    return make


# ---------------------------------------------------------------------------------------
# Binaries
# ---------------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def sluice_bin() -> Path:
    b = Path(os.environ.get("SLUICE_E2E_SLUICE_BIN", h.REPO / "build/sluice"))
    if not b.exists():
        pytest.fail(f"{b} not found: build it first (cmake -S . -B build && cmake --build build)",
                    pytrace=False)
    return b


def _c_client(workdir, name: str) -> Path:
    """build/sluice_e2e_<name> if it is up to date, else compiled here from <name>.c."""
    src = Path(__file__).with_name(f"{name}.c")
    built = h.REPO / f"build/sluice_e2e_{name}"
    if built.exists() and built.stat().st_mtime >= src.stat().st_mtime:
        return built
    out = workdir / f"sluice_e2e_{name}"
    flags = h.run(["pkg-config", "--cflags", "--libs", "libmariadb"]).stdout.split()
    h.run(["cc", "-O1", "-Wall", "-o", str(out), str(src)] + flags)
    return out


@pytest.fixture(scope="session")
def cclient(workdir) -> Path:
    return _c_client(workdir, "cclient")


@pytest.fixture(scope="session")
def cstmt(workdir) -> Path:
    """Connector/C prepared statements: types, re-execution, long data, cursor."""
    return _c_client(workdir, "cstmt")


# ---------------------------------------------------------------------------------------
# Sluice
# ---------------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def _shared_sluice(cluster, sluice_bin, workdir):
    cfg = h.base_sluice_config(h.SLUICE_PORT, h.SLUICE_ADMIN_PORT, h.SLUICE_METRICS_PORT)
    s = h.SluiceProcess(sluice_bin, workdir, "sluice-main", cfg)
    ACTIVE_SLUICES.append(s)
    s.start()
    yield s
    s.stop()
    ACTIVE_SLUICES.remove(s)


@pytest.fixture
def sluice(_shared_sluice, request):
    """The shared Sluice instance (127.0.0.1:26033). If an earlier test crashed it, it is
    restarted; a test during which it dies fails with the exit code and log tail."""
    s = _shared_sluice
    if not s.alive():
        s.restarts += 1
        s.start()
        s.mark_log()
    yield s
    if s.crashed():
        pytest.fail(f"Sluice died during {request.node.name} (exit code {s.proc.returncode}); "
                    f"log tail:\n{s.log_tail()}", pytrace=False)


_ports = h.PortAllocator()


@pytest.fixture
def sluice_factory(cluster, sluice_bin, workdir, request):
    """start(tweaks: dict, name=None, wait_for_replicas=True) -> SluiceProcess.
    tweaks are deep-merged into the base config; instances stop at test end."""
    started = []

    def start(tweaks: dict | None = None, name: str | None = None, wait_for_replicas=True):
        port, admin, metrics = _ports.take(3)
        cfg = h.deep_merge(h.base_sluice_config(port, admin, metrics), tweaks or {})
        s = h.SluiceProcess(sluice_bin, workdir,
                            name or f"sluice-{request.node.name[:40]}-{port}", cfg)
        ACTIVE_SLUICES.append(s)
        started.append(s)
        s.start(wait_for_replicas=wait_for_replicas)
        return s

    yield start
    died = [s for s in started if s.crashed()]
    for s in started:
        s.stop()
        ACTIVE_SLUICES.remove(s)
    if died:
        pytest.fail("Sluice instance(s) died during the test: " +
                    "; ".join(f"{s.name} exit code {s.proc.returncode}\n{s.log_tail()}" for s in died),
                    pytrace=False)
