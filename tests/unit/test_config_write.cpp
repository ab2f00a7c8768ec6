// config_to_json: what SAVE ... TO DISK writes loads back as the same Config, every field.
#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "sluice/config.h"

using namespace sluice;

namespace {

// Every field differs from its default, so a key the writer forgets shows up as a diff.
Config everything_set() {
  Config c;
  c.workers = 3;
  c.log_level = "debug";
  c.query_digests = false;
  c.frontend.listen = {"0.0.0.0", 7033};
  c.frontend.server_version = "8.0.36-sluice";
  c.frontend.default_auth = "caching_sha2_password";
  c.frontend.max_client_connections = 1234;
  c.frontend.max_packet_size = 65536;
  c.admin.listen = {"127.0.0.2", 7032};
  c.admin.user = "root";
  c.admin.password = "s3cret";
  c.metrics.listen = {"127.0.0.3", 7070};
  c.monitor = {"mon", "monpw", 11, 1100, 1200, 1300, 1400, 3, 1500};
  c.pool = {50, 40, 2, 1000, 2000, 300, 400, 64};
  c.routing = {1, 2, false, "global", 25, 750};

  ServerConfig w;
  w.hostgroup = 1;
  w.host = "db-writer";
  w.port = 3307;
  w.weight = 7;
  w.status = ServerStatus::kOfflineSoft;
  w.max_replication_lag = 9;
  w.comment = "the primary";
  w.pool = {20, 10, 1, 500, 600, 700, 800, 9};
  ServerConfig r = w;
  r.hostgroup = 2;
  r.host = "db-reader";
  r.status = ServerStatus::kShunned;
  r.pool = c.pool;
  c.servers = {w, r};

  UserConfig u;
  u.username = "app";
  u.password = "*0123456789ABCDEF0123456789ABCDEF01234567";
  u.backend_username = "app_backend";
  u.backend_password = "plain";
  u.default_schema = "shop";
  u.max_connections = 77;
  u.active = false;
  u.default_hostgroup = 2;
  u.comment = "hashed";
  UserConfig same;  // backend credentials equal to the frontend ones: not written
  same.username = "other";
  same.password = "pw";
  same.backend_username = "other";
  same.backend_password = "pw";
  c.users = {u, same};

  QueryRuleConfig q;
  q.rule_id = 5;
  q.active = true;
  q.username = "app";
  q.schemaname = "shop";
  q.flag_in = 3;
  q.client_addr = "10.0.0.%";
  q.digest = "0x0123456789ABCDEF";
  q.match_digest = "^SELECT";
  q.match_pattern = "FOR UPDATE$";
  q.negate_match_pattern = true;
  q.re_modifiers = "CASELESS,GLOBAL";
  q.flag_out = 4;
  q.replace_pattern = "x";
  q.destination_hostgroup = 1;
  q.timeout_ms = 900;
  q.error_msg = "no";
  q.ok_msg = "fine";
  q.multiplex = 0;
  q.apply = true;
  q.comment = "all set";
  QueryRuleConfig bare;  // optional columns left NULL
  bare.rule_id = 6;
  c.query_rules = {q, bare};

  c.replication_hostgroups = {{1, 2, "innodb_read_only", "pair"}};
  return c;
}

}  // namespace

TEST_CASE("config_to_json round-trips a config with every field set") {
  Config c = everything_set();
  validate_config(c);
  std::string text = config_to_json(c);
  Config back = load_config_text(text);
  CHECK(back == c);
  CHECK(config_to_json(back) == text);
}

TEST_CASE("config_to_json writes backend credentials only where they differ") {
  auto j = nlohmann::json::parse(config_to_json(everything_set()));
  CHECK(j["users"][0].contains("backend_username"));
  CHECK(j["users"][0].contains("backend_password"));
  CHECK_FALSE(j["users"][1].contains("backend_username"));
  CHECK_FALSE(j["users"][1].contains("backend_password"));
  CHECK(j["query_rules"][1]["destination_hostgroup"].is_null());
}

TEST_CASE("config_to_json round-trips the defaults") {
  Config c = load_config_text(R"({"users":[{"username":"a","password":"b"}],
                                  "servers":[{"hostgroup":10,"host":"h"}]})");
  CHECK(load_config_text(config_to_json(c)) == c);
}
