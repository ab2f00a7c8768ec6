// Sluice configuration: the JSON file is the one source of truth at start.
//
// Owns: parsing and validating the config file into plain structs.
// Contract: load_config() either returns a fully validated Config or throws ConfigError
// whose message starts with the JSON path of the offending key (e.g.
// "servers[1].port: must be between 1 and 65535"). Unknown keys are refused the same way.
// Thread rules: a Config is immutable after loading; share it by const reference.
#pragma once

#include <cstdint>
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
};

// Idle connections a pool keeps at most: max_idle is not clamped at load time (Go's
// database/sql accepts MaxIdleConns > MaxOpenConns too), so users of max_idle call this.
inline uint32_t effective_max_idle(const PoolLimits& limits) {
  return limits.max_idle < limits.max_connections ? limits.max_idle : limits.max_connections;
}

struct ServerConfig {
  uint32_t hostgroup = 0;
  std::string host;
  uint16_t port = 3306;
  uint32_t weight = 1;  // relative share of reads, >= 1
  PoolLimits pool;      // "pool" defaults overridden by keys given on the server
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
};

struct RoutingConfig {
  uint32_t writer_hostgroup = 10;
  uint32_t reader_hostgroup = 20;
  // With no usable reader: true sends reads to the writer, false returns an error.
  bool reads_fallback_to_writer = true;
};

struct FrontendConfig {
  Endpoint listen{"127.0.0.1", 6033};
  std::string server_version = "10.11.0-MariaDB-sluice";
  // Auth plugin announced in the initial handshake: "mysql_native_password" or
  // "caching_sha2_password". Both are accepted from clients either way.
  std::string default_auth = "mysql_native_password";
  uint32_t max_client_connections = 10000;
  uint32_t max_packet_size = 1073741824;  // largest logical packet accepted from a client
};

struct AdminConfig {
  Endpoint listen{"127.0.0.1", 6032};
  std::string user = "admin";
  std::string password = "admin";
};

struct MetricsConfig {
  Endpoint listen{"127.0.0.1", 6070};
};

struct MonitorConfig {
  std::string user = "monitor";
  std::string password = "monitor";
  // After a failed connect a server is skipped for this long before being tried again.
  uint32_t down_retry_ms = 1000;
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
};

// Reads and validates the file. Throws ConfigError("<path>: <reason>").
Config load_config_file(const std::string& path);
// Same from JSON text (used by tests and by load_config_file).
Config load_config_text(const std::string& json_text);

}  // namespace sluice
