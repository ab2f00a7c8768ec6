// Runtime topology built from the config (see topology.h).
#include "sluice/topology.h"

#include "sluice/log.h"

namespace sluice {

Server::Server(const ServerConfig& c, int workers)
    : cfg(c), name(c.host + ":" + std::to_string(c.port)), pool(c.pool.max_connections, c.pool.max_idle, workers) {}

void Server::mark_down(int64_t now, uint32_t for_ms) {
  int64_t until = now + for_ms;
  int64_t prev = down_until_ms.exchange(until, std::memory_order_relaxed);
  if (prev <= now) LOG_WARN("server %s marked down for %u ms", name.c_str(), for_ms);
}

Topology::Topology(const Config& cfg, int workers) {
  writer_.id = cfg.routing.writer_hostgroup;
  reader_.id = cfg.routing.reader_hostgroup;
  for (const auto& sc : cfg.servers) {
    servers_.push_back(std::make_unique<Server>(sc, workers));
    Server* s = servers_.back().get();
    if (sc.hostgroup == writer_.id) writer_.servers.push_back(s);
    else if (sc.hostgroup == reader_.id) reader_.servers.push_back(s);
  }
  for (const auto& uc : cfg.users) {
    auto u = std::make_unique<User>();
    u->cfg = uc;
    u->creds = auth::make_credentials(uc.password);
    users_[uc.username] = std::move(u);
  }
}

User* Topology::find_user(const std::string& name) {
  auto it = users_.find(name);
  return it == users_.end() ? nullptr : it->second.get();
}

}  // namespace sluice
