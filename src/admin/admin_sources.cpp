// Everything the admin port reads from the running proxy, in one file: the running config
// and apply_config, the topology's servers and pools, the metrics snapshot, the session
// registry. Each function returns plain rows; admin_stats.cpp turns them into tables.
// When Runtime/Topology change shape, this is the file to adapt.
// Thread rules: called on the admin thread; only thread-safe accessors are used
// (Runtime::running_config/apply_config, Pool::stats(), atomics, SessionRegistry).
#include "admin_internal.h"
#include "sluice/clock.h"
#include "sluice/command_kind.h"
#include "sluice/metrics.h"
#include "sluice/protocol.h"
#include "sluice/query_rules.h"
#include "sluice/runtime.h"
#include "sluice/worker.h"
#include "sluice/topology.h"

namespace sluice::admin {
namespace {

const char* command_name(uint8_t com) {
  switch (com) {
    case proto::kComSleep: return "Sleep";
    case proto::kComQuit: return "Quit";
    case proto::kComInitDb: return "Init DB";
    case proto::kComQuery: return "Query";
    case proto::kComFieldList: return "Field List";
    case proto::kComStatistics: return "Statistics";
    case proto::kComProcessKill: return "Kill";
    case proto::kComPing: return "Ping";
    case proto::kComChangeUser: return "Change user";
    case proto::kComStmtPrepare: return "Prepare";
    case proto::kComStmtExecute: return "Execute";
    case proto::kComStmtSendLongData: return "Long Data";
    case proto::kComStmtClose: return "Close stmt";
    case proto::kComStmtReset: return "Reset stmt";
    case proto::kComSetOption: return "Set option";
    case proto::kComStmtFetch: return "Fetch";
    case proto::kComResetConnection: return "Reset connection";
    case SessionInfo::kConnecting: return "Connect";
  }
  return "Unknown";
}

}  // namespace

// ---- config layers ----

Config running_config(Runtime& rt) { return rt.running_config(); }

// The one call that changes what the proxy runs (LOAD ... TO RUNTIME).
std::string apply_config(Runtime& rt, const Config& next) { return rt.apply_config(next); }

const std::string& running_config_path(Runtime& rt) { return rt.config_path(); }

// ---- stats ----

namespace {

// A server's status as ProxySQL's stats show it: its configured status unless ONLINE,
// else what the monitor and passive health say.
std::string server_status(const Server& s, int64_t now) {
  ServerStatus admin = s.admin_status.load(std::memory_order_relaxed);
  if (!s.configured.load(std::memory_order_relaxed)) return "OFFLINE_HARD";  // removed, draining
  if (admin != ServerStatus::kOnline) return server_status_name(admin);
  HealthState health = s.health.load(std::memory_order_relaxed);
  if (health != HealthState::kOnline) return health_state_name(health);
  return s.usable(now) ? "ONLINE" : "SHUNNED";
}

PoolRow pool_row(const Server& s, uint32_t hostgroup, int64_t now) {
  PoolRow r;
  r.hostgroup = hostgroup;
  r.host = s.host;
  r.port = s.port;
  r.pool = s.pool.stats();
  r.status = server_status(s, now);
  int64_t latency = s.monitor_latency_us.load(std::memory_order_relaxed);
  r.latency_us = latency > 0 ? latency : 0;
  return r;
}

}  // namespace

// One row per (hostgroup, server) of the routing table, as ProxySQL lists them (a server in
// two hostgroups shows its one pool twice), then servers removed from the config that
// still hold connections (draining).
std::vector<PoolRow> pool_rows(Runtime& rt) {
  std::vector<PoolRow> rows;
  const int64_t now = now_ms();
  auto table = rt.topology().table();
  for (const Hostgroup& hg : table->hostgroups)
    for (const Server* s : hg.servers) rows.push_back(pool_row(*s, hg.id, now));
  for (const Server* s : rt.topology().servers()) {
    if (s->configured.load(std::memory_order_relaxed) || s->pool.stats().open == 0) continue;
    rows.push_back(pool_row(*s, s->hostgroup.load(std::memory_order_relaxed), now));
  }
  return rows;
}

std::vector<ProcessRow> process_rows(Runtime& rt) {
  std::vector<ProcessRow> rows;
  const int64_t now = now_ns();
  for (const auto& [id, info] : rt.sessions.snapshot()) {
    ProcessRow r;
    r.session_id = id;
    r.worker = info->worker;
    SessionInfo::Text text = info->text();
    r.user = std::move(text.user);
    r.db = std::move(text.schema);
    r.info = std::move(text.info);
    r.cli_host = info->client_host;
    r.cli_port = info->client_port;
    r.command = command_name(info->command.load(std::memory_order_relaxed));
    r.time_ms = (now - info->since_ns.load(std::memory_order_relaxed)) / 1000000;
    if (const Server* srv = info->running_on.load(std::memory_order_relaxed)) {
      r.hostgroup = srv->hostgroup.load(std::memory_order_relaxed);
      r.srv_host = srv->host;
      r.srv_port = srv->port;
    }
    rows.push_back(std::move(r));
  }
  return rows;
}

std::vector<std::pair<std::string, std::string>> global_status(Runtime& rt, const std::string& version,
                                                               int64_t uptime_s) {
  MetricsSnapshot s = gather(rt, version);
  const QueryTotals& t = s.totals;
  uint64_t open = 0, connects = 0, failed = 0, waits = 0, wait_ns = 0, timeouts = 0, in_use = 0, up = 0;
  for (const auto& srv : s.servers) {
    open += srv.pool.open;
    in_use += srv.pool.in_use;
    connects += srv.pool.connects_ok;
    failed += srv.pool.connects_failed;
    waits += srv.pool.wait_count;
    wait_ns += srv.pool.wait_ns;
    timeouts += srv.pool.checkout_timeouts;
    up += srv.up ? 1 : 0;
  }
  auto route = [&](RouteKind r, TargetGroup g) { return t.queries[static_cast<size_t>(r)][static_cast<size_t>(g)]; };
  uint64_t reads = route(RouteKind::kRead, TargetGroup::kWriter) + route(RouteKind::kRead, TargetGroup::kReader);
  uint64_t writes = route(RouteKind::kWrite, TargetGroup::kWriter) + route(RouteKind::kWrite, TargetGroup::kReader);
  auto result = [&](ClientResult r) { return t.client_results[static_cast<size_t>(r)]; };
  std::vector<std::pair<std::string, std::string>> rows = {
      {"ProxySQL_Uptime", std::to_string(uptime_s)},
      {"Sluice_Version", version},
      {"Client_Connections_connected", std::to_string(s.client_connections)},
      {"Client_Connections_created",
       std::to_string(result(ClientResult::kOk) + result(ClientResult::kDenied) + result(ClientResult::kError))},
      {"Client_Connections_aborted", std::to_string(result(ClientResult::kDenied) + result(ClientResult::kError))},
      {"Client_Connections_denied", std::to_string(result(ClientResult::kDenied))},
      {"Server_Connections_connected", std::to_string(open)},
      {"Server_Connections_in_use", std::to_string(in_use)},
      {"Server_Connections_created", std::to_string(connects)},
      {"Server_Connections_aborted", std::to_string(failed)},
      {"Questions", std::to_string(reads + writes)},
      {"Queries_read", std::to_string(reads)},
      {"Queries_write", std::to_string(writes)},
      {"Queries_read_on_writer", std::to_string(route(RouteKind::kRead, TargetGroup::kWriter))},
      {"Queries_read_on_writer_for_consistency", std::to_string(t.consistency_reads_on_writer)},
      {"Writes_retried_read_only", std::to_string(t.writes_retried_read_only)},
      {"Failovers", std::to_string(s.failovers)},
      {"Query_errors", std::to_string(t.errors)},
      {"Queries_frontends_bytes_recv", std::to_string(t.bytes_in)},
      {"Queries_frontends_bytes_sent", std::to_string(t.bytes_out)},
      {"Backend_query_time_nsec", std::to_string(t.sum_ns[0] + t.sum_ns[1])},
      {"ConnPool_wait_count", std::to_string(waits)},
      {"ConnPool_wait_time_us", std::to_string(wait_ns / 1000)},
      {"ConnPool_checkout_timeouts", std::to_string(timeouts)},
      {"Servers_up", std::to_string(up)},
      {"Servers_total", std::to_string(s.servers.size())},
  };
  for (size_t i = 0; i < static_cast<size_t>(PinReason::kCount); ++i)
    rows.emplace_back(std::string("Session_pins_") + pin_reason_name(static_cast<PinReason>(i)), std::to_string(t.pins[i]));
  return rows;
}

// Per-kind latency histograms summed over the workers, re-bucketed onto ProxySQL's bounds
// (100us, 500us, 1ms, 5ms, 10ms, 50ms, 100ms, 500ms, 1s, 5s, 10s, +Inf), each of which is
// also a bound of kLatencyBounds, so the re-bucketing is exact.
std::vector<CommandRow> command_rows(Runtime& rt) {
  static constexpr double kProxySqlBounds[] = {0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10};
  std::vector<CommandRow> rows;
  for (size_t k = 0; k < static_cast<size_t>(CommandKind::kCount); ++k) {
    CommandRow r;
    r.command = command_kind_name(static_cast<CommandKind>(k));
    uint64_t sum_ns = 0;
    for (int w = 0; w < rt.worker_count(); ++w) {
      const LatencyHistogram& hist = rt.worker(w).stats.commands[k];
      sum_ns += hist.sum_ns.get();
      for (size_t b = 0; b < hist.buckets.size(); ++b) {
        uint64_t n = hist.buckets[b].get();
        if (n == 0) continue;
        size_t j = 0;
        while (b < kLatencyBounds.size() && j < std::size(kProxySqlBounds) && kLatencyBounds[b] > kProxySqlBounds[j]) ++j;
        if (b == kLatencyBounds.size()) j = std::size(kProxySqlBounds);  // +Inf
        r.buckets[j] += n;
        r.total += n;
      }
    }
    r.total_time_us = sum_ns / 1000;
    rows.push_back(std::move(r));
  }
  return rows;
}

std::vector<UserRow> user_rows(Runtime& rt) {
  std::vector<UserRow> rows;
  auto table = rt.topology().table();
  for (const UserConfig& u : table->config->users) {
    UserRow r;
    r.username = u.username;
    r.max_connections = u.max_connections;
    if (auto live = table->find_user(u.username); live && live->connections)
      r.connections = live->connections->load(std::memory_order_relaxed);
    rows.push_back(std::move(r));
  }
  return rows;
}

// Every worker's digest counters merged (with reset: each worker starts again from nothing).
std::vector<DigestRow> digest_rows(Runtime& rt, bool reset) {
  std::vector<std::vector<DigestRow>> per_worker;
  for (int w = 0; w < rt.worker_count(); ++w) {
    if (rt.worker(w).digests) per_worker.push_back(rt.worker(w).digests->snapshot(reset));
  }
  return merge_digest_rows(std::move(per_worker));
}

// Hits per rule_id of the rule set the routing table runs (empty while none is loaded).
std::vector<std::pair<uint32_t, uint64_t>> rule_hits(Runtime& rt) {
  auto table = rt.topology().table();
  if (!table->rules) return {};
  return table->rules->hits();
}

// The monitor's recent checks of one kind, oldest first.
std::vector<MonitorLogEntry> monitor_rows(Runtime& rt, MonitorCheck kind) { return rt.monitor_log.snapshot(kind); }

}  // namespace sluice::admin
