// Pool accounting (see pool.h). Invariants, checked by tests/unit/test_pool.cpp:
//   open_ <= max_open_ at all times; idle_ == sum of idle stack sizes;
//   a slot freed while someone waits goes to the first waiter (FIFO), never back to open_.
#include "sluice/pool.h"

#include <algorithm>

namespace sluice {

const char* close_reason_name(CloseReason r) {
  switch (r) {
    case CloseReason::kMaxIdle: return "max_idle";
    case CloseReason::kIdleTimeout: return "idle_timeout";
    case CloseReason::kMaxLifetime: return "max_lifetime";
    case CloseReason::kError: return "error";
    case CloseReason::kServerDown: return "server_down";
    case CloseReason::kEvicted: return "evicted";
    case CloseReason::kShutdown: return "shutdown";
    case CloseReason::kOffline: return "offline";
    case CloseReason::kCount: break;
  }
  return "unknown";
}

Pool::Pool(uint32_t max_open, uint32_t max_idle, int workers)
    : max_open_(std::max<uint32_t>(1, max_open)),
      max_idle_(std::min(max_idle, max_open)),
      idle_by_worker_(static_cast<size_t>(std::max(1, workers))) {
  st_.max_open = max_open_;
}

PooledConn* Pool::pop_idle_locked(int worker, const std::string* identity) {
  auto& stack = idle_by_worker_[static_cast<size_t>(worker)];
  for (auto it = stack.rbegin(); it != stack.rend(); ++it) {
    if (identity == nullptr || (*it)->identity == *identity) {
      PooledConn* c = *it;
      stack.erase(std::next(it).base());
      --idle_;
      return c;
    }
  }
  return nullptr;
}

int Pool::worker_with_idle_locked(const std::string& identity) const {
  int any = -1;
  for (size_t w = 0; w < idle_by_worker_.size(); ++w) {
    for (const PooledConn* c : idle_by_worker_[w]) {
      if (c->identity == identity) return static_cast<int>(w);
      any = static_cast<int>(w);
    }
  }
  return any;
}

Pool::Acquired Pool::acquire(int worker, const std::string& identity, uint64_t token, int64_t now_ns,
                             int64_t now_ms) {
  std::lock_guard lock(mu_);
  Acquired a;
  // Waiters already queued go first: only take an idle conn when nobody waits.
  if (waiters_.empty()) {
    while (PooledConn* c = pop_idle_locked(worker, &identity)) {
      if (now_ms != 0 && c->expires_at_ms != 0 && now_ms >= c->expires_at_ms) {
        --open_;
        ++st_.closed[static_cast<size_t>(CloseReason::kMaxLifetime)];
        a.expired.push_back(c);
        continue;
      }
      a.kind = Acquired::kIdle;
      a.conn = c;
      return a;
    }
    if (open_ < max_open_) {
      ++open_;
      a.kind = Acquired::kConnect;
      return a;
    }
  }
  waiters_.push_back(Waiter{worker, token, identity, now_ns});
  ++st_.wait_count;
  a.kind = Acquired::kQueued;
  a.kick_worker = idle_ > 0 ? worker_with_idle_locked(identity) : -1;
  return a;
}

Pool::Waiter Pool::pop_waiter_locked(int64_t now_ns) {
  Waiter w = std::move(waiters_.front());
  waiters_.pop_front();
  st_.wait_ns += static_cast<uint64_t>(std::max<int64_t>(0, now_ns - w.since_ns));
  return w;
}

std::optional<Grant> Pool::grant_slot_locked(int64_t now_ns) {
  if (waiters_.empty()) return std::nullopt;
  Waiter w = pop_waiter_locked(now_ns);
  return Grant{w.worker, w.token, nullptr, nullptr};
}

Pool::Released Pool::release(PooledConn* c, int worker, int64_t now_ms, int64_t now_ns) {
  std::lock_guard lock(mu_);
  Released r;
  if (open_ > max_open_) {  // the limit was lowered: this connection is one too many
    --open_;
    ++st_.closed[static_cast<size_t>(CloseReason::kMaxIdle)];
    r.close = true;
    r.reason = CloseReason::kMaxIdle;
    return r;
  }
  if (!waiters_.empty()) {
    Waiter w = pop_waiter_locked(now_ns);
    bool expired = c->expires_at_ms != 0 && now_ms >= c->expires_at_ms;
    if (expired) {
      // Under sustained contention a pool has no idle conns: lifetimes end here.
      r.grant = Grant{w.worker, w.token, nullptr, nullptr};
      r.close = true;
      r.reason = CloseReason::kMaxLifetime;
      ++st_.closed[static_cast<size_t>(CloseReason::kMaxLifetime)];
    } else if (w.identity == c->identity) {
      r.grant = Grant{w.worker, w.token, c, nullptr};
    } else {
      // Wrong user for this waiter: the conn closes and its slot passes on.
      r.grant = Grant{w.worker, w.token, nullptr, nullptr};
      r.close = true;
      r.reason = CloseReason::kEvicted;
      ++st_.closed[static_cast<size_t>(CloseReason::kEvicted)];
    }
    return r;
  }
  if (c->expires_at_ms != 0 && now_ms >= c->expires_at_ms) {
    --open_;
    ++st_.closed[static_cast<size_t>(CloseReason::kMaxLifetime)];
    r.close = true;
    r.reason = CloseReason::kMaxLifetime;
    return r;
  }
  if (idle_ >= max_idle_) {
    --open_;
    ++st_.closed[static_cast<size_t>(CloseReason::kMaxIdle)];
    r.close = true;
    r.reason = CloseReason::kMaxIdle;
    return r;
  }
  c->owner_worker = worker;
  c->idle_since_ms = now_ms;
  idle_by_worker_[static_cast<size_t>(worker)].push_back(c);
  ++idle_;
  return r;
}

std::optional<Grant> Pool::closed(CloseReason r, int64_t now_ns) {
  std::lock_guard lock(mu_);
  if (r != CloseReason::kCount) ++st_.closed[static_cast<size_t>(r)];
  if (open_ <= max_open_) {
    if (auto g = grant_slot_locked(now_ns)) return g;  // the slot passes to a waiter
  }
  --open_;
  return std::nullopt;
}

bool Pool::take_idle(PooledConn* c, int worker) {
  std::lock_guard lock(mu_);
  auto& stack = idle_by_worker_[static_cast<size_t>(worker)];
  auto it = std::find(stack.begin(), stack.end(), c);
  if (it == stack.end()) return false;
  stack.erase(it);
  --idle_;
  return true;
}

std::vector<Grant> Pool::serve_waiters(int worker, int64_t now_ns) {
  std::lock_guard lock(mu_);
  std::vector<Grant> out;
  while (!waiters_.empty() && !idle_by_worker_[static_cast<size_t>(worker)].empty()) {
    Waiter w = pop_waiter_locked(now_ns);
    if (PooledConn* c = pop_idle_locked(worker, &w.identity)) {
      out.push_back(Grant{w.worker, w.token, c, nullptr});
    } else {
      PooledConn* victim = pop_idle_locked(worker, nullptr);
      ++st_.closed[static_cast<size_t>(CloseReason::kEvicted)];
      out.push_back(Grant{w.worker, w.token, nullptr, victim});
    }
  }
  return out;
}

std::vector<std::pair<PooledConn*, CloseReason>> Pool::expire_idle(int worker, int64_t now_ms,
                                                                   uint32_t idle_timeout_ms) {
  std::lock_guard lock(mu_);
  std::vector<std::pair<PooledConn*, CloseReason>> out;
  auto& stack = idle_by_worker_[static_cast<size_t>(worker)];
  for (auto it = stack.begin(); it != stack.end();) {
    PooledConn* c = *it;
    CloseReason why = CloseReason::kCount;
    if (c->expires_at_ms != 0 && now_ms >= c->expires_at_ms) why = CloseReason::kMaxLifetime;
    else if (idle_timeout_ms != 0 && now_ms - c->idle_since_ms >= idle_timeout_ms) why = CloseReason::kIdleTimeout;
    if (why == CloseReason::kCount) {
      ++it;
      continue;
    }
    out.emplace_back(c, why);
    it = stack.erase(it);
    --idle_;
  }
  return out;
}

std::vector<PooledConn*> Pool::drain_idle(int worker, CloseReason why) {
  std::lock_guard lock(mu_);
  std::vector<PooledConn*> out;
  out.swap(idle_by_worker_[static_cast<size_t>(worker)]);
  idle_ -= static_cast<uint32_t>(out.size());
  open_ -= static_cast<uint32_t>(out.size());
  st_.closed[static_cast<size_t>(why)] += out.size();
  return out;
}

bool Pool::reserve_warm(uint32_t min_idle) {
  std::lock_guard lock(mu_);
  if (open_ >= std::min(min_idle, max_open_) || !waiters_.empty()) return false;
  ++open_;
  return true;
}

bool Pool::cancel(uint64_t token, bool timed_out) {
  std::lock_guard lock(mu_);
  auto it = std::find_if(waiters_.begin(), waiters_.end(), [&](const Waiter& w) { return w.token == token; });
  if (it == waiters_.end()) return false;
  waiters_.erase(it);
  if (timed_out) ++st_.checkout_timeouts;
  return true;
}

void Pool::connect_result(bool ok) {
  std::lock_guard lock(mu_);
  ++(ok ? st_.connects_ok : st_.connects_failed);
}

std::vector<Grant> Pool::set_limits(uint32_t max_open, uint32_t max_idle, int64_t now_ns) {
  std::lock_guard lock(mu_);
  max_open_ = std::max<uint32_t>(1, max_open);
  max_idle_ = std::min(max_idle, max_open_);
  st_.max_open = max_open_;
  std::vector<Grant> out;
  while (open_ < max_open_ && !waiters_.empty()) {
    ++open_;
    out.push_back(*grant_slot_locked(now_ns));
  }
  return out;
}

PoolStats Pool::stats() const {
  std::lock_guard lock(mu_);
  PoolStats s = st_;
  s.open = open_;
  s.idle = idle_;
  s.in_use = open_ - idle_;
  s.waiting = static_cast<uint32_t>(waiters_.size());
  return s;
}

}  // namespace sluice
