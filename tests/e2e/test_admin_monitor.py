"""The admin port's monitor tables (ProxySQL's monitor schema): every check the monitor
runs shows up with its result, and the runtime status of a server follows its health."""
from __future__ import annotations

import helpers as h
from helpers import PRIMARY_PORT, REPLICA_PORTS


def _admin(s):
    return h.connect(s.admin_port, user="admin", password="admin", database=None)


def test_monitor_logs_show_each_check(sluice_factory):
    s = sluice_factory({"monitor": {"ping_interval_ms": 200, "read_only_interval_ms": 200,
                                    "replication_lag_interval_ms": 200}})
    a = _admin(s)
    try:
        def ping_ok():
            r = h.query(a, "SELECT port, COUNT(*) FROM monitor.mysql_server_ping_log "
                           "WHERE ping_error IS NULL AND ping_success_time_us > 0 GROUP BY port")
            return {p for p, n in r if n >= 2} == {PRIMARY_PORT, *REPLICA_PORTS}
        h.wait_for(ping_ok, timeout=10, what="two successful pings of every server")
        ro = dict(h.query(a, "SELECT port, read_only FROM monitor.mysql_server_read_only_log "
                             "WHERE error IS NULL ORDER BY time_start_us"))
        assert ro == {PRIMARY_PORT: 0, REPLICA_PORTS[0]: 1, REPLICA_PORTS[1]: 1}
        lag = h.query(a, "SELECT DISTINCT port FROM monitor.mysql_server_replication_lag_log "
                         "WHERE error IS NULL AND repl_lag IS NOT NULL")
        assert {p for (p,) in lag} == set(REPLICA_PORTS)  # the primary is not a replica
        connects = h.query(a, "SELECT COUNT(*) FROM monitor.mysql_server_connect_log WHERE connect_error IS NULL")
        assert connects[0][0] >= 3
    finally:
        a.close()


def test_runtime_status_and_ping_errors_of_an_unreachable_server(sluice_factory):
    dead = h.PortAllocator().take(1)[0]  # nothing listens there
    s = sluice_factory({"monitor": {"ping_interval_ms": 200},
                        "servers": [{"hostgroup": 10, "host": "127.0.0.1", "port": PRIMARY_PORT},
                                    {"hostgroup": 20, "host": "127.0.0.1", "port": REPLICA_PORTS[0]},
                                    {"hostgroup": 20, "host": "127.0.0.1", "port": dead}]},
                       wait_for_replicas=False)
    a = _admin(s)
    try:
        h.wait_for(lambda: h.query(a, "SELECT status FROM runtime_mysql_servers WHERE port = %s", (dead,))
                   == (("SHUNNED",),), timeout=10, what="the unreachable server SHUNNED")
        errors = h.query(a, "SELECT connect_error FROM monitor.mysql_server_connect_log WHERE port = %s "
                            "AND connect_error IS NOT NULL", (dead,))
        assert errors and "connect" in errors[0][0].lower(), errors
        assert h.query(a, "SELECT status FROM runtime_mysql_servers WHERE port = %s", (PRIMARY_PORT,)) == (("ONLINE",),)
    finally:
        a.close()
