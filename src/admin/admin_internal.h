// Declarations shared by the admin module's files (see include/sluice/admin.h for the
// module's contract). Everything here runs on the admin thread, except the functions of
// admin_sources.cpp, which only call Runtime's thread-safe accessors.
#pragma once

#include <nlohmann/json.hpp>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "sluice/admin.h"
#include "sluice/digest_stats.h"
#include "sluice/monitor_log.h"
#include "sluice/pool.h"

namespace sluice {
class Runtime;
}

namespace sluice::admin {

// ---- admin_schema.cpp ----
std::vector<std::string> schema_ddl(const PoolLimits& pool_defaults);

// ---- admin_variables.cpp: global_variables <-> config keys ----
struct VariableDef {
  enum Type : uint8_t { kInt, kBool, kString, kEndpoint, kCredentials };
  const char* name;                // "mysql-monitor_username"
  std::vector<const char*> paths;  // config keys it stands for, dotted ("monitor.user")
  Type type;
  bool runtime;  // may change with LOAD ... TO RUNTIME
};
const std::vector<VariableDef>& variable_defs();
const VariableDef* find_variable(std::string_view name);
const VariableDef* variable_for_path(std::string_view dotted_path);  // exact or a prefix
bool variable_in_module(const VariableDef& v, Module m);
// The variable's value as global_variables shows it, from config JSON (config_to_json).
std::string variable_value(const nlohmann::ordered_json& root, const VariableDef& v);
// Sets the config keys of `v` in `root` from its text; throws AdminError on a bad value.
void set_variable(nlohmann::ordered_json& root, const VariableDef& v, const std::string& value);

// ---- admin_rows.cpp ----
// "mysql_servers row hostgroup 30 127.0.0.1:1", "mysql_query_rules rule_id 7", ... for the
// element `index` of config section `section` ("servers", ...) in `root`.
std::string row_label(const nlohmann::ordered_json& root, std::string_view section, size_t index);

// ---- admin_sources.cpp: the one file that reads Runtime internals ----
struct PoolRow {
  uint32_t hostgroup = 0;
  std::string host;
  uint16_t port = 0;
  std::string status;  // ONLINE, SHUNNED, SHUNNED_REPLICATION_LAG, OFFLINE_SOFT, OFFLINE_HARD
  PoolStats pool;
  int64_t latency_us = 0;  // the monitor's last ping round trip (0 = none yet)
};
struct ProcessRow {
  uint32_t session_id = 0;
  int worker = 0;
  std::string user, db, cli_host;
  uint16_t cli_port = 0;
  std::optional<uint32_t> hostgroup;  // of the server running its statement, if any
  std::string srv_host;
  uint16_t srv_port = 0;
  std::string command;  // "Sleep", "Query", "Connect", ...
  int64_t time_ms = 0;
  std::string info;
};
struct CommandRow {
  std::string command;
  uint64_t total_time_us = 0, total = 0;
  std::array<uint64_t, 12> buckets{};  // ProxySQL's 100us .. 10s, INF (non-cumulative)
};
struct UserRow {
  std::string username;
  uint32_t connections = 0, max_connections = 0;
};
Config running_config(Runtime& rt);
std::string apply_config(Runtime& rt, const Config& next);
const std::string& running_config_path(Runtime& rt);  // the disk layer ("" = none)
std::vector<PoolRow> pool_rows(Runtime& rt);
std::vector<ProcessRow> process_rows(Runtime& rt);
std::vector<std::pair<std::string, std::string>> global_status(Runtime& rt, const std::string& version,
                                                               int64_t uptime_s);
std::vector<CommandRow> command_rows(Runtime& rt);
std::vector<UserRow> user_rows(Runtime& rt);
std::vector<DigestRow> digest_rows(Runtime& rt, bool reset);  // sluice::DigestRow
std::vector<std::pair<uint32_t, uint64_t>> rule_hits(Runtime& rt);
std::vector<MonitorLogEntry> monitor_rows(Runtime& rt, MonitorCheck kind);

// ---- admin_executor.cpp ----
// Admin settings the admin thread applies itself (LOAD ADMIN VARIABLES TO RUNTIME): the
// proxy's running config keeps the values it started with.
struct AdminState {
  AdminConfig admin;
  std::string log_level;
};

struct SessionContext {
  uint32_t id = 0;
  std::string user;
  std::string schema = "main";
};

class Executor {
 public:
  // `version` is Sluice's own version (stats_mysql_global, @@version_comment).
  Executor(Runtime& rt, Database& db, std::string version, AdminState state);
  // Runs a COM_QUERY text: one Outcome per statement, stopping after the first error.
  std::vector<Outcome> run(std::string_view text, SessionContext& ctx);
  const AdminState& state() const { return state_; }
  // Running config as the admin sees it: the proxy's, with the admin's own settings.
  Config running();
  bool known_schema(std::string_view name);
  int64_t uptime_s() const;

 private:
  Outcome run_one(std::string_view text, SessionContext& ctx);
  Outcome run_sql(const Statement& st, SessionContext& ctx);
  Outcome set_variable(const Statement& st);
  void register_functions();

  Runtime& rt_;
  Database& db_;
  std::string version_;
  AdminState state_;
  SessionContext* ctx_ = nullptr;  // the session whose statement runs (SQL functions)
  int64_t started_ms_;
  friend struct SqlFunctions;
};

// ---- admin_layers.cpp ----
// Carries out LOAD/SAVE; the Executor passes itself for the running config and state.
Outcome run_layer_command(const LayerCommand& cmd, Runtime& rt, Database& db, AdminState& state,
                          const Config& running);

// ---- admin_stats.cpp ----
// Refills the runtime_* / stats_* tables that `sql` names (lower-cased substring match).
void refresh_tables(Database& db, Runtime& rt, std::string_view sql, const Config& running,
                    const std::string& version, int64_t uptime_s);

// ---- admin_wire.cpp ----
// Appends the packets of `o` (result set, OK or ERR) to `out`, sequence ids from `seq`.
// `more` sets SERVER_MORE_RESULTS_EXISTS on its last packet (multi-statements).
void append_outcome(std::string& out, uint8_t& seq, const Outcome& o, uint32_t client_caps, bool more);

// ---- small text helpers (admin_statements.cpp) ----
std::string lower(std::string_view s);
std::string_view trim(std::string_view s);
std::string quote_sql(std::string_view s);  // 'it''s'

}  // namespace sluice::admin
