// Runs the statements of one COM_QUERY: parse (admin_statements.cpp), then LOAD/SAVE,
// SET, USE or SQL. Before SQL runs, the runtime_*/stats_* tables it names are refilled.
// SQL functions MySQL clients call (DATABASE(), USER(), VERSION(), CONNECTION_ID()) and
// sluice_sysvar() (what `@@var` is rewritten to) are registered on the database here.
#include <sqlite3.h>
#include <unistd.h>

#include "admin_internal.h"
#include "sluice/clock.h"
#include "sluice/log.h"

namespace sluice::admin {

struct SqlFunctions {
  static Executor& self(sqlite3_context* c) { return *static_cast<Executor*>(sqlite3_user_data(c)); }

  static void text(sqlite3_context* c, const std::string& s) {
    sqlite3_result_text(c, s.data(), static_cast<int>(s.size()), SQLITE_TRANSIENT);
  }

  static void database(sqlite3_context* c, int, sqlite3_value**) {
    Executor& e = self(c);
    text(c, e.ctx_ != nullptr ? e.ctx_->schema : "main");
  }

  static void user(sqlite3_context* c, int, sqlite3_value**) {
    Executor& e = self(c);
    text(c, (e.ctx_ != nullptr ? e.ctx_->user : e.state_.admin.user) + "@localhost");
  }

  static void version(sqlite3_context* c, int, sqlite3_value**) { text(c, self(c).running().frontend.server_version); }

  static void connection_id(sqlite3_context* c, int, sqlite3_value**) {
    Executor& e = self(c);
    sqlite3_result_int64(c, e.ctx_ != nullptr ? e.ctx_->id : 0);
  }

