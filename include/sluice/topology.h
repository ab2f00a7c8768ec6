// What Sluice routes to: servers (each with its own pool and health), hostgroups, users.
//
// Owns: the runtime view of the config's servers and users, built once at start.
// Thread rules: the structure is immutable after start; the per-server health fields are
// atomics read by all without locks, written by whichever worker observes a failure
// (passive health) or by the monitor thread (monitor_*, replication_lag_ms).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "sluice/auth.h"
#include "sluice/config.h"
#include "sluice/pool.h"

namespace sluice {

struct Server {
  Server(const ServerConfig& c, int workers);

  ServerConfig cfg;
  std::string name;  // "host:port", the label used in errors, logs and metrics
  Pool pool;
  // Passive health: after a failed connect or a dropped connection the server is skipped
  // until this time (monotonic ms). 0 = healthy.
  std::atomic<int64_t> down_until_ms{0};

  // Active health, written only by the monitor thread (see monitor.h), read by anyone.
  // Not used for routing yet: passive health above is what routing sees.
  std::atomic<bool> monitor_up{false};             // the last check connected and answered
  std::atomic<int64_t> monitor_checked_ms{0};      // now_ms() of the last check (0 = none yet)
  std::atomic<int64_t> monitor_latency_us{-1};     // round trip of its `SELECT 1` (-1 = none)
  std::atomic<int64_t> replication_lag_ms{-1};     // readers: Seconds_Behind_Master; -1 unknown

  bool usable(int64_t now) const { return down_until_ms.load(std::memory_order_relaxed) <= now; }
  void mark_down(int64_t now, uint32_t for_ms);
};

struct Hostgroup {
  uint32_t id = 0;
  std::vector<Server*> servers;
};

struct User {
  UserConfig cfg;
  auth::Credentials creds;
  std::atomic<uint32_t> connections{0};
};

class Topology {
 public:
  Topology(const Config& cfg, int workers);

  Hostgroup& writer() { return writer_; }
  Hostgroup& reader() { return reader_; }
  const std::vector<std::unique_ptr<Server>>& servers() const { return servers_; }
  User* find_user(const std::string& name);

 private:
  std::vector<std::unique_ptr<Server>> servers_;
  Hostgroup writer_;
  Hostgroup reader_;
  std::unordered_map<std::string, std::unique_ptr<User>> users_;
};

}  // namespace sluice
