// Admin port: ProxySQL-compatible SQL administration over the MySQL protocol.
//
// Owns: the admin listener (config.admin.listen), admin sessions (handshake and auth with
// the client port's protocol code; never a backend), and an in-memory SQLite database
// holding ProxySQL's admin schema plus Sluice's columns. Three layers, as in ProxySQL:
//   memory   mysql_servers, mysql_users, mysql_query_rules, mysql_replication_hostgroups,
//            global_variables: the tables operators edit with SQL;
//   runtime  what the proxy runs (Runtime::running_config()); runtime_* tables are
//            refilled from it whenever a statement reads them;
//   disk     the JSON config file (--config), rewritten atomically by SAVE ... TO DISK.
// LOAD ... TO RUNTIME converts the memory tables to a Config (running config with that
// section replaced), validated with the config loader, errors naming the table row, then
// Runtime::apply_config(). stats_* tables are refilled when a statement reads them.
// Files: admin_server.cpp (thread, loop, listener), admin_session.cpp (protocol),
// admin_statements.cpp (what a statement is: LOAD/SAVE, SHOW, SET, USE, SQL rewrites),
// admin_executor.cpp (runs statements), admin_db.cpp (SQLite), admin_schema.cpp (DDL),
// admin_rows.cpp (tables <-> config JSON), admin_variables.cpp (global_variables),
// admin_layers.cpp (LOAD/SAVE), admin_stats.cpp (stats_* and runtime_* fills),
// admin_sources.cpp (the ONE place that reads topology, pools, metrics and sessions),
// admin_wire.cpp (result sets as MySQL packets).
// Thread rules: AdminServer::start()/stop() on the main thread. Everything else runs on the
// admin thread (its own libuv loop); SQLite is used from that thread only. Runtime is read
// through thread-safe accessors only (running_config(), apply_config(), pool stats, the
// session registry, per-worker counters).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "sluice/config.h"

struct sqlite3;

namespace sluice {

class Runtime;

namespace admin {

// ---- commands (admin_statements.cpp) ----------------------------------------------------

enum class Module : uint8_t { kMysqlServers, kMysqlUsers, kMysqlQueryRules, kMysqlVariables, kAdminVariables };
const char* module_name(Module m);  // "MYSQL SERVERS", ...

// Every ProxySQL spelling maps to one of four moves between the layers.
enum class Move : uint8_t {
  kMemoryToRuntime,  // LOAD x TO RUNTIME | TO RUN | FROM MEMORY | FROM MEM
  kRuntimeToMemory,  // SAVE x TO MEMORY | TO MEM | FROM RUNTIME | FROM RUN
  kDiskToMemory,     // LOAD x FROM DISK | TO MEMORY | TO MEM | FROM CONFIG
  kMemoryToDisk,     // SAVE x TO DISK | FROM MEMORY | FROM MEM
};

struct LayerCommand {
  Module module;
  Move move;
};

// What an admin statement is, before it reaches SQLite.
struct Statement {
  enum Kind : uint8_t {
    kLayer,        // LOAD/SAVE: `layer` set
    kSql,          // run `sql` in SQLite (possibly rewritten from SHOW ... or @@vars)
    kIgnoredSet,   // SET the client sends on connect (names, autocommit, ...): OK
    kSetVariable,  // SET mysql-x = v / admin-x = v: `name`, `value` (UPDATE global_variables)
    kUse,          // USE db: `name`
    kEmpty,        // only comments/whitespace
    kError,        // refused before SQLite: `error`
  } kind = kSql;
  LayerCommand layer{};
  std::string sql;
  std::string name, value;
  std::string error;
  // For column names: text that replaced `@@var` in `sql`, and the original spelling.
  std::vector<std::pair<std::string, std::string>> renames;
};

// Parses one statement (no trailing ';'). `schema` is the session's current database,
// used by SHOW TABLES without FROM.
Statement parse_statement(std::string_view text, std::string_view schema);
// Splits a multi-statement text on top-level ';' (not inside strings or comments).
std::vector<std::string_view> split_statements(std::string_view text);
// LOAD/SAVE only; nullopt if `text` is not a layer command. Unknown module or direction
// gives a Statement of kind kError from parse_statement instead.
std::optional<LayerCommand> parse_layer_command(std::string_view text);

// ---- results ----------------------------------------------------------------------------

enum class ColumnType : uint8_t { kInteger, kReal, kText };

struct ResultSet {
  std::vector<std::string> columns;
  std::vector<ColumnType> types;
  std::vector<std::vector<std::optional<std::string>>> rows;
};

// What one statement produced: an error, a result set, or an OK.
struct Outcome {
  bool error = false;
  uint16_t code = 0;
  std::string sqlstate;
  std::string message;
  bool has_rows = false;
  ResultSet rs;
  uint64_t affected_rows = 0;
  uint64_t last_insert_id = 0;
  std::string info;

