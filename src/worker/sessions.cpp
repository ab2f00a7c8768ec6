// Session registry (see sessions.h).
#include "sluice/sessions.h"

namespace sluice {

void SessionRegistry::add(uint32_t id, std::shared_ptr<SessionInfo> info) {
  std::lock_guard lock(mu_);
  by_id_[id] = std::move(info);
}

void SessionRegistry::remove(uint32_t id) {
  std::lock_guard lock(mu_);
  by_id_.erase(id);
}

std::shared_ptr<SessionInfo> SessionRegistry::find(uint32_t id) const {
  std::lock_guard lock(mu_);
  auto it = by_id_.find(id);
  return it == by_id_.end() ? nullptr : it->second;
}

std::vector<std::pair<uint32_t, std::shared_ptr<SessionInfo>>> SessionRegistry::on_worker(int worker) const {
  std::lock_guard lock(mu_);
  std::vector<std::pair<uint32_t, std::shared_ptr<SessionInfo>>> out;
  for (const auto& [id, info] : by_id_)
    if (info->worker == worker) out.emplace_back(id, info);
  return out;
}

}  // namespace sluice
