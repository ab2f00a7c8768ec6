// Admin statements: every ProxySQL spelling of LOAD/SAVE, multi-statement splitting, and
// the rewrites of SHOW, SET, USE and @@variables done before SQLite sees the text.
#include <doctest/doctest.h>

#include "sluice/admin.h"

using namespace sluice::admin;

namespace {

LayerCommand layer(const char* sql) {
  auto c = parse_layer_command(sql);
  REQUIRE(c.has_value());
  return *c;
}

}  // namespace

TEST_CASE("LOAD/SAVE: every ProxySQL spelling maps to its move") {
  struct Case {
    const char* sql;
    Module module;
    Move move;
  } cases[] = {
      {"LOAD MYSQL SERVERS TO RUNTIME", Module::kMysqlServers, Move::kMemoryToRuntime},
      {"load mysql servers to run", Module::kMysqlServers, Move::kMemoryToRuntime},
      {"LOAD MYSQL USERS FROM MEMORY", Module::kMysqlUsers, Move::kMemoryToRuntime},
      {"LOAD MYSQL QUERY RULES FROM MEM", Module::kMysqlQueryRules, Move::kMemoryToRuntime},
      {"SAVE MYSQL VARIABLES TO MEMORY", Module::kMysqlVariables, Move::kRuntimeToMemory},
      {"SAVE ADMIN VARIABLES TO MEM", Module::kAdminVariables, Move::kRuntimeToMemory},
      {"SAVE MYSQL SERVERS FROM RUNTIME", Module::kMysqlServers, Move::kRuntimeToMemory},
      {"SAVE MYSQL USERS FROM RUN", Module::kMysqlUsers, Move::kRuntimeToMemory},
      {"LOAD MYSQL QUERY RULES FROM DISK", Module::kMysqlQueryRules, Move::kDiskToMemory},
      {"LOAD MYSQL VARIABLES TO MEMORY", Module::kMysqlVariables, Move::kDiskToMemory},
      {"LOAD ADMIN VARIABLES TO MEM", Module::kAdminVariables, Move::kDiskToMemory},
      {"LOAD MYSQL SERVERS FROM CONFIG", Module::kMysqlServers, Move::kDiskToMemory},
      {"SAVE MYSQL QUERY RULES TO DISK", Module::kMysqlQueryRules, Move::kMemoryToDisk},
      {"SAVE MYSQL USERS FROM MEMORY", Module::kMysqlUsers, Move::kMemoryToDisk},
      {"  SAVE   mysql  query   rules from mem ;", Module::kMysqlQueryRules, Move::kMemoryToDisk},
      {"/* c */ LOAD MYSQL SERVERS TO RUNTIME", Module::kMysqlServers, Move::kMemoryToRuntime},
  };
  for (const Case& c : cases) {
    CAPTURE(std::string(c.sql));
    LayerCommand got = layer(c.sql);
    CHECK(got.module == c.module);
    CHECK(got.move == c.move);
    Statement st = parse_statement(c.sql, "main");
    CHECK(st.kind == Statement::kLayer);
  }
}

TEST_CASE("LOAD/SAVE: unknown modules and directions are refused, not sent to SQLite") {
  for (const char* sql : {"LOAD MYSQL SERVERS TO DISK", "SAVE MYSQL SERVERS TO RUNTIME", "LOAD SCHEDULER TO RUNTIME",
                          "LOAD MYSQL SERVERS", "SAVE MYSQL QUERY RULES FROM DISK"}) {
    CAPTURE(std::string(sql));
    CHECK_FALSE(parse_layer_command(sql).has_value());
    Statement st = parse_statement(sql, "main");
    CHECK(st.kind == Statement::kError);
    CHECK(st.error.find("unknown command") != std::string::npos);
  }
  CHECK_FALSE(parse_layer_command("SELECT 1").has_value());
}

TEST_CASE("split_statements: top-level semicolons only") {
  auto parts = split_statements("LOAD ADMIN VARIABLES TO RUNTIME; SAVE ADMIN VARIABLES TO DISK;");
  REQUIRE(parts.size() == 2);
  CHECK(parts[0] == "LOAD ADMIN VARIABLES TO RUNTIME");
  CHECK(parts[1] == " SAVE ADMIN VARIABLES TO DISK");
  parts = split_statements("SELECT 'a;b' /* ; */ ; SELECT 2");
  REQUIRE(parts.size() == 2);
  CHECK(parts[0] == "SELECT 'a;b' /* ; */ ");
  CHECK(split_statements("SELECT 1").size() == 1);
  CHECK(split_statements("").size() == 1);
}

TEST_CASE("SET: client session settings are ignored, mysql-/admin- variables update global_variables") {
  CHECK(parse_statement("SET NAMES utf8mb4", "main").kind == Statement::kIgnoredSet);
  CHECK(parse_statement("SET autocommit=1", "main").kind == Statement::kIgnoredSet);
  CHECK(parse_statement("set @@session.sql_mode = ''", "main").kind == Statement::kIgnoredSet);
  Statement st = parse_statement("SET mysql-monitor_ping_interval = '5000'", "main");
  CHECK(st.kind == Statement::kSetVariable);
  CHECK(st.name == "mysql-monitor_ping_interval");
  CHECK(st.value == "5000");
  st = parse_statement("SET admin-admin_credentials=\"root:pw\"", "main");
  CHECK(st.kind == Statement::kSetVariable);
  CHECK(st.name == "admin-admin_credentials");
  CHECK(st.value == "root:pw");
}

