"""Client load for the fault-injection tests: threads that read or write through Sluice and
record every statement (when it started and ended, which server answered, the error), so a
test can say when clients recovered and how long they were kept waiting.

All times are time.monotonic(); helpers.Cluster's fault events use the same clock.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import helpers as h


@dataclass
class Op:
    start: float
    end: float
    port: int | None = None      # reads: @@port of the server that answered
    error: str | None = None     # repr of the exception; None when the statement succeeded
    code: int | None = None      # MySQL error code when there is one
    seq: int | None = None       # writes: the row's sequence number

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def latency(self) -> float:
        return self.end - self.start


def _error_code(exc: BaseException):
    code, _ = h.mysql_error(exc)
    return code


class _Load:
    def __init__(self):
        self.ops: list[Op] = []   # appended from the threads (list.append is atomic)
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def __enter__(self):
        for t in self._threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self.stop()
        return False

    def stop(self):
        self._stop.set()
        for t in self._threads:
            t.join(60)

    def since(self, t0: float, until: float | None = None) -> list[Op]:
        """Ops still running at t0 or started after it (and, with until, started before that)."""
        return [o for o in list(self.ops) if o.end >= t0 and (until is None or o.start < until)]

    def started_after(self, t0: float) -> list[Op]:
        return [o for o in list(self.ops) if o.start >= t0]

    def wait_ok(self, n: int, since: float, timeout: float, what: str, good=lambda o: True):
        """Waits until n successful ops that satisfy `good` started after `since`."""
        h.wait_for(lambda: sum(1 for o in self.started_after(since) if o.ok and good(o)) >= n,
                   timeout=timeout, interval=0.05, what=what)


class ReadLoad(_Load):
    """`fresh` threads that open a connection per read and `reused` threads that keep one
    (reopened only when it is lost), each running `SELECT @@port` through Sluice. Fresh
    threads pause longer (fresh_pause): each of their reads leaves a TIME_WAIT socket on an
    ephemeral port, a shared resource on a machine running several suites."""

    def __init__(self, port: int, fresh: int = 1, reused: int = 2, user=h.APP_USER,
                 password=h.APP_PASSWORD, read_timeout: float = 10.0, connect_timeout: float = 10.0,
                 pause: float = 0.005, fresh_pause: float = 0.02):
        super().__init__()
        self.port, self.user, self.password = port, user, password
        self.read_timeout, self.connect_timeout = read_timeout, connect_timeout
        self.pause, self.fresh_pause = pause, fresh_pause
        self.connections_lost = 0
        self._threads = ([threading.Thread(target=self._run, args=(True,), daemon=True) for _ in range(fresh)]
                         + [threading.Thread(target=self._run, args=(False,), daemon=True) for _ in range(reused)])

    def _connect(self):
        return h.connect(self.port, user=self.user, password=self.password,
                         connect_timeout=self.connect_timeout, read_timeout=self.read_timeout,
                         write_timeout=self.read_timeout)

    def _run(self, fresh: bool):
        conn = None
        while not self._stop.is_set():
            t0 = time.monotonic()
            try:
                if conn is None:
                    conn = self._connect()
                port = h.scalar(conn, "SELECT @@port")
                self.ops.append(Op(t0, time.monotonic(), port=port))
            except Exception as exc:  # noqa: BLE001 - every failure is a data point
                self.ops.append(Op(t0, time.monotonic(), error=repr(exc), code=_error_code(exc)))
                if conn is not None and not conn.open:
                    self.connections_lost += 1
                    conn = None
            if fresh and conn is not None:
                try:
                    conn.close()
                except Exception:  # noqa: BLE001
                    pass
                conn = None
            time.sleep(self.fresh_pause if fresh else self.pause)
        if conn is not None:
            try:
                conn.close()
            except Exception:  # noqa: BLE001
                pass

    def answered_by(self, port: int, since: float = 0.0) -> list[Op]:
        return [o for o in self.started_after(since) if o.ok and o.port == port]

    def summary(self, since: float = 0.0, until: float | None = None) -> str:
        ops = self.since(since, until)
        oks = [o for o in ops if o.ok]
        by_port = {}
        for o in oks:
            by_port[o.port] = by_port.get(o.port, 0) + 1
        errs = [o for o in ops if not o.ok]
        worst = max((o.latency for o in ops), default=0.0)
        return (f"{len(ops)} reads: {len(oks)} ok {by_port}, {len(errs)} errors "
                f"{[e.error for e in errs[:3]]}, max latency {worst:.3f}s, "
                f"connections lost {self.connections_lost}")


def create_seq_table(name: str):
    """A table for WriteLoad (created on the primary, replicated before returning)."""
    c = h.direct(h.PRIMARY_PORT)
    try:
        h.query(c, f"CREATE TABLE `{name}` (seq INT PRIMARY KEY, server_id INT NOT NULL, "
                   f"at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6)) ENGINE=InnoDB")
    finally:
        c.close()
    h.wait_replicas_caught_up()


class WriteLoad(_Load):
    """One thread inserting (seq, @@server_id) into `table` in autocommit through Sluice,
    seq = 1, 2, 3, ... A failed insert is never retried (the next one takes the next seq), so
    an op is acknowledged exactly when error is None; the row records which server ran it."""

    def __init__(self, port: int, table: str, user=h.APP_USER, password=h.APP_PASSWORD,
                 read_timeout: float = 15.0, pause: float = 0.01):
        super().__init__()
        self.port, self.table, self.user, self.password = port, table, user, password
        self.read_timeout, self.pause = read_timeout, pause
        self._threads = [threading.Thread(target=self._run, daemon=True)]

    def _run(self):
        conn = None
        seq = 0
        while not self._stop.is_set():
            seq += 1
            t0 = time.monotonic()
            try:
                if conn is None:
                    conn = h.connect(self.port, user=self.user, password=self.password,
                                     connect_timeout=10, read_timeout=self.read_timeout,
                                     write_timeout=self.read_timeout)
                h.query(conn, f"INSERT INTO `{self.table}` (seq, server_id) VALUES (%s, @@server_id)", (seq,))
                self.ops.append(Op(t0, time.monotonic(), seq=seq))
            except Exception as exc:  # noqa: BLE001
                self.ops.append(Op(t0, time.monotonic(), error=repr(exc), code=_error_code(exc), seq=seq))
                if conn is not None and not conn.open:
                    conn = None
            time.sleep(self.pause)
        if conn is not None:
            try:
                conn.close()
            except Exception:  # noqa: BLE001
                pass

    def acked(self) -> list[int]:
        return [o.seq for o in list(self.ops) if o.ok]

    def summary(self, since: float = 0.0, until: float | None = None) -> str:
        ops = self.since(since, until)
        errs = [o for o in ops if not o.ok]
        codes = {}
        for e in errs:
            codes[e.code] = codes.get(e.code, 0) + 1
        worst = max((o.latency for o in ops), default=0.0)
        return (f"{len(ops)} writes: {len(ops) - len(errs)} acknowledged, {len(errs)} errors "
                f"by code {codes} {[e.error for e in errs[:3]]}, max latency {worst:.3f}s")


def recovered_after(ops: list[Op], t0: float, good) -> float:
    """Seconds from t0 until the end of the last op that was not `good` among those still
    running at t0 or started after it (0.0 when all were good): from then on every client
    statement was good."""
    bad_ends = [o.end for o in ops if o.end >= t0 and not good(o)]
    return max(bad_ends) - t0 if bad_ends else 0.0


def first_good_after(ops: list[Op], t0: float, good) -> float | None:
    """Seconds from t0 to the end of the first `good` op started after t0 (None if none)."""
    ends = [o.end for o in ops if o.start >= t0 and good(o)]
    return min(ends) - t0 if ends else None
