// Pool accounting: max_open is never exceeded, waiters are served FIFO, idle connections
// are reused LIFO per worker and identity, and every close is counted under its reason.
// No sockets: connections are FakeConn objects and time is passed in by hand.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <deque>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "sluice/pool.h"

using sluice::CloseReason;
using sluice::Grant;
using sluice::Pool;
using sluice::PooledConn;

namespace {

struct FakeConn : PooledConn {};

size_t idx(CloseReason r) { return static_cast<size_t>(r); }

// Owns the fake connections of one test; pointers stay valid until the end of the test.
struct Conns {
  std::vector<std::unique_ptr<FakeConn>> all;
  FakeConn* make(const std::string& identity, int worker, int64_t expires_at_ms = 0) {
    all.push_back(std::make_unique<FakeConn>());
    FakeConn* c = all.back().get();
    c->identity = identity;
    c->owner_worker = worker;
    c->expires_at_ms = expires_at_ms;
    return c;
  }
};

// Opens a connection through a kConnect slot.
FakeConn* connect(Pool& p, Conns& cs, int worker, const std::string& id, uint64_t token, int64_t exp = 0) {
  auto a = p.acquire(worker, id, token, 0);
  REQUIRE(a.kind == Pool::Acquired::kConnect);
  p.connect_result(true);
  return cs.make(id, worker, exp);
}

}  // namespace

TEST_CASE("pool: idle connections are reused LIFO, on the same worker, same identity only") {
  Pool p(8, 8, 2);
  Conns cs;
  FakeConn* a1 = connect(p, cs, 0, "a", 1);
  FakeConn* b1 = connect(p, cs, 0, "b", 2);
  FakeConn* a2 = connect(p, cs, 0, "a", 3);
  CHECK(p.release(a1, 0, 10, 0).grant == std::nullopt);
  CHECK_FALSE(p.release(b1, 0, 11, 0).close);
  CHECK_FALSE(p.release(a2, 0, 12, 0).close);
  CHECK(p.stats().idle == 3);
  CHECK(a2->idle_since_ms == 12);

  auto r = p.acquire(0, "a", 4, 0);
  CHECK(r.kind == Pool::Acquired::kIdle);
  CHECK(r.conn == a2);  // most recent first
  r = p.acquire(0, "a", 5, 0);
  CHECK(r.conn == a1);  // skips b1, which is newer but another identity
  r = p.acquire(1, "b", 6, 0);
  CHECK(r.kind == Pool::Acquired::kConnect);  // b1 lives on worker 0
  r = p.acquire(0, "b", 7, 0);
  CHECK(r.kind == Pool::Acquired::kIdle);
  CHECK(r.conn == b1);
  r = p.acquire(0, "c", 8, 0);
  CHECK(r.kind == Pool::Acquired::kConnect);
  auto s = p.stats();
  CHECK(s.open == 5);
  CHECK(s.idle == 0);
  CHECK(s.in_use == 5);
}

TEST_CASE("pool: a full pool queues, and a release of another identity evicts for the waiter") {
  Pool p(2, 2, 2);
  Conns cs;
  FakeConn* a = connect(p, cs, 0, "a", 1);
  FakeConn* b = connect(p, cs, 1, "b", 2);
  auto q = p.acquire(1, "c", 3, 1000);
  CHECK(q.kind == Pool::Acquired::kQueued);
  CHECK(q.kick_worker == -1);  // nothing idle anywhere
  CHECK(p.stats().waiting == 1);

  auto r = p.release(a, 0, 5, 4000);
  CHECK(r.close);
  CHECK(r.reason == CloseReason::kEvicted);
  REQUIRE(r.grant);
  CHECK(r.grant->worker == 1);
  CHECK(r.grant->token == 3);
  CHECK(r.grant->conn == nullptr);  // a slot: worker 1 connects as "c"
  CHECK(r.grant->close_first == nullptr);
  auto s = p.stats();
  CHECK(s.open == 2);
  CHECK(s.waiting == 0);
  CHECK(s.closed[idx(CloseReason::kEvicted)] == 1);
  CHECK(s.wait_count == 1);
  CHECK(s.wait_ns == 3000);

  // Same identity: the connection itself goes to the waiter, nothing closes.
  CHECK(p.acquire(0, "b", 4, 5000).kind == Pool::Acquired::kQueued);
  r = p.release(b, 1, 6, 5500);
  CHECK_FALSE(r.close);
  REQUIRE(r.grant);
  CHECK(r.grant->conn == b);
  CHECK(r.grant->worker == 0);
  CHECK(p.stats().closed[idx(CloseReason::kEvicted)] == 1);
  CHECK(p.stats().wait_ns == 3500);
}

