// The admin database: one in-memory SQLite connection (main) with two attached in-memory
// databases (stats, monitor), the schema of admin_schema.cpp, and statement execution with
// SQLite errors turned into MySQL errors.
//
// Error codes: ProxySQL answers every admin error with 1045 (28000, "access denied"),
// which some clients take for a failed login. Sluice sends the MySQL code that means the
// same thing (1064 syntax, 1146 no such table, 1054 no such column, 1062 duplicate key,
// 1048 NULL in a NOT NULL column, 4025 CHECK constraint, else 1105), with SQLite's message.
#include <sqlite3.h>

#include <cstring>

#include "admin_internal.h"

namespace sluice::admin {
namespace {

Outcome sqlite_error(sqlite3* db, int rc) {
  const char* msg = sqlite3_errmsg(db);
  std::string m = msg ? msg : "unknown SQLite error";
  int ext = sqlite3_extended_errcode(db);
  if (m.starts_with("no such table")) return Outcome::fail(1146, "42S02", m);
  if (m.starts_with("no such column")) return Outcome::fail(1054, "42S22", m);
  if (m.find("syntax error") != std::string::npos || m.starts_with("incomplete input") ||
      m.starts_with("unrecognized token"))
    return Outcome::fail(1064, "42000", m);
  if (ext == SQLITE_CONSTRAINT_PRIMARYKEY || ext == SQLITE_CONSTRAINT_UNIQUE) return Outcome::fail(1062, "23000", m);
  if (ext == SQLITE_CONSTRAINT_NOTNULL) return Outcome::fail(1048, "23000", m);
  if (ext == SQLITE_CONSTRAINT_CHECK) return Outcome::fail(4025, "23000", m);
  (void)rc;
  return Outcome::fail(1105, "HY000", m);
}

ColumnType declared_type(const char* decl) {
  if (decl == nullptr) return ColumnType::kText;
  std::string d = lower(decl);
  if (d.find("int") != std::string::npos) return ColumnType::kInteger;
  if (d.find("real") != std::string::npos || d.find("floa") != std::string::npos || d.find("doub") != std::string::npos)
    return ColumnType::kReal;
  return ColumnType::kText;
}

struct StmtGuard {
  sqlite3_stmt* s = nullptr;
  ~StmtGuard() { sqlite3_finalize(s); }
};

}  // namespace

Outcome Outcome::ok(uint64_t affected, std::string info) {
  Outcome o;
  o.affected_rows = affected;
  o.info = std::move(info);
  return o;
}

Outcome Outcome::fail(uint16_t code, std::string sqlstate, std::string message) {
  Outcome o;
  o.error = true;
  o.code = code;
  o.sqlstate = std::move(sqlstate);
  o.message = std::move(message);
  return o;
}

Database::Database(const PoolLimits& pool_defaults) {
  if (sqlite3_open(":memory:", &db_) != SQLITE_OK) {
    std::string msg = db_ ? sqlite3_errmsg(db_) : "out of memory";
    sqlite3_close(db_);
    db_ = nullptr;
    throw AdminError("cannot open the admin database: " + msg);
  }
  sqlite3_extended_result_codes(db_, 1);
  exec("ATTACH DATABASE ':memory:' AS stats");
  exec("ATTACH DATABASE ':memory:' AS monitor");
  for (const std::string& ddl : schema_ddl(pool_defaults)) exec(ddl);
}

Database::~Database() { sqlite3_close(db_); }

void Database::exec(const std::string& sql) {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : "unknown error";
    sqlite3_free(err);
    throw AdminError("admin database: " + msg + " (in: " + sql.substr(0, 200) + ")");
  }
}

Outcome Database::run(const std::string& sql) {
  StmtGuard st;
  const char* tail = nullptr;
  int rc = sqlite3_prepare_v2(db_, sql.c_str(), static_cast<int>(sql.size()), &st.s, &tail);
  if (rc != SQLITE_OK) return sqlite_error(db_, rc);
  if (st.s == nullptr) return Outcome::ok();  // only a comment
  if (tail != nullptr && !trim(std::string_view(tail)).empty())
    return Outcome::fail(1064, "42000", "one statement at a time (split multi-statements with ';')");
  int cols = sqlite3_column_count(st.s);
  Outcome o;
  if (cols > 0) {
    o.has_rows = true;
    ResultSet& rs = o.rs;
    std::vector<int> seen(static_cast<size_t>(cols), SQLITE_NULL);
    for (int i = 0; i < cols; ++i) rs.columns.emplace_back(sqlite3_column_name(st.s, i));
    while ((rc = sqlite3_step(st.s)) == SQLITE_ROW) {
      auto& row = rs.rows.emplace_back(static_cast<size_t>(cols));
      for (int i = 0; i < cols; ++i) {
        int type = sqlite3_column_type(st.s, i);
        if (type == SQLITE_NULL) continue;
        const unsigned char* t = sqlite3_column_text(st.s, i);
        row[static_cast<size_t>(i)] = std::string(reinterpret_cast<const char*>(t), static_cast<size_t>(sqlite3_column_bytes(st.s, i)));
        int& s = seen[static_cast<size_t>(i)];
        if (s == SQLITE_NULL || (s == SQLITE_INTEGER && type == SQLITE_FLOAT)) s = type;
        else if (s != type && !(s == SQLITE_FLOAT && type == SQLITE_INTEGER)) s = SQLITE_TEXT;
      }
    }
    if (rc != SQLITE_DONE) return sqlite_error(db_, rc);
    // Column types from the values (SQLite is dynamically typed); the declared type only
    // when every value is NULL.
    for (int i = 0; i < cols; ++i) {
      int s = seen[static_cast<size_t>(i)];
      rs.types.push_back(s == SQLITE_INTEGER ? ColumnType::kInteger
                         : s == SQLITE_FLOAT ? ColumnType::kReal
                         : s == SQLITE_NULL  ? declared_type(sqlite3_column_decltype(st.s, i))
                                             : ColumnType::kText);
    }
    return o;
  }
  rc = sqlite3_step(st.s);
  if (rc != SQLITE_DONE && rc != SQLITE_ROW) return sqlite_error(db_, rc);
  o.affected_rows = static_cast<uint64_t>(sqlite3_changes(db_));
  if (lower(std::string_view(sql).substr(0, 12)).find("insert") != std::string::npos ||
      lower(std::string_view(sql).substr(0, 12)).find("replace") != std::string::npos)
    o.last_insert_id = static_cast<uint64_t>(sqlite3_last_insert_rowid(db_));
  return o;
}

ResultSet Database::query(const std::string& sql) {
  Outcome o = run(sql);
  if (o.error) throw AdminError(o.message);
  return std::move(o.rs);
}

}  // namespace sluice::admin