  static Outcome ok(uint64_t affected = 0, std::string info = {});
  static Outcome fail(uint16_t code, std::string sqlstate, std::string message);
};

// ---- SQLite (admin_db.cpp) --------------------------------------------------------------

// An admin-level failure with a message for the client (row-named conversion errors,
// refused variables, file errors).
struct AdminError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// The admin schema in an in-memory SQLite database: main (config tables and runtime_*
// twins), stats (stats_*), monitor (empty for now). Column DEFAULTs of the Sluice pool
// columns come from `pool_defaults` (the config's "pool" section at start).
class Database {
 public:
  explicit Database(const PoolLimits& pool_defaults);
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  sqlite3* handle() { return db_; }
  // Runs one SQL statement; SQLite errors become MySQL errors with SQLite's message.
  Outcome run(const std::string& sql);
  // Runs statements that must succeed (schema, fills); throws AdminError otherwise.
  void exec(const std::string& sql);
  // Rows of a query with every value as text (NULL as nullopt).
  ResultSet query(const std::string& sql);

 private:
  sqlite3* db_ = nullptr;
};

// ---- tables <-> config (admin_rows.cpp, admin_variables.cpp) ----------------------------

// Which layer's tables: memory (mysql_servers, ...) or runtime (runtime_mysql_servers, ...).
enum class Layer : uint8_t { kMemory, kRuntime };

// Replaces the tables of `m` in `layer` with the rows of `c`.
void write_tables(Database& db, Module m, Layer layer, const Config& c);
// `base` with the section of `m` replaced by the memory tables, loaded and validated as
// the config loader would load it. Throws AdminError naming the table row (or variable)
// at fault, e.g. "mysql_query_rules rule_id 7: match_pattern: invalid regular expression: ...".
Config config_with_tables(Database& db, Module m, const Config& base);
// Variables of `m` (kMysqlVariables or kAdminVariables) that cannot change at run time and
// differ between `running` and `next`: "" if none, else an error naming them.
std::string static_variables_changed(Module m, const Config& running, const Config& next);
// Translates a config-loader message ("servers[2].weight: ...") into table terms
// ("mysql_servers row hostgroup 20 10.0.0.1:3306: weight: ..."), given the config JSON
// the message is about (rows are named from it; config keys become variable names).
std::string describe_config_error(std::string_view message, const std::string& config_json);

// ---- the server (admin_server.cpp) -------------------------------------------------------

class AdminServer {
 public:
  AdminServer(Runtime& rt, std::string version);
  ~AdminServer();
  AdminServer(const AdminServer&) = delete;
  AdminServer& operator=(const AdminServer&) = delete;

  // Builds the tables from the running config, binds config.admin.listen and starts the
  // admin thread. False with a message naming admin.listen when it cannot bind.
  bool start(std::string* error);
  void stop();  // idempotent; closes admin sessions

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace admin

using admin::AdminServer;

}  // namespace sluice
