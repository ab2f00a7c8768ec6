// Global prepared-statement cache and per-connection statement maps (see stmt_cache.h).
#include "sluice/stmt_cache.h"

#include <functional>

namespace sluice {
namespace {

std::string key_of(std::string_view login, std::string_view schema, std::string_view context,
                   std::string_view sql) {
  std::string k;
  k.reserve(login.size() + schema.size() + context.size() + sql.size() + 3);
  for (std::string_view part : {login, schema, context}) {
    k.append(part);
    k.push_back('\0');
  }
  k.append(sql);
  return k;
}

// How many unused entries one insert looks at to trim a shard: bounded work per prepare,
// even when most entries are in use.
constexpr size_t kTrimScan = 32;

}  // namespace

std::shared_ptr<const ColumnDefs> PreparedStmt::share_columns(ColumnDefs&& defs) const {
  if (column_defs && *column_defs == defs) return column_defs;
  std::lock_guard lock(mu_);
  if (!exec_defs_ || *exec_defs_ != defs) exec_defs_ = std::make_shared<const ColumnDefs>(std::move(defs));
  return exec_defs_;
}

StmtCache::StmtCache(size_t max_entries) : max_per_shard_(std::max<size_t>(1, max_entries / kShards)) {}

StmtCache::Shard& StmtCache::shard_of(const std::string& key) {
  return shards_[std::hash<std::string>{}(key) % kShards];
}

StmtCache::Ptr StmtCache::find(std::string_view login, std::string_view schema, std::string_view context,
                               std::string_view sql) {
  std::string key = key_of(login, schema, context, sql);
  Shard& s = shard_of(key);
  std::lock_guard lock(s.mu);
  auto it = s.map.find(key);
  if (it == s.map.end()) return nullptr;
  s.lru.splice(s.lru.end(), s.lru, it->second.pos);
  return it->second.entry;
}

StmtCache::Ptr StmtCache::publish(std::string_view login, std::shared_ptr<PreparedStmt> fresh) {
  std::string key = key_of(login, fresh->schema, fresh->context, fresh->sql);
  Shard& s = shard_of(key);
  std::lock_guard lock(s.mu);
  auto it = s.map.find(key);
  if (it != s.map.end()) {
    const PreparedStmt& old = *it->second.entry;
    s.lru.splice(s.lru.end(), s.lru, it->second.pos);
    if (old.params == fresh->params && old.columns == fresh->columns) return it->second.entry;
    it->second.entry = std::move(fresh);
    return it->second.entry;
  }
  s.lru.push_back(key);
  auto pos = std::prev(s.lru.end());
  auto& slot = s.map.emplace(std::move(key), Shard::Slot{std::move(fresh), pos}).first->second;
  Ptr out = slot.entry;
  trim_locked(s);
  return out;
}

void StmtCache::forget(std::string_view login, const PreparedStmt& entry) {
  std::string key = key_of(login, entry.schema, entry.context, entry.sql);
  Shard& s = shard_of(key);
  std::lock_guard lock(s.mu);
  auto it = s.map.find(key);
  if (it == s.map.end() || it->second.entry->id != entry.id) return;
  s.lru.erase(it->second.pos);
  s.map.erase(it);
}

// Under the shard's lock nobody can take a new reference to an entry (references are
// handed out only here), so use_count() == 1 means only the cache holds it.
void StmtCache::trim_locked(Shard& s) {
  size_t scanned = 0;
  for (auto it = s.lru.begin(); s.map.size() > max_per_shard_ && it != s.lru.end() && scanned < kTrimScan;
       ++scanned) {
    auto slot = s.map.find(*it);
    if (slot->second.entry.use_count() == 1) {
      it = s.lru.erase(it);
      s.map.erase(slot);
    } else {
      ++it;
    }
  }
}

size_t StmtCache::size() const {
  size_t n = 0;
  for (const Shard& s : shards_) {
    std::lock_guard lock(s.mu);
    n += s.map.size();
  }
  return n;
}

BackendStatements::Stmt* BackendStatements::find(uint64_t id) {
  auto it = map_.find(id);
  if (it == map_.end()) return nullptr;
  lru_.splice(lru_.end(), lru_, it->second.pos);
  return &it->second.stmt;
}

std::vector<uint32_t> BackendStatements::add(uint64_t id, Stmt stmt, size_t bound) {
  std::vector<uint32_t> close;
  if (auto it = map_.find(id); it != map_.end()) {
    // Prepared again here (a re-prepare after a count mismatch): the old id goes.
    close.push_back(it->second.stmt.backend_id);
    lru_.erase(it->second.pos);
    map_.erase(it);
  }
  lru_.push_back(id);
  map_.emplace(id, Node{std::move(stmt), std::prev(lru_.end())});
  for (auto it = lru_.begin(); map_.size() > bound && it != lru_.end();) {
    auto node = map_.find(*it);
    if (*it == id || node->second.stmt.holds > 0) {
      ++it;
      continue;
    }
    close.push_back(node->second.stmt.backend_id);
    it = lru_.erase(it);
    map_.erase(node);
  }
  return close;
}

void BackendStatements::erase(uint64_t id) {
  auto it = map_.find(id);
  if (it == map_.end()) return;
  lru_.erase(it->second.pos);
  map_.erase(it);
}

}  // namespace sluice
