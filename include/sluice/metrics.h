// Prometheus /metrics: every figure is read at scrape time, nothing is added to the query path.
//
// Owns: the HTTP exporter (prometheus-cpp's Exposer, its own civetweb threads) and the
// translation of Sluice's figures into Prometheus families. Three steps, one file each:
//   gather()  (src/metrics/snapshot.cpp)  reads the workers' WorkerStats, each pool's
//             PoolStats snapshot, the topology and the monitor's atomics into plain structs;
//   render()  (src/metrics/families.cpp)  turns a snapshot into MetricFamily objects with
//             the names and labels of issue 5 (pure: unit-tested without sockets);
//   MetricsExporter (src/metrics/exporter.cpp) serves them on config.metrics.listen.
// What it may call: read-only accessors (Pool::stats() takes that pool's mutex once per
// scrape; WorkerStats counters are relaxed atomic loads).
// Thread rules: gather()/render() run on a civetweb thread per scrape, concurrently with the
// workers; start()/stop() on the main thread. The topology is immutable while running, so
// a server removed from the config is simply never gathered again after a restart/reload.
#pragma once

#include <prometheus/metric_family.h>

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "sluice/pool.h"
#include "sluice/stats.h"

namespace prometheus {
class Exposer;
}

namespace sluice {

class Runtime;

// One server: its pool figures and its health as the exporter reports them.
struct ServerSample {
  uint32_t hostgroup = 0;
  std::string server;  // "host:port"
  std::string role;    // "writer" | "reader"
  PoolStats pool;
  bool up = false;       // monitor says up AND passive health says usable
  int64_t lag_ms = -1;   // readers only; -1 = unknown (not exported)
  int64_t check_latency_us = -1;  // the monitor's last `SELECT 1`; -1 = none
  // 0 ONLINE, 1 SHUNNED, 2 SHUNNED_REPLICATION_LAG, 3 OFFLINE_SOFT, 4 OFFLINE_HARD
  int state = 0;
  int read_only = -1;             // -1 unknown
  uint64_t check_failures = 0;
};

constexpr size_t kRoutes = static_cast<size_t>(RouteKind::kCount);
constexpr size_t kTargets = static_cast<size_t>(TargetGroup::kCount);
constexpr size_t kBuckets = kLatencyBounds.size() + 1;  // the last one is +Inf

// WorkerStats summed over all workers.
struct QueryTotals {
  uint64_t queries[kRoutes][kTargets] = {};
  std::array<uint64_t, kBuckets> buckets[kRoutes] = {};  // non-cumulative, as in WorkerStats
  uint64_t sum_ns[kRoutes] = {};
  uint64_t errors = 0;
  uint64_t pins[static_cast<size_t>(PinReason::kCount)] = {};
  uint64_t client_results[static_cast<size_t>(ClientResult::kCount)] = {};
  uint64_t bytes_in = 0;   // from clients
  uint64_t bytes_out = 0;  // to clients
  uint64_t consistency_reads_on_writer = 0;
  uint64_t writes_retried_read_only = 0;

  void add(const WorkerStats& w);
};

struct MetricsSnapshot {
  std::string version;
  uint32_t hostgroup_of[kTargets] = {};  // TargetGroup -> hostgroup id
  std::vector<ServerSample> servers;
  QueryTotals totals;
  uint32_t client_connections = 0;
  uint32_t max_client_connections = 0;
  uint64_t failovers = 0;  // writer changes the monitor saw
};

MetricsSnapshot gather(Runtime& rt, const std::string& version);
std::vector<prometheus::MetricFamily> render(const MetricsSnapshot& s);

// Serves render(gather()) on http://<metrics.listen>/metrics.
class MetricsExporter {
 public:
  MetricsExporter(Runtime& rt, std::string version);
  ~MetricsExporter();
  MetricsExporter(const MetricsExporter&) = delete;
  MetricsExporter& operator=(const MetricsExporter&) = delete;

  // Binds config.metrics.listen; false with a message naming metrics.listen when it cannot.
  bool start(std::string* error);
  void stop();  // idempotent

 private:
  class Collector;
  Runtime& rt_;
  std::string version_;
  std::shared_ptr<Collector> collector_;
  std::unique_ptr<prometheus::Exposer> exposer_;
};

}  // namespace sluice
