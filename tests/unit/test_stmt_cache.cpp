// Prepared-statement cache and per-connection statement maps: keys, sharing, the LRU bound
// (holds never closed), trimming of unused entries, and shared column definitions.
#include <doctest/doctest.h>

#include <algorithm>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "sluice/stmt_cache.h"

using sluice::BackendStatements;
using sluice::ColumnDefs;
using sluice::PreparedStmt;
using sluice::StmtCache;

namespace {

std::shared_ptr<PreparedStmt> entry(StmtCache& c, std::string schema, std::string sql, uint16_t params = 1,
                                    uint16_t columns = 1) {
  auto e = std::make_shared<PreparedStmt>();
  e->id = c.new_id();
  e->schema = std::move(schema);
  e->sql = std::move(sql);
  e->params = params;
  e->columns = columns;
  e->column_defs = std::make_shared<const ColumnDefs>(ColumnDefs(columns, "col"));
  return e;
}

BackendStatements::Stmt stmt(uint32_t backend_id) {
  BackendStatements::Stmt s;
  s.backend_id = backend_id;
  return s;
}

}  // namespace

TEST_CASE("stmt cache: the same login, schema and text find the published entry") {
  StmtCache c;
  CHECK(c.find("app", "db", "", "SELECT ?") == nullptr);
  auto e = entry(c, "db", "SELECT ?");
  StmtCache::Ptr p = c.publish("app", e);
  CHECK(p.get() == e.get());
  CHECK(c.find("app", "db", "", "SELECT ?").get() == e.get());
  CHECK(c.find("other", "db", "", "SELECT ?") == nullptr);   // another login
  CHECK(c.find("app", "db2", "", "SELECT ?") == nullptr);    // another schema
  CHECK(c.find("app", "db", "latin1", "SELECT ?") == nullptr);  // another charset or sql_mode
  CHECK(c.find("app", "db", "", "SELECT  ?") == nullptr);    // another text
  CHECK(c.find("ap", "pdb", "", "SELECT ?") == nullptr);     // key parts do not run together
  CHECK(c.size() == 1);
}

TEST_CASE("stmt cache: a racing publish with equal counts returns the first entry") {
  StmtCache c;
  auto first = entry(c, "db", "SELECT ?");
  auto second = entry(c, "db", "SELECT ?");
  CHECK(c.publish("app", first).get() == first.get());
  CHECK(c.publish("app", second).get() == first.get());
  auto changed = entry(c, "db", "SELECT ?", 1, 3);  // the server answers differently now
  CHECK(c.publish("app", changed).get() == changed.get());
  CHECK(c.find("app", "db", "", "SELECT ?").get() == changed.get());
}

TEST_CASE("stmt cache: forget drops only the entry it is given") {
  StmtCache c;
  auto old = entry(c, "db", "SELECT 1", 0, 1);
  c.publish("app", old);
  auto now = entry(c, "db", "SELECT 1", 0, 2);
  c.publish("app", now);
  c.forget("app", *old);  // stale: the cache already holds a newer answer
  CHECK(c.find("app", "db", "", "SELECT 1").get() == now.get());
  c.forget("app", *now);
  CHECK(c.find("app", "db", "", "SELECT 1") == nullptr);
  CHECK(c.size() == 0);
}

TEST_CASE("stmt cache: unused entries beyond the bound go, entries in use stay") {
  StmtCache c(16);  // one per shard
  std::vector<StmtCache::Ptr> held;
  for (int i = 0; i < 200; ++i) {
    auto p = c.publish("app", entry(c, "db", "SELECT " + std::to_string(i)));
    if (i % 10 == 0) held.push_back(p);  // a client still uses these
  }
  CHECK(c.size() <= 16 + held.size());
  for (const auto& p : held) CHECK(c.find("app", "db", "", p->sql).get() == p.get());
}

TEST_CASE("stmt cache: ids are unique across threads") {
  StmtCache c;
  std::vector<std::vector<uint64_t>> got(4);
  std::vector<std::thread> ts;
  for (int t = 0; t < 4; ++t)
    ts.emplace_back([&, t] {
      for (int i = 0; i < 1000; ++i) got[t].push_back(c.publish("app", entry(c, "db", std::to_string(t * 1000 + i)))->id);
    });
  for (auto& t : ts) t.join();
  std::vector<uint64_t> all;
  for (auto& g : got) all.insert(all.end(), g.begin(), g.end());
  std::sort(all.begin(), all.end());
  CHECK(std::adjacent_find(all.begin(), all.end()) == all.end());
}

TEST_CASE("prepared stmt: equal column definitions are shared, not copied") {
  StmtCache c;
  auto e = entry(c, "db", "SELECT ?", 1, 2);
  CHECK(e->share_columns(ColumnDefs(2, "col")).get() == e->column_defs.get());
  auto a = e->share_columns(ColumnDefs{"x", "y"});
  auto b = e->share_columns(ColumnDefs{"x", "y"});
  CHECK(a.get() == b.get());
  CHECK(*a == ColumnDefs{"x", "y"});
  auto other = e->share_columns(ColumnDefs{"x", "z"});
  CHECK(*other == ColumnDefs{"x", "z"});
  CHECK(*a == ColumnDefs{"x", "y"});  // a connection's pointer never changes under it
}

TEST_CASE("backend statements: least recently used closed beyond the bound") {
  BackendStatements bs;
  CHECK(bs.add(1, stmt(101), 3).empty());
  CHECK(bs.add(2, stmt(102), 3).empty());
  CHECK(bs.add(3, stmt(103), 3).empty());
  REQUIRE(bs.find(1) != nullptr);  // 1 is now the most recently used
  CHECK(bs.add(4, stmt(104), 3) == std::vector<uint32_t>{102});
  CHECK(bs.find(2) == nullptr);
  CHECK(bs.add(5, stmt(105), 3) == std::vector<uint32_t>{103});
  CHECK(bs.size() == 3);
  CHECK(bs.find(1)->backend_id == 101);
}

TEST_CASE("backend statements: a statement holding a cursor or long data is never closed") {
  BackendStatements bs;
  bs.add(1, stmt(101), 2);
  bs.find(1)->holds = 1;
  bs.add(2, stmt(102), 2);
  CHECK(bs.add(3, stmt(103), 2) == std::vector<uint32_t>{102});
  bs.find(3)->holds = 1;
  CHECK(bs.add(4, stmt(104), 2).empty());  // everything else holds: over the bound for now
  CHECK(bs.size() == 3);
  bs.find(1)->holds = 0;
  CHECK(bs.add(5, stmt(105), 2) == std::vector<uint32_t>{104, 101});  // 1 was used last
}

TEST_CASE("backend statements: preparing again replaces (and closes) the old backend id") {
  BackendStatements bs;
  bs.add(1, stmt(101), 8);
  CHECK(bs.add(1, stmt(201), 8) == std::vector<uint32_t>{101});
  CHECK(bs.find(1)->backend_id == 201);
  bs.erase(1);
  CHECK(bs.find(1) == nullptr);
  CHECK(bs.size() == 0);
}