TEST_CASE("pool: queued waiters go first even when a matching idle connection exists") {
  Pool p(1, 1, 2);
  Conns cs;
  FakeConn* a = connect(p, cs, 0, "a", 1);
  CHECK(p.acquire(1, "a", 2, 0).kind == Pool::Acquired::kQueued);
  // Released on worker 0 while a waiter exists: it goes to the waiter, not the idle stack.
  auto r = p.release(a, 0, 0, 0);
  REQUIRE(r.grant);
  CHECK(r.grant->token == 2);
  CHECK(p.stats().idle == 0);
}

TEST_CASE("pool: max_idle closes the excess on release") {
  Pool p(4, 1, 1);
  Conns cs;
  FakeConn* a = connect(p, cs, 0, "a", 1);
  FakeConn* b = connect(p, cs, 0, "a", 2);
  CHECK_FALSE(p.release(a, 0, 0, 0).close);
  auto r = p.release(b, 0, 0, 0);
  CHECK(r.close);
  CHECK(r.reason == CloseReason::kMaxIdle);
  CHECK_FALSE(r.grant);
  auto s = p.stats();
  CHECK(s.open == 1);
  CHECK(s.idle == 1);
  CHECK(s.closed[idx(CloseReason::kMaxIdle)] == 1);
  Pool none(2, 0, 1);  // max_idle 0 keeps nothing idle
  auto r0 = none.release(connect(none, cs, 0, "a", 1), 0, 0, 0);
  CHECK(r0.close);
  CHECK(r0.reason == CloseReason::kMaxIdle);
  CHECK(none.stats().open == 0);
}

TEST_CASE("pool: expire_idle by idle_timeout, counted when closed() reports it") {
  Pool p(4, 4, 2);
  Conns cs;
  FakeConn* a = connect(p, cs, 0, "a", 1);
  FakeConn* b = connect(p, cs, 0, "a", 2);
  p.release(a, 0, 1000, 0);
  p.release(b, 0, 1500, 0);
  CHECK(p.expire_idle(0, 1999, 1000).empty());
  CHECK(p.expire_idle(1, 5000, 1000).empty());  // other worker's stack is empty
  CHECK(p.expire_idle(0, 5000, 0).empty());     // idle_timeout 0 = never
  auto out = p.expire_idle(0, 2000, 1000);
  REQUIRE(out.size() == 1);
  CHECK(out[0].first == a);
  CHECK(out[0].second == CloseReason::kIdleTimeout);
  auto s = p.stats();
  CHECK(s.idle == 1);
  CHECK(s.open == 2);  // still open until the caller closes it
  CHECK(s.closed[idx(CloseReason::kIdleTimeout)] == 0);
  CHECK_FALSE(p.closed(CloseReason::kIdleTimeout, 0));
  s = p.stats();
  CHECK(s.open == 1);
  CHECK(s.closed[idx(CloseReason::kIdleTimeout)] == 1);
}

