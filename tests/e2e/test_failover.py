"""A replica dies (kill -9) while clients read through Sluice."""
import os
import signal
import threading
import time

import pytest

import helpers as h
from helpers import PRIMARY_PORT, REPLICA_PORTS

MAX_ERRORS_AFTER_KILL = 5  # "after at most a few errors"


class Reader(threading.Thread):
    """Reads SELECT @@port in a tight loop through Sluice, on a fresh connection per read or
    on one reused connection (reopened only if Sluice closed it)."""

    def __init__(self, port, fresh: bool):
        super().__init__(daemon=True)
        self.port, self.fresh = port, fresh
        self.results = []  # (monotonic time, port or None, error or None)
        self.client_conn_closed = 0
        self.stop = threading.Event()

    def run(self):
        conn = None
        while not self.stop.is_set():
            try:
                if conn is None:
                    conn = h.connect(self.port, connect_timeout=5, read_timeout=10)
                p = h.scalar(conn, "SELECT @@port")
                self.results.append((time.monotonic(), p, None))
            except Exception as exc:  # noqa: BLE001
                self.results.append((time.monotonic(), None, repr(exc)))
                if conn is not None and not conn.open:
                    self.client_conn_closed += 1
                    conn = None
            if self.fresh and conn is not None:
                conn.close()
                conn = None
        if conn is not None:
            conn.close()

    def name_(self):
        return "fresh-connection reader" if self.fresh else "reused-connection reader"

    def ok_ports(self, since=0.0):
        return [p for t, p, e in self.results if t >= since and e is None]

    def errors(self, since=0.0):
        return [e for t, p, e in self.results if t >= since and e is not None]


def _wait_both_replicas_then_clean(port, what, clean_reads=40, timeout=40.0):
    """Polls fresh reads until both replicas answer, then requires `clean_reads` reads in a
    row without error. Returns (errors seen before, ports seen)."""
    deadline = time.monotonic() + timeout
    seen, errors_before = set(), []
    while seen != set(REPLICA_PORTS):
        assert time.monotonic() < deadline, \
            f"{what}: after the replica came back only {seen} answered within {timeout}s " \
            f"(errors: {errors_before[-5:]})"
        try:
            seen.add(h.one_shot(port, "SELECT @@port", connect_timeout=5, read_timeout=10)[0][0])
        except Exception as exc:  # noqa: BLE001
            errors_before.append(repr(exc))
            time.sleep(0.05)
    for i in range(clean_reads):
        try:
            p = h.one_shot(port, "SELECT @@port", connect_timeout=5, read_timeout=10)[0][0]
        except Exception as exc:  # noqa: BLE001
            pytest.fail(f"{what}: read {i} after recovery failed: {exc!r} "
                        f"(earlier errors: {errors_before[-5:]})")
        assert p in REPLICA_PORTS, f"{what}: read after recovery answered by {p}"
    return errors_before, seen


@pytest.mark.destructive
def test_replica_killed_during_reads(cluster, sluice, sluice_factory):
    victim, survivor = REPLICA_PORTS[1], REPLICA_PORTS[0]
    s = sluice_factory({"monitor": {"down_retry_ms": 1000}})
    # One reader on fresh connections, three on one connection each (a reused client
    # connection may stick to one replica; three make it likely one of them uses the victim).
    readers = [Reader(s.port, fresh=True)] + [Reader(s.port, fresh=False) for _ in range(3)]
    pid = cluster.pid_of(victim)
    t_kill = None
    restart_error = None
    try:
        for r in readers:
            r.start()
        h.wait_for(lambda: set(readers[0].ok_ports()) >= set(REPLICA_PORTS) and
                   all(len(r.ok_ports()) >= 20 for r in readers),
                   timeout=20, what="readers reading (fresh connections: from both replicas) "
                                    "before the kill")

        t_kill = time.monotonic()
        os.kill(pid, signal.SIGKILL)
        h.wait_for(lambda: not os.path.exists(f"/proc/{pid}") or
                   open(f"/proc/{pid}/stat").read().split(") ")[1][0] == "Z",
                   timeout=10, what=f"mariadbd pid {pid} to die")

        # Let the readers go on: at least 60 successful reads each and 3 s after the kill.
        h.wait_for(lambda: time.monotonic() - t_kill >= 3 and
                   all(len(r.ok_ports(t_kill)) >= 60 for r in readers),
                   timeout=30, interval=0.1,
                   what="60 successful reads per reader after the kill")
    finally:
        for r in readers:
            r.stop.set()
        for r in readers:
            r.join(timeout=30)
        try:
            cluster.up()  # restarts the killed replica; waits until replication works
        except Exception as exc:  # noqa: BLE001
            restart_error = exc

    report = []
    for r in readers:
        oks, errs = r.ok_ports(t_kill), r.errors(t_kill)
        counts = {p: oks.count(p) for p in set(oks)}
        report.append(f"{r.name_()}: after kill {len(oks)} ok {counts}, {len(errs)} errors "
                      f"{errs[:3]}, client connections closed by Sluice: {r.client_conn_closed}")
    summary = "\n".join(report)
    print(summary)
    for r in readers:
        oks, errs = r.ok_ports(t_kill), r.errors(t_kill)
        assert len(errs) <= MAX_ERRORS_AFTER_KILL, f"too many errors after the kill:\n{summary}"
        assert oks[-50:] == [survivor] * 50, f"later reads not all on replica {survivor}:\n{summary}"
        assert PRIMARY_PORT not in oks[len(errs) + 10:], \
            f"reads fell back to the primary while replica {survivor} was healthy:\n{summary}"
    assert restart_error is None, f"cluster.sh up could not restart the replica: {restart_error}"

    # The replica is back: Sluice uses it again, without errors once it does.
    h.wait_replicas_caught_up()
    _wait_both_replicas_then_clean(s.port, "own instance")
    # The shared instance also had pooled connections to the killed replica.
    _wait_both_replicas_then_clean(sluice.port, "shared instance")
