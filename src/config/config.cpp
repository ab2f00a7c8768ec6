// Config loader: JSON text -> validated Config (contract in include/sluice/config.h).
//
// Each JSON object has a table of known keys, each with a setter that type-checks and
// range-checks its value and stores it. apply() refuses keys missing from the table and
// runs the setters in table order (so "pool" is read before "servers", whose per-server
// limits start from it). Checks within one object run after it is read; checks across
// sections (hostgroups, duplicates, listeners) are in config_checks.cpp.
#include "sluice/config.h"

#include "config_internal.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <functional>
#include <limits>
#include <memory>
#include <optional>
#include <set>
#include <string_view>

namespace sluice {
namespace config_detail {

[[noreturn]] void fail(const std::string& path, const std::string& reason) {
  throw ConfigError((path.empty() ? std::string("(top level)") : path) + ": " + reason);
}

std::string child(const std::string& parent, std::string_view key) {
  return parent.empty() ? std::string(key) : parent + "." + std::string(key);
}

std::string item(const std::string& parent, size_t index) {
  return parent + "[" + std::to_string(index) + "]";
}

}  // namespace config_detail

namespace {

using config_detail::child;
using config_detail::fail;
using config_detail::item;

using nlohmann::json;

constexpr uint32_t kU32Max = std::numeric_limits<uint32_t>::max();
constexpr uint32_t kMaxWorkers = 256;
// Weights are summed to pick a replica; this bound keeps any sum far from overflow.
constexpr uint32_t kMaxWeight = 1000000;
// A client packet limit below MySQL's minimum max_allowed_packet breaks ordinary clients.
constexpr uint32_t kMinPacketSize = 1024;
constexpr uint32_t kMaxPacketSize = 1073741824;

// " (got ...)" for error messages: short values verbatim, containers by kind.
std::string got(const json& v) {
  if (v.is_object()) return " (got an object)";
  if (v.is_array()) return " (got an array)";
  std::string text = v.dump(-1, ' ', false, json::error_handler_t::replace);
  if (text.size() > 40) text = text.substr(0, 37) + "...";
  return " (got " + text + ")";
}

// Optimal string alignment distance: Levenshtein plus adjacent transpositions.
size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::vector<size_t>> d(a.size() + 1, std::vector<size_t>(b.size() + 1));
  for (size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.size()][b.size()];
}

// The known name closest to `given` (case-insensitive), if close enough to be a likely typo.
std::optional<std::string_view> closest(std::string_view given,
                                        const std::vector<std::string_view>& known) {
  std::string folded(given);
  for (char& ch : folded) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  std::optional<std::string_view> best;
  size_t best_distance = std::numeric_limits<size_t>::max();
  for (std::string_view name : known) {
    // "warning" for "warn", "max_conn" for "max_connections": one extends the other.
    bool extends = folded.size() >= 3 && (folded.starts_with(name) || name.starts_with(folded));
    size_t distance = extends ? 0 : edit_distance(folded, name);
    if (distance < best_distance) best = name, best_distance = distance;
  }
  if (best && best_distance <= std::clamp<size_t>(best->size() / 4, 1, 3)) return best;
  return std::nullopt;
}

std::string join(const std::vector<std::string_view>& names) {
  std::string list;
  for (std::string_view name : names) list += (list.empty() ? "" : ", ") + std::string(name);
  return list;
}

std::string did_you_mean(std::string_view given, const std::vector<std::string_view>& known) {
  auto best = closest(given, known);
  return best ? " (did you mean \"" + std::string(*best) + "\"?)" : "";
}

// ---- value readers: exact JSON types, no conversions ----

uint32_t read_u32(const json& v, const std::string& path, uint32_t lo, uint32_t hi) {
  if (v.is_number_unsigned()) {
    uint64_t n = v.get<uint64_t>();
    if (n >= lo && n <= hi) return static_cast<uint32_t>(n);
  }
  fail(path, "must be an integer between " + std::to_string(lo) + " and " +
                 std::to_string(hi) + got(v));
}

std::string read_string(const json& v, const std::string& path, bool non_empty) {
  if (!v.is_string()) fail(path, "must be a string" + got(v));
  std::string s = v.get<std::string>();
  if (non_empty && s.empty()) fail(path, "must not be empty");
  if (s.find('\0') != std::string::npos) fail(path, "must not contain a NUL character");
  return s;
}

bool read_bool(const json& v, const std::string& path) {
  if (!v.is_boolean()) fail(path, "must be true or false" + got(v));
  return v.get<bool>();
}

void require(const json& obj, std::string_view key, const std::string& path) {
  if (!obj.contains(key)) fail(child(path, key), "required key is missing");
}

// ---- key tables ----

template <class T>
struct Field {
  std::string_view key;
  std::function<void(T&, const json&, const std::string&)> set;
};
template <class T>
using Table = std::vector<Field<T>>;

template <class T>
void apply(const json& obj, const std::string& path, T& out, const Table<T>& table) {
  if (!obj.is_object()) fail(path, "must be an object" + got(obj));
  for (const auto& [key, value] : obj.items()) {
    auto known = [&](const Field<T>& f) { return f.key == key; };
    if (std::none_of(table.begin(), table.end(), known)) {
      std::vector<std::string_view> names;
      for (const auto& f : table) names.push_back(f.key);
      std::string suggestion = did_you_mean(key, names);
      fail(child(path, key), "unknown key" + (suggestion.empty()
                                                  ? " (known keys: " + join(names) + ")"
                                                  : suggestion));
    }
  }
  for (const auto& f : table) {
    auto it = obj.find(f.key);
    if (it != obj.end()) f.set(out, *it, child(path, f.key));
  }
}

template <class T>
Field<T> u32(std::string_view key, uint32_t T::*m, uint32_t lo = 0, uint32_t hi = kU32Max) {
  return {key, [=](T& t, const json& v, const std::string& p) { t.*m = read_u32(v, p, lo, hi); }};
}

template <class T>
Field<T> port(std::string_view key, uint16_t T::*m) {
  return {key, [=](T& t, const json& v, const std::string& p) {
            t.*m = static_cast<uint16_t>(read_u32(v, p, 1, 65535));
          }};
}

template <class T>
Field<T> str(std::string_view key, std::string T::*m, bool non_empty = false) {
  return {key, [=](T& t, const json& v, const std::string& p) {
            t.*m = read_string(v, p, non_empty);
          }};
}

template <class T>
Field<T> one_of(std::string_view key, std::string T::*m, std::vector<std::string_view> allowed) {
  return {key, [=](T& t, const json& v, const std::string& p) {
            std::string s = read_string(v, p, false);
            if (std::find(allowed.begin(), allowed.end(), s) == allowed.end()) {
              fail(p, "must be one of " + join(allowed) + got(v) + did_you_mean(s, allowed));
            }
            t.*m = std::move(s);
          }};
}

template <class T>
Field<T> boolean(std::string_view key, bool T::*m) {
  return {key, [=](T& t, const json& v, const std::string& p) { t.*m = read_bool(v, p); }};
}

template <class T>
Field<T> opt_u32(std::string_view key, std::optional<uint32_t> T::*m, uint32_t lo = 0,
                 uint32_t hi = kU32Max) {
  return {key, [=](T& t, const json& v, const std::string& p) {
            if (v.is_null()) t.*m = std::nullopt;
            else t.*m = read_u32(v, p, lo, hi);
          }};
}

template <class T>
Field<T> opt_str(std::string_view key, std::optional<std::string> T::*m) {
  return {key, [=](T& t, const json& v, const std::string& p) {
            if (v.is_null()) t.*m = std::nullopt;
            else t.*m = read_string(v, p, false);
          }};
}

template <class T, class M>
Field<T> object(std::string_view key, M T::*m, const Table<M>& table) {
  return {key, [m, &table](T& t, const json& v, const std::string& p) {
            apply(v, p, t.*m, table);
          }};
}

const Table<Endpoint>& endpoint_table() {
  static const Table<Endpoint> table{
      str("address", &Endpoint::address, true),
      port("port", &Endpoint::port),
  };
  return table;
}

const Table<PoolLimits>& pool_table() {
  static const Table<PoolLimits> table{
      u32("max_connections", &PoolLimits::max_connections, 1),
      u32("max_idle", &PoolLimits::max_idle),
      u32("min_idle", &PoolLimits::min_idle),
      u32("idle_timeout_ms", &PoolLimits::idle_timeout_ms),
      u32("max_lifetime_ms", &PoolLimits::max_lifetime_ms),
      u32("connect_timeout_ms", &PoolLimits::connect_timeout_ms),
      u32("checkout_timeout_ms", &PoolLimits::checkout_timeout_ms),
      u32("max_prepared_statements", &PoolLimits::max_prepared_statements, 1),
  };
  return table;
}

// Server keys: its own, plus every pool key as an override of the top-level "pool".
const Table<ServerConfig>& server_table() {
  static const Table<ServerConfig> table = [] {
    Table<ServerConfig> t{
        u32("hostgroup", &ServerConfig::hostgroup),
        str("host", &ServerConfig::host, true),
        port("port", &ServerConfig::port),
        u32("weight", &ServerConfig::weight, 1, kMaxWeight),
        {"status",
         [](ServerConfig& s, const json& v, const std::string& p) {
           std::string text = read_string(v, p, true);
           auto st = parse_server_status(text);
           if (!st) {
             fail(p, "must be one of ONLINE, SHUNNED, OFFLINE_SOFT, OFFLINE_HARD" + got(v));
           }
           s.status = *st;
         }},
        u32("max_replication_lag", &ServerConfig::max_replication_lag),
        {"use_ssl",
         [](ServerConfig& s, const json& v, const std::string& p) {
           s.use_ssl = read_bool(v, p);
           if (s.use_ssl) fail(p, "TLS to backends is not supported yet; must be false");
         }},
        str("comment", &ServerConfig::comment),
    };
    for (const auto& f : pool_table()) {
      t.push_back({f.key, [set = f.set](ServerConfig& s, const json& v, const std::string& p) {
                     set(s.pool, v, p);
                   }});
    }
    return t;
  }();
  return table;
}

const Table<UserConfig>& user_table() {
  static const Table<UserConfig> table{
      str("username", &UserConfig::username, true),
      str("password", &UserConfig::password),
      str("backend_username", &UserConfig::backend_username, true),
      str("backend_password", &UserConfig::backend_password),
      str("default_schema", &UserConfig::default_schema),
      u32("max_connections", &UserConfig::max_connections),
      boolean("active", &UserConfig::active),
      opt_u32("default_hostgroup", &UserConfig::default_hostgroup),
      {"transaction_persistent",
       [](UserConfig& u, const json& v, const std::string& p) {
         u.transaction_persistent = read_bool(v, p);
         if (!u.transaction_persistent) {
           fail(p, "must be true: Sluice never moves an open transaction to another connection");
         }
       }},
      str("comment", &UserConfig::comment),
  };
  return table;
}

const Table<QueryRuleConfig>& query_rule_table() {
  static const Table<QueryRuleConfig> table{
      u32("rule_id", &QueryRuleConfig::rule_id, 1),
      boolean("active", &QueryRuleConfig::active),
      str("username", &QueryRuleConfig::username),
      str("schemaname", &QueryRuleConfig::schemaname),
      u32("flagIN", &QueryRuleConfig::flag_in),
      str("client_addr", &QueryRuleConfig::client_addr),
      {"digest",
       [](QueryRuleConfig& r, const json& v, const std::string& p) {
         r.digest = read_string(v, p, false);
         bool ok = r.digest.empty() ||
                   (r.digest.size() == 18 && r.digest[0] == '0' && (r.digest[1] == 'x' || r.digest[1] == 'X') &&
                    std::all_of(r.digest.begin() + 2, r.digest.end(),
                                [](unsigned char ch) { return std::isxdigit(ch); }));
         if (!ok) fail(p, "must be \"0x\" followed by 16 hex digits" + got(v));
       }},
      str("match_digest", &QueryRuleConfig::match_digest),
      str("match_pattern", &QueryRuleConfig::match_pattern),
      boolean("negate_match_pattern", &QueryRuleConfig::negate_match_pattern),
      {"re_modifiers",
       [](QueryRuleConfig& r, const json& v, const std::string& p) {
         r.re_modifiers = read_string(v, p, false);
         std::string word;
         for (size_t i = 0; i <= r.re_modifiers.size(); ++i) {
           char ch = i < r.re_modifiers.size() ? r.re_modifiers[i] : ',';
           if (ch == ',' || ch == ' ') {
             if (!word.empty() && word != "CASELESS" && word != "GLOBAL") {
               fail(p, "unknown modifier \"" + word + "\" (known: CASELESS, GLOBAL)");
             }
             word.clear();
           } else {
             word += static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
           }
         }
       }},
      opt_u32("flagOUT", &QueryRuleConfig::flag_out),
      opt_str("replace_pattern", &QueryRuleConfig::replace_pattern),
      opt_u32("destination_hostgroup", &QueryRuleConfig::destination_hostgroup),
      opt_u32("timeout", &QueryRuleConfig::timeout_ms),
      opt_str("error_msg", &QueryRuleConfig::error_msg),
      opt_str("OK_msg", &QueryRuleConfig::ok_msg),
      opt_u32("multiplex", &QueryRuleConfig::multiplex, 0, 2),
      boolean("apply", &QueryRuleConfig::apply),
      str("comment", &QueryRuleConfig::comment),
  };
  return table;
}

const Table<ReplicationHostgroupConfig>& replication_hostgroup_table() {
  static const Table<ReplicationHostgroupConfig> table{
      u32("writer_hostgroup", &ReplicationHostgroupConfig::writer_hostgroup),
      u32("reader_hostgroup", &ReplicationHostgroupConfig::reader_hostgroup),
      one_of("check_type", &ReplicationHostgroupConfig::check_type,
             {"read_only", "innodb_read_only", "super_read_only", "read_only|innodb_read_only",
              "read_only&innodb_read_only"}),
      str("comment", &ReplicationHostgroupConfig::comment),
  };
  return table;
}

const Table<FrontendConfig>& frontend_table() {
  static const Table<FrontendConfig> table{
      object("listen", &FrontendConfig::listen, endpoint_table()),
      {"server_version",
       [](FrontendConfig& f, const json& v, const std::string& p) {
         f.server_version = read_string(v, p, true);
         // Client libraries parse the leading "major.minor.patch" to pick features.
         if (f.server_version[0] < '0' || f.server_version[0] > '9') {
           fail(p, "must start with a version number such as \"10.11.0\"" + got(v));
         }
       }},
      one_of("default_auth", &FrontendConfig::default_auth,
             {"mysql_native_password", "caching_sha2_password"}),
      u32("max_client_connections", &FrontendConfig::max_client_connections, 1),
      u32("max_packet_size", &FrontendConfig::max_packet_size, kMinPacketSize, kMaxPacketSize),
  };
  return table;
}

const Table<AdminConfig>& admin_table() {
  static const Table<AdminConfig> table{
      object("listen", &AdminConfig::listen, endpoint_table()),
      str("user", &AdminConfig::user, true),
      str("password", &AdminConfig::password),
  };
  return table;
}

const Table<MetricsConfig>& metrics_table() {
  static const Table<MetricsConfig> table{
      object("listen", &MetricsConfig::listen, endpoint_table()),
  };
  return table;
}

const Table<MonitorConfig>& monitor_table() {
  static const Table<MonitorConfig> table{
      str("user", &MonitorConfig::user, true),
      str("password", &MonitorConfig::password),
      u32("down_retry_ms", &MonitorConfig::down_retry_ms),
      u32("ping_interval_ms", &MonitorConfig::ping_interval_ms, 100),
      u32("read_only_interval_ms", &MonitorConfig::read_only_interval_ms, 100),
      u32("replication_lag_interval_ms", &MonitorConfig::replication_lag_interval_ms, 100),
      u32("connect_timeout_ms", &MonitorConfig::connect_timeout_ms, 100),
      u32("ping_max_failures", &MonitorConfig::ping_max_failures, 1),
      u32("shun_recovery_ms", &MonitorConfig::shun_recovery_ms),
  };
  return table;
}

const Table<RoutingConfig>& routing_table() {
  static const Table<RoutingConfig> table{
      u32("writer_hostgroup", &RoutingConfig::writer_hostgroup),
      u32("reader_hostgroup", &RoutingConfig::reader_hostgroup),
      boolean("reads_fallback_to_writer", &RoutingConfig::reads_fallback_to_writer),
      one_of("read_your_writes", &RoutingConfig::read_your_writes, {"off", "session", "global"}),
      u32("read_your_writes_wait_ms", &RoutingConfig::read_your_writes_wait_ms),
      u32("writer_wait_ms", &RoutingConfig::writer_wait_ms),
  };
  return table;
}

// ---- checks spanning several keys ----

// min_idle above max_connections could never be satisfied. The error names the key the
// object actually sets, so a server that only lowers max_connections is pointed there.
void check_pool(const PoolLimits& pool, const json& obj, const std::string& path) {
  if (pool.min_idle <= pool.max_connections) return;
  if (obj.contains("min_idle") || !obj.contains("max_connections")) {
    fail(child(path, "min_idle"), "must not exceed max_connections (" +
                                      std::to_string(pool.max_connections) + ")");
  }
  fail(child(path, "max_connections"),
       "must be at least min_idle (" + std::to_string(pool.min_idle) + ", from pool.min_idle)");
}

bool has_password_hash_shape(const std::string& s) { return s.size() == 41 && s[0] == '*'; }

void finish_user(UserConfig& u, const json& obj, const std::string& path) {
  require(obj, "username", path);
  bool hashed = has_password_hash_shape(u.password);
  if (hashed && !std::all_of(u.password.begin() + 1, u.password.end(),
                             [](unsigned char c) { return std::isxdigit(c); })) {
    fail(child(path, "password"),
         "41 characters starting with \"*\" is a \"*HEX\" hash, but the rest is not 40 hex digits");
  }
  if (has_password_hash_shape(u.backend_password)) {
    fail(child(path, "backend_password"),
         "must be the plain-text password: a \"*HEX\" hash cannot log in to a backend");
  }
  if (hashed && !obj.contains("backend_password")) {
    fail(child(path, "password"),
         "a \"*HEX\" hash needs backend_password, because a hash cannot log in to a backend");
  }
  if (!obj.contains("backend_username")) u.backend_username = u.username;
  if (!obj.contains("backend_password")) u.backend_password = u.password;
}

void read_users(Config& c, const json& v, const std::string& path) {
  if (!v.is_array()) fail(path, "must be an array" + got(v));
  c.users.clear();
  for (size_t i = 0; i < v.size(); ++i) {
    std::string p = item(path, i);
    UserConfig u;
    apply(v[i], p, u, user_table());
    finish_user(u, v[i], p);
    c.users.push_back(std::move(u));  // duplicates: check_users()
  }
}

void read_servers(Config& c, const json& v, const std::string& path) {
  if (!v.is_array()) fail(path, "must be an array" + got(v));
  c.servers.clear();
  for (size_t i = 0; i < v.size(); ++i) {
    std::string p = item(path, i);
    ServerConfig s;
    s.pool = c.pool;
    apply(v[i], p, s, server_table());
    require(v[i], "hostgroup", p);
    require(v[i], "host", p);
    check_pool(s.pool, v[i], p);
    c.servers.push_back(std::move(s));  // duplicates: check_topology()
  }
}

void read_query_rules(Config& c, const json& v, const std::string& path) {
  if (!v.is_array()) fail(path, "must be an array" + got(v));
  c.query_rules.clear();
  for (size_t i = 0; i < v.size(); ++i) {
    std::string p = item(path, i);
    QueryRuleConfig r;
    apply(v[i], p, r, query_rule_table());
    require(v[i], "rule_id", p);
    c.query_rules.push_back(std::move(r));
  }
}

void read_replication_hostgroups(Config& c, const json& v, const std::string& path) {
  if (!v.is_array()) fail(path, "must be an array" + got(v));
  c.replication_hostgroups.clear();
  for (size_t i = 0; i < v.size(); ++i) {
    std::string p = item(path, i);
    ReplicationHostgroupConfig r;
    apply(v[i], p, r, replication_hostgroup_table());
    require(v[i], "writer_hostgroup", p);
    require(v[i], "reader_hostgroup", p);
    c.replication_hostgroups.push_back(std::move(r));
  }
}

const Table<Config>& root_table() {
  static const Table<Config> table{
      u32("workers", &Config::workers, 0, kMaxWorkers),
      one_of("log_level", &Config::log_level, {"debug", "info", "warn", "error"}),
      object("frontend", &Config::frontend, frontend_table()),
      object("admin", &Config::admin, admin_table()),
      object("metrics", &Config::metrics, metrics_table()),
      object("monitor", &Config::monitor, monitor_table()),
      {"pool",  // before "servers": it holds their defaults
       [](Config& c, const json& v, const std::string& p) {
         apply(v, p, c.pool, pool_table());
         check_pool(c.pool, v, p);
       }},
      object("routing", &Config::routing, routing_table()),
      {"users", read_users},
      {"servers", read_servers},
      {"query_rules", read_query_rules},
      boolean("query_digests", &Config::query_digests),
      {"replication_hostgroups", read_replication_hostgroups},
  };
  return table;
}

// ---- JSON syntax ----

// nlohmann keeps the last of two equal keys silently; a config that sets a key twice is
// almost always an edit mistake, so the parse callback refuses it with the key's path.
class DuplicateKeyGuard {
 public:
  bool operator()(int /*depth*/, json::parse_event_t event, json& parsed) {
    switch (event) {
      case json::parse_event_t::object_start: push(false); break;
      case json::parse_event_t::array_start: push(true); break;
      case json::parse_event_t::key: on_key(parsed.get<std::string>()); break;
      case json::parse_event_t::object_end:
      case json::parse_event_t::array_end: pop(); break;
      case json::parse_event_t::value: element_done(); break;
    }
    return true;
  }

