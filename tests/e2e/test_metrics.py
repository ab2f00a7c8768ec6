"""/metrics: names and values are true, and the dashboard and alert rules work on a live scrape.

Two kinds of tests:
- Metric truth: scrape a fresh Sluice's /metrics directly (text format, parsed here) while
  clients hold transactions, wait for a full pool, or leave idle connections to expire.
- Dashboard and alerts: Debian's `prometheus` scrapes a Sluice under a small load every
  second; then every PromQL expression of grafana/dashboards/sluice.json and of
  deploy/prometheus/alerts.yml is evaluated through Prometheus' HTTP API (/api/v1/query)
  and must return data. How Grafana variables and alert thresholds are handled is in the
  docstrings of dashboard_queries() and alert_operands().
"""
from __future__ import annotations

import json
import math
import os
import re
import signal
import socket
import subprocess
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pymysql
import pytest

import helpers as h

DASHBOARD = h.REPO / "grafana/dashboards/sluice.json"
ALERTS = h.REPO / "deploy/prometheus/alerts.yml"
PROM_CONFIG = h.REPO / "deploy/prometheus/prometheus.yml"
PROMETHEUS = "/usr/bin/prometheus"
PROMTOOL = "/usr/bin/promtool"
# $__rate_interval stand-in: with 1 s scrapes, 15 s holds ~15 samples, and the load below
# runs for longer than that before anything is evaluated.
RATE_INTERVAL = "15s"

# Ports of our own (Prometheus, the start-up failure test), from the top of the extra range
# so they never meet the ones conftest's allocator hands out from the bottom.
_ports = h.PortAllocator(26900, 26999)


# ---------------------------------------------------------------------------------------
# /metrics text format
# ---------------------------------------------------------------------------------------

_LINE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)$')
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def scrape(port: int) -> list[tuple[str, dict, float]]:
    """(name, labels, value) for every sample of http://127.0.0.1:port/metrics."""
    with urllib.request.urlopen(f"http://{h.HOST}:{port}/metrics", timeout=5) as r:
        assert r.status == 200
        text = r.read().decode()
    out = []
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = _LINE.match(line)
        assert m, f"unparsable /metrics line: {line!r}"
        labels = dict(_LABEL.findall(m.group(2) or ""))
        out.append((m.group(1), labels, float(m.group(3))))
    return out


def value(samples, name: str, **labels) -> float:
    """The value of the one series of `name` whose labels include `labels`."""
    found = [v for n, l, v in samples if n == name and all(l.get(k) == str(x) for k, x in labels.items())]
    assert len(found) == 1, f"{len(found)} series {name}{labels} in /metrics"
    return found[0]


def writer(port: int):
    return {"hostgroup": h.WRITER_HG, "server": f"{h.HOST}:{port}", "role": "writer"}


def pool_value(s, name: str, **labels) -> float:
    return value(scrape(s.metrics_port), name, **writer(h.PRIMARY_PORT), **labels)


def client(s):
    """A client without a default schema: a login with a schema borrows a backend connection
    to check it exists, which would add checkouts the tests below do not count."""
    return h.connect(s.port, database=None)


def hold_transactions(s, n: int) -> list:
    """n connections, each inside a transaction that holds a writer connection."""
    conns = []
    for _ in range(n):
        c = client(s)
        h.query(c, "BEGIN")
        h.query(c, "SELECT 1")  # inside a transaction: runs on (and holds) a writer connection
        conns.append(c)
    return conns


def close_all(conns):
    for c in conns:
        try:
            h.query(c, "COMMIT")
        except Exception:  # noqa: BLE001 - best effort
            pass
        c.close()


# ---------------------------------------------------------------------------------------
# Metric truth
# ---------------------------------------------------------------------------------------

def test_in_use_is_the_number_of_clients_holding_transactions(sluice_factory):
    s = sluice_factory({})
    n = 5
    denied_before = value(scrape(s.metrics_port), "sluice_client_connections_total", result="denied")
    conns = hold_transactions(s, n)
    try:
        samples = scrape(s.metrics_port)
        w = writer(h.PRIMARY_PORT)
        assert value(samples, "sluice_pool_in_use_connections", **w) == n
        assert value(samples, "sluice_pool_open_connections", **w) >= n
        assert value(samples, "sluice_pool_idle_connections", **w) == \
            value(samples, "sluice_pool_open_connections", **w) - n
        h.wait_for(lambda: value(scrape(s.metrics_port), "sluice_client_connections") == n, 5,
                   what=f"sluice_client_connections == {n}")
        with pytest.raises(pymysql.err.OperationalError):
            h.connect(s.port, database=None, password="not-the-password")
        assert value(scrape(s.metrics_port), "sluice_client_connections_total",
                     result="denied") == denied_before + 1
    finally:
        close_all(conns)
    h.wait_for(lambda: pool_value(s, "sluice_pool_in_use_connections") == 0, 5,
               what="writer in_use back to 0 after COMMIT")
    h.wait_for(lambda: value(scrape(s.metrics_port), "sluice_client_connections") == 0, 5,
               what="client connection gauge back to 0")


