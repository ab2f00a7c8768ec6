// global_variables: ProxySQL-style variable names for the config keys outside the row
// tables. ProxySQL's own name is used where it means the same thing in the same unit;
// Sluice-only settings get a name in the same style. mysql-* variables belong to
// LOAD/SAVE MYSQL VARIABLES, admin-* ones to ADMIN VARIABLES.
//
// Differences from ProxySQL worth knowing:
//   mysql-connect_timeout_server is the default of mysql_servers.connect_timeout_ms (each
//   server has its own value), as mysql-pool_* are for the other pool columns.
//   admin-admin_credentials takes a single "user:password" pair.
#include <algorithm>
#include <cerrno>
#include <cstdlib>

#include "admin_internal.h"

namespace sluice::admin {
namespace {

using ojson = nlohmann::ordered_json;
using V = VariableDef;

std::string pointer(const char* dotted) {
  std::string p = "/" + std::string(dotted);
  std::replace(p.begin(), p.end(), '.', '/');
  return p;
}

bool parse_bool(std::string_view text, bool& out) {
  std::string t = lower(trim(text));
  if (t == "true" || t == "1" || t == "on") return out = true, true;
  if (t == "false" || t == "0" || t == "off") return out = false, true;
  return false;
}

bool parse_int(std::string_view text, int64_t& out) {
  std::string t(trim(text));
  if (t.empty() || t.size() > 18) return false;
  size_t i = t[0] == '-' ? 1 : 0;
  if (i == t.size() || !std::all_of(t.begin() + static_cast<long>(i), t.end(), [](unsigned char c) { return std::isdigit(c); }))
    return false;
  out = std::strtoll(t.c_str(), nullptr, 10);
  return true;
}

}  // namespace

const std::vector<VariableDef>& variable_defs() {
  static const std::vector<VariableDef> defs = {
      // ---- mysql-*: the client side, pools, monitor, routing ----
      {"mysql-threads", {"workers"}, V::kInt, false},
      {"mysql-interfaces", {"frontend.listen"}, V::kEndpoint, false},
      {"mysql-server_version", {"frontend.server_version"}, V::kString, true},
      {"mysql-default_authentication_plugin", {"frontend.default_auth"}, V::kString, true},
      {"mysql-max_connections", {"frontend.max_client_connections"}, V::kInt, true},
      {"mysql-max_allowed_packet", {"frontend.max_packet_size"}, V::kInt, true},
      {"mysql-monitor_username", {"monitor.user"}, V::kString, true},
      {"mysql-monitor_password", {"monitor.password"}, V::kString, true},
      {"mysql-monitor_connect_timeout", {"monitor.connect_timeout_ms"}, V::kInt, true},
      {"mysql-monitor_ping_interval", {"monitor.ping_interval_ms"}, V::kInt, true},
      {"mysql-monitor_ping_max_failures", {"monitor.ping_max_failures"}, V::kInt, true},
      {"mysql-monitor_read_only_interval", {"monitor.read_only_interval_ms"}, V::kInt, true},
      {"mysql-monitor_replication_lag_interval", {"monitor.replication_lag_interval_ms"}, V::kInt, true},
      {"mysql-monitor_down_retry_ms", {"monitor.down_retry_ms"}, V::kInt, true},
      {"mysql-monitor_shun_recovery_ms", {"monitor.shun_recovery_ms"}, V::kInt, true},
      {"mysql-connect_timeout_server", {"pool.connect_timeout_ms"}, V::kInt, true},
      {"mysql-pool_max_connections", {"pool.max_connections"}, V::kInt, true},
      {"mysql-pool_max_idle", {"pool.max_idle"}, V::kInt, true},
      {"mysql-pool_min_idle", {"pool.min_idle"}, V::kInt, true},
      {"mysql-pool_idle_timeout_ms", {"pool.idle_timeout_ms"}, V::kInt, true},
      {"mysql-pool_max_lifetime_ms", {"pool.max_lifetime_ms"}, V::kInt, true},
      {"mysql-pool_checkout_timeout_ms", {"pool.checkout_timeout_ms"}, V::kInt, true},
      {"mysql-pool_max_prepared_statements", {"pool.max_prepared_statements"}, V::kInt, true},
      {"mysql-writer_hostgroup", {"routing.writer_hostgroup"}, V::kInt, true},
      {"mysql-reader_hostgroup", {"routing.reader_hostgroup"}, V::kInt, true},
      {"mysql-reads_fallback_to_writer", {"routing.reads_fallback_to_writer"}, V::kBool, true},
      {"mysql-read_your_writes", {"routing.read_your_writes"}, V::kString, true},
      {"mysql-read_your_writes_wait_ms", {"routing.read_your_writes_wait_ms"}, V::kInt, true},
      {"mysql-writer_wait_ms", {"routing.writer_wait_ms"}, V::kInt, true},
      {"mysql-query_digests", {"query_digests"}, V::kBool, true},
      // ---- admin-*: applied by the admin thread itself, or only at start ----
      {"admin-admin_credentials", {"admin.user", "admin.password"}, V::kCredentials, true},
      {"admin-mysql_ifaces", {"admin.listen"}, V::kEndpoint, false},
      {"admin-metrics_ifaces", {"metrics.listen"}, V::kEndpoint, false},
      {"admin-log_level", {"log_level"}, V::kString, true},
  };
  return defs;
}

const VariableDef* find_variable(std::string_view name) {
  std::string n = lower(trim(name));
  for (const auto& v : variable_defs())
    if (n == v.name) return &v;
  return nullptr;
}

const VariableDef* variable_for_path(std::string_view path) {
  for (const auto& v : variable_defs()) {
    for (const char* p : v.paths) {
      std::string_view pv(p);
      if (path == pv || (path.starts_with(pv) && path.size() > pv.size() && path[pv.size()] == '.')) return &v;
    }
  }
  return nullptr;
}

bool variable_in_module(const VariableDef& v, Module m) {
  std::string_view name(v.name);
  if (m == Module::kMysqlVariables) return name.starts_with("mysql-");
  if (m == Module::kAdminVariables) return name.starts_with("admin-");
  return false;
}

std::string variable_value(const ojson& root, const VariableDef& v) {
  const ojson& x = root.at(ojson::json_pointer(pointer(v.paths[0])));
  switch (v.type) {
    case V::kInt: return std::to_string(x.get<int64_t>());
    case V::kBool: return x.get<bool>() ? "true" : "false";
    case V::kString: return x.get<std::string>();
    case V::kEndpoint: return x.at("address").get<std::string>() + ":" + std::to_string(x.at("port").get<int64_t>());
    case V::kCredentials:
      return x.get<std::string>() + ":" + root.at(ojson::json_pointer(pointer(v.paths[1]))).get<std::string>();
  }
  return {};
}

void set_variable(ojson& root, const VariableDef& v, const std::string& value) {
  auto bad = [&](const std::string& why) {
    throw AdminError(std::string("global_variables ") + v.name + ": " + why + " (got '" + value + "')");
  };
  ojson& x = root[ojson::json_pointer(pointer(v.paths[0]))];
  switch (v.type) {
    case V::kInt: {
      int64_t n = 0;
      if (!parse_int(value, n)) bad("must be an integer");
      x = n;
      return;
    }
    case V::kBool: {
      bool b = false;
      if (!parse_bool(value, b)) bad("must be true or false");
      x = b;
      return;
    }
    case V::kString: x = value; return;
    case V::kEndpoint: {
      size_t colon = value.rfind(':');
      int64_t port = 0;
      if (value.find(';') != std::string::npos) bad("only one address:port is supported");
      if (colon == std::string::npos || !parse_int(std::string_view(value).substr(colon + 1), port))
        bad("must be address:port");
      x = ojson{{"address", value.substr(0, colon)}, {"port", port}};
      return;
    }
    case V::kCredentials: {
      size_t colon = value.find(':');
      if (value.find(';') != std::string::npos) bad("only one user:password pair is supported");
      if (colon == std::string::npos) bad("must be user:password");
      x = value.substr(0, colon);
      root[ojson::json_pointer(pointer(v.paths[1]))] = value.substr(colon + 1);
      return;
    }
  }
}

std::string static_variables_changed(Module m, const Config& running, const Config& next) {
  ojson a = ojson::parse(config_to_json(running));
  ojson b = ojson::parse(config_to_json(next));
  std::string changed;
  for (const auto& v : variable_defs()) {
    if (v.runtime || !variable_in_module(v, m)) continue;
    std::string was = variable_value(a, v), now = variable_value(b, v);
    if (was == now) continue;
    changed += std::string(changed.empty() ? "" : ", ") + v.name + " (running: " + was + ", memory: " + now + ")";
  }
  if (changed.empty()) return {};
  return "cannot be changed at run time: " + changed + "; SAVE " + module_name(m) +
         " TO DISK and restart Sluice to change them";
}

}  // namespace sluice::admin
