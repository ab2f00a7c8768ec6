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

std::vector<std::pair<uint32_t, std::shared_ptr<SessionInfo>>> SessionRegistry::snapshot() const {
  std::lock_guard lock(mu_);
  return {by_id_.begin(), by_id_.end()};
}

void SessionInfo::note_command(uint8_t com, std::string_view schema, std::string_view info, int64_t now) {
  {
    std::lock_guard lock(text_mu_);
    if (text_.schema != schema) text_.schema.assign(schema);
    text_.info.assign(info.substr(0, kMaxInfo));
  }
  command.store(com, std::memory_order_relaxed);
  since_ns.store(now, std::memory_order_relaxed);
}

void SessionInfo::note_idle(std::string_view schema, int64_t now) {
  {
    std::lock_guard lock(text_mu_);
    if (text_.schema != schema) text_.schema.assign(schema);
    text_.info.clear();
  }
  command.store(0 /* COM_SLEEP */, std::memory_order_relaxed);
  since_ns.store(now, std::memory_order_relaxed);
}

void SessionInfo::note_login(std::string_view user, std::string_view schema, int64_t now) {
  {
    std::lock_guard lock(text_mu_);
    text_.user.assign(user);
    text_.schema.assign(schema);
  }
  command.store(0 /* COM_SLEEP */, std::memory_order_relaxed);
  since_ns.store(now, std::memory_order_relaxed);
}

SessionInfo::Text SessionInfo::text() const {
  std::lock_guard lock(text_mu_);
  return text_;
}

std::vector<std::pair<uint32_t, std::shared_ptr<SessionInfo>>> SessionRegistry::on_worker(int worker) const {
  std::lock_guard lock(mu_);
  std::vector<std::pair<uint32_t, std::shared_ptr<SessionInfo>>> out;
  for (const auto& [id, info] : by_id_)
    if (info->worker == worker) out.emplace_back(id, info);
  return out;
}

}  // namespace sluice