TEST_CASE("pool: expire_idle by max_lifetime (expires_at_ms), which wins over idle_timeout") {
  Pool p(4, 4, 1);
  Conns cs;
  FakeConn* a = connect(p, cs, 0, "a", 1, 5000);
  FakeConn* b = connect(p, cs, 0, "a", 2, 0);  // never expires
  p.release(a, 0, 100, 0);
  p.release(b, 0, 100, 0);
  CHECK(p.expire_idle(0, 4999, 0).empty());
  auto out = p.expire_idle(0, 6000, 1000);
  REQUIRE(out.size() == 2);
  CHECK(out[0].first == a);
  CHECK(out[0].second == CloseReason::kMaxLifetime);
  CHECK(out[1].first == b);
  CHECK(out[1].second == CloseReason::kIdleTimeout);
  p.closed(out[0].second, 0);
  p.closed(out[1].second, 0);
  auto s = p.stats();
  CHECK(s.closed[idx(CloseReason::kMaxLifetime)] == 1);
  CHECK(s.closed[idx(CloseReason::kIdleTimeout)] == 1);
  CHECK(s.open == 0);
  // Released past its deadline, a connection closes at once instead of going idle.
  auto r = p.release(connect(p, cs, 0, "a", 3, 5000), 0, 6000, 0);
  CHECK(r.close);
  CHECK(r.reason == CloseReason::kMaxLifetime);
  CHECK(p.stats().open == 0);
  CHECK(p.stats().closed[idx(CloseReason::kMaxLifetime)] == 2);
}

// With a waiter queued, release() must not hand over an expired connection: under
// sustained contention there are no idle connections for expire_idle to find.
TEST_CASE("pool: an expired connection is not handed to a waiter") {
  Pool p(1, 1, 1);
  Conns cs;
  FakeConn* a = connect(p, cs, 0, "a", 1, 5000);
  CHECK(p.acquire(0, "a", 2, 0).kind == Pool::Acquired::kQueued);
  auto r = p.release(a, 0, 6000, 0);
  REQUIRE(r.grant);
  CHECK(r.grant->token == 2);
  CHECK(r.close);
  CHECK(r.reason == CloseReason::kMaxLifetime);
  CHECK(r.grant->conn == nullptr);  // expected: a slot to reconnect, not the expired conn
  CHECK(p.stats().open == 1);
}

TEST_CASE("pool: closed() passes the slot to the first waiter, else frees it") {
  Pool p(1, 1, 2);
  Conns cs;
  connect(p, cs, 0, "a", 1);
  CHECK(p.acquire(1, "b", 2, 100).kind == Pool::Acquired::kQueued);
  auto g = p.closed(CloseReason::kError, 600);
  REQUIRE(g);
  CHECK(g->token == 2);
  CHECK(g->worker == 1);
  CHECK(g->conn == nullptr);
  CHECK(p.stats().open == 1);
  CHECK(p.stats().wait_ns == 500);
  CHECK(p.stats().closed[idx(CloseReason::kError)] == 1);
  // The slot's connect failed: kCount frees it and counts no close.
  p.connect_result(false);
  CHECK_FALSE(p.closed(CloseReason::kCount, 700));
  auto s = p.stats();
  CHECK(s.open == 0);
  CHECK(s.connects_ok == 1);
  CHECK(s.connects_failed == 1);
  uint64_t total = 0;
  for (uint64_t n : s.closed) total += n;
  CHECK(total == 1);
}

TEST_CASE("pool: cancel is true only while queued; timeouts are counted") {
  Pool p(1, 1, 1);
  Conns cs;
  FakeConn* a = connect(p, cs, 0, "a", 1);
  CHECK(p.acquire(0, "a", 2, 0).kind == Pool::Acquired::kQueued);
  CHECK(p.acquire(0, "a", 3, 0).kind == Pool::Acquired::kQueued);
  CHECK(p.acquire(0, "a", 4, 0).kind == Pool::Acquired::kQueued);
  CHECK(p.cancel(3, true));
  CHECK_FALSE(p.cancel(3, true));  // already gone
  CHECK(p.cancel(4, false));       // client left: not a timeout
  CHECK_FALSE(p.cancel(99, true));
  auto r = p.release(a, 0, 0, 0);
  REQUIRE(r.grant);
  CHECK(r.grant->token == 2);
  CHECK_FALSE(p.cancel(2, true));  // granted: the grant is on its way
  auto s = p.stats();
  CHECK(s.checkout_timeouts == 1);
  CHECK(s.waiting == 0);
  CHECK(s.wait_count == 3);
}