def test_full_pool_counts_waiting_clients_and_waits(sluice_factory):
    s = sluice_factory({"pool": {"max_connections": 2, "checkout_timeout_ms": 2000}})
    wait_count0 = pool_value(s, "sluice_pool_wait_count_total")
    holders = hold_transactions(s, 2)
    errors = []

    def waiter():
        try:
            c = client(s)
            try:
                h.query(c, "BEGIN")
                h.query(c, "SELECT 1")  # queues until a holder commits
                h.query(c, "COMMIT")
            finally:
                c.close()
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=waiter, daemon=True) for _ in range(3)]
    for t in threads:
        t.start()
    try:
        h.wait_for(lambda: pool_value(s, "sluice_pool_waiting_clients") == 3, 1.5,
                   what="3 waiting clients on the full writer pool")
        samples = scrape(s.metrics_port)
        w = writer(h.PRIMARY_PORT)
        assert value(samples, "sluice_pool_wait_count_total", **w) == wait_count0 + 3
        assert value(samples, "sluice_pool_in_use_connections", **w) == 2
        assert value(samples, "sluice_pool_open_connections", **w) == 2
    finally:
        close_all(holders)
    for t in threads:
        t.join(10)
    assert not errors, f"waiters failed: {errors}"
    samples = scrape(s.metrics_port)
    w = writer(h.PRIMARY_PORT)
    assert value(samples, "sluice_pool_waiting_clients", **w) == 0
    # At least: a checkout on one worker while the idle connections sit on the other also
    # queues (for the hand-over), and counts as a wait.
    assert value(samples, "sluice_pool_wait_count_total", **w) >= wait_count0 + 3
    assert value(samples, "sluice_pool_wait_duration_seconds_total", **w) > 0
    assert value(samples, "sluice_pool_checkout_timeouts_total", **w) == 0

    # A waiter that outlives checkout_timeout_ms is counted as a timeout.
    holders = hold_transactions(s, 2)
    try:
        wait_count1 = pool_value(s, "sluice_pool_wait_count_total")
        c = client(s)
        try:
            with pytest.raises(pymysql.err.MySQLError, match="timed out"):
                h.query(c, "BEGIN")
                h.query(c, "SELECT 1")
        finally:
            c.close()
        assert pool_value(s, "sluice_pool_checkout_timeouts_total") == 1
        assert pool_value(s, "sluice_pool_wait_count_total") == wait_count1 + 1
    finally:
        close_all(holders)


def test_idle_timeout_closes_are_counted(sluice_factory):
    s = sluice_factory({"pool": {"idle_timeout_ms": 2000, "min_idle": 0}})
    k = 4
    close_all(hold_transactions(s, k))  # k writer connections, now idle
    reason = {"reason": "idle_timeout"}
    samples = scrape(s.metrics_port)
    w = writer(h.PRIMARY_PORT)
    open_before = value(samples, "sluice_pool_open_connections", **w)
    closed_before = value(samples, "sluice_pool_closed_total", **w, **reason)
    assert open_before == k, "the writer connections expired before the first scrape"
    # The worker reaper runs every second: idle for 2 s, gone within ~3 s.
    h.wait_for(lambda: pool_value(s, "sluice_pool_open_connections") == 0, 8,
               what="idle writer connections closed by idle_timeout")
    samples = scrape(s.metrics_port)
    assert value(samples, "sluice_pool_closed_total", **w, **reason) == closed_before + k
    assert value(samples, "sluice_pool_idle_connections", **w) == 0
    for other in ("max_idle", "max_lifetime", "error", "server_down"):
        assert value(samples, "sluice_pool_closed_total", **w, reason=other) == 0


def test_backend_up_and_replica_lag(sluice):
    def all_known():
        samples = scrape(sluice.metrics_port)
        lags = {l["server"]: v for n, l, v in samples if n == "sluice_backend_replication_lag_seconds"}
        ups = {l["server"]: v for n, l, v in samples if n == "sluice_backend_up"}
        return (lags, ups) if len(lags) == 2 and all(v == 1 for v in ups.values()) else None

    lags, ups = h.wait_for(all_known, 10, interval=0.2, what="lag of both replicas and every backend up")
    assert set(lags) == {f"{h.HOST}:{p}" for p in h.REPLICA_PORTS}, "lag is exported for replicas only"
    assert all(v >= 0 for v in lags.values())
    assert set(ups) == {f"{h.HOST}:{p}" for p in h.ALL_PORTS}


