// Config loader: the sample config loads, defaults and per-server overrides apply, and
// every refusal names the JSON path of the offending key.
#include "sluice/config.h"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>

using nlohmann::json;
using sluice::Config;
using sluice::ConfigError;
using sluice::load_config_file;
using sluice::load_config_text;

namespace {

std::string source_path(const std::string& relative) {
#ifdef SLUICE_SOURCE_DIR
  return std::string(SLUICE_SOURCE_DIR) + "/" + relative;
#else
  for (std::string prefix : {"", "../", "../../"}) {
    if (std::ifstream(prefix + relative)) return prefix + relative;
  }
  return relative;
#endif
}

// The smallest valid config: one user, one writer.
json minimal() {
  return json::parse(R"({
    "users": [ { "username": "app", "password": "secret" } ],
    "servers": [ { "hostgroup": 10, "host": "db1" } ]
  })");
}

// The error message loading `j` produces, or "" when it loads.
std::string error_of(const json& j) {
  try {
    load_config_text(j.dump());
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

std::string error_of_text(const std::string& text) {
  try {
    load_config_text(text);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

bool starts_with(const std::string& s, const std::string& prefix) {
  return s.compare(0, prefix.size(), prefix) == 0;
}

// CHECK that loading `j` fails with a message starting with `prefix`; prints the message.
#define CHECK_REFUSED(j, prefix)                 \
  do {                                           \
    std::string message_ = error_of(j);          \
    INFO("message: ", message_);                 \
    CHECK(starts_with(message_, prefix));        \
  } while (0)

}  // namespace

TEST_CASE("config: the sample conf/sluice.json loads") {
  Config c = load_config_file(source_path("conf/sluice.json"));
  CHECK(c.workers == 0);
  CHECK(c.log_level == "info");
  CHECK(c.frontend.listen.address == "127.0.0.1");
  CHECK(c.frontend.listen.port == 6033);
  CHECK(c.admin.listen.port == 6032);
  CHECK(c.metrics.listen.port == 6070);
  CHECK(c.monitor.user == "monitor");
  CHECK(c.pool.max_connections == 64);
  CHECK(c.routing.writer_hostgroup == 10);
  CHECK(c.routing.reader_hostgroup == 20);
  CHECK(c.routing.reads_fallback_to_writer);
  REQUIRE(c.users.size() == 1);
  CHECK(c.users[0].username == "app");
  CHECK(c.users[0].backend_username == "app");
  CHECK(c.users[0].backend_password == "app");
  REQUIRE(c.servers.size() == 3);
  CHECK(c.servers[0].port == 13306);
  CHECK(c.servers[2].hostgroup == 20);
  CHECK(c.servers[2].pool.max_connections == 64);
}

TEST_CASE("config: missing keys keep the struct defaults") {
  Config c = load_config_text(minimal().dump());
  Config d;
  CHECK(c.workers == d.workers);
  CHECK(c.log_level == "info");
  CHECK(c.frontend.listen.port == 6033);
  CHECK(c.frontend.default_auth == "mysql_native_password");
  CHECK(c.frontend.max_packet_size == d.frontend.max_packet_size);
  CHECK(c.admin.user == "admin");
  CHECK(c.monitor.down_retry_ms == 1000);
  CHECK(c.pool.max_connections == 100);
  CHECK(c.pool.checkout_timeout_ms == 10000);
  REQUIRE(c.servers.size() == 1);
  CHECK(c.servers[0].port == 3306);
  CHECK(c.servers[0].weight == 1);
  CHECK(c.servers[0].pool.idle_timeout_ms == d.pool.idle_timeout_ms);
  CHECK(c.users[0].max_connections == 0);
}

TEST_CASE("config: a partial nested object keeps the other defaults") {
  json j = minimal();
  j["frontend"]["listen"] = {{"port", 7000}};
  Config c = load_config_text(j.dump());
  CHECK(c.frontend.listen.port == 7000);
  CHECK(c.frontend.listen.address == "127.0.0.1");
}

TEST_CASE("config: servers inherit the pool defaults and override them per key") {
  json j = minimal();
  j["pool"] = {{"max_connections", 50}, {"max_idle", 10}, {"max_lifetime_ms", 0}};
  j["servers"].push_back({{"hostgroup", 20}, {"host", "db2"}, {"max_connections", 5},
                          {"checkout_timeout_ms", 250}, {"weight", 3}});
  Config c = load_config_text(j.dump());
  CHECK(c.pool.max_connections == 50);
  CHECK(c.servers[0].pool.max_connections == 50);
  CHECK(c.servers[0].pool.max_idle == 10);
  CHECK(c.servers[0].pool.max_lifetime_ms == 0);
  CHECK(c.servers[1].pool.max_connections == 5);
  CHECK(c.servers[1].pool.max_idle == 10);
  CHECK(c.servers[1].pool.checkout_timeout_ms == 250);
  CHECK(c.servers[1].weight == 3);
  CHECK(c.pool.checkout_timeout_ms == 10000);  // the override stays on its server
}

TEST_CASE("config: pool.max_prepared_statements (default, per-server override, at least 1)") {
  json j = minimal();
  CHECK(load_config_text(j.dump()).pool.max_prepared_statements == 128);
  j["pool"] = {{"max_prepared_statements", 4}};
  j["servers"].push_back({{"hostgroup", 20}, {"host", "db2"}, {"max_prepared_statements", 1000}});
  Config c = load_config_text(j.dump());
  CHECK(c.pool.max_prepared_statements == 4);
  CHECK(c.servers[0].pool.max_prepared_statements == 4);
  CHECK(c.servers[1].pool.max_prepared_statements == 1000);
  j["pool"] = {{"max_prepared_statements", 0}};
  CHECK_REFUSED(j, "pool.max_prepared_statements: must be an integer between 1 and");
  j["pool"] = {{"max_prepared_statements", -3}};
  CHECK_REFUSED(j, "pool.max_prepared_statements: must be an integer between 1 and");
}

TEST_CASE("config: max_idle above max_connections is kept (effective cap is the minimum)") {
  json j = minimal();
  j["pool"] = {{"max_connections", 4}, {"max_idle", 10}};
  Config c = load_config_text(j.dump());
  CHECK(c.pool.max_idle == 10);
  CHECK(sluice::effective_max_idle(c.pool) == 4);
}

TEST_CASE("config: user credentials and hashes") {
  json j = minimal();
  std::string hash = "*" + std::string(40, 'a');
  j["users"].push_back({{"username", "h"}, {"password", hash}, {"backend_password", "pw"}});
  j["users"].push_back({{"username", "b"}, {"password", "x"}, {"backend_username", "svc"},
                        {"default_schema", "shop"}, {"max_connections", 7}});
  Config c = load_config_text(j.dump());
  CHECK(c.users[1].password == hash);
  CHECK(c.users[1].backend_username == "h");
  CHECK(c.users[1].backend_password == "pw");
  CHECK(c.users[2].backend_username == "svc");
  CHECK(c.users[2].backend_password == "x");
  CHECK(c.users[2].default_schema == "shop");
  CHECK(c.users[2].max_connections == 7);

  SUBCASE("upper-case hex is a hash too") {
    json k = minimal();
    k["users"][0]["password"] = "*" + std::string(40, 'F');
    CHECK_REFUSED(k, "users[0].password: a \"*HEX\" hash needs backend_password");
  }
  SUBCASE("a '*' password of another length is plain text") {
    json k = minimal();
    k["users"][0]["password"] = "*short";
    CHECK(load_config_text(k.dump()).users[0].backend_password == "*short");
  }
}

TEST_CASE("config: unknown keys are refused with a suggestion") {
  json j = minimal();
  j["pool"] = {{"max_connectons", 5}};
  CHECK_REFUSED(j, "pool.max_connectons: unknown key (did you mean \"max_connections\"?)");

  j = minimal();
  j["servers"][0]["prot"] = 3307;
  CHECK_REFUSED(j, "servers[0].prot: unknown key (did you mean \"port\"?)");

  j = minimal();
  j["frontend"] = {{"listen", {{"adress", "0.0.0.0"}}}};
  CHECK_REFUSED(j, "frontend.listen.adress: unknown key (did you mean \"address\"?)");

  j = minimal();
  j["zzz"] = 1;
  CHECK_REFUSED(j, "zzz: unknown key (known keys: workers, log_level,");
}

TEST_CASE("config: wrong JSON types are refused, without conversion") {
  json j = minimal();
  j["frontend"] = {{"listen", {{"port", "6033"}}}};
  CHECK_REFUSED(j, "frontend.listen.port: must be an integer between 1 and 65535");

  j = minimal();
  j["frontend"] = {{"listen", {{"address", 127}}}};
  CHECK_REFUSED(j, "frontend.listen.address: must be a string");

  j = minimal();
  j["routing"] = {{"reads_fallback_to_writer", 1}};
  CHECK_REFUSED(j, "routing.reads_fallback_to_writer: must be true or false");

  j = minimal();
  j["routing"] = {{"reads_fallback_to_writer", "true"}};
  CHECK_REFUSED(j, "routing.reads_fallback_to_writer: must be true or false");

  j = minimal();
  j["workers"] = 2.0;
  CHECK_REFUSED(j, "workers: must be an integer between 0 and 256");

  j = minimal();
  j["pool"] = json::array();
  CHECK_REFUSED(j, "pool: must be an object");

  j = minimal();
  j["users"] = json::object();
  CHECK_REFUSED(j, "users: must be an array");

  j = minimal();
  j["admin"] = {{"password", nullptr}};
  CHECK_REFUSED(j, "admin.password: must be a string");

  CHECK(starts_with(error_of_text("[1]"), "(top level): must be an object"));
}

TEST_CASE("config: ranges") {
  json j = minimal();
  j["servers"].push_back({{"hostgroup", 20}, {"host", "db2"}, {"port", 70000}});
  CHECK_REFUSED(j, "servers[1].port: must be an integer between 1 and 65535");

  j = minimal();
  j["servers"][0]["port"] = 0;
  CHECK_REFUSED(j, "servers[0].port: must be an integer between 1 and 65535");

  j = minimal();
  j["workers"] = 257;
  CHECK_REFUSED(j, "workers: must be an integer between 0 and 256");
  j["workers"] = 256;
  CHECK(error_of(j).empty());

  j = minimal();
  j["pool"] = {{"max_connections", 0}};
  CHECK_REFUSED(j, "pool.max_connections: must be an integer between 1 and");

  j = minimal();
  j["servers"][0]["max_connections"] = 0;
  CHECK_REFUSED(j, "servers[0].max_connections: must be an integer between 1 and");

  j = minimal();
  j["pool"] = {{"max_connections", 4}, {"min_idle", 5}};
  CHECK_REFUSED(j, "pool.min_idle: must not exceed max_connections (4)");

  j = minimal();
  j["pool"] = {{"min_idle", 8}};
  j["servers"][0]["max_connections"] = 4;
  CHECK_REFUSED(j, "servers[0].max_connections: must be at least min_idle (8");

  j = minimal();
  j["servers"][0]["weight"] = 0;
  CHECK_REFUSED(j, "servers[0].weight: must be an integer between 1 and");

  j = minimal();
  j["pool"] = {{"idle_timeout_ms", 4294967296LL}};
  CHECK_REFUSED(j, "pool.idle_timeout_ms: must be an integer between 0 and 4294967295");

  j = minimal();
  j["monitor"] = {{"down_retry_ms", -1}};
  CHECK_REFUSED(j, "monitor.down_retry_ms: must be an integer between 0 and 4294967295");
}

TEST_CASE("config: enumerations") {
  json j = minimal();
  j["log_level"] = "warning";
  CHECK_REFUSED(j, "log_level: must be one of debug, info, warn, error");
  CHECK(error_of(j).find("did you mean \"warn\"") != std::string::npos);

  j = minimal();
  j["frontend"] = {{"default_auth", "sha256_password"}};
  CHECK_REFUSED(j, "frontend.default_auth: must be one of mysql_native_password, "
                   "caching_sha2_password");

  j = minimal();
  j["frontend"] = {{"default_auth", "caching_sha2_password"}, {"server_version", "8.0.36"}};
  CHECK(load_config_text(j.dump()).frontend.default_auth == "caching_sha2_password");

  j = minimal();
  j["frontend"] = {{"server_version", "sluice"}};
  CHECK_REFUSED(j, "frontend.server_version: must start with a version number");
}

TEST_CASE("config: users") {
  json j = minimal();
  j["users"][0].erase("username");
  CHECK_REFUSED(j, "users[0].username: required key is missing");

  j = minimal();
  j["users"][0]["username"] = "";
  CHECK_REFUSED(j, "users[0].username: must not be empty");

  j = minimal();
  j["users"].push_back({{"username", "app"}});
  CHECK_REFUSED(j, "users[1].username: \"app\" is already defined by users[0]");

  j = minimal();
  j["users"][0]["password"] = "*" + std::string(40, 'A');
  CHECK_REFUSED(j, "users[0].password: a \"*HEX\" hash needs backend_password, because a hash "
                   "cannot log in to a backend");

  j = minimal();
  j["users"][0]["password"] = "*" + std::string(39, 'A') + "G";
  CHECK_REFUSED(j, "users[0].password: 41 characters starting with \"*\" is a \"*HEX\" hash");

  j = minimal();
  j["users"][0]["backend_password"] = "*" + std::string(40, '0');
  CHECK_REFUSED(j, "users[0].backend_password: must be the plain-text password");

  j = minimal();
  j["users"] = json::array();
  CHECK_REFUSED(j, "users: at least one user is required");

  j = minimal();
  j.erase("users");
  CHECK_REFUSED(j, "users: at least one user is required");
}

TEST_CASE("config: servers and hostgroups") {
  json j = minimal();
  j["servers"][0].erase("host");
  CHECK_REFUSED(j, "servers[0].host: required key is missing");

  j = minimal();
  j["servers"][0].erase("hostgroup");
  CHECK_REFUSED(j, "servers[0].hostgroup: required key is missing");

  j = minimal();
  j["servers"] = json::array();
  CHECK_REFUSED(j, "servers: at least one server is required");

  j = minimal();
  j["servers"].push_back({{"hostgroup", 20}, {"host", "db2"}, {"port", 3307}});
  j["servers"].push_back({{"hostgroup", 20}, {"host", "db2"}, {"port", 3307}});
  CHECK_REFUSED(j, "servers[2]: same hostgroup, host and port as servers[1]");

  j = minimal();
  j["servers"][0]["hostgroup"] = 20;
  CHECK_REFUSED(j, "servers: no server in the writer hostgroup");

  // Other hostgroups are allowed (query rules send statements there).
  j = minimal();
  j["servers"].push_back({{"hostgroup", 30}, {"host", "db3"}});
  CHECK(load_config_text(j.dump()).servers.size() == 2);

  // With a replication pair the monitor finds the writer by read_only.
  j = minimal();
  j["servers"][0]["hostgroup"] = 20;
  j["replication_hostgroups"] = json::array({{{"writer_hostgroup", 10}, {"reader_hostgroup", 20}}});
  CHECK(load_config_text(j.dump()).replication_hostgroups.size() == 1);
  j["replication_hostgroups"][0]["reader_hostgroup"] = 10;
  CHECK_REFUSED(j, "replication_hostgroups[0].reader_hostgroup: must differ from writer_hostgroup (10)");

  j = minimal();
  j["routing"] = {{"reader_hostgroup", 10}};
  CHECK_REFUSED(j, "routing.reader_hostgroup: must differ from routing.writer_hostgroup (10)");

  j = minimal();  // the same host in both hostgroups is fine
  j["servers"].push_back({{"hostgroup", 20}, {"host", "db1"}});
  j["routing"] = {{"writer_hostgroup", 10}, {"reader_hostgroup", 20},
                  {"reads_fallback_to_writer", false}};
  Config c = load_config_text(j.dump());
  CHECK(c.servers.size() == 2);
  CHECK_FALSE(c.routing.reads_fallback_to_writer);
}

TEST_CASE("config: listeners must not share a port") {
  json j = minimal();
  j["admin"] = {{"listen", {{"port", 6033}}}};
  CHECK_REFUSED(j, "admin.listen.port: port 6033 is already used by frontend.listen");

  j = minimal();
  j["admin"] = {{"listen", {{"address", "10.0.0.1"}, {"port", 6033}}}};
  CHECK(error_of(j).empty());
}

TEST_CASE("config: JSON syntax errors give line and column") {
  std::string text = "{\n  \"workers\": 1,\n  \"log_level\": }\n";
  std::string message = error_of_text(text);
  INFO(message);
  CHECK(starts_with(message, "line 3, column 16: "));
  CHECK(message.find("unexpected '}'") != std::string::npos);
  CHECK(message.find("json.exception") == std::string::npos);

  CHECK(starts_with(error_of_text(""), "line 1, column 1: "));
  CHECK(starts_with(error_of_text("{\"workers\": 1, // comment\n}"), "line 1, column 16: "));
}

TEST_CASE("config: a key given twice is refused") {
  std::string text = R"({"users": [{"username": "a"}, {"username": "b", "username": "c"}]})";
  CHECK(starts_with(error_of_text(text), "users[1].username: key is given twice"));
  CHECK(starts_with(error_of_text(R"({"pool": {}, "pool": {}})"), "pool: key is given twice"));
}

TEST_CASE("config: file errors name the file") {
  std::string missing = "/nonexistent/sluice.json";
  CHECK_THROWS_WITH_AS(load_config_file(missing),
                       "/nonexistent/sluice.json: cannot open: No such file or directory",
                       ConfigError);

  std::string dir = source_path("conf");
  CHECK_THROWS_AS(load_config_file(dir), ConfigError);

  std::string path = "/tmp/sluice_test_config_" + std::to_string(::getpid()) + ".json";
  std::ofstream(path) << "{\n  \"workers\": 1,\n  oops\n}\n";
  try {
    load_config_file(path);
    FAIL("expected a ConfigError");
  } catch (const ConfigError& e) {
    CHECK(std::string(e.what()).rfind(path + ": line 3, column 3: ", 0) == 0);
  }
  std::remove(path.c_str());
}

TEST_CASE("config: suggestions ignore case and accept a prefix") {
  json j = minimal();
  j["Workers"] = 1;
  CHECK_REFUSED(j, "Workers: unknown key (did you mean \"workers\"?)");
  j = minimal();
  j["pool"] = {{"max_conn", 1}};
  CHECK_REFUSED(j, "pool.max_conn: unknown key (did you mean \"max_connections\"?)");
}

TEST_CASE("config: query rules") {
  json j = minimal();
  j["query_rules"] = json::array({{{"rule_id", 1}, {"active", true}, {"match_pattern", "^SELECT.*FOR UPDATE$"},
                                   {"destination_hostgroup", 10}, {"apply", true}},
                                  {{"rule_id", 2}, {"active", true}, {"match_digest", "^SELECT"},
                                   {"destination_hostgroup", 20}, {"OK_msg", nullptr}, {"flagOUT", 5}}});
  Config c = load_config_text(j.dump());
  REQUIRE(c.query_rules.size() == 2);
  CHECK(c.query_rules[0].destination_hostgroup == 10u);
  CHECK(c.query_rules[0].apply);
  CHECK(!c.query_rules[1].ok_msg);
  CHECK(c.query_rules[1].flag_out == 5u);
  CHECK(c.query_rules[1].re_modifiers == "CASELESS");

  j["query_rules"][1]["rule_id"] = 1;
  CHECK_REFUSED(j, "query_rules[1].rule_id: 1 is already used by query_rules[0]");
  j["query_rules"][1]["rule_id"] = 2;
  j["query_rules"][1]["match_pattern"] = "^SELECT (";
  CHECK_REFUSED(j, "query_rules[1].match_pattern: invalid regular expression");
  j["query_rules"][1]["match_pattern"] = "";
  j["query_rules"][1]["destination_hostgroup"] = 99;
  CHECK_REFUSED(j, "query_rules[1].destination_hostgroup: hostgroup 99 has no servers");
  j["query_rules"][1]["destination_hostgroup"] = 20;
  j["query_rules"][1]["digest"] = "12";
  CHECK_REFUSED(j, "query_rules[1].digest: must be \"0x\" followed by 16 hex digits");
  j["query_rules"][1]["digest"] = "0x0123456789abcdef";
  j["query_rules"][1]["re_modifiers"] = "CASELESS,MULTILINE";
  CHECK_REFUSED(j, "query_rules[1].re_modifiers: unknown modifier \"MULTILINE\"");
  j["query_rules"][1]["re_modifiers"] = "caseless,global";
  j["query_rules"][1]["flagIN"] = -1;
  CHECK_REFUSED(j, "query_rules[1].flagIN: must be an integer");
}

TEST_CASE("config: ProxySQL columns on servers and users") {
  json j = minimal();
  j["servers"][0]["status"] = "OFFLINE_SOFT";
  j["servers"][0]["max_replication_lag"] = 5;
  j["servers"][0]["comment"] = "primary";
  j["users"][0]["active"] = false;
  j["users"][0]["default_hostgroup"] = 10;
  Config c = load_config_text(j.dump());
  CHECK(c.servers[0].status == sluice::ServerStatus::kOfflineSoft);
  CHECK(c.servers[0].max_replication_lag == 5);
  CHECK(!c.users[0].active);
  CHECK(c.users[0].default_hostgroup == 10u);
  j["servers"][0]["status"] = "DOWN";
  CHECK_REFUSED(j, "servers[0].status: must be one of ONLINE, SHUNNED, OFFLINE_SOFT, OFFLINE_HARD");
  j["servers"][0]["status"] = "ONLINE";
  j["servers"][0]["use_ssl"] = true;
  CHECK_REFUSED(j, "servers[0].use_ssl: TLS to backends is not supported yet");
  j["servers"][0].erase("use_ssl");
  j["users"][0]["default_hostgroup"] = 77;
  CHECK_REFUSED(j, "users[0].default_hostgroup: hostgroup 77 has no servers");
}
