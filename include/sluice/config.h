// Sluice configuration: the JSON file is the one source of truth at start.
//
// Owns: parsing and validating the config file into plain structs.
// Contract: load_config() either returns a fully validated Config or throws ConfigError
// whose message starts with the JSON path of the offending key (e.g.
// "servers[1].port: must be between 1 and 65535"). Unknown keys are refused the same way.
// Thread rules: a Config is immutable after loading; share it by const reference.
#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace sluice {

struct ConfigError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct Endpoint {
  std::string address = "127.0.0.1";
  uint16_t port = 0;

  bool operator==(const Endpoint&) const = default;
};

// Pool limits, with Go database/sql names in comments. 0 means "no limit" where noted.
struct PoolLimits {
  uint32_t max_connections = 100;       // MaxOpenConns (must be >= 1)
  uint32_t max_idle = 100;              // MaxIdleConns (may exceed max_connections, as in Go;
                                        // the effective cap is effective_max_idle())
  uint32_t min_idle = 0;                // warm connections kept open
  uint32_t idle_timeout_ms = 600000;    // ConnMaxIdleTime (0 = never)
  uint32_t max_lifetime_ms = 3600000;   // ConnMaxLifetime (0 = never)
  uint32_t connect_timeout_ms = 3000;   // backend connect + auth
  uint32_t checkout_timeout_ms = 10000; // how long a client waits for a full pool
  // Prepared statements one backend connection keeps open (>= 1); beyond it the least
  // recently used is closed (COM_STMT_CLOSE). max_connections x this must stay below the
  // server's max_prepared_stmt_count (16382 by default): 100 x 128 = 12800 leaves room.
  uint32_t max_prepared_statements = 128;

  bool operator==(const PoolLimits&) const = default;
};

// Idle connections a pool keeps at most: max_idle is not clamped at load time (Go's
// database/sql accepts MaxIdleConns > MaxOpenConns too), so users of max_idle call this.
inline uint32_t effective_max_idle(const PoolLimits& limits) {
  return limits.max_idle < limits.max_connections ? limits.max_idle : limits.max_connections;
}

// Administrative state of a server, as in ProxySQL's mysql_servers.status. SHUNNED here
// means "start shunned"; the monitor decides when it comes back.
enum class ServerStatus : uint8_t { kOnline, kShunned, kOfflineSoft, kOfflineHard };
const char* server_status_name(ServerStatus s);  // "ONLINE", "SHUNNED", ...
std::optional<ServerStatus> parse_server_status(const std::string& s);

struct ServerConfig {
  uint32_t hostgroup = 0;
  std::string host;
  uint16_t port = 3306;
  uint32_t weight = 1;  // relative share of reads, >= 1
  ServerStatus status = ServerStatus::kOnline;
  // Seconds of replication lag above which a reader is skipped (0 = never skipped).
  uint32_t max_replication_lag = 0;
  bool use_ssl = false;  // accepted for ProxySQL compatibility; must stay false (no backend TLS yet)
  std::string comment;
  PoolLimits pool;      // "pool" defaults overridden by keys given on the server

  bool operator==(const ServerConfig&) const = default;
};

struct UserConfig {
  std::string username;
  // Plain text, or "*" + 40 hex digits (mysql_native_password hash, as in mysql.user).
  std::string password;
  // Credentials used for backend logins. Default: username and password above. Required
  // when password is a hash, because a hash cannot log in to a backend.
  std::string backend_username;
  std::string backend_password;
  std::string default_schema;
  uint32_t max_connections = 0;  // per-user client connection cap (0 = unlimited)
  bool active = true;            // inactive users cannot log in
  // Where this user's statements go when neither the read/write split nor a query rule
  // says otherwise (writes, transactions). nullopt = routing.writer_hostgroup.
  std::optional<uint32_t> default_hostgroup;
  // A transaction stays on the connection it started on (always true in Sluice: a
  // transaction cannot move; kept for ProxySQL's mysql_users column).
  bool transaction_persistent = true;
  std::string comment;

  bool operator==(const UserConfig&) const = default;
};

// One row of ProxySQL's mysql_query_rules; JSON keys are ProxySQL's column names.
// Optional fields are NULL in ProxySQL when absent.
struct QueryRuleConfig {
  uint32_t rule_id = 0;
  bool active = false;
  std::string username;     // empty = any user
  std::string schemaname;   // empty = any schema
  uint32_t flag_in = 0;     // "flagIN"
  std::string client_addr;  // empty = any; else an IP or a prefix ending in '%'
  std::string digest;       // "0x" + 16 hex digits; empty = any
  std::string match_digest;   // RE2 pattern on the digest text; empty = any
  std::string match_pattern;  // RE2 pattern on the query text; empty = any
  bool negate_match_pattern = false;
  std::string re_modifiers = "CASELESS";  // comma list: CASELESS, GLOBAL
  std::optional<uint32_t> flag_out;                // "flagOUT"
  std::optional<std::string> replace_pattern;
  std::optional<uint32_t> destination_hostgroup;
  std::optional<uint32_t> timeout_ms;              // "timeout" (milliseconds, as in ProxySQL)
  std::optional<std::string> error_msg;
  std::optional<std::string> ok_msg;               // "OK_msg"
  std::optional<uint32_t> multiplex;               // 0 = pin the session, 1 = allow
  bool apply = false;
  std::string comment;

