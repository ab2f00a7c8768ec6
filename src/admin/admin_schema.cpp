// The admin schema: ProxySQL 2.x's table definitions (column names, types, CHECKs and
// DEFAULTs as its admin interface has them), plus Sluice's columns:
//   mysql_servers   max_idle, min_idle, idle_timeout_ms, max_lifetime_ms,
//                   connect_timeout_ms, checkout_timeout_ms, max_prepared_statements
//                   (per-server pool limits; the
//                   ProxySQL column max_connections is the pool's max_connections). Their
//                   DEFAULTs, and max_connections', are the config's "pool" section.
//   mysql_users     backend_username, backend_password (NULL = same as the frontend ones).
// Columns Sluice does not implement keep ProxySQL's defaults; LOAD ... TO RUNTIME refuses a
// row that sets one (admin_rows.cpp). mysql_users.default_hostgroup is NULL-able here
// (NULL = routing.writer_hostgroup), where ProxySQL has NOT NULL DEFAULT 0.
#include <string>
#include <vector>

#include "admin_internal.h"

namespace sluice::admin {
namespace {

std::string servers_columns(const PoolLimits& p) {
  auto n = [](uint32_t v) { return std::to_string(v); };
  return "hostgroup_id INT CHECK (hostgroup_id>=0) NOT NULL DEFAULT 0 , hostname VARCHAR NOT NULL , "
         "port INT CHECK (port >= 0 AND port <= 65535) NOT NULL DEFAULT 3306 , "
         "gtid_port INT CHECK ((gtid_port <> port OR gtid_port=0) AND gtid_port >= 0 AND gtid_port <= 65535) NOT NULL DEFAULT 0 , "
         "status VARCHAR CHECK (UPPER(status) IN ('ONLINE','SHUNNED','OFFLINE_SOFT', 'OFFLINE_HARD')) NOT NULL DEFAULT 'ONLINE' , "
         "weight INT CHECK (weight >= 0 AND weight <=10000000) NOT NULL DEFAULT 1 , "
         "compression INT CHECK (compression IN(0,1)) NOT NULL DEFAULT 0 , "
         "max_connections INT CHECK (max_connections >=0) NOT NULL DEFAULT " + n(p.max_connections) + " , "
         "max_replication_lag INT CHECK (max_replication_lag >= 0 AND max_replication_lag <= 126144000) NOT NULL DEFAULT 0 , "
         "use_ssl INT CHECK (use_ssl IN(0,1)) NOT NULL DEFAULT 0 , "
         "max_latency_ms INT UNSIGNED CHECK (max_latency_ms>=0) NOT NULL DEFAULT 0 , "
         "comment VARCHAR NOT NULL DEFAULT '' , "
         "max_idle INT CHECK (max_idle >= 0) NOT NULL DEFAULT " + n(p.max_idle) + " , "
         "min_idle INT CHECK (min_idle >= 0) NOT NULL DEFAULT " + n(p.min_idle) + " , "
         "idle_timeout_ms INT CHECK (idle_timeout_ms >= 0) NOT NULL DEFAULT " + n(p.idle_timeout_ms) + " , "
         "max_lifetime_ms INT CHECK (max_lifetime_ms >= 0) NOT NULL DEFAULT " + n(p.max_lifetime_ms) + " , "
         "connect_timeout_ms INT CHECK (connect_timeout_ms >= 0) NOT NULL DEFAULT " + n(p.connect_timeout_ms) + " , "
         "checkout_timeout_ms INT CHECK (checkout_timeout_ms >= 0) NOT NULL DEFAULT " + n(p.checkout_timeout_ms) + " , "
         "max_prepared_statements INT CHECK (max_prepared_statements >= 1) NOT NULL DEFAULT " +
         n(p.max_prepared_statements) + " , "
         "PRIMARY KEY (hostgroup_id, hostname, port)";
}

constexpr const char* kUsersColumns =
    "username VARCHAR NOT NULL , password VARCHAR , active INT CHECK (active IN (0,1)) NOT NULL DEFAULT 1 , "
    "use_ssl INT CHECK (use_ssl IN (0,1)) NOT NULL DEFAULT 0 , default_hostgroup INT DEFAULT NULL , "
    "default_schema VARCHAR , schema_locked INT CHECK (schema_locked IN (0,1)) NOT NULL DEFAULT 0 , "
    "transaction_persistent INT CHECK (transaction_persistent IN (0,1)) NOT NULL DEFAULT 1 , "
    "fast_forward INT CHECK (fast_forward IN (0,1)) NOT NULL DEFAULT 0 , "
    "backend INT CHECK (backend IN (0,1)) NOT NULL DEFAULT 1 , frontend INT CHECK (frontend IN (0,1)) NOT NULL DEFAULT 1 , "
    "max_connections INT CHECK (max_connections >=0) NOT NULL DEFAULT 10000 , "
    "attributes VARCHAR CHECK (JSON_VALID(attributes) OR attributes = '') NOT NULL DEFAULT '' , "
    "comment VARCHAR NOT NULL DEFAULT '' , "
    "backend_username VARCHAR DEFAULT NULL , backend_password VARCHAR DEFAULT NULL , "
    "PRIMARY KEY (username, backend) , UNIQUE (username, frontend)";

constexpr const char* kQueryRulesColumns =
    "rule_id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL , active INT CHECK (active IN (0,1)) NOT NULL DEFAULT 0 , "
    "username VARCHAR , schemaname VARCHAR , flagIN INT CHECK (flagIN >= 0) NOT NULL DEFAULT 0 , "
    "client_addr VARCHAR , proxy_addr VARCHAR , proxy_port INT CHECK (proxy_port >= 0 AND proxy_port <= 65535) , "
    "digest VARCHAR , match_digest VARCHAR , match_pattern VARCHAR , "
    "negate_match_pattern INT CHECK (negate_match_pattern IN (0,1)) NOT NULL DEFAULT 0 , "
    "re_modifiers VARCHAR DEFAULT 'CASELESS' , flagOUT INT CHECK (flagOUT >= 0) , "
    "replace_pattern VARCHAR CHECK(CASE WHEN replace_pattern IS NULL THEN 1 WHEN replace_pattern IS NOT NULL AND "
    "match_pattern IS NOT NULL THEN 1 ELSE 0 END) , "
    "destination_hostgroup INT DEFAULT NULL , cache_ttl INT CHECK(cache_ttl > 0) , "
    "cache_empty_result INT CHECK (cache_empty_result IN (0,1)) DEFAULT NULL , cache_timeout INT CHECK(cache_timeout >= 0) , "
    "reconnect INT CHECK (reconnect IN (0,1)) DEFAULT NULL , timeout INT UNSIGNED CHECK (timeout >= 0) , "
    "retries INT CHECK (retries>=0 AND retries <=1000) , delay INT UNSIGNED CHECK (delay >=0) , "
    "next_query_flagIN INT UNSIGNED , mirror_flagOUT INT UNSIGNED , mirror_hostgroup INT UNSIGNED , "
    "error_msg VARCHAR , OK_msg VARCHAR , sticky_conn INT CHECK (sticky_conn IN (0,1)) , "
    "multiplex INT CHECK (multiplex IN (0,1,2)) , gtid_from_hostgroup INT UNSIGNED , log INT CHECK (log IN (0,1)) , "
    "apply INT CHECK(apply IN (0,1)) NOT NULL DEFAULT 0 , "
    "attributes VARCHAR CHECK (JSON_VALID(attributes) OR attributes = '') NOT NULL DEFAULT '' , comment VARCHAR";

constexpr const char* kReplicationHostgroupsColumns =
    "writer_hostgroup INT CHECK (writer_hostgroup>=0) NOT NULL PRIMARY KEY , "
    "reader_hostgroup INT NOT NULL CHECK (reader_hostgroup<>writer_hostgroup AND reader_hostgroup>=0) , "
    "check_type VARCHAR CHECK (LOWER(check_type) IN ('read_only','innodb_read_only','super_read_only',"
    "'read_only|innodb_read_only','read_only&innodb_read_only')) NOT NULL DEFAULT 'read_only' , "
    "comment VARCHAR NOT NULL DEFAULT '', UNIQUE (reader_hostgroup)";

constexpr const char* kGlobalVariablesColumns =
    "variable_name VARCHAR NOT NULL PRIMARY KEY , variable_value VARCHAR NOT NULL";

// ProxySQL's pool columns, then the Go database/sql figures Sluice keeps per pool.
constexpr const char* kConnectionPoolColumns =
    "hostgroup INT , srv_host VARCHAR , srv_port INT , status VARCHAR , ConnUsed INT , ConnFree INT , "
    "ConnOK INT , ConnERR INT , MaxConnUsed INT , Queries INT , Queries_GTID_sync INT , "
    "Bytes_data_sent INT , Bytes_data_recv INT , Latency_us INT , "
    "MaxConn INT , Waiting INT , WaitCount INT , WaitTime_us INT , CheckoutTimeouts INT , "
    "ClosedMaxIdle INT , ClosedIdleTimeout INT , ClosedMaxLifetime INT , ClosedError INT , "
    "ClosedServerDown INT , ClosedEvicted INT , ClosedShutdown INT";

constexpr const char* kDigestColumns =
    "hostgroup INT , schemaname VARCHAR NOT NULL , username VARCHAR NOT NULL , client_address VARCHAR NOT NULL , "
    "digest VARCHAR NOT NULL , digest_text VARCHAR NOT NULL , count_star INTEGER NOT NULL , "
    "first_seen INTEGER NOT NULL , last_seen INTEGER NOT NULL , sum_time INTEGER NOT NULL , "
    "min_time INTEGER NOT NULL , max_time INTEGER NOT NULL , sum_rows_affected INTEGER NOT NULL , "
    "sum_rows_sent INTEGER NOT NULL , PRIMARY KEY(hostgroup, schemaname, username, client_address, digest)";

std::string table(const std::string& name, const std::string& columns) {
  return "CREATE TABLE " + name + " (" + columns + ")";
}

}  // namespace

std::vector<std::string> schema_ddl(const PoolLimits& pool_defaults) {
  std::vector<std::string> ddl;
  const std::pair<const char*, std::string> config_tables[] = {
      {"mysql_servers", servers_columns(pool_defaults)},
      {"mysql_users", kUsersColumns},
      {"mysql_query_rules", kQueryRulesColumns},
      {"mysql_replication_hostgroups", kReplicationHostgroupsColumns},
      {"global_variables", kGlobalVariablesColumns},
  };
  for (const auto& [name, columns] : config_tables) {
    ddl.push_back(table(std::string("main.") + name, columns));
    ddl.push_back(table(std::string("main.runtime_") + name, columns));
  }
  ddl.push_back(table("stats.stats_mysql_connection_pool", kConnectionPoolColumns));
  ddl.push_back(table("stats.stats_mysql_connection_pool_reset", kConnectionPoolColumns));
  ddl.push_back(table("stats.stats_mysql_query_digest", kDigestColumns));
  ddl.push_back(table("stats.stats_mysql_query_digest_reset", kDigestColumns));
  ddl.push_back(table("stats.stats_mysql_query_rules", "rule_id INTEGER PRIMARY KEY , hits INT NOT NULL"));
  ddl.push_back(table("stats.stats_mysql_processlist",
                      "ThreadID INT NOT NULL , SessionID INTEGER PRIMARY KEY , user VARCHAR , db VARCHAR , "
                      "cli_host VARCHAR , cli_port INT , hostgroup INT , l_srv_host VARCHAR , l_srv_port INT , "
                      "srv_host VARCHAR , srv_port INT , command VARCHAR , time_ms INT NOT NULL , info VARCHAR , "
                      "status_flags INT , extended_info VARCHAR"));
  ddl.push_back(table("stats.stats_mysql_commands_counters",
                      "Command VARCHAR NOT NULL PRIMARY KEY , Total_Time_us INT NOT NULL , Total_cnt INT NOT NULL , "
                      "cnt_100us INT NOT NULL , cnt_500us INT NOT NULL , cnt_1ms INT NOT NULL , cnt_5ms INT NOT NULL , "
                      "cnt_10ms INT NOT NULL , cnt_50ms INT NOT NULL , cnt_100ms INT NOT NULL , cnt_500ms INT NOT NULL , "
                      "cnt_1s INT NOT NULL , cnt_5s INT NOT NULL , cnt_10s INT NOT NULL , cnt_INFs INT NOT NULL"));
  ddl.push_back(table("stats.stats_mysql_global", "Variable_Name VARCHAR NOT NULL PRIMARY KEY , Variable_Value VARCHAR NOT NULL"));
  // ProxySQL's monitor schema: the newest checks of each kind (Runtime::monitor_log).
  ddl.push_back(table("monitor.mysql_server_connect_log",
                      "hostname VARCHAR NOT NULL , port INT NOT NULL DEFAULT 3306 , time_start_us INT NOT NULL DEFAULT 0 , "
                      "connect_success_time_us INT DEFAULT 0 , connect_error VARCHAR"));
  ddl.push_back(table("monitor.mysql_server_ping_log",
                      "hostname VARCHAR NOT NULL , port INT NOT NULL DEFAULT 3306 , time_start_us INT NOT NULL DEFAULT 0 , "
                      "ping_success_time_us INT DEFAULT 0 , ping_error VARCHAR"));
  ddl.push_back(table("monitor.mysql_server_read_only_log",
                      "hostname VARCHAR NOT NULL , port INT NOT NULL DEFAULT 3306 , time_start_us INT NOT NULL DEFAULT 0 , "
                      "success_time_us INT DEFAULT 0 , read_only INT DEFAULT 1 , error VARCHAR"));
  ddl.push_back(table("monitor.mysql_server_replication_lag_log",
                      "hostname VARCHAR NOT NULL , port INT NOT NULL DEFAULT 3306 , time_start_us INT NOT NULL DEFAULT 0 , "
                      "success_time_us INT DEFAULT 0 , repl_lag INT DEFAULT 0 , error VARCHAR"));
  ddl.push_back(table("stats.stats_mysql_users",
                      "username VARCHAR PRIMARY KEY , frontend_connections INT NOT NULL , frontend_max_connections INT NOT NULL"));
  return ddl;
}

}  // namespace sluice::admin
