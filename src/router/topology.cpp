// Runtime topology: servers, hostgroup placement and published routing tables (see topology.h).
#include "sluice/topology.h"

#include <algorithm>
#include <map>

#include "sluice/clock.h"
#include "sluice/log.h"
#include "sluice/query_rules.h"

namespace sluice {

const char* health_state_name(HealthState s) {
  switch (s) {
    case HealthState::kOnline: return "ONLINE";
    case HealthState::kShunned: return "SHUNNED";
    case HealthState::kShunnedReplicationLag: return "SHUNNED_REPLICATION_LAG";
  }
  return "ONLINE";
}

Server::Server(std::string h, uint16_t p, const PoolLimits& limits, int workers)
    : host(std::move(h)), port(p), name(host + ":" + std::to_string(port)),
      pool(limits.max_connections, limits.max_idle, workers) {}

bool Server::usable(int64_t now) const {
  return configured.load(std::memory_order_relaxed) &&
         admin_status.load(std::memory_order_relaxed) == ServerStatus::kOnline &&
         health.load(std::memory_order_relaxed) == HealthState::kOnline &&
         down_until_ms.load(std::memory_order_relaxed) <= now;
}

bool Server::draining() const {
  ServerStatus st = admin_status.load(std::memory_order_relaxed);
  return !configured.load(std::memory_order_relaxed) || st == ServerStatus::kOfflineSoft ||
         st == ServerStatus::kOfflineHard || health.load(std::memory_order_relaxed) == HealthState::kShunned;
}

CloseReason Server::drain_reason() const {
  return health.load(std::memory_order_relaxed) == HealthState::kShunned ? CloseReason::kServerDown
                                                                         : CloseReason::kOffline;
}

void Server::mark_down(int64_t now, uint32_t for_ms) {
  int64_t until = now + for_ms;
  int64_t prev = down_until_ms.exchange(until, std::memory_order_relaxed);
  if (prev <= now) LOG_WARN("server %s marked down for %u ms", name.c_str(), for_ms);
}

std::vector<Grant> Server::set_limits(const PoolLimits& l) {
  connect_timeout_ms.store(l.connect_timeout_ms, std::memory_order_relaxed);
  checkout_timeout_ms.store(l.checkout_timeout_ms, std::memory_order_relaxed);
  idle_timeout_ms.store(l.idle_timeout_ms, std::memory_order_relaxed);
  max_lifetime_ms.store(l.max_lifetime_ms, std::memory_order_relaxed);
  min_idle.store(l.min_idle, std::memory_order_relaxed);
  max_prepared_statements.store(l.max_prepared_statements, std::memory_order_relaxed);
  return pool.set_limits(l.max_connections, l.max_idle, now_ns());
}

const Hostgroup* RoutingTable::find(uint32_t id) const {
  auto it = std::lower_bound(hostgroups.begin(), hostgroups.end(), id,
                             [](const Hostgroup& h, uint32_t v) { return h.id < v; });
  return it != hostgroups.end() && it->id == id ? &*it : nullptr;
}

std::shared_ptr<const User> RoutingTable::find_user(const std::string& name) const {
  auto it = users.find(name);
  return it == users.end() ? nullptr : it->second;
}

uint32_t placed_hostgroup(const Config& cfg, const ServerConfig& sc, int read_only) {
  if (read_only < 0) return sc.hostgroup;
  for (const auto& r : cfg.replication_hostgroups) {
    if (sc.hostgroup == r.writer_hostgroup || sc.hostgroup == r.reader_hostgroup) {
      return read_only == 0 ? r.writer_hostgroup : r.reader_hostgroup;
    }
  }
  return sc.hostgroup;
}

Topology::Topology(const Config& cfg, int workers) : workers_(workers) {
  std::string err = apply(cfg);
  if (!err.empty()) throw ConfigError(err);
}

Server* Topology::server_locked(const ServerConfig& sc) {
  for (auto& s : servers_)
    if (s->host == sc.host && s->port == sc.port) return s.get();
  servers_.push_back(std::make_unique<Server>(sc.host, sc.port, sc.pool, workers_));
  return servers_.back().get();
}

std::vector<Server*> Topology::servers() const {
  std::lock_guard lock(mu_);
  std::vector<Server*> out;
  out.reserve(servers_.size());
  for (const auto& s : servers_) out.push_back(s.get());
  return out;
}

std::string Topology::apply(const Config& cfg, std::vector<std::pair<Server*, Grant>>* grants) {
  std::lock_guard lock(mu_);
  // Rules are rebuilt (and their hit counters start over) only when they changed, as
  // ProxySQL's LOAD MYSQL QUERY RULES; loading servers or users keeps them.
  std::shared_ptr<const RuleSet> rules;
  if (table_ != nullptr && table_->config->query_rules == cfg.query_rules) {
    rules = table_->rules;
  } else {
    std::string err;
    RuleSetOptions opts;
    opts.shards = static_cast<uint32_t>(std::max(1, workers_));
    auto built = RuleSet::build(cfg.query_rules, &err, opts);
    if (!built) return "query_rules: " + err;
    if (!built->empty()) rules = std::move(built);
  }
  // Settings: a server listed in several hostgroups takes its first entry's settings.
  std::vector<Server*> seen;
  for (const auto& sc : cfg.servers) {
    Server* s = server_locked(sc);
    if (std::find(seen.begin(), seen.end(), s) != seen.end()) continue;
    seen.push_back(s);
    s->configured.store(true, std::memory_order_relaxed);
    s->admin_status.store(sc.status, std::memory_order_relaxed);
    s->weight.store(sc.weight, std::memory_order_relaxed);
    s->max_replication_lag_s.store(sc.max_replication_lag, std::memory_order_relaxed);
    if (sc.status == ServerStatus::kShunned) s->health.store(HealthState::kShunned, std::memory_order_relaxed);
    for (const Grant& g : s->set_limits(sc.pool))
      if (grants != nullptr) grants->emplace_back(s, g);
  }
  for (auto& s : servers_) {
    if (std::find(seen.begin(), seen.end(), s.get()) == seen.end() && s->configured.exchange(false)) {
      LOG_INFO("server %s removed from the config: draining its pool", s->name.c_str());
    }
  }
  publish_locked(std::make_shared<const Config>(cfg), std::move(rules));
  return "";
}

bool Topology::on_read_only(Server* s, int read_only) {
  std::lock_guard lock(mu_);
  int prev = s->read_only.exchange(read_only, std::memory_order_relaxed);
  if (prev == read_only) return false;
  auto cur = table_;
  bool moved = false;
  for (const auto& sc : cur->config->servers) {
    if (sc.host != s->host || sc.port != s->port) continue;
    moved = moved || placed_hostgroup(*cur->config, sc, prev) != placed_hostgroup(*cur->config, sc, read_only);
  }
  if (!moved) return false;
  LOG_WARN("%s is now %s", s->name.c_str(), read_only == 1 ? "read-only: moved to the reader hostgroup"
                                                            : "writable: moved to the writer hostgroup");
  failovers.fetch_add(1, std::memory_order_relaxed);
  publish_locked(cur->config, cur->rules);
  return true;
}

void Topology::build_users_locked(const Config& cfg, RoutingTable& t) {
  for (const auto& uc : cfg.users) {
    auto u = std::make_shared<User>();
    u->cfg = uc;
    u->creds = auth::make_credentials(uc.password);
    auto& counter = user_counters_[uc.username];
    if (!counter) counter = std::make_shared<std::atomic<uint32_t>>(0);
    u->connections = counter;
    t.users[uc.username] = std::move(u);
  }
}

// Builds and publishes a table for `cfg` with the servers' current read_only placement.
void Topology::publish_locked(std::shared_ptr<const Config> cfg, std::shared_ptr<const RuleSet> rules) {
  auto t = std::make_shared<RoutingTable>();
  t->config = cfg;
  t->rules = std::move(rules);
  std::map<uint32_t, Hostgroup> groups;
  groups[cfg->routing.writer_hostgroup].id = cfg->routing.writer_hostgroup;
  groups[cfg->routing.reader_hostgroup].id = cfg->routing.reader_hostgroup;
  for (const auto& r : cfg->replication_hostgroups) {
    groups[r.writer_hostgroup].id = r.writer_hostgroup;
    groups[r.reader_hostgroup].id = r.reader_hostgroup;
  }
  std::vector<Server*> labelled;
  for (const auto& sc : cfg->servers) {
    Server* s = server_locked(sc);
    uint32_t hg = placed_hostgroup(*cfg, sc, s->read_only.load(std::memory_order_relaxed));
    Hostgroup& g = groups[hg];
    g.id = hg;
    if (std::find(g.servers.begin(), g.servers.end(), s) == g.servers.end()) g.servers.push_back(s);
    // The hostgroup a server reports in labels and errors: that of its first entry.
    if (std::find(labelled.begin(), labelled.end(), s) == labelled.end()) {
      labelled.push_back(s);
      s->hostgroup.store(hg, std::memory_order_relaxed);
    }
  }
  for (auto& [id, g] : groups) t->hostgroups.push_back(std::move(g));
  t->read_your_writes = cfg->routing.read_your_writes == "off"      ? ReadYourWrites::kOff
                        : cfg->routing.read_your_writes == "global" ? ReadYourWrites::kGlobal
                                                                     : ReadYourWrites::kSession;
  if (table_ != nullptr && table_->config->users == cfg->users) {
    t->users = table_->users;
  } else {
    build_users_locked(*cfg, *t);
  }
  t->version = version_.load(std::memory_order_relaxed) + 1;
  std::atomic_store(&table_, std::shared_ptr<const RoutingTable>(std::move(t)));
  version_.store(table_->version, std::memory_order_release);
}

}  // namespace sluice