  bool operator==(const QueryRuleConfig&) const = default;
};

// ProxySQL's mysql_replication_hostgroups: the monitor puts each server of either group in
// writer_hostgroup when it is writable and in reader_hostgroup when it is read-only.
struct ReplicationHostgroupConfig {
  uint32_t writer_hostgroup = 0;
  uint32_t reader_hostgroup = 0;
  // Which variable says "read-only": "read_only", "innodb_read_only", "super_read_only",
  // "read_only|innodb_read_only", "read_only&innodb_read_only".
  std::string check_type = "read_only";
  std::string comment;

  bool operator==(const ReplicationHostgroupConfig&) const = default;
};

struct RoutingConfig {
  uint32_t writer_hostgroup = 10;
  uint32_t reader_hostgroup = 20;
  // With no usable reader: true sends reads to the writer, false returns an error.
  bool reads_fallback_to_writer = true;
  // Read-your-writes: "session" (after a client writes, its reads go to a replica only
  // once that replica has applied the client's last GTID), "global" (the last GTID of any
  // client), "off".
  std::string read_your_writes = "session";
  // When the monitor does not yet know that a replica has applied the session's last write,
  // a read may wait this long on a replica that is not lagging (MASTER_GTID_WAIT) before it
  // is sent to the writer instead. 0 = never wait: the monitor's positions only.
  uint32_t read_your_writes_wait_ms = 50;
  // While the writer hostgroup has no usable server (failover), writes wait this long for
  // one to appear before failing.
  uint32_t writer_wait_ms = 5000;

  bool operator==(const RoutingConfig&) const = default;
};

struct FrontendConfig {
  Endpoint listen{"127.0.0.1", 6033};
  std::string server_version = "10.11.0-MariaDB-sluice";
  // Auth plugin announced in the initial handshake: "mysql_native_password" or
  // "caching_sha2_password". Both are accepted from clients either way.
  std::string default_auth = "mysql_native_password";
  uint32_t max_client_connections = 10000;
  uint32_t max_packet_size = 1073741824;  // largest logical packet accepted from a client

  bool operator==(const FrontendConfig&) const = default;
};

struct AdminConfig {
  Endpoint listen{"127.0.0.1", 6032};
  std::string user = "admin";
  std::string password = "admin";

  bool operator==(const AdminConfig&) const = default;
};

struct MetricsConfig {
  Endpoint listen{"127.0.0.1", 6070};

  bool operator==(const MetricsConfig&) const = default;
};

struct MonitorConfig {
  std::string user = "monitor";
  std::string password = "monitor";
  // After a failed connect a server is skipped for this long before being tried again.
  uint32_t down_retry_ms = 1000;
  uint32_t ping_interval_ms = 2000;
  uint32_t read_only_interval_ms = 1000;
  uint32_t replication_lag_interval_ms = 1000;
  uint32_t connect_timeout_ms = 1000;  // also the read/write timeout of each check
  // Consecutive failed checks that shun a server; it comes back once checks pass again
  // and shun_recovery_ms has passed since it was shunned.
  uint32_t ping_max_failures = 1;
  uint32_t shun_recovery_ms = 1000;

  bool operator==(const MonitorConfig&) const = default;
};

struct Config {
  uint32_t workers = 0;  // 0 = number of cores
  std::string log_level = "info";  // debug | info | warn | error
  FrontendConfig frontend;
  AdminConfig admin;
  MetricsConfig metrics;
  MonitorConfig monitor;
  PoolLimits pool;  // defaults for every server
  RoutingConfig routing;
  std::vector<UserConfig> users;
  std::vector<ServerConfig> servers;
  std::vector<QueryRuleConfig> query_rules;  // "query_rules", any order; run by rule_id
  // Per-statement digests for stats_mysql_query_digest (ProxySQL's mysql-query_digests).
  bool query_digests = true;
  std::vector<ReplicationHostgroupConfig> replication_hostgroups;

  bool operator==(const Config&) const = default;
};

// Reads and validates the file. Throws ConfigError("<path>: <reason>").
Config load_config_file(const std::string& path);
// Same from JSON text (used by tests and by load_config_file).
Config load_config_text(const std::string& json_text);
// The checks that span sections (hostgroups, listeners, duplicates), for a Config built
// in code (the admin port's LOAD ... TO RUNTIME). Throws ConfigError like the loaders.
void validate_config(const Config& c);
// The JSON text of `c` that load_config_text() reads back equal: every key, defaults
// included, users' backend credentials only where they differ. Pretty-printed.
std::string config_to_json(const Config& c);

}  // namespace sluice
