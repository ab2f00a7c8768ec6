// gather(): reads every figure the exporter reports, at scrape time (see metrics.h).
#include "sluice/clock.h"
#include "sluice/metrics.h"
#include "sluice/runtime.h"

namespace sluice {

void QueryTotals::add(const WorkerStats& w) {
  for (size_t r = 0; r < kRoutes; ++r) {
    for (size_t t = 0; t < kTargets; ++t) queries[r][t] += w.queries[r][t].get();
    for (size_t b = 0; b < kBuckets; ++b) buckets[r][b] += w.latency[r].buckets[b].get();
    sum_ns[r] += w.latency[r].sum_ns.get();
  }
  errors += w.query_errors.get();
  for (size_t i = 0; i < static_cast<size_t>(PinReason::kCount); ++i) pins[i] += w.pins[i].get();
  for (size_t i = 0; i < static_cast<size_t>(ClientResult::kCount); ++i) {
    client_results[i] += w.client_connections[i].get();
  }
  bytes_in += w.bytes_from_clients.get();
  bytes_out += w.bytes_to_clients.get();
  consistency_reads_on_writer += w.consistency_reads_on_writer.get();
  writes_retried_read_only += w.writes_retried_read_only.get();
}

MetricsSnapshot gather(Runtime& rt, const std::string& version) {
  MetricsSnapshot s;
  s.version = version;
  Topology& topo = rt.topology();
  auto table = topo.table();
  const uint32_t writer = table->writer_id();
  s.hostgroup_of[static_cast<size_t>(TargetGroup::kWriter)] = writer;
  s.hostgroup_of[static_cast<size_t>(TargetGroup::kReader)] = table->reader_id();
  const int64_t now = now_ms();
  auto servers = topo.servers();
  s.servers.reserve(servers.size());
  for (Server* srv : servers) {
    ServerSample x;
    x.pool = srv->pool.stats();
    // A server removed from the config is reported until its last connection closed.
    if (!srv->configured.load(std::memory_order_relaxed) && x.pool.open == 0) continue;
    x.hostgroup = srv->hostgroup.load(std::memory_order_relaxed);
    x.server = srv->name;
    x.role = x.hostgroup == writer ? "writer" : "reader";
    x.up = srv->monitor_up.load(std::memory_order_relaxed) && srv->usable(now);
    x.lag_ms = srv->replication_lag_ms.load(std::memory_order_relaxed);
    x.check_latency_us = srv->monitor_latency_us.load(std::memory_order_relaxed);
    x.read_only = srv->read_only.load(std::memory_order_relaxed);
    x.check_failures = srv->check_failures.load(std::memory_order_relaxed);
    ServerStatus admin = srv->admin_status.load(std::memory_order_relaxed);
    if (!srv->configured.load(std::memory_order_relaxed) || admin == ServerStatus::kOfflineHard) x.state = 4;
    else if (admin == ServerStatus::kOfflineSoft) x.state = 3;
    else x.state = static_cast<int>(srv->health.load(std::memory_order_relaxed));
    s.servers.push_back(std::move(x));
  }
  for (int i = 0; i < rt.worker_count(); ++i) s.totals.add(rt.worker(i).stats);
  s.client_connections = rt.client_connections.load(std::memory_order_relaxed);
  s.max_client_connections = table->config->frontend.max_client_connections;
  s.failovers = topo.failovers.load(std::memory_order_relaxed);
  return s;
}

}  // namespace sluice
