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

}  // namespace sluice
