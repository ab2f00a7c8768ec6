// The running proxy: config, topology and workers, wired by main.cpp.
//
// Owns: the workers, the topology and the prepared-statement cache for the life of the
// process.
// Thread rules: built and started on the main thread. config() is the config Sluice
// started with (listeners, workers: what cannot change while running); everything that
// can change is read from topology().table()->config (see apply_config).
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "sluice/config.h"
#include "sluice/monitor_log.h"
#include "sluice/sessions.h"
#include "sluice/stmt_cache.h"
#include "sluice/topology.h"
#include "sluice/worker.h"

namespace sluice {

class Runtime {
 public:
  explicit Runtime(Config cfg);
  ~Runtime();

  const Config& config() const { return cfg_; }
  Topology& topology() { return topo_; }
  Worker& worker(int id) { return *workers_[static_cast<size_t>(id)]; }
  int worker_count() const { return static_cast<int>(workers_.size()); }

  // Binds every worker's listener; false with a message when the port is taken.
  bool listen(std::string* error);
  void start();
  void stop();

  // The config the proxy runs now (the admin port's runtime_* tables and its base for
  // LOAD ... TO RUNTIME). A copy, safe from any thread.
  Config running_config() const;
  // Validates `next` (validate_config) and makes it the running config atomically:
  // servers, users, query rules, routing and monitor settings. Returns "" on success, else
  // the error (the running config is then unchanged). Client connections are never
  // dropped: pools of removed servers drain, sessions keep their logins. Listener
  // addresses, workers and admin/metrics settings are not changed at run time (an error
  // names them if `next` differs). Any thread; applies are serialised.
  std::string apply_config(const Config& next);
  // The config file given with --config ("" when built from text): the disk layer.
  const std::string& config_path() const { return config_path_; }
  void set_config_path(std::string path) { config_path_ = std::move(path); }

  // The monitor shunned `s`: statements running on it fail over (reads that sent nothing
  // yet go elsewhere) or fail with an error instead of hanging. Any thread.
  void server_shunned(Server* s);

  // Read-your-writes in "global" mode: the highest GTID sequence any client wrote, per domain.
  std::atomic<uint64_t> global_written_seq[kGtidDomains] = {};
  // Wakes the monitor's checks at once (a server refused a write as read-only). Set by main.
  std::function<void()> kick_monitor;
  MonitorLog monitor_log;  // filled by the monitor, read by the admin port

  uint32_t next_connection_id() { return next_conn_id_.fetch_add(1, std::memory_order_relaxed); }
  std::atomic<uint32_t> client_connections{0};
  SessionRegistry sessions;
  StmtCache stmt_cache;  // prepared statements of every worker (stmt_cache.h)

 private:
  Config cfg_;
  std::string config_path_;
  Topology topo_;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::atomic<uint32_t> next_conn_id_{1};
  std::mutex apply_mu_;
};

int effective_workers(const Config& cfg);

}  // namespace sluice