TEST_CASE("pool: wait_count counts queued checkouts and wait_ns sums granted waits only") {
  Pool p(1, 1, 1);
  Conns cs;
  FakeConn* a = connect(p, cs, 0, "a", 1);
  p.acquire(0, "a", 2, 1'000);
  p.acquire(0, "a", 3, 2'000);
  p.acquire(0, "a", 4, 3'000);
  CHECK(p.stats().wait_count == 3);
  CHECK(p.stats().wait_ns == 0);
  p.cancel(3, true);
  p.release(a, 0, 0, 11'000);  // to token 2 after 10 us
  p.release(a, 0, 0, 3'500);   // to token 4 after 0.5 us
  auto s = p.stats();
  CHECK(s.wait_ns == 10'500);
  CHECK(s.wait_count == 3);
}

TEST_CASE("pool: serve_waiters hands a worker's idle conns to waiters, evicting for other identities") {
  Pool p(3, 3, 2);
  Conns cs;
  FakeConn* a = connect(p, cs, 1, "a", 1);
  FakeConn* b = connect(p, cs, 1, "b", 2);
  FakeConn* x = connect(p, cs, 0, "x", 3);
  p.release(a, 1, 0, 0);
  p.release(b, 1, 0, 0);  // worker 1 stack: [a, b]
  auto q = p.acquire(0, "a", 10, 0);
  CHECK(q.kind == Pool::Acquired::kQueued);
  CHECK(q.kick_worker == 1);
  CHECK(p.acquire(0, "c", 11, 0).kind == Pool::Acquired::kQueued);
  CHECK(p.acquire(0, "a", 12, 0).kind == Pool::Acquired::kQueued);

  CHECK(p.serve_waiters(0, 0).empty());  // worker 0 holds nothing idle
  auto gs = p.serve_waiters(1, 50);
  REQUIRE(gs.size() == 2);
  CHECK(gs[0].token == 10);
  CHECK(gs[0].conn == a);  // matching identity, though b is on top
  CHECK(gs[0].close_first == nullptr);
  CHECK(gs[1].token == 11);
  CHECK(gs[1].conn == nullptr);
  CHECK(gs[1].close_first == b);  // victim closes, its slot goes to "c"
  auto s = p.stats();
  CHECK(s.open == 3);
  CHECK(s.idle == 0);
  CHECK(s.waiting == 1);  // token 12 is still queued: nothing idle is left
  CHECK(s.closed[idx(CloseReason::kEvicted)] == 1);
  CHECK(s.wait_ns == 100);
  (void)x;
}

// ---- randomized model test -------------------------------------------------------------
// Random acquire / connect / release / closed / cancel / serve_waiters / expire_idle /
// take_idle across 3 workers and 2 identities, checked step by step against a model of
// what the pool should hold.
namespace {

struct Model {
  static constexpr uint32_t kMaxOpen = 4, kMaxIdle = 3;
  static constexpr int kWorkers = 3;
  struct Waiter { uint64_t token; int worker; std::string identity; int64_t since_ns; };
  struct Slot { int worker; std::string identity; };

  Pool pool{kMaxOpen, kMaxIdle, kWorkers};
  Conns cs;
  std::mt19937 rng{20240611};
  int64_t now_ms = 1000;
  uint64_t next_token = 1;
  std::vector<FakeConn*> in_use;  // owner_worker says where each one lives
  std::vector<Slot> slots;        // reserved, connecting
  std::vector<FakeConn*> idle[kWorkers];
  std::deque<Waiter> queue;
  uint64_t wait_count = 0, wait_ns = 0, timeouts = 0, ok = 0, failed = 0;
  uint64_t closed[static_cast<size_t>(CloseReason::kCount)] = {};

  int64_t now_ns() const { return now_ms * 1'000'000; }
  uint32_t pick(size_t n) { return static_cast<uint32_t>(rng() % n); }
  size_t idle_total() const { return idle[0].size() + idle[1].size() + idle[2].size(); }
  size_t open() const { return in_use.size() + slots.size() + idle_total(); }
  const char* identity() { return pick(2) ? "a" : "b"; }

  // Every grant must go to the oldest waiter.
  void take_grant(const Grant& g) {
    REQUIRE_FALSE(queue.empty());
    Waiter w = queue.front();
    queue.pop_front();
    CHECK(g.token == w.token);
    CHECK(g.worker == w.worker);
    wait_ns += static_cast<uint64_t>(now_ns() - w.since_ns);
    if (g.conn != nullptr) {
      CHECK(g.conn->identity == w.identity);
      g.conn->owner_worker = w.worker;  // adopted by the waiter's worker
      in_use.push_back(static_cast<FakeConn*>(g.conn));
    } else {
      slots.push_back({w.worker, w.identity});
    }
  }
  void slot_freed(std::optional<Grant> g) {
    CHECK(g.has_value() == !queue.empty());
    if (g) {
      CHECK(g->conn == nullptr);
      take_grant(*g);
    }
  }
  FakeConn* take(std::vector<FakeConn*>& v, size_t i) {
    FakeConn* c = v[i];
    v.erase(v.begin() + static_cast<long>(i));
    return c;
  }

  void acquire() {
    int w = static_cast<int>(pick(kWorkers));
    std::string id = identity();
    uint64_t token = next_token++;
    auto a = pool.acquire(w, id, token, now_ns());
    if (queue.empty()) {
      auto& st = idle[w];
      auto it = std::find_if(st.rbegin(), st.rend(), [&](FakeConn* c) { return c->identity == id; });
      if (it != st.rend()) {
        REQUIRE(a.kind == Pool::Acquired::kIdle);
        CHECK(a.conn == *it);  // LIFO among this worker's conns of this identity
        in_use.push_back(*it);
        st.erase(std::next(it).base());
        return;
      }
      if (open() < kMaxOpen) {
        REQUIRE(a.kind == Pool::Acquired::kConnect);
        slots.push_back({w, id});
        return;
      }
    }
    REQUIRE(a.kind == Pool::Acquired::kQueued);
    queue.push_back({token, w, id, now_ns()});
    ++wait_count;
    if (idle_total() == 0) CHECK(a.kick_worker == -1);
    else REQUIRE(a.kick_worker >= 0);
    if (a.kick_worker >= 0) CHECK_FALSE(idle[a.kick_worker].empty());
  }
  void finish_connect() {
    const size_t i = pick(slots.size());
    Slot s = slots[i];
    slots.erase(slots.begin() + static_cast<long>(i));
    if (pick(5) == 0) {
      pool.connect_result(false);
      ++failed;
      slot_freed(pool.closed(CloseReason::kCount, now_ns()));
      return;
    }
    pool.connect_result(true);
    ++ok;
    in_use.push_back(cs.make(s.identity, s.worker, pick(3) ? now_ms + 100 + pick(300) : 0));
  }
  void release() {
    FakeConn* c = take(in_use, pick(in_use.size()));
    int w = c->owner_worker;
    bool expired = c->expires_at_ms != 0 && now_ms >= c->expires_at_ms;
    bool queued = !queue.empty();
    bool same = queued && queue.front().identity == c->identity;
    auto r = pool.release(c, w, now_ms, now_ns());
    CHECK(r.grant.has_value() == queued);
    if (queued) {
      if (expired || !same) {
        // An expired conn or one of another identity closes; its slot goes to the waiter.
        CHECK(r.close);
        CHECK(r.reason == (expired ? CloseReason::kMaxLifetime : CloseReason::kEvicted));
        CHECK(r.grant->conn == nullptr);
        ++closed[idx(r.reason)];
      } else {
        CHECK_FALSE(r.close);
        CHECK(r.grant->conn == c);
      }
      take_grant(*r.grant);
    } else if (expired || idle_total() >= kMaxIdle) {
      CHECK(r.close);
      CHECK(r.reason == (expired ? CloseReason::kMaxLifetime : CloseReason::kMaxIdle));
      ++closed[idx(r.reason)];
    } else {
      CHECK_FALSE(r.close);
      CHECK(c->idle_since_ms == now_ms);
      idle[w].push_back(c);
    }
  }
  void close_in_use() {
    take(in_use, pick(in_use.size()));
    ++closed[idx(CloseReason::kError)];
    slot_freed(pool.closed(CloseReason::kError, now_ns()));
  }
  void cancel() {
    uint64_t token = next_token - 1 - pick(std::min<uint64_t>(next_token - 1, 8));
    bool timed_out = pick(2);
    auto it = std::find_if(queue.begin(), queue.end(), [&](const Waiter& w) { return w.token == token; });
    bool queued = it != queue.end();
    CHECK(pool.cancel(token, timed_out) == queued);
    if (queued) queue.erase(it);
    if (queued && timed_out) ++timeouts;
  }
  void serve() {
    int w = static_cast<int>(pick(kWorkers));
    for (const Grant& g : pool.serve_waiters(w, now_ns())) {
      REQUIRE_FALSE(queue.empty());
      REQUIRE_FALSE(idle[w].empty());
      auto& st = idle[w];
      auto it = std::find_if(st.rbegin(), st.rend(), [&](FakeConn* c) { return c->identity == queue.front().identity; });
      if (it != st.rend()) {
        CHECK(g.conn == *it);
        CHECK(g.close_first == nullptr);
        st.erase(std::next(it).base());
      } else {
        CHECK(g.conn == nullptr);
        CHECK(g.close_first == st.back());
        st.pop_back();
        ++closed[idx(CloseReason::kEvicted)];
      }
      take_grant(g);
    }
    CHECK((queue.empty() || idle[w].empty()));
  }
  void expire() {
    int w = static_cast<int>(pick(kWorkers));
    const uint32_t timeout = 200;
    std::vector<std::pair<PooledConn*, CloseReason>> want;
    for (FakeConn* c : idle[w]) {
      if (c->expires_at_ms != 0 && now_ms >= c->expires_at_ms) want.emplace_back(c, CloseReason::kMaxLifetime);
      else if (now_ms - c->idle_since_ms >= timeout) want.emplace_back(c, CloseReason::kIdleTimeout);
    }
    auto got = pool.expire_idle(w, now_ms, timeout);
    CHECK(got == want);
    for (auto [c, why] : got) {
      idle[w].erase(std::find(idle[w].begin(), idle[w].end(), c));
      ++closed[idx(why)];
      slot_freed(pool.closed(why, now_ns()));
    }
  }
  void take_idle() {
    int w = static_cast<int>(pick(kWorkers));
    if (idle[w].empty()) return;
    FakeConn* c = take(idle[w], pick(idle[w].size()));
    CHECK_FALSE(pool.take_idle(c, (w + 1) % kWorkers));
    CHECK(pool.take_idle(c, w));
    ++closed[idx(CloseReason::kServerDown)];
    slot_freed(pool.closed(CloseReason::kServerDown, now_ns()));
  }

  void check() {
    auto s = pool.stats();
    REQUIRE(s.open <= kMaxOpen);
    CHECK(s.open == open());
    CHECK(s.idle == idle_total());
    CHECK(s.idle + s.in_use == s.open);
    CHECK(s.waiting == queue.size());
    if (s.waiting > 0) CHECK(s.open == kMaxOpen);  // no slot sits unused while someone waits
    CHECK(s.wait_count == wait_count);
    CHECK(s.wait_ns == wait_ns);
    CHECK(s.checkout_timeouts == timeouts);
    CHECK(s.connects_ok == ok);
    CHECK(s.connects_failed == failed);
    for (size_t i = 0; i < idx(CloseReason::kCount); ++i) CHECK(s.closed[i] == closed[i]);
  }

  void step() {
    switch (pick(10)) {
      case 0: case 1: acquire(); break;
      case 2: case 3: if (!slots.empty()) finish_connect(); break;
      case 4: case 5: if (!in_use.empty()) release(); break;
      case 6: if (!in_use.empty() && pick(3) == 0) close_in_use(); break;
      case 7: if (next_token > 1) cancel(); break;
      case 8: if (pick(2)) serve(); else expire(); break;
      case 9: if (pick(4) == 0) take_idle(); else now_ms += pick(60); break;
    }
  }
};

}  // namespace

TEST_CASE("pool: randomized model, 3 workers, fixed seed") {
  Model m;
  for (int i = 0; i < 50000; ++i) {
    m.step();
    m.check();
  }
  CHECK(m.wait_count > 100);  // the run did exercise contention
  CHECK(m.closed[idx(CloseReason::kEvicted)] > 0);
  CHECK(m.closed[idx(CloseReason::kIdleTimeout)] > 0);
  CHECK(m.closed[idx(CloseReason::kMaxLifetime)] > 0);
}