def test_metrics_port_in_use_stops_startup(sluice_bin, workdir):
    port, admin, metrics = _ports.take(3)
    cfg = h.base_sluice_config(port, admin, metrics)
    path = workdir / "sluice-metrics-port-taken.json"
    path.write_text(json.dumps(cfg))
    with socket.socket() as blocker:
        blocker.bind((h.HOST, metrics))
        blocker.listen()
        cp = subprocess.run([str(sluice_bin), "--config", str(path)], capture_output=True, text=True,
                            timeout=20, stdin=subprocess.DEVNULL)
    assert cp.returncode != 0
    assert f"metrics.listen {h.HOST}:{metrics}" in cp.stdout + cp.stderr, cp.stdout + cp.stderr


# ---------------------------------------------------------------------------------------
# Dashboard and alert expressions against a live Prometheus
# ---------------------------------------------------------------------------------------

def dashboard_queries(dashboard: dict) -> tuple[list[tuple[str, str]], list[tuple[str, str, str]]]:
    """([(panel title, expr)], [(variable, selector, label)]) with Grafana's variables
    replaced as Grafana does when "All" is selected: $instance, $hostgroup and $server by
    the variables' allValue `.*`, $__rate_interval by RATE_INTERVAL. A template variable's
    `label_values(<selector>, <label>)` is Grafana syntax, not PromQL: it is returned as
    its selector and label."""
    def subst(expr: str) -> str:
        for v in dashboard["templating"]["list"]:
            if v["type"] == "query":
                expr = expr.replace(f"${v['name']}", v.get("allValue") or ".*")
        return expr.replace("$__rate_interval", RATE_INTERVAL)

    panels = []
    for p in dashboard["panels"]:
        for sub in [p] + p.get("panels", []):
            for t in sub.get("targets", []):
                panels.append((sub["title"], subst(t["expr"])))
    variables = []
    for v in dashboard["templating"]["list"]:
        if v["type"] != "query":
            continue
        q = v["query"]["query"] if isinstance(v["query"], dict) else v["query"]
        m = re.fullmatch(r"\s*label_values\((.*),\s*([a-zA-Z_]\w*)\s*\)\s*", q)
        assert m, f"variable {v['name']}: expected label_values(selector, label), got {q!r}"
        variables.append((v["name"], subst(m.group(1)), m.group(2)))
    return panels, variables


_CMP = ("==", "!=", ">=", "<=", ">", "<")
_SET = ("and", "or", "unless")
_MODIFIER = re.compile(r"^\s*(?:bool\b|(?:on|ignoring|group_left|group_right)\b\s*(?:\([^)]*\))?)")
_NUMBER = re.compile(r"^\s*[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?\s*$")


def _split_top_level(expr: str) -> list[str]:
    """Splits at comparison and set operators outside (), [], {} and string literals."""
    parts, depth, quote, start, i = [], 0, None, 0, 0
    while i < len(expr):
        c = expr[i]
        if quote:
            if c == "\\":
                i += 2
                continue
            if c == quote:
                quote = None
        elif c in "\"'`":
            quote = c
        elif c in "([{":
            depth += 1
        elif c in ")]}":
            depth -= 1
        elif depth == 0:
            op = next((o for o in _CMP if expr.startswith(o, i)), None)
            if op is None:
                word = re.match(r"[a-z]+", expr[i:])
                before = expr[i - 1] if i else " "
                if word and word.group(0) in _SET and not (before.isalnum() or before in "_:"):
                    op = word.group(0)
            if op:
                parts.append(expr[start:i])
                i += len(op)
                start = i
                continue
        i += 1
    parts.append(expr[start:])
    return parts


def _unwrap(expr: str) -> str:
    """`( x )` -> `x` when the outer parentheses enclose the whole expression."""
    e = expr.strip()
    while e.startswith("(") and e.endswith(")"):
        depth = 0
        for i, c in enumerate(e):
            depth += c == "("
            depth -= c == ")"
            if depth == 0 and i < len(e) - 1:
                return e
        e = e[1:-1].strip()
    return e


