// The running proxy: config, topology and workers, wired by main.cpp.
//
// Owns: the workers and the topology for the life of the process.
// Thread rules: built and started on the main thread; workers read config() and
// topology() concurrently (both immutable while running, apart from atomics inside).
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "sluice/config.h"
#include "sluice/sessions.h"
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

  uint32_t next_connection_id() { return next_conn_id_.fetch_add(1, std::memory_order_relaxed); }
  std::atomic<uint32_t> client_connections{0};
  SessionRegistry sessions;

 private:
  Config cfg_;
  Topology topo_;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::atomic<uint32_t> next_conn_id_{1};
};

int effective_workers(const Config& cfg);

}  // namespace sluice