TEST_CASE("USE, SHOW and DESCRIBE become SQL over SQLite's catalog") {
  Statement st = parse_statement("USE `stats`", "main");
  CHECK(st.kind == Statement::kUse);
  CHECK(st.name == "stats");
  st = parse_statement("SHOW TABLES", "main");
  REQUIRE(st.kind == Statement::kSql);
  CHECK(st.sql.find("FROM main.sqlite_master") != std::string::npos);
  st = parse_statement("show tables from stats like 'stats_mysql%'", "main");
  REQUIRE(st.kind == Statement::kSql);
  CHECK(st.sql.find("FROM stats.sqlite_master") != std::string::npos);
  CHECK(st.sql.find("LIKE 'stats_mysql%'") != std::string::npos);
  st = parse_statement("SHOW CREATE TABLE mysql_servers", "main");
  REQUIRE(st.kind == Statement::kSql);
  CHECK(st.name == "mysql_servers");
  CHECK(parse_statement("SHOW DATABASES", "main").kind == Statement::kSql);
  CHECK(parse_statement("SHOW VARIABLES LIKE 'mysql-%'", "main").kind == Statement::kSql);
  CHECK(parse_statement("DESCRIBE mysql_users", "main").kind == Statement::kSql);
  CHECK(parse_statement("SHOW TABLES FROM `x; DROP TABLE y`", "main").kind == Statement::kError);
  CHECK(parse_statement("SHOW ENGINES", "main").kind == Statement::kError);
  CHECK(parse_statement(" ; ", "main").kind == Statement::kEmpty);
}

TEST_CASE("@@variables become sluice_sysvar() calls and keep their column names") {
  Statement st = parse_statement("SELECT @@version_comment LIMIT 1", "main");
  REQUIRE(st.kind == Statement::kSql);
  CHECK(st.sql == "SELECT sluice_sysvar('version_comment') LIMIT 1");
  REQUIRE(st.renames.size() == 1);
  CHECK(st.renames[0].second == "@@version_comment");
  st = parse_statement("SELECT @@session.auto_increment_increment AS a, @@GLOBAL.max_allowed_packet", "main");
  CHECK(st.sql == "SELECT sluice_sysvar('auto_increment_increment') AS a, sluice_sysvar('max_allowed_packet')");
  st = parse_statement("SELECT '@@x', 1", "main");
  CHECK(st.sql == "SELECT '@@x', 1");
}

#include "sluice/command_kind.h"

TEST_CASE("command_kind: ProxySQL's command names from the leading keywords") {
  using sluice::CommandKind;
  using sluice::command_kind;
  struct Case {
    const char* sql;
    bool locking;
    const char* name;
  } cases[] = {
      {"SELECT 1", false, "SELECT"},
      {"/* x */ select * from t for update", true, "SELECT_FOR_UPDATE"},
      {"(SELECT 1) UNION (SELECT 2)", false, "SELECT"},
      {"WITH a AS (SELECT 1) SELECT * FROM a", false, "SELECT"},
      {"insert into t values (1)", false, "INSERT"},
      {"UPDATE t SET a=1", false, "UPDATE"},
      {"DELETE FROM t", false, "DELETE"},
      {"SET NAMES utf8mb4", false, "SET"},
      {"START TRANSACTION", false, "START_TRANSACTION"},
      {"BEGIN", false, "BEGIN"},
      {"COMMIT", false, "COMMIT"},
      {"CREATE TABLE t (a INT)", false, "CREATE_TABLE"},
      {"CREATE TEMPORARY TABLE t (a INT)", false, "CREATE_TEMPORARY"},
      {"CREATE OR REPLACE VIEW v AS SELECT 1", false, "CREATE_VIEW"},
      {"CREATE UNIQUE INDEX i ON t (a)", false, "CREATE_INDEX"},
      {"DROP TABLE t", false, "DROP_TABLE"},
      {"DROP DATABASE d", false, "DROP_DATABASE"},
      {"ALTER TABLE t ADD b INT", false, "ALTER_TABLE"},
      {"TRUNCATE t", false, "TRUNCATE_TABLE"},
      {"SHOW TABLES", false, "SHOW"},
      {"USE db", false, "USE"},
      {"DO 1", false, "UNKNOWN"},
      {"", false, "UNKNOWN"},
  };
  for (const Case& c : cases) {
    CAPTURE(std::string(c.sql));
    CHECK(std::string(sluice::command_kind_name(command_kind(c.sql, c.locking))) == c.name);
  }
  CHECK(std::string(sluice::command_kind_name(CommandKind::kUnknown)) == "UNKNOWN");
}
