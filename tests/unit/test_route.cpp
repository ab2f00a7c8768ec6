// Routing policy: which statements may go to a reader, which pin the session, and the
// weighted choice of a server among the healthy, non-excluded ones.
#include <doctest/doctest.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "sluice/classifier.h"
#include "sluice/config.h"
#include "sluice/route.h"
#include "sluice/topology.h"

using sluice::Classification;
using sluice::decide_route;
using sluice::Hostgroup;
using sluice::Route;
using sluice::Server;
using sluice::SessionView;

namespace {

Classification cls(Route r, uint32_t flags = sluice::kNone) {
  Classification c;
  c.route = r;
  c.flags = flags;
  return c;
}

}  // namespace

TEST_CASE("route: reads go to a reader only with autocommit on, outside a transaction, unpinned") {
  const Classification read = cls(Route::Read);
  auto d = decide_route(read, SessionView{});
  CHECK(d.read);
  CHECK_FALSE(d.pin);
  CHECK_FALSE(decide_route(read, SessionView{false, false, false}).read);
  CHECK_FALSE(decide_route(read, SessionView{true, true, false}).read);
  CHECK_FALSE(decide_route(read, SessionView{true, false, true}).read);
  auto w = decide_route(cls(Route::Write), SessionView{});
  CHECK_FALSE(w.read);
  CHECK_FALSE(w.pin);
}

TEST_CASE("route: statements that leave per-connection state pin the session") {
  for (uint32_t f : {sluice::kUserVariable, sluice::kTempTable, sluice::kLockTables,
                     sluice::kGetLock, sluice::kPrepare, sluice::kFoundRows}) {
    CAPTURE(f);
    auto d = decide_route(cls(Route::Write, f), SessionView{});
    CHECK(d.pin);
    CHECK_FALSE(d.read);
    // A pinning flag keeps even a read on the session's own connection.
    CHECK_FALSE(decide_route(cls(Route::Read, f), SessionView{}).read);
  }
  for (uint32_t f : {sluice::kBeginsTransaction, sluice::kEndsTransaction, sluice::kUseSchema,
                     sluice::kLastInsertId, sluice::kSetAutocommit, sluice::kUnlockTables,
                     sluice::kSetStatement}) {
    CAPTURE(f);
    CHECK_FALSE(decide_route(cls(Route::Write, f), SessionView{}).pin);
  }
}

// A SET of a known variable is replayed on other connections (the session learns the
// new value from session tracking), so SET alone does not pin; a user variable does.
TEST_CASE("route: SET pins only when it sets a user variable") {
  const Classification set = cls(Route::Write, sluice::kSetStatement);
  CHECK_FALSE(decide_route(set, SessionView{}).pin);
  CHECK(decide_route(cls(Route::Write, sluice::kSetStatement | sluice::kUserVariable), SessionView{}).pin);
}

TEST_CASE("route: the classifier's view of SET and user variables, end to end") {
  auto route = [](const char* sql) { return decide_route(sluice::classify(sql), SessionView{}); };
  CHECK(route("SELECT @x").pin);
  CHECK_FALSE(route("SELECT @x").read);
  CHECK(route("SET @x = 1").pin);
  CHECK_FALSE(route("SET NAMES utf8mb4").pin);
  CHECK_FALSE(route("SET autocommit=0").pin);
  CHECK_FALSE(route("SET autocommit=0, sql_mode=''").pin);
  CHECK(route("SET autocommit=0, @x=1").pin);
  CHECK(route("SELECT * FROM t WHERE id = 1").read);
  CHECK_FALSE(route("SELECT * FROM t WHERE id = 1").pin);
  CHECK_FALSE(route("SELECT @@version").pin);  // a system variable is not session state
}

namespace {

// Servers of one hostgroup, owned by the fixture.
struct Group {
  std::vector<std::unique_ptr<Server>> owned;
  Hostgroup hg;
  Server* add(uint32_t weight) {
    owned.push_back(std::make_unique<Server>("replica" + std::to_string(owned.size() + 1), 3306,
                                             sluice::PoolLimits{}, 1));
    owned.back()->weight = weight;
    hg.servers.push_back(owned.back().get());
    return owned.back().get();
  }
};

std::map<Server*, int> pick_many(const Hostgroup& hg, int64_t now, const std::vector<Server*>& exclude, int n) {
  std::map<Server*, int> counts;
  for (int i = 0; i < n; ++i) ++counts[sluice::pick_server(hg, now, exclude)];
  return counts;
}

}  // namespace

TEST_CASE("route: pick_server honours weights") {
  Group g;
  Server* light = g.add(1);
  Server* heavy = g.add(3);
  auto counts = pick_many(g.hg, 1000, {}, 10000);
  CHECK(counts.size() == 2);
  CHECK(counts[nullptr] == 0);
  // Expected 2500 / 7500; one standard deviation is about 43.
  CHECK(counts[light] > 2500 - 300);
  CHECK(counts[light] < 2500 + 300);
  CHECK(counts[heavy] == 10000 - counts[light]);

  Server* mid = g.add(2);  // 1:3:2
  counts = pick_many(g.hg, 1000, {}, 12000);
  CHECK(counts[light] > 2000 - 300);
  CHECK(counts[light] < 2000 + 300);
  CHECK(counts[mid] > 4000 - 400);
  CHECK(counts[mid] < 4000 + 400);
  CHECK(counts[heavy] > 6000 - 400);
  CHECK(counts[heavy] < 6000 + 400);
}

TEST_CASE("route: pick_server skips servers marked down until the mark expires") {
  Group g;
  Server* a = g.add(1);
  Server* b = g.add(1);
  a->mark_down(1000, 500);
  CHECK_FALSE(a->usable(1000));
  CHECK_FALSE(a->usable(1499));
  auto counts = pick_many(g.hg, 1200, {}, 1000);
  CHECK(counts[b] == 1000);
  CHECK(counts.count(a) == 0);
  CHECK(a->usable(1500));
  counts = pick_many(g.hg, 1500, {}, 1000);
  CHECK(counts[a] > 300);
  CHECK(counts[b] > 300);

  b->mark_down(2000, 1000);
  a->mark_down(2000, 1000);
  CHECK(sluice::pick_server(g.hg, 2500, {}) == nullptr);
  // The last resort ignores health.
  CHECK(sluice::any_server(g.hg, {}) == a);
  CHECK(sluice::any_server(g.hg, {a}) == b);
}

TEST_CASE("route: pick_server and any_server honour the exclusion list") {
  Group g;
  Server* a = g.add(5);
  Server* b = g.add(1);
  Server* c = g.add(1);
  auto counts = pick_many(g.hg, 0, {a}, 2000);
  CHECK(counts.count(a) == 0);
  CHECK(counts.count(nullptr) == 0);
  CHECK(counts[b] + counts[c] == 2000);
  CHECK(sluice::pick_server(g.hg, 0, {a, c}) == b);
  CHECK(sluice::pick_server(g.hg, 0, {a, b, c}) == nullptr);
  CHECK(sluice::any_server(g.hg, {a, b}) == c);
  CHECK(sluice::any_server(g.hg, {a, b, c}) == nullptr);
  c->mark_down(0, 100);
  CHECK(sluice::pick_server(g.hg, 50, {a}) == b);

  Hostgroup empty;
  CHECK(sluice::pick_server(empty, 0, {}) == nullptr);
  CHECK(sluice::any_server(empty, {}) == nullptr);
}
