// Active health checks: one checker thread per server, a supervisor that follows config
// changes, and the policy that turns check results into server states.
//
// Owns: per server, one blocking libmysqlclient connection logged in as monitor.user and a
// thread that runs, each on its own interval (config.monitor, re-read every round):
//   ping        `SELECT 1` (round trip -> Server::monitor_latency_us)
//   read_only   `SELECT @@global.read_only, @@global.innodb_read_only, @@global.gtid_current_pos`
//               -> Topology::on_read_only (writer detection) and Server::applied_seq
//   lag         `SHOW SLAVE STATUS` -> Server::replication_lag_ms (servers with no row are
//               not replicas: no lag)
// and publishes the outcome into the Server's atomics. A failed step closes the connection;
// the next due check connects again. A thread per server means a hung server (SIGSTOP)
// delays only its own checks, each bounded by monitor.connect_timeout_ms.
// Server states (next_health): ONLINE; SHUNNED after ping_max_failures failed checks in a
// row, back once a check passes and shun_recovery_ms has passed; SHUNNED_REPLICATION_LAG for
// a replica over its max_replication_lag (NULL lag, i.e. replication stopped, counts as
// kLagWhenNullS seconds, as ProxySQL's monitor_slave_lag_when_null).
// Thread rules: start()/stop() on the main thread. Checker threads write Server atomics with
// relaxed stores and call Topology (which locks) and the shun listener (which must only post
// work to workers).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "sluice/config.h"
#include "sluice/monitor_log.h"
#include "sluice/topology.h"

namespace sluice {

// Replication lag from one SHOW SLAVE STATUS row: the Seconds_Behind_Master column, by
// name (column order differs between versions). nullopt when the column is absent, NULL
// (replication stopped or broken) or not a number. Pure, for tests.
std::optional<int64_t> seconds_behind_master(const std::vector<std::string>& columns,
                                             const std::vector<const char*>& row);

// One GTID of a MariaDB position list "0-1-100,1-2-7".
struct Gtid {
  uint32_t domain = 0;
  uint32_t server_id = 0;
  uint64_t seq = 0;
};
// Parses a MariaDB GTID list (gtid_current_pos, last_gtid). Empty on malformed text.
std::vector<Gtid> parse_gtid_list(std::string_view text);

constexpr int64_t kLagWhenNullS = 60;

struct HealthInputs {
  HealthState current = HealthState::kOnline;
  bool check_ok = true;
  uint32_t consecutive_failures = 0;  // including this check when it failed
  uint32_t max_failures = 1;
  int64_t now_ms = 0;
  int64_t shunned_since_ms = 0;
  uint32_t recovery_ms = 0;
  bool replica = false;              // SHOW SLAVE STATUS returned a row
  std::optional<int64_t> lag_s;      // its Seconds_Behind_Master (nullopt = NULL)
  uint32_t max_lag_s = 0;            // 0 = lag never shuns
};
// The state a server moves to after a check. Pure, for tests.
HealthState next_health(const HealthInputs& in);

class Monitor {
 public:
  // Called (on a checker thread) when a server becomes SHUNNED, so statements running on
  // it can be failed over instead of hanging.
  using ShunListener = std::function<void(Server*)>;

  // `log` (optional) receives every check's result for the admin port's monitor tables.
  Monitor(Topology& topo, ShunListener on_shunned, MonitorLog* log = nullptr);
  ~Monitor();  // stops and joins
  Monitor(const Monitor&) = delete;
  Monitor& operator=(const Monitor&) = delete;

  void start();
  void stop();  // wakes the threads, joins them, closes their connections; idempotent

  // Asks every checker to check now (a worker saw a server refuse a write as read-only).
  void check_now();

 private:
  struct Target;  // one server, its connection and its thread
  void supervise();
  void run(Target& t);
  void check(Target& t, const MonitorConfig& cfg, int64_t now);
  bool wait_for(std::chrono::milliseconds d);  // false when stopping
  void note(MonitorCheck kind, const Server& s, int64_t start_us, int64_t took_us, bool ok,
            std::optional<int64_t> value, const std::string& error);

  Topology& topo_;
  ShunListener on_shunned_;
  MonitorLog* log_;
  std::vector<std::unique_ptr<Target>> targets_;  // supervisor thread only (and stop())
  std::thread supervisor_;
  std::mutex mu_;
  std::condition_variable wake_;
  bool stopping_ = false;
  uint64_t generation_ = 0;  // bumped by check_now()
};

}  // namespace sluice