def alert_operands(expr: str) -> list[str]:
    """The series an alert expression compares, without its thresholds.

    An alert fires when its expression returns series; in a healthy cluster it returns none,
    so "returns data" is asked of what it is built from. The expression is split at every
    comparison (==, !=, >, <, >=, <=, with `bool`) and set operator (and, or, unless, with
    on/ignoring/group_* modifiers) outside parentheses, recursively inside parenthesised
    operands; number literals (the thresholds) are dropped. Arithmetic binds tighter than
    both, so each remaining operand is a whole subexpression: e.g.
    `max by (x) (a / b) > 0.9` gives `max by (x) (a / b)`, and
    `(up{role="reader"} == 1) unless on (server) lag` gives `up{role="reader"}` and `lag`.
    """
    out = []
    for part in _split_top_level(expr):
        while _MODIFIER.match(part):
            part = _MODIFIER.sub("", part, count=1)
        part = part.strip()
        if not part or _NUMBER.match(part):
            continue
        inner = _unwrap(part)
        if inner != part and len(_split_top_level(inner)) > 1:
            out.extend(alert_operands(inner))
        else:
            out.append(part)
    return out


def test_alert_operands_strip_thresholds():
    assert alert_operands("max by (a, b) (x / y) > 0.9") == ["max by (a, b) (x / y)"]
    assert alert_operands('sluice_backend_up{role="writer"} == 0') == ['sluice_backend_up{role="writer"}']
    assert alert_operands('(u{role="reader"} == 1)\n  unless on (i, s)\nlag') == ['u{role="reader"}', "lag"]
    assert alert_operands('rate(x{a=~"b>c"}[5m]) >= bool 1e3') == ['rate(x{a=~"b>c"}[5m])']
    assert alert_operands("a_and_b or ignoring (k) c") == ["a_and_b", "c"]


def test_prometheus_files_pass_promtool(tmp_path):
    for cmd in ([PROMTOOL, "check", "config", str(PROM_CONFIG)],
                [PROMTOOL, "check", "rules", str(ALERTS)]):
        cp = h.run(cmd, check=False)
        assert cp.returncode == 0, f"{' '.join(cmd)}:\n{cp.stdout}{cp.stderr}"


class Prometheus:
    """Debian's prometheus on 127.0.0.1:<port>, scraping `targets` every second, with the
    alert rules of deploy/prometheus/alerts.yml loaded; stopped by pid."""

    def __init__(self, workdir: Path, targets: list[str]):
        self.port = _ports.take(1)[0]
        self.dir = workdir / f"prometheus-{self.port}"
        (self.dir / "data").mkdir(parents=True, exist_ok=True)
        self.config = self.dir / "prometheus.yml"
        # JSON is YAML: no YAML writer needed.
        self.config.write_text(json.dumps({
            "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
            "rule_files": [str(ALERTS)],
            "scrape_configs": [{"job_name": "sluice", "scrape_interval": "1s", "scrape_timeout": "1s",
                                "static_configs": [{"targets": targets}]}],
        }, indent=2))
        self.log = self.dir / "prometheus.log"
        self.proc = None

    def start(self):
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                [PROMETHEUS, f"--config.file={self.config}", f"--storage.tsdb.path={self.dir / 'data'}",
                 f"--web.listen-address={h.HOST}:{self.port}", "--log.level=warn"],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)

        def ready():
            assert self.proc.poll() is None, f"prometheus exited: {h.tail(self.log)}"
            with urllib.request.urlopen(f"http://{h.HOST}:{self.port}/-/ready", timeout=2) as r:
                return r.status == 200

        h.wait_for(ready, 30, interval=0.2, what="prometheus ready")
        return self

    def stop(self):
        if self.proc and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)

    def api(self, path: str, **params):
        url = f"http://{h.HOST}:{self.port}/api/v1/{path}"
        if params:
            url += "?" + urllib.parse.urlencode(params)
        try:
            with urllib.request.urlopen(url, timeout=10) as r:
                body = json.load(r)
        except urllib.error.HTTPError as e:  # 400/422: a bad expression
            body = json.load(e)
        assert body.get("status") == "success", f"{path} {params}: {body}"
        return body["data"]

    def query(self, expr: str) -> list:
        data = self.api("query", query=expr)
        assert data["resultType"] == "vector", f"{expr}: {data['resultType']}"
        return data["result"]


