// Admin tables <-> Config: a config written into the memory tables reads back equal, edits
// made with SQL reach the Config, and every refusal names the table row or variable.
#include <doctest/doctest.h>

#include "sluice/admin.h"

using namespace sluice;
using namespace sluice::admin;

namespace {

Config sample() {
  return load_config_text(R"({
    "workers": 2,
    "admin": {"listen": {"address": "127.0.0.1", "port": 7032}, "user": "adm", "password": "pw"},
    "pool": {"max_connections": 30, "max_idle": 10},
    "routing": {"writer_hostgroup": 10, "reader_hostgroup": 20},
    "users": [
      {"username": "app", "password": "app", "default_hostgroup": 10, "default_schema": "shop", "comment": "c"},
      {"username": "h", "password": "*0123456789ABCDEF0123456789ABCDEF01234567", "backend_password": "x"}
    ],
    "servers": [
      {"hostgroup": 10, "host": "db1", "port": 3306, "max_idle": 5, "comment": "primary"},
      {"hostgroup": 20, "host": "db2", "port": 3307, "status": "OFFLINE_SOFT", "max_replication_lag": 3}
    ],
    "query_rules": [
      {"rule_id": 2, "active": true, "match_pattern": "^SELECT", "destination_hostgroup": 20, "apply": true},
      {"rule_id": 1, "active": true, "match_pattern": "^SELECT.*FOR UPDATE$", "destination_hostgroup": 10,
       "apply": true, "error_msg": null, "flagOUT": 3, "re_modifiers": ""}
    ],
    "replication_hostgroups": [{"writer_hostgroup": 10, "reader_hostgroup": 20, "comment": "pair"}]
  })");
}

const Module kAll[] = {Module::kMysqlServers, Module::kMysqlUsers, Module::kMysqlQueryRules, Module::kMysqlVariables,
                       Module::kAdminVariables};

std::string error_of(Database& db, Module m, const Config& base) {
  try {
    config_with_tables(db, m, base);
  } catch (const AdminError& e) {
    return e.what();
  }
  return "";
}

void sql(Database& db, const std::string& text) {
  Outcome o = db.run(text);
  INFO(o.message);
  REQUIRE_FALSE(o.error);
}

}  // namespace

TEST_CASE("tables <-> config: every module round-trips") {
  Config c = sample();
  Database db(c.pool);
  for (Module m : kAll) write_tables(db, m, Layer::kMemory, c);
  for (Module m : kAll) {
    CAPTURE(module_name(m));
    Config back = config_with_tables(db, m, Config(c));
    // Query rules come back in rule_id order; the loader keeps any order.
    if (m == Module::kMysqlQueryRules) {
      REQUIRE(back.query_rules.size() == 2);
      CHECK(back.query_rules[0] == c.query_rules[1]);
      CHECK(back.query_rules[1] == c.query_rules[0]);
      back.query_rules = c.query_rules;
    }
    if (m == Module::kMysqlUsers) {  // ordered by username
      CHECK(back.users == c.users);
    }
    CHECK(back == c);
  }
}

