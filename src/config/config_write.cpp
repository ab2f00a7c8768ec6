// config_to_json(): a Config back to the JSON text load_config_text() reads (contract in
// include/sluice/config.h). The admin port's SAVE ... TO DISK writes this text, so every
// key is written, defaults included, in the order of conf/sluice.json: an operator who
// opens the file sees every setting in force, and loading it back gives an equal Config.
#include <nlohmann/json.hpp>

#include "sluice/config.h"

namespace sluice {
namespace {

using ojson = nlohmann::ordered_json;

ojson endpoint(const Endpoint& e) { return ojson{{"address", e.address}, {"port", e.port}}; }

void put_pool(ojson& o, const PoolLimits& p) {
  o["max_connections"] = p.max_connections;
  o["max_idle"] = p.max_idle;
  o["min_idle"] = p.min_idle;
  o["idle_timeout_ms"] = p.idle_timeout_ms;
  o["max_lifetime_ms"] = p.max_lifetime_ms;
  o["connect_timeout_ms"] = p.connect_timeout_ms;
  o["checkout_timeout_ms"] = p.checkout_timeout_ms;
  o["max_prepared_statements"] = p.max_prepared_statements;
}

template <class T>
ojson optional(const std::optional<T>& v) {
  return v ? ojson(*v) : ojson(nullptr);
}

ojson server(const ServerConfig& s) {
  ojson o;
  o["hostgroup"] = s.hostgroup;
  o["host"] = s.host;
  o["port"] = s.port;
  o["status"] = server_status_name(s.status);
  o["weight"] = s.weight;
  o["max_replication_lag"] = s.max_replication_lag;
  o["use_ssl"] = s.use_ssl;
  o["comment"] = s.comment;
  put_pool(o, s.pool);  // each server carries its full limits: no inheritance to re-derive
  return o;
}

// Backend credentials default to the frontend ones, so they are written only where they
// differ (a hashed password always has its own backend_password, which differs).
ojson user(const UserConfig& u) {
  ojson o;
  o["username"] = u.username;
  o["password"] = u.password;
  if (u.backend_username != u.username) o["backend_username"] = u.backend_username;
  if (u.backend_password != u.password) o["backend_password"] = u.backend_password;
  o["default_schema"] = u.default_schema;
  o["max_connections"] = u.max_connections;
  o["active"] = u.active;
  o["default_hostgroup"] = optional(u.default_hostgroup);
  o["transaction_persistent"] = u.transaction_persistent;
  o["comment"] = u.comment;
  return o;
}

ojson query_rule(const QueryRuleConfig& r) {
  ojson o;
  o["rule_id"] = r.rule_id;
  o["active"] = r.active;
  o["username"] = r.username;
  o["schemaname"] = r.schemaname;
  o["flagIN"] = r.flag_in;
  o["client_addr"] = r.client_addr;
  o["digest"] = r.digest;
  o["match_digest"] = r.match_digest;
  o["match_pattern"] = r.match_pattern;
  o["negate_match_pattern"] = r.negate_match_pattern;
  o["re_modifiers"] = r.re_modifiers;
  o["flagOUT"] = optional(r.flag_out);
  o["replace_pattern"] = optional(r.replace_pattern);
  o["destination_hostgroup"] = optional(r.destination_hostgroup);
  o["timeout"] = optional(r.timeout_ms);
  o["error_msg"] = optional(r.error_msg);
  o["OK_msg"] = optional(r.ok_msg);
  o["multiplex"] = optional(r.multiplex);
  o["apply"] = r.apply;
  o["comment"] = r.comment;
  return o;
}

ojson replication_hostgroup(const ReplicationHostgroupConfig& r) {
  return ojson{{"writer_hostgroup", r.writer_hostgroup},
               {"reader_hostgroup", r.reader_hostgroup},
               {"check_type", r.check_type},
               {"comment", r.comment}};
}

template <class T, class F>
ojson array_of(const std::vector<T>& items, F fn) {
  ojson a = ojson::array();
  for (const T& item : items) a.push_back(fn(item));
  return a;
}

}  // namespace

std::string config_to_json(const Config& c) {
  ojson root;
  root["workers"] = c.workers;
  root["log_level"] = c.log_level;
  root["query_digests"] = c.query_digests;
  root["frontend"] = ojson{{"listen", endpoint(c.frontend.listen)},
                           {"server_version", c.frontend.server_version},
                           {"default_auth", c.frontend.default_auth},
                           {"max_client_connections", c.frontend.max_client_connections},
                           {"max_packet_size", c.frontend.max_packet_size}};
  root["admin"] = ojson{{"listen", endpoint(c.admin.listen)},
                        {"user", c.admin.user},
                        {"password", c.admin.password}};
  root["metrics"] = ojson{{"listen", endpoint(c.metrics.listen)}};
  const MonitorConfig& m = c.monitor;
  root["monitor"] = ojson{{"user", m.user},
                          {"password", m.password},
                          {"down_retry_ms", m.down_retry_ms},
                          {"ping_interval_ms", m.ping_interval_ms},
                          {"read_only_interval_ms", m.read_only_interval_ms},
                          {"replication_lag_interval_ms", m.replication_lag_interval_ms},
                          {"connect_timeout_ms", m.connect_timeout_ms},
                          {"ping_max_failures", m.ping_max_failures},
                          {"shun_recovery_ms", m.shun_recovery_ms}};
  ojson pool = ojson::object();
  put_pool(pool, c.pool);
  root["pool"] = pool;
  const RoutingConfig& r = c.routing;
  root["routing"] = ojson{{"writer_hostgroup", r.writer_hostgroup},
                          {"reader_hostgroup", r.reader_hostgroup},
                          {"reads_fallback_to_writer", r.reads_fallback_to_writer},
                          {"read_your_writes", r.read_your_writes},
                          {"read_your_writes_wait_ms", r.read_your_writes_wait_ms},
                          {"writer_wait_ms", r.writer_wait_ms}};
  root["users"] = array_of(c.users, user);
  root["servers"] = array_of(c.servers, server);
  root["query_rules"] = array_of(c.query_rules, query_rule);
  root["replication_hostgroups"] = array_of(c.replication_hostgroups, replication_hostgroup);
  return root.dump(2) + "\n";
}

}  // namespace sluice
