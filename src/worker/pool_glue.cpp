// Carrying out pool decisions on a worker (see pool.h for who decides what):
// connections are closed on their owner's loop, and connections or slots granted to a
// waiter on another worker travel through that worker's mailbox.
#include <cstdint>

#include "sluice/backend.h"
#include "sluice/clock.h"
#include "sluice/log.h"
#include "sluice/runtime.h"
#include "sluice/session.h"
#include "sluice/topology.h"
#include "sluice/worker.h"

namespace sluice {

void Worker::remove_waiter(uint64_t token) { waiters_.erase(token); }

void Worker::checkin(BackendConn* c) {
  Server& s = c->server();
  if (s.draining()) {  // offline, removed or shunned: do not pool it again
    discard(c, s.drain_reason());
    return;
  }
  c->refresh_identity();
  auto r = s.pool.release(c, id_, now_ms(), now_ns());
  if (r.close) {
    c->close();
  } else if (!r.grant) {
    c->make_idle();
  }
  if (r.grant) {
    dispatch(s, *r.grant);  // the conn itself, or (if it was closed above) its slot
  }
}

void Worker::discard(BackendConn* c, CloseReason why) {
  Server& s = c->server();
  if (c->state() == BackendConn::State::kIdle && !s.pool.take_idle(c, id_)) return;
  c->close();
  if (auto g = s.pool.closed(why, now_ns())) dispatch(s, *g);
}

void Worker::release_slot(Server& s, CloseReason why) {
  // kCount: a slot that never held a connection; nothing was closed.
  if (auto g = s.pool.closed(why, now_ns())) dispatch(s, *g);
}

void Worker::dispatch(Server& s, const Grant& g) {
  if (g.close_first != nullptr) static_cast<BackendConn*>(g.close_first)->close();
  auto* conn = static_cast<BackendConn*>(g.conn);
  Worker& target = rt_.worker(g.worker);
  uint64_t token = g.token;
  if (conn == nullptr) {
    target.post([&target, &s, token] { target.receive_grant(s, token, nullptr); });
    return;
  }
  if (g.worker == id_) {
    conn->make_idle();  // keep watching the socket until the waiter takes it
    post([this, &s, token, conn] { receive_grant(s, token, conn); });
    return;
  }
  conn->detach([&target, &s, token, conn] {
    target.post([&target, &s, token, conn] {
      if (!conn->adopt(target)) {
        conn->close();
        target.release_slot(s, CloseReason::kError);
        return;
      }
      target.receive_grant(s, token, conn);
    });
  });
}

void Worker::receive_grant(Server& s, uint64_t token, BackendConn* conn) {
  auto it = waiters_.find(token);
  if (it == waiters_.end()) {
    // The waiter left (timeout or disconnect) after its grant was decided: pass it on.
    if (conn != nullptr) checkin(conn);
    else release_slot(s, CloseReason::kCount);
    return;
  }
  PoolWaiter* w = it->second;
  waiters_.erase(it);
  w->on_grant(s, conn);
}

void Worker::kick(Server& s, int worker) {
  Worker& target = rt_.worker(worker);
  target.post([&target, &s] {
    for (const Grant& g : s.pool.serve_waiters(target.id(), now_ns())) target.dispatch(s, g);
  });
}

// min_idle: worker 0 keeps each server's pool warm, logging in as the first configured
// user (a pool is shared by every user, and warm connections must be someone's).
void Worker::warm_pools(const std::vector<Server*>& servers) {
  const auto& users = table().config->users;
  if (id_ != 0 || users.empty()) return;
  BackendIdentity id{users.front().backend_username, users.front().backend_password, false};
  int64_t now = now_ms();
  for (Server* sp : servers) {
    Server& s = *sp;
    uint32_t min_idle = s.min_idle.load(std::memory_order_relaxed);
    if (min_idle == 0 || !s.usable(now)) continue;
    while (s.pool.reserve_warm(min_idle)) {
      auto* c = new BackendConn(s, id);
      c->connect(*this, s.connect_timeout_ms.load(std::memory_order_relaxed), [this, c, &s](bool ok, unsigned, const std::string& msg) {
        s.pool.connect_result(ok);
        if (ok) {
          checkin(c);
          return;
        }
        LOG_WARN("warming %s: %s", s.name.c_str(), msg.c_str());
        s.mark_down(now_ms(), table().config->monitor.down_retry_ms);
        c->close();
        release_slot(s, CloseReason::kCount);
      });
    }
  }
}

void Worker::close_idle_connections() {
  for (Server* sp : rt_.topology().servers()) {
    for (PooledConn* pc : sp->pool.drain_idle(id_)) static_cast<BackendConn*>(pc)->close();
  }
}

void Worker::reap_idle() {
  const std::vector<Server*> servers = rt_.topology().servers();
  warm_pools(servers);
  int64_t now = now_ms();
  std::vector<Server*> wanted;  // servers clients queue for
  for (Server* sp : servers) {
    Server& s = *sp;
    if (s.draining()) {
      for (PooledConn* pc : s.pool.drain_idle(id_, s.drain_reason())) static_cast<BackendConn*>(pc)->close();
      continue;
    }
    if (s.pool.stats().waiting > 0) wanted.push_back(sp);
    for (auto [pc, why] : s.pool.expire_idle(id_, now, s.idle_timeout_ms.load(std::memory_order_relaxed))) {
      auto* c = static_cast<BackendConn*>(pc);
      LOG_DEBUG("closing idle connection to %s: %s", s.name.c_str(), close_reason_name(why));
      c->close();
      if (auto g = s.pool.closed(why, now_ns())) dispatch(s, *g);
    }
  }
  // Sessions idling on a connection kept only for a possible SHOW WARNINGS /
  // LAST_INSERT_ID() give it back to those waiting.
  if (!wanted.empty()) {
    for (auto& [id, info] : rt_.sessions.on_worker(id_)) {
      if (info->session != nullptr) info->session->release_soft_hold(wanted, now, kSoftHoldMinIdleMs);
    }
  }
}

}  // namespace sluice