TEST_CASE("tables <-> config: SQL edits reach the config, ProxySQL's NULLs and defaults apply") {
  Config c = sample();
  Database db(c.pool);
  for (Module m : kAll) write_tables(db, m, Layer::kMemory, c);
  sql(db, "INSERT INTO mysql_servers (hostgroup_id, hostname, port) VALUES (20, 'db3', 3308)");
  sql(db, "UPDATE mysql_servers SET status='shunned', max_connections=7 WHERE hostname='db2'");
  sql(db, "INSERT INTO mysql_users (username, password) VALUES ('new', 'pw')");
  sql(db, "INSERT INTO mysql_query_rules (rule_id, active, username, match_digest, apply) VALUES (5, 1, 'app', '^INSERT', 0)");
  sql(db, "UPDATE global_variables SET variable_value='false' WHERE variable_name='mysql-reads_fallback_to_writer'");
  sql(db, "UPDATE global_variables SET variable_value='root:secret' WHERE variable_name='admin-admin_credentials'");

  Config s = config_with_tables(db, Module::kMysqlServers, c);
  REQUIRE(s.servers.size() == 3);
  CHECK(s.servers[1].status == ServerStatus::kShunned);
  CHECK(s.servers[1].pool.max_connections == 7);
  CHECK(s.servers[2].host == "db3");
  CHECK(s.servers[2].pool == c.pool);  // the column DEFAULTs are the config's pool section

  Config u = config_with_tables(db, Module::kMysqlUsers, c);
  REQUIRE(u.users.size() == 3);
  const UserConfig& n = u.users[2];  // ordered by username
  CHECK(n.username == "new");
  CHECK(n.backend_username == "new");  // NULL backend_* = the frontend credentials
  CHECK(n.backend_password == "pw");
  CHECK_FALSE(n.default_hostgroup.has_value());
  CHECK(n.max_connections == 10000);  // ProxySQL's default
  CHECK(u.users[1].backend_password == "x");

  Config r = config_with_tables(db, Module::kMysqlQueryRules, c);
  REQUIRE(r.query_rules.size() == 3);
  CHECK(r.query_rules[2].rule_id == 5);
  CHECK(r.query_rules[2].username == "app");
  CHECK(r.query_rules[2].re_modifiers == "CASELESS");
  CHECK_FALSE(r.query_rules[2].destination_hostgroup.has_value());

  Config v = config_with_tables(db, Module::kMysqlVariables, c);
  CHECK_FALSE(v.routing.reads_fallback_to_writer);
  Config a = config_with_tables(db, Module::kAdminVariables, c);
  CHECK(a.admin.user == "root");
  CHECK(a.admin.password == "secret");
}

TEST_CASE("tables -> config: refusals name the row and the column") {
  Config c = sample();
  Database db(c.pool);
  for (Module m : kAll) write_tables(db, m, Layer::kMemory, c);

  sql(db, "UPDATE mysql_query_rules SET match_pattern='^SELECT (' WHERE rule_id=2");
  CHECK(error_of(db, Module::kMysqlQueryRules, c).starts_with(
      "mysql_query_rules rule_id 2: match_pattern: invalid regular expression: missing )"));
  sql(db, "UPDATE mysql_query_rules SET match_pattern='^SELECT', destination_hostgroup=30 WHERE rule_id=2");
  CHECK(error_of(db, Module::kMysqlQueryRules, c) ==
        "mysql_query_rules rule_id 2: destination_hostgroup: hostgroup 30 has no servers and is not a replication "
        "hostgroup");
  sql(db, "UPDATE mysql_query_rules SET destination_hostgroup=20, cache_ttl=100 WHERE rule_id=2");
  CHECK(error_of(db, Module::kMysqlQueryRules, c) ==
        "mysql_query_rules rule_id 2: cache_ttl: the query cache is not supported (must be NULL, got 100)");

  sql(db, "INSERT INTO mysql_servers (hostgroup_id, hostname, port, weight) VALUES (30, '127.0.0.1', 1, 0)");
  CHECK(error_of(db, Module::kMysqlServers, c) ==
        "mysql_servers row hostgroup 30 127.0.0.1:1: weight: must be an integer between 1 and 1000000 (got 0)");
  sql(db, "UPDATE mysql_servers SET weight=1, use_ssl=1 WHERE hostgroup_id=30");
  CHECK(error_of(db, Module::kMysqlServers, c) ==
        "mysql_servers row hostgroup 30 127.0.0.1:1: use_ssl: TLS to backends is not supported yet; must be false");
  sql(db, "DELETE FROM mysql_servers WHERE hostgroup_id=10");
  sql(db, "DELETE FROM mysql_servers WHERE hostgroup_id=30");
  sql(db, "DELETE FROM mysql_replication_hostgroups");
  CHECK(error_of(db, Module::kMysqlServers, c) ==
        "mysql_servers: no server in the writer hostgroup (mysql-writer_hostgroup = 10); at least one is required");

  sql(db, "UPDATE mysql_users SET fast_forward=1 WHERE username='app'");
  CHECK(error_of(db, Module::kMysqlUsers, c) ==
        "mysql_users username 'app': fast_forward: fast_forward is not supported (must be 0, got 1)");
  sql(db, "UPDATE mysql_users SET fast_forward=0, transaction_persistent=0 WHERE username='app'");
  CHECK(error_of(db, Module::kMysqlUsers, c).starts_with("mysql_users username 'app': transaction_persistent: must be true"));

  sql(db, "UPDATE global_variables SET variable_value='5' WHERE variable_name='mysql-monitor_ping_interval'");
  CHECK(error_of(db, Module::kMysqlVariables, c) ==
        "global_variables mysql-monitor_ping_interval: must be an integer between 100 and 4294967295 (got 5)");
  sql(db, "UPDATE global_variables SET variable_value='x' WHERE variable_name='mysql-monitor_ping_interval'");
  CHECK(error_of(db, Module::kMysqlVariables, c) ==
        "global_variables mysql-monitor_ping_interval: must be an integer (got 'x')");
  sql(db, "UPDATE global_variables SET variable_value='1000' WHERE variable_name='mysql-monitor_ping_interval'");
  sql(db, "INSERT INTO global_variables VALUES ('mysql-query_retries_on_failure', '1')");
  CHECK(error_of(db, Module::kMysqlVariables, c) ==
        "global_variables mysql-query_retries_on_failure: unknown variable (Sluice does not implement it)");
}

