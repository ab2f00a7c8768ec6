// Active health checks: one thread that asks every server how it is, once a second.
//
// Owns: one thread and one blocking libmysqlclient connection per server, logged in as
// config.monitor.user. Each round, for each server in config order:
//   connect (if not connected; the connection is kept between rounds)
//   -> `SELECT 1` (round trip = Server::monitor_latency_us)
//   -> readers only: SHOW SLAVE STATUS -> Seconds_Behind_Master (NULL = unknown)
// and publishes the outcome into the Server's monitor_* / replication_lag_ms atomics.
// A failed step closes the connection; the next round connects again.
// Does not own: routing. Nothing here marks servers down or moves them between
// hostgroups yet; readers of the atomics (the metrics exporter) decide what they mean.
// Growing it (read_only, promotion, GTID positions) means adding a step to check_server()
// and a field to Server, not a second thread.
// Thread rules: start()/stop() on the main thread. The monitor thread writes the atomics
// with relaxed stores; any thread may read them. Blocking calls are fine here (its own
// thread), each bounded by ~1 s connect/read/write timeouts, so one hung server delays a
// round by about a second per step, never forever.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "sluice/config.h"
#include "sluice/topology.h"

namespace sluice {

// Replication lag from one SHOW SLAVE STATUS row: the Seconds_Behind_Master column, by
// name (column order differs between versions). nullopt when the column is absent, NULL
// (replication stopped or broken) or not a number. Pure, for tests.
std::optional<int64_t> seconds_behind_master(const std::vector<std::string>& columns,
                                             const std::vector<const char*>& row);

class Monitor {
 public:
  Monitor(const Config& cfg, Topology& topo);
  ~Monitor();  // stops and joins
  Monitor(const Monitor&) = delete;
  Monitor& operator=(const Monitor&) = delete;

  void start();
  void stop();  // wakes the thread, joins it, closes its connections; idempotent

  static constexpr int64_t kIntervalMs = 1000;
  static constexpr unsigned kTimeoutS = 1;  // connect, read and write timeouts

 private:
  struct Target;  // one server and the monitor's connection to it
  void run();
  void check_server(Target& t);

  const MonitorConfig cfg_;
  const uint32_t reader_hostgroup_;
  std::vector<std::unique_ptr<Target>> targets_;
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable wake_;
  bool stopping_ = false;
};

}  // namespace sluice
