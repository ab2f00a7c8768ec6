// What Sluice routes to: servers (each with its own pool and health), hostgroups, users.
//
// Two layers:
//   Server         one backend endpoint (host:port) with its pool, settings and health.
//                  Created when a config first names it and kept for the life of the
//                  process (a server dropped from the config is drained, its object stays),
//                  so a Server* is always valid. Its pool is shared by every hostgroup the
//                  server is in: limits hold per server, as the server sees connections.
//   RoutingTable   an immutable snapshot: the running Config, hostgroup membership (after
//                  the monitor's read_only placement), users. Topology publishes a new one
//                  on every change (LOAD ... TO RUNTIME, SIGHUP, a promotion seen by the
//                  monitor); readers keep a shared_ptr and never lock.
// Thread rules: Server settings and health are atomics (written by Topology::apply under
// its apply lock, by the monitor thread, or by a worker observing a failure; read by all
// with relaxed loads). Topology's publishing methods serialise on one mutex; table() and
// version() are lock-free.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "sluice/auth.h"
#include "sluice/config.h"
#include "sluice/pool.h"

namespace sluice {

class RuleSet;
class DigestStats;

// What the monitor and passive health think of a server (ProxySQL's runtime status).
enum class HealthState : uint8_t {
  kOnline,
  kShunned,                 // failing checks or connects; back after recovery
  kShunnedReplicationLag,   // a reader over max_replication_lag (or its SQL thread stopped)
};
const char* health_state_name(HealthState s);

// A replica's applied GTID position, per replication domain (MariaDB GTID domain-server-seq).
// Domains 0..kGtidDomains-1 are tracked; others are unknown (reads fall back to the writer).
constexpr uint32_t kGtidDomains = 8;

struct Server {
  Server(std::string host, uint16_t port, const PoolLimits& limits, int workers);

  const std::string host;
  const uint16_t port;
  const std::string name;  // "host:port", the label used in errors, logs and metrics
  Pool pool;

  // ---- settings from the running config (Topology::apply) ----
  std::atomic<bool> configured{true};  // false: removed from the config, draining
  std::atomic<ServerStatus> admin_status{ServerStatus::kOnline};
  std::atomic<uint32_t> weight{1};
  std::atomic<uint32_t> max_replication_lag_s{0};  // 0 = never skipped for lag
  std::atomic<uint32_t> connect_timeout_ms{3000};
  std::atomic<uint32_t> checkout_timeout_ms{10000};
  std::atomic<uint32_t> idle_timeout_ms{0};
  std::atomic<uint32_t> max_lifetime_ms{0};
  std::atomic<uint32_t> min_idle{0};
  std::atomic<uint32_t> max_prepared_statements{128};  // per backend connection (stmt_cache.h)
  std::atomic<uint32_t> hostgroup{0};  // the hostgroup it serves in now (labels, errors)

  // ---- health ----
  // Passive: after a failed connect or a dropped connection the server is skipped until
  // this time (monotonic ms). 0 = healthy.
  std::atomic<int64_t> down_until_ms{0};
  std::atomic<HealthState> health{HealthState::kOnline};
  // Written only by the monitor thread.
  std::atomic<bool> monitor_up{false};             // the last ping connected and answered
  std::atomic<int64_t> monitor_checked_ms{0};      // now_ms() of the last check (0 = none yet)
  std::atomic<int64_t> monitor_latency_us{-1};     // round trip of its ping (-1 = none)
  std::atomic<int64_t> replication_lag_ms{-1};     // Seconds_Behind_Master; -1 unknown
  std::atomic<int> read_only{-1};                  // -1 unknown, 0 writable, 1 read-only
  std::atomic<uint64_t> check_failures{0};         // failed checks, all time
  std::atomic<uint64_t> applied_seq[kGtidDomains] = {};  // gtid_current_pos per domain

  // May lend connections for new statements: configured, ONLINE, healthy, not marked down.
  bool usable(int64_t now) const;
  // Idle connections should be closed and in-use ones not pooled again.
  bool draining() const;
  // Why a draining server's connections close: server_down when shunned, else offline.
  CloseReason drain_reason() const;
  void mark_down(int64_t now, uint32_t for_ms);
  // Applies a config's limits; slot grants for waiters when max_connections grew.
  std::vector<Grant> set_limits(const PoolLimits& limits);
};

struct Hostgroup {
  uint32_t id = 0;
  std::vector<Server*> servers;
};

struct User {
  UserConfig cfg;
  auth::Credentials creds;
  // Client connections of this user, shared by every table version (max_connections).
  std::shared_ptr<std::atomic<uint32_t>> connections;
};

enum class ReadYourWrites : uint8_t { kOff, kSession, kGlobal };

struct RoutingTable {
  uint64_t version = 0;
  ReadYourWrites read_your_writes = ReadYourWrites::kSession;  // config->routing's, parsed once
  std::shared_ptr<const Config> config;
  std::vector<Hostgroup> hostgroups;  // sorted by id
  std::unordered_map<std::string, std::shared_ptr<const User>> users;
  std::shared_ptr<const RuleSet> rules;  // null: no active query rules

  const Hostgroup* find(uint32_t id) const;
  uint32_t writer_id() const { return config->routing.writer_hostgroup; }
  uint32_t reader_id() const { return config->routing.reader_hostgroup; }
  std::shared_ptr<const User> find_user(const std::string& name) const;
};

class Topology {
 public:
  Topology(const Config& cfg, int workers);

  std::shared_ptr<const RoutingTable> table() const { return std::atomic_load(&table_); }
  uint64_t version() const { return version_.load(std::memory_order_acquire); }

  // Makes `cfg` the running config (already validated). Returns "" or an error (e.g. an
  // invalid rule), in which case nothing changed. Pool slots freed by raised limits are
  // appended to `grants` for the caller to dispatch on workers.
  std::string apply(const Config& cfg, std::vector<std::pair<Server*, Grant>>* grants = nullptr);
  // The monitor saw a server's read_only change (0/1): re-place servers of replication
  // hostgroups and publish if membership changed. True if it did.
  bool on_read_only(Server* s, int read_only);

  // Every server ever configured (stable pointers, config order first).
  std::vector<Server*> servers() const;

  std::atomic<uint64_t> failovers{0};  // placements changed by read_only flips

 private:
  // Users (credentials are derived with SHA hashes) and rules (hit counters) of the
  // current table are kept when the new config has the same ones.
  void publish_locked(std::shared_ptr<const Config> cfg, std::shared_ptr<const RuleSet> rules);
  Server* server_locked(const ServerConfig& sc);
  void build_users_locked(const Config& cfg, RoutingTable& t);

  const int workers_;
  mutable std::mutex mu_;
  std::vector<std::unique_ptr<Server>> servers_;
  std::unordered_map<std::string, std::shared_ptr<std::atomic<uint32_t>>> user_counters_;
  std::shared_ptr<const RoutingTable> table_;
  std::atomic<uint64_t> version_{0};
};

// Pure: which hostgroup a configured server serves in, given what the monitor knows of its
// read_only (-1 unknown: as configured).
uint32_t placed_hostgroup(const Config& cfg, const ServerConfig& sc, int read_only);

}  // namespace sluice
