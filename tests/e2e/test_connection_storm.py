"""The connection-storm story from the seeds: an application that opens a connection per
request. Many threads connect, run a query, disconnect, as fast as they can, for
SLUICE_E2E_STORM_SECONDS (default 15; the story says 30). The servers must never see more
backend connections than the pool limits, and no client may get an error, least of all
"too many connections".
"""
import os
import threading
import time

import pytest

import helpers as h
from helpers import ALL_PORTS, DB, PRIMARY_PORT, REPLICA_PORTS

STORM_SECONDS = float(os.environ.get("SLUICE_E2E_STORM_SECONDS", "15"))
STORM_THREADS = int(os.environ.get("SLUICE_E2E_STORM_THREADS", "32"))
USER = "e2e_storm"
CAP = 8  # max_connections per server


def _server_connections(port: int) -> int:
    """The server's own count of connection attempts since it started."""
    m = h.monitor_conn(port)
    try:
        return int(h.query(m, "SHOW GLOBAL STATUS LIKE 'Connections'")[0][1])
    finally:
        m.close()


@pytest.mark.parametrize("schema", [
    pytest.param(DB, id="default_schema"),
    pytest.param(None, id="no_schema"),
])
def test_connection_storm(sluice_factory, make_user, record_property, schema):
    """Clients log in with a default schema (what applications do) or without one and
    name the schema in their statements."""
    make_user(USER)
    s = sluice_factory({"pool": {"max_connections": CAP, "max_idle": CAP, "checkout_timeout_ms": 30000},
                        "users": [{"username": USER, "password": USER}]})
    t = h.unique_name("t_storm")
    d = h.direct(h.PRIMARY_PORT)
    try:
        h.query(d, f"CREATE TABLE {t} (id INT AUTO_INCREMENT PRIMARY KEY, th INT, n INT)")
    finally:
        d.close()
    h.wait_replicas_caught_up()

    counts = [0] * STORM_THREADS
    writes = [0] * STORM_THREADS
    errors = []
    stop_at = [0.0]
    start = threading.Barrier(STORM_THREADS + 1)

    def storm(th):
        start.wait(30)
        n = 0
        while time.monotonic() < stop_at[0]:
            try:
                c = h.connect(s.port, user=USER, password=USER, database=schema,
                              connect_timeout=30, read_timeout=60)
                try:
                    if n % 10 == 9:
                        h.query(c, f"INSERT INTO {DB}.{t} (th, n) VALUES ({th}, {n})")
                        writes[th] += 1
                    else:
                        rows = h.query(c, f"SELECT @@port, {th * 1000000 + n}")
                        assert rows[0][1] == th * 1000000 + n, f"wrong answer {rows}"
                        assert rows[0][0] in ALL_PORTS, rows
                finally:
                    c.close()
                counts[th] += 1
            except Exception as exc:  # noqa: BLE001
                errors.append((th, n, repr(exc)))
                if len(errors) > 50:
                    return
            n += 1

    server_before = {p: _server_connections(p) for p in ALL_PORTS}
    threads = [threading.Thread(target=storm, args=(i,), daemon=True) for i in range(STORM_THREADS)]
    for th in threads:
        th.start()
    with h.ProcesslistSampler(USER) as sampler:
        t0 = time.monotonic()
        stop_at[0] = t0 + STORM_SECONDS
        start.wait(30)
        for th in threads:
            th.join(STORM_SECONDS + 120)
        elapsed = time.monotonic() - t0
    server_after = {p: _server_connections(p) for p in ALL_PORTS}

    total = sum(counts)
    server_new = {p: server_after[p] - server_before[p] for p in ALL_PORTS}
    m = h.scrape_metrics(s.metrics_port)
    backend_connects = {p: int(h.metric(m, "sluice_pool_connects_total", server=p)) for p in ALL_PORTS}
    summary = (f"connection storm ({'schema ' + schema if schema else 'no schema'} at login): {total} client connections ({sum(writes)} with a write) from "
               f"{STORM_THREADS} threads in {elapsed:.1f}s = {total / elapsed:.0f}/s; "
               f"backend connections of {USER} at most {sampler.peaks} (pool max {CAP} per server) "
               f"over {sampler.samples} PROCESSLIST samples; new connections seen by the servers "
               f"{server_new}; Sluice backend connects {backend_connects}; errors {len(errors)}")
    print(summary)
    record_property(f"storm_client_connections_{'schema' if schema else 'no_schema'}", total)
    record_property("storm_summary", summary)

    assert not any(th.is_alive() for th in threads), "storm threads still running"
    too_many = [e for e in errors if "1040" in e[2] or "oo many connections" in e[2]]
    assert not too_many, f"'too many connections' during the storm: {too_many[:3]}"
    assert not errors, f"{len(errors)} client errors during the storm, first: {errors[:3]}"
    assert not sampler.errors, sampler.errors
    assert sampler.samples >= 10, f"only {sampler.samples} PROCESSLIST samples"
    for port in ALL_PORTS:
        assert sampler.peaks[port] <= CAP, \
            f"server {port} showed {sampler.peaks[port]} connections of {USER}, pool max {CAP}"
    assert total >= 40 * STORM_SECONDS, f"only {total} client connections in {elapsed:.1f}s"
    # Connections are reused: the servers saw a few dozen logins for thousands of clients
    # (the rest is the monitor's and the samplers' own connections).
    for port in ALL_PORTS:
        assert backend_connects[port] <= 4 * CAP, \
            f"Sluice opened {backend_connects[port]} connections to {port} for {total} clients"
        assert server_new[port] < max(100, total // 10), \
            f"server {port} saw {server_new[port]} new connections for {total} client connections"
    d = h.direct(PRIMARY_PORT)
    try:
        assert h.scalar(d, f"SELECT COUNT(*) FROM {t}") == sum(writes)
    finally:
        d.close()
    assert set(REPLICA_PORTS) <= {p for p in ALL_PORTS if sampler.peaks[p] > 0}
