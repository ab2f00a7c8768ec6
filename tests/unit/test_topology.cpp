// Topology: applying configs at run time, hostgroup placement by read_only.
#include <doctest/doctest.h>

#include "sluice/config.h"
#include "sluice/topology.h"

using namespace sluice;

namespace {

Config base() {
  return load_config_text(R"({
    "users": [ { "username": "app", "password": "app" } ],
    "pool": { "max_connections": 10 },
    "replication_hostgroups": [ { "writer_hostgroup": 10, "reader_hostgroup": 20 } ],
    "servers": [
      { "hostgroup": 10, "host": "db1", "port": 3306 },
      { "hostgroup": 20, "host": "db2", "port": 3306 },
      { "hostgroup": 20, "host": "db3", "port": 3306, "max_connections": 4 }
    ]
  })");
}

std::vector<std::string> names(const RoutingTable& t, uint32_t hg) {
  std::vector<std::string> out;
  if (const Hostgroup* g = t.find(hg))
    for (Server* s : g->servers) out.push_back(s->name);
  return out;
}

}  // namespace

TEST_CASE("topology: hostgroups and limits from the config") {
  Topology topo(base(), 2);
  auto t = topo.table();
  CHECK(names(*t, 10) == std::vector<std::string>{"db1:3306"});
  CHECK(names(*t, 20) == std::vector<std::string>{"db2:3306", "db3:3306"});
  CHECK(topo.servers().size() == 3);
  CHECK(topo.servers()[2]->pool.stats().max_open == 4);
  CHECK(t->find_user("app") != nullptr);
  CHECK(t->find_user("nobody") == nullptr);
}

TEST_CASE("topology: apply keeps servers, drains removed ones, changes limits") {
  Topology topo(base(), 2);
  Server* db2 = topo.servers()[1];
  uint64_t v = topo.version();
  Config next = base();
  next.servers.erase(next.servers.begin() + 2);  // db3 removed
  next.servers[1].pool.max_connections = 7;
  next.servers[1].weight = 5;
  ServerConfig db4;
  db4.hostgroup = 30;
  db4.host = "db4";
  next.servers.push_back(db4);
  CHECK(topo.apply(next).empty());
  CHECK(topo.version() > v);
  auto t = topo.table();
  CHECK(names(*t, 20) == std::vector<std::string>{"db2:3306"});
  CHECK(names(*t, 30) == std::vector<std::string>{"db4:3306"});
  CHECK(topo.servers()[1] == db2);  // same object: its pool and connections survive
  CHECK(db2->pool.stats().max_open == 7);
  CHECK(db2->weight == 5);
  Server* db3 = topo.servers()[2];
  CHECK_FALSE(db3->configured);
  CHECK(db3->draining());
  CHECK_FALSE(db3->usable(0));
  // Users keep their connection counter across tables.
  auto before = t->find_user("app")->connections;
  CHECK(topo.apply(next).empty());
  CHECK(topo.table()->find_user("app")->connections == before);
}

TEST_CASE("topology: read_only moves servers of a replication pair (promotion)") {
  Topology topo(base(), 1);
  Server* db1 = topo.servers()[0];
  Server* db2 = topo.servers()[1];
  CHECK_FALSE(topo.on_read_only(db1, 0));  // as configured: no change
  CHECK_FALSE(topo.on_read_only(db2, 1));
  CHECK(topo.failovers == 0);
  // Promotion: old primary read-only first, then the replica writable.
  CHECK(topo.on_read_only(db1, 1));
  CHECK(names(*topo.table(), 10).empty());  // no writer for a moment: writes wait
  CHECK(topo.on_read_only(db2, 0));
  auto t = topo.table();
  CHECK(names(*t, 10) == std::vector<std::string>{"db2:3306"});
  CHECK(names(*t, 20) == std::vector<std::string>{"db1:3306", "db3:3306"});
  CHECK(topo.failovers == 2);
  CHECK(db2->hostgroup == 10);
}

TEST_CASE("topology: servers outside replication pairs stay where configured") {
  Config c = base();
  c.replication_hostgroups.clear();
  Topology topo(c, 1);
  CHECK_FALSE(topo.on_read_only(topo.servers()[0], 1));
  CHECK(names(*topo.table(), 10) == std::vector<std::string>{"db1:3306"});
}

TEST_CASE("pool: lowering max_connections closes the excess on release, raising grants waiters") {
  Pool p(2, 2, 1);
  auto a = p.acquire(0, "u", 1, 0);
  auto b = p.acquire(0, "u", 2, 0);
  auto c = p.acquire(0, "u", 3, 0);
  CHECK(a.kind == Pool::Acquired::kConnect);
  CHECK(b.kind == Pool::Acquired::kConnect);
  CHECK(c.kind == Pool::Acquired::kQueued);
  auto grants = p.set_limits(3, 3, 0);
  REQUIRE(grants.size() == 1);
  CHECK(grants[0].token == 3);
  CHECK(p.stats().open == 3);
  CHECK(p.set_limits(1, 1, 0).empty());
  PooledConn conn;
  conn.identity = "u";
  auto r = p.release(&conn, 0, 0, 0);
  CHECK(r.close);
  CHECK(p.stats().open == 2);
  CHECK_FALSE(p.closed(CloseReason::kError, 0));
  CHECK(p.stats().open == 1);
}

TEST_CASE("topology: an apply keeps the rule set and users it did not change") {
  Config c = base();
  QueryRuleConfig r;
  r.rule_id = 1;
  r.active = true;
  r.match_pattern = "^SELECT";
  r.destination_hostgroup = 20;
  c.query_rules.push_back(r);
  Topology topo(c, 1);
  auto rules = topo.table()->rules;
  auto user = topo.table()->find_user("app");
  REQUIRE(rules != nullptr);
  c.servers[1].weight = 7;  // LOAD MYSQL SERVERS: rules (and their hit counters) stay
  CHECK(topo.apply(c).empty());
  CHECK(topo.table()->rules == rules);
  CHECK(topo.table()->find_user("app") == user);
  c.query_rules[0].match_pattern = "^SHOW";  // LOAD MYSQL QUERY RULES: a new set
  CHECK(topo.apply(c).empty());
  CHECK(topo.table()->rules != rules);
  c.routing.read_your_writes = "global";
  CHECK(topo.apply(c).empty());
  CHECK(topo.table()->read_your_writes == ReadYourWrites::kGlobal);
}