  // The system variables clients ask for on connect; unknown ones are NULL.
  static void sysvar(sqlite3_context* c, int argc, sqlite3_value** argv) {
    Executor& e = self(c);
    const unsigned char* raw = argc > 0 ? sqlite3_value_text(argv[0]) : nullptr;
    std::string name = raw ? lower(reinterpret_cast<const char*>(raw)) : "";
    if (name == "version") return version(c, 0, nullptr);
    if (name == "version_comment") return text(c, "Sluice admin " + e.version_);
    if (name == "port") return sqlite3_result_int64(c, e.state_.admin.listen.port);
    if (name == "hostname") {
      char host[256] = "localhost";
      gethostname(host, sizeof host - 1);
      return text(c, host);
    }
    if (name == "last_insert_id" || name == "identity")
      return sqlite3_result_int64(c, sqlite3_last_insert_rowid(e.db_.handle()));
    static const std::pair<const char*, const char*> kText[] = {
        {"sql_mode", ""},
        {"character_set_client", "utf8mb4"},
        {"character_set_connection", "utf8mb4"},
        {"character_set_results", "utf8mb4"},
        {"character_set_server", "utf8mb4"},
        {"character_set_database", "utf8mb4"},
        {"collation_connection", "utf8mb4_general_ci"},
        {"collation_server", "utf8mb4_general_ci"},
        {"collation_database", "utf8mb4_general_ci"},
        {"tx_isolation", "REPEATABLE-READ"},
        {"transaction_isolation", "REPEATABLE-READ"},
        {"time_zone", "SYSTEM"},
        {"system_time_zone", "UTC"},
        {"init_connect", ""},
        {"license", "Sluice"},
        {"have_ssl", "DISABLED"},
        {"query_cache_type", "OFF"},
        {"socket", ""},
    };
    static const std::pair<const char*, int64_t> kInt[] = {
        {"max_allowed_packet", 67108864},
        {"wait_timeout", 28800},
        {"interactive_timeout", 28800},
        {"net_write_timeout", 60},
        {"net_read_timeout", 30},
        {"net_buffer_length", 16384},
        {"autocommit", 1},
        {"auto_increment_increment", 1},
        {"auto_increment_offset", 1},
        {"tx_read_only", 0},
        {"transaction_read_only", 0},
        {"lower_case_table_names", 0},
        {"server_id", 0},
        {"performance_schema", 0},
        {"query_cache_size", 0},
        {"warning_count", 0},
        {"error_count", 0},
        {"sql_select_limit", 0},
    };
    for (auto [n, v] : kText)
      if (name == n) return text(c, v);
    for (auto [n, v] : kInt)
      if (name == n) return sqlite3_result_int64(c, v);
    sqlite3_result_null(c);
  }
};

Executor::Executor(Runtime& rt, Database& db, std::string version, AdminState state)
    : rt_(rt), db_(db), version_(std::move(version)), state_(std::move(state)), started_ms_(now_ms()) {
  register_functions();
}

void Executor::register_functions() {
  struct Fn {
    const char* name;
    int args;
    void (*fn)(sqlite3_context*, int, sqlite3_value**);
  };
  const Fn fns[] = {
      {"database", 0, SqlFunctions::database},       {"schema", 0, SqlFunctions::database},
      {"user", 0, SqlFunctions::user},               {"current_user", 0, SqlFunctions::user},
      {"session_user", 0, SqlFunctions::user},       {"system_user", 0, SqlFunctions::user},
      {"version", 0, SqlFunctions::version},         {"connection_id", 0, SqlFunctions::connection_id},
      {"sluice_sysvar", 1, SqlFunctions::sysvar},
  };
  for (const Fn& f : fns)
    sqlite3_create_function(db_.handle(), f.name, f.args, SQLITE_UTF8, this, f.fn, nullptr, nullptr);
}

Config Executor::running() {
  Config c = running_config(rt_);
  c.admin = state_.admin;
  c.log_level = state_.log_level;
  return c;
}

int64_t Executor::uptime_s() const { return (now_ms() - started_ms_) / 1000; }

bool Executor::known_schema(std::string_view name) {
  std::string n = lower(name);
  return n == "main" || n == "stats" || n == "monitor";
}

std::vector<Outcome> Executor::run(std::string_view text, SessionContext& ctx) {
  std::vector<Outcome> out;
  for (std::string_view one : split_statements(text)) {
    out.push_back(run_one(one, ctx));
    if (out.back().error) break;
  }
  return out;
}

Outcome Executor::run_one(std::string_view text, SessionContext& ctx) {
  Statement st = parse_statement(text, ctx.schema);
  switch (st.kind) {
    case Statement::kEmpty: return Outcome::fail(1065, "42000", "Query was empty");
    case Statement::kError:
      if (st.error.starts_with("Unknown database")) return Outcome::fail(1049, "42000", st.error);
      return Outcome::fail(1064, "42000", st.error);
    case Statement::kIgnoredSet: return Outcome::ok();
    case Statement::kSetVariable: return set_variable(st);
    case Statement::kUse:
      if (!known_schema(st.name)) return Outcome::fail(1049, "42000", "Unknown database '" + st.name + "'");
      ctx.schema = lower(st.name);
      return Outcome::ok();
    case Statement::kLayer: {
      LOG_INFO("admin: %s: %.*s", ctx.user.c_str(), static_cast<int>(trim(text).size()), trim(text).data());
      return run_layer_command(st.layer, rt_, db_, state_, running());
    }
    case Statement::kSql: return run_sql(st, ctx);
  }
  return Outcome::ok();
}

Outcome Executor::run_sql(const Statement& st, SessionContext& ctx) {
  try {
    // runtime_* tables are rebuilt from the running config, only when the query names one.
    Config cfg;
    if (lower(st.sql).find("runtime_") != std::string::npos) cfg = running();
    refresh_tables(db_, rt_, st.sql, cfg, version_, uptime_s());
  } catch (const AdminError& e) {
    return Outcome::fail(1105, "HY000", e.what());
  }
  ctx_ = &ctx;
  Outcome o = db_.run(st.sql);
  ctx_ = nullptr;
  for (std::string& column : o.rs.columns) {
    for (const auto& [call, original] : st.renames) {
      for (size_t pos = column.find(call); pos != std::string::npos; pos = column.find(call, pos + original.size()))
        column.replace(pos, call.size(), original);
    }
  }
  if (!o.error && !st.name.empty() && o.rs.rows.empty())
    return Outcome::fail(1146, "42S02", "Table '" + st.name + "' doesn't exist");
  return o;
}

// SET mysql-x = v: ProxySQL's shortcut for UPDATE global_variables.
Outcome Executor::set_variable(const Statement& st) {
  if (find_variable(st.name) == nullptr) return Outcome::fail(1193, "HY000", "Unknown system variable '" + st.name + "'");
  Outcome o = db_.run("INSERT OR REPLACE INTO main.global_variables (variable_name, variable_value) VALUES (" +
                      quote_sql(st.name) + ", " + quote_sql(st.value) + ")");
  if (!o.error) o.affected_rows = 1;
  return o;
}

}  // namespace sluice::admin