TEST_CASE("variables that only change at start are named when they differ") {
  Config running = sample();
  Config next = running;
  CHECK(static_variables_changed(Module::kMysqlVariables, running, next).empty());
  next.workers = 4;
  next.frontend.listen.port = 9999;
  next.monitor.ping_interval_ms = 500;  // changes at run time: not named
  std::string err = static_variables_changed(Module::kMysqlVariables, running, next);
  CHECK(err.find("mysql-threads (running: 2, memory: 4)") != std::string::npos);
  CHECK(err.find("mysql-interfaces (running: 127.0.0.1:6033, memory: 127.0.0.1:9999)") != std::string::npos);
  CHECK(err.find("monitor") == std::string::npos);
  CHECK(static_variables_changed(Module::kAdminVariables, running, next).empty());
}

TEST_CASE("apply errors with config paths are told in table terms") {
  Config c = sample();
  std::string json = config_to_json(c);
  CHECK(describe_config_error("servers[1].port: must be between 1 and 65535", json) ==
        "mysql_servers row hostgroup 20 db2:3307: port: must be between 1 and 65535");
  CHECK(describe_config_error("users[0]: same as users[1]", json) == "mysql_users username 'app': same as mysql_users username 'h'");
  CHECK(describe_config_error("frontend.listen.port: port 1 is already used by admin.listen", json) ==
        "global_variables mysql-interfaces: port 1 is already used by admin-mysql_ifaces");
  CHECK(describe_config_error("something else", json) == "something else");
}

TEST_CASE("Database::run: result types, errors as MySQL errors") {
  Database db(PoolLimits{});
  Outcome o = db.run("SELECT 1, 2.5, 'x', NULL, hostgroup_id FROM mysql_servers");
  REQUIRE(o.has_rows);
  CHECK(o.rs.columns == std::vector<std::string>{"1", "2.5", "'x'", "NULL", "hostgroup_id"});
  CHECK(o.rs.rows.empty());
  CHECK(o.rs.types[4] == ColumnType::kInteger);  // declared INT, no rows
  o = db.run("SELECT 1, 2.5, 'x', NULL");
  REQUIRE(o.rs.rows.size() == 1);
  CHECK(o.rs.types[0] == ColumnType::kInteger);
  CHECK(o.rs.types[1] == ColumnType::kReal);
  CHECK(o.rs.types[2] == ColumnType::kText);
  CHECK_FALSE(o.rs.rows[0][3].has_value());
  CHECK(db.run("SELECT * FROM nope").code == 1146);
  CHECK(db.run("SELEKT 1").code == 1064);
  CHECK(db.run("SELECT nope FROM mysql_servers").code == 1054);
  CHECK(db.run("INSERT INTO mysql_servers (hostname, status) VALUES ('h', 'BROKEN')").code == 4025);
  o = db.run("INSERT INTO mysql_servers (hostname) VALUES ('h')");
  CHECK(o.affected_rows == 1);
  CHECK(db.run("INSERT INTO mysql_servers (hostname) VALUES ('h')").code == 1062);
}