 private:
  struct Frame {
    bool array = false;
    size_t elements = 0;  // arrays: index of the next element
    std::string path;
    std::string key;  // objects: the key being read
    std::set<std::string> keys;
  };

  void push(bool array) {
    std::string path;
    if (!stack_.empty()) {
      const Frame& top = stack_.back();
      path = top.array ? item(top.path, top.elements) : child(top.path, top.key);
    }
    stack_.push_back(Frame{array, 0, std::move(path), {}, {}});
  }
  void pop() {
    stack_.pop_back();
    element_done();
  }
  void element_done() {
    if (!stack_.empty() && stack_.back().array) ++stack_.back().elements;
  }
  void on_key(std::string key) {
    Frame& top = stack_.back();
    if (!top.keys.insert(key).second) fail(child(top.path, key), "key is given twice");
    top.key = std::move(key);
  }

  std::vector<Frame> stack_;
};

// "line L, column C: <reason>", from nlohmann's byte offset (1-based, last byte read).
std::string describe_syntax_error(const json::parse_error& e, const std::string& text) {
  size_t offset = std::min<size_t>(e.byte > 0 ? e.byte - 1 : 0, text.size());
  size_t line = 1 + std::count(text.begin(), text.begin() + offset, '\n');
  size_t line_start = text.rfind('\n', offset == 0 ? 0 : offset - 1);
  line_start = (line_start == std::string::npos || offset == 0) ? 0 : line_start + 1;
  std::string what = e.what();
  size_t colon = what.find(": ", what.find(']'));
  std::string reason = colon == std::string::npos ? what : what.substr(colon + 2);
  return "line " + std::to_string(line) + ", column " + std::to_string(offset - line_start + 1) +
         ": " + reason;
}

// `origin` prefixes syntax errors (the file path, or empty for plain text).
Config load(const std::string& text, const std::string& origin) {
  json root;
  try {
    root = json::parse(text, DuplicateKeyGuard{});
  } catch (const json::parse_error& e) {
    std::string where = origin.empty() ? "" : origin + ": ";
    throw ConfigError(where + describe_syntax_error(e, text));
  }
  Config config;
  apply(root, "", config, root_table());
  validate_config(config);
  return config;
}

std::string read_file(const std::string& path) {
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> file(std::fopen(path.c_str(), "rb"),
                                                       &std::fclose);
  if (!file) throw ConfigError(path + ": cannot open: " + std::strerror(errno));
  std::string text;
  char buffer[65536];
  size_t n = 0;
  while ((n = std::fread(buffer, 1, sizeof buffer, file.get())) > 0) text.append(buffer, n);
  if (std::ferror(file.get())) throw ConfigError(path + ": cannot read: " + std::strerror(errno));
  return text;
}

}  // namespace

const char* server_status_name(ServerStatus s) {
  switch (s) {
    case ServerStatus::kOnline: return "ONLINE";
    case ServerStatus::kShunned: return "SHUNNED";
    case ServerStatus::kOfflineSoft: return "OFFLINE_SOFT";
    case ServerStatus::kOfflineHard: return "OFFLINE_HARD";
  }
  return "ONLINE";
}

std::optional<ServerStatus> parse_server_status(const std::string& s) {
  for (ServerStatus st : {ServerStatus::kOnline, ServerStatus::kShunned, ServerStatus::kOfflineSoft,
                          ServerStatus::kOfflineHard}) {
    if (s == server_status_name(st)) return st;
  }
  return std::nullopt;
}

Config load_config_file(const std::string& path) { return load(read_file(path), path); }

Config load_config_text(const std::string& json_text) { return load(json_text, ""); }

}  // namespace sluice
