// Routing policy (see route.h).
#include "sluice/route.h"

#include <algorithm>
#include <cctype>

#include "sluice/topology.h"

namespace sluice {
namespace {

// SET of a known variable is replayed on other connections (session tracking tells
// Sluice the new value), so it does not pin; these statements leave state that is not.
constexpr uint32_t kPinningFlags = kUserVariable | kTempTable | kLockTables | kGetLock | kPrepare | kFoundRows;

bool eat_word(std::string_view& s, std::string_view word) {
  if (s.size() < word.size()) return false;
  for (size_t i = 0; i < word.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(s[i])) != word[i]) return false;
  if (s.size() > word.size()) {
    unsigned char next = static_cast<unsigned char>(s[word.size()]);
    if (std::isalnum(next) || next == '_') return false;
  }
  s.remove_prefix(word.size());
  return true;
}

void skip_space(std::string_view& s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
}

uint64_t next_random() {
  thread_local uint64_t x = 0x9e3779b97f4a7c15ull ^ reinterpret_cast<uintptr_t>(&x);
  x ^= x << 13;
  x ^= x >> 7;
  x ^= x << 17;
  return x;
}

}  // namespace

std::string called_procedure(std::string_view sql, const std::string& schema) {
  skip_space(sql);
  eat_word(sql, "call");
  skip_space(sql);
  std::string parts[2];
  int n = 0;
  while (!sql.empty() && n < 2) {
    if (sql.front() == '`') {
      size_t end = sql.find('`', 1);
      if (end == std::string_view::npos) break;
      parts[n++] = std::string(sql.substr(1, end - 1));
      sql.remove_prefix(end + 1);
    } else {
      size_t end = 0;
      while (end < sql.size() && (std::isalnum(static_cast<unsigned char>(sql[end])) || sql[end] == '_' || sql[end] == '$'))
        ++end;
      if (end == 0) break;
      parts[n++] = std::string(sql.substr(0, end));
      sql.remove_prefix(end);
    }
    if (sql.empty() || sql.front() != '.') break;
    sql.remove_prefix(1);
  }
  if (n == 2) return parts[0] + "." + parts[1];
  return schema + "." + parts[0];
}

RouteDecision decide_route(const Classification& c, SessionView s) {
  RouteDecision d;
  d.pin = (c.flags & kPinningFlags) != 0;
  d.read = c.route == Route::Read && s.autocommit && !s.in_txn && !s.pinned && !d.pin;
  return d;
}

bool has_applied(const Server& s, const uint64_t* min_seq) {
  for (uint32_t d = 0; d < kGtidDomains; ++d) {
    if (min_seq[d] != 0 && s.applied_seq[d].load(std::memory_order_acquire) < min_seq[d]) return false;
  }
  return true;
}

Server* pick_server(const Hostgroup& hg, int64_t now_ms, const std::vector<Server*>& exclude,
                    const uint64_t* min_seq) {
  uint64_t total = 0;
  Server* candidates[64];
  size_t n = 0;
  for (Server* s : hg.servers) {
    if (n == 64) break;
    if (!s->usable(now_ms) || std::find(exclude.begin(), exclude.end(), s) != exclude.end()) continue;
    if (min_seq != nullptr && !has_applied(*s, min_seq)) continue;
    candidates[n++] = s;
    total += s->weight.load(std::memory_order_relaxed);
  }
  if (n == 0) return nullptr;
  if (n == 1) return candidates[0];
  uint64_t r = next_random() % total;
  for (size_t i = 0; i < n; ++i) {
    uint32_t w = candidates[i]->weight.load(std::memory_order_relaxed);
    if (r < w) return candidates[i];
    r -= w;
  }
  return candidates[n - 1];
}

Server* any_server(const Hostgroup& hg, const std::vector<Server*>& exclude) {
  for (Server* s : hg.servers) {
    if (!s->configured.load(std::memory_order_relaxed) ||
        s->admin_status.load(std::memory_order_relaxed) != ServerStatus::kOnline ||
        s->health.load(std::memory_order_relaxed) == HealthState::kShunnedReplicationLag)
      continue;
    if (std::find(exclude.begin(), exclude.end(), s) == exclude.end()) return s;
  }
  return nullptr;
}

}  // namespace sluice