class Load:
    """Reads, writes, transactions that queue on a small writer pool, a failing statement
    and a wrong password, in background threads until stop()."""

    def __init__(self, port: int):
        self.port = port
        self.stop_ev = threading.Event()
        self.errors: list = []
        self.table = h.unique_name("metrics_load")
        c = h.direct(h.PRIMARY_PORT)
        h.query(c, f"CREATE TABLE {self.table} (id INT AUTO_INCREMENT PRIMARY KEY, v INT)")
        c.close()
        h.wait_replicas_caught_up()
        self.threads = [threading.Thread(target=self._guard, args=(f,), daemon=True)
                        for f in (self._reads, self._writes, self._trx, self._trx, self._trx, self._trx,
                                  self._failures)]

    def start(self):
        for t in self.threads:
            t.start()
        return self

    def stop(self):
        self.stop_ev.set()
        for t in self.threads:
            t.join(15)

    def _guard(self, fn):
        try:
            c = h.connect(self.port)
            try:
                while not self.stop_ev.is_set():
                    fn(c)
            finally:
                c.close()
        except Exception as exc:  # noqa: BLE001
            self.errors.append(exc)

    def _reads(self, c):
        h.query(c, f"SELECT COUNT(*) FROM {self.table}")
        time.sleep(0.002)

    def _writes(self, c):
        h.query(c, f"INSERT INTO {self.table} (v) VALUES (1)")
        time.sleep(0.01)

    def _trx(self, c):
        # Four of these on a writer pool of 2: checkouts wait, so the wait panels have data.
        h.query(c, "BEGIN")
        h.query(c, f"INSERT INTO {self.table} (v) VALUES (2)")
        h.query(c, "SELECT SLEEP(0.02)")
        h.query(c, "COMMIT")

    def _failures(self, c):
        try:
            h.query(c, "SELECT * FROM no_such_table_for_metrics")
            self.errors.append("a query on a missing table succeeded")
        except pymysql.err.ProgrammingError:
            pass  # counted in sluice_query_errors_total
        try:
            h.connect(self.port, password="wrong").close()
            self.errors.append("a wrong password was accepted")
        except pymysql.err.OperationalError:
            pass  # counted in sluice_client_connections_total{result="denied"}
        time.sleep(0.2)


def has_number(result: list) -> bool:
    return any(not math.isnan(float(r["value"][1])) for r in result)


def test_dashboard_and_alert_expressions_return_data(sluice_factory, workdir):
    s = sluice_factory({"pool": {"max_connections": 2, "checkout_timeout_ms": 10000}})
    instance = f"{h.HOST}:{s.metrics_port}"
    prom = Prometheus(workdir, [instance])
    load = None
    try:
        prom.start()
        load = Load(s.port).start()
        # Every window used below (RATE_INTERVAL, the alerts' 5m) then holds >= 12 scrapes
        # taken under load.
        h.wait_for(lambda: (r := prom.query("count_over_time(sluice_build_info[1m])")) and
                   float(r[0]["value"][1]) >= 17, 40, interval=0.5, what="17 scrapes of Sluice")
        assert not load.errors, f"load failed: {load.errors[:3]}"

        panels, variables = dashboard_queries(json.loads(DASHBOARD.read_text()))
        assert len(panels) >= 20
        failures = []
        for title, expr in panels:
            result = prom.query(expr)
            if not result:
                failures.append(f"panel {title!r}: no data for {expr}")
            elif not has_number(result):
                failures.append(f"panel {title!r}: only NaN for {expr}: {result}")
        for name, selector, label in variables:
            result = prom.query(selector)
            if not result or not all(label in r["metric"] for r in result):
                failures.append(f"variable {name}: no {label!r} label on {selector}: {result}")

        rules = [r for g in prom.api("rules")["groups"] for r in g["rules"] if r["type"] == "alerting"]
        n_rules = int(re.search(r"(\d+) rules found", h.run([PROMTOOL, "check", "rules", str(ALERTS)]).stdout)[1])
        assert len(rules) == n_rules, "prometheus did not load every rule of alerts.yml"
        for r in rules:
            assert r["health"] == "ok", f"alert {r['name']}: {r.get('lastError')}"
            prom.query(r["query"])  # the whole expression is valid (usually empty: not firing)
            operands = alert_operands(r["query"])
            assert operands, f"alert {r['name']}: nothing to evaluate in {r['query']}"
            for expr in operands:
                if not prom.query(expr):
                    failures.append(f"alert {r['name']}: no data for {expr}")
        assert not failures, "\n".join(failures)
        assert instance in {r["metric"]["instance"] for r in prom.query("sluice_build_info")}
    finally:
        if load:
            load.stop()
        prom.stop()
    assert not load.errors, f"load failed: {load.errors[:3]}"
    cp = h.run([PROMTOOL, "check", "config", str(prom.config)], check=False)
    assert cp.returncode == 0, cp.stdout + cp.stderr
