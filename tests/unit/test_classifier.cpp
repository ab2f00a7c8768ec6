// Statement classifier: routes (read vs write), session-state flags, lexical edge cases,
// multi-statements, USE schema names, and robustness on arbitrary bytes.
#include <doctest/doctest.h>

#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <string_view>

#include "sluice/classifier.h"

using sluice::classify;
using sluice::Route;

namespace {

bool is_read(std::string_view sql) { return classify(sql).route == Route::Read; }
bool is_write(std::string_view sql) { return classify(sql).route == Route::Write; }
bool has(std::string_view sql, sluice::StmtFlag f) { return classify(sql).has(f); }
uint32_t flags(std::string_view sql) { return classify(sql).flags; }

// Copies into an exactly sized heap block so that ASan sees any read past the end.
sluice::Classification classify_exact(std::string_view sql) {
  std::unique_ptr<char[]> buf(new char[sql.size()]);
  if (!sql.empty()) std::memcpy(buf.get(), sql.data(), sql.size());
  const std::string_view view(buf.get(), sql.size());
  const sluice::Classification c = classify(view);
  const std::string_view schema = sluice::use_schema_name(view);
  if (!schema.empty()) {
    CHECK(schema.data() >= view.data());
    CHECK(schema.data() + schema.size() <= view.data() + view.size());
  }
  return c;
}

}  // namespace

TEST_CASE("classifier: plain reads") {
  CHECK(is_read("SELECT 1"));
  CHECK(is_read("select * from t where id = 3"));
  CHECK(is_read("SeLeCt a FROM t"));
  CHECK(is_read("  \n\t SELECT 1"));
  CHECK(is_read("SHOW TABLES"));
  CHECK(is_read("show full processlist"));
  CHECK(is_read("DESCRIBE t"));
  CHECK(is_read("DESC t"));
  CHECK(is_read("EXPLAIN SELECT * FROM t"));
  CHECK(is_read("EXPLAIN UPDATE t SET a = 1"));
  CHECK(is_read("EXPLAIN FORMAT=JSON DELETE FROM t"));
  CHECK(is_read("WITH c AS (SELECT 1) SELECT * FROM c"));
  CHECK(
      is_read("WITH RECURSIVE c (n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c) SELECT n FROM c"));
  CHECK(is_read("WITH c AS (SELECT 1) (SELECT * FROM c)"));
  CHECK(is_read("VALUES (1, 2), (3, 4)"));
  CHECK(is_read("TABLE t"));
  CHECK(is_read("DO SLEEP(1)"));
  CHECK(is_read("HELP 'contents'"));
  CHECK(is_read("(SELECT 1) UNION (SELECT 2)"));
  CHECK(is_read("((SELECT 1))"));
  CHECK(is_read("SELECT 1;"));
  CHECK(is_read("SELECT @@version"));
  CHECK(is_read("select@@version_comment limit 1"));
  CHECK(is_read("SELECT @@session.sql_mode, @@global.read_only"));
  CHECK(flags("SELECT 1") == sluice::kNone);
}

TEST_CASE("classifier: plain writes") {
  CHECK(is_write("INSERT INTO t VALUES (1)"));
  CHECK(is_write("update t set a = 1"));
  CHECK(is_write("DELETE FROM t"));
  CHECK(is_write("REPLACE INTO t VALUES (1)"));
  CHECK(is_write("CALL p()"));
  CHECK(is_write("CREATE TABLE t (a INT)"));
  CHECK(is_write("ALTER TABLE t ADD COLUMN b INT"));
  CHECK(is_write("DROP TABLE t"));
  CHECK(is_write("TRUNCATE t"));
  CHECK(is_write("LOAD DATA LOCAL INFILE 'x' INTO TABLE t"));
  CHECK(is_write("HANDLER t OPEN"));
  CHECK(is_write("XA START 'x'"));
  CHECK(is_write("BEGIN"));
  CHECK(is_write("COMMIT"));
  CHECK(is_write("SET NAMES utf8mb4"));
  CHECK(is_write("ANALYZE TABLE t"));
  CHECK(is_write("INSERT INTO t SELECT * FROM u"));
  CHECK(is_write("WITH c AS (SELECT 1) UPDATE t JOIN c SET t.a = 1"));
  CHECK(is_write("WITH c AS (SELECT id FROM t) DELETE FROM t WHERE id IN (SELECT id FROM c)"));
  CHECK(is_write("frobnicate the database"));
  CHECK(is_write(""));
  CHECK(is_write("   \n "));
  CHECK(is_write("/* only a comment */"));
  CHECK(is_write(";"));
  CHECK(is_write("42"));
  CHECK(flags("") == sluice::kNone);
}

TEST_CASE("classifier: EXPLAIN ANALYZE runs the statement") {
  CHECK(is_read("EXPLAIN ANALYZE SELECT * FROM t"));
  CHECK(is_write("EXPLAIN ANALYZE UPDATE t SET a = 1"));
  CHECK(is_read("ANALYZE FORMAT=JSON SELECT 1"));
  CHECK(is_write("ANALYZE DELETE FROM t"));
}

TEST_CASE("classifier: comments and executable comments") {
  CHECK(is_write("/* SELECT */ UPDATE t SET a = 1"));
  CHECK(is_read("-- x\nSELECT 1"));
  CHECK(is_read("--\tx\nSELECT 1"));
  CHECK(is_read("# UPDATE\nSELECT 1"));
  CHECK(is_read("/* UPDATE */ SELECT 1 /* FOR UPDATE */"));
  CHECK(is_read("SELECT 1 -- FOR UPDATE"));
  CHECK(is_read("SELECT 1 # ; DELETE FROM t"));
  CHECK(is_read("SELECT /*!40001 SQL_NO_CACHE */ * FROM t"));
  CHECK(is_read("SELECT /*+ MAX_EXECUTION_TIME(1000) */ * FROM t"));
  // `--` not followed by a space is arithmetic, so the rest is SQL.
  CHECK(is_write("SELECT 1--1 FOR UPDATE"));
  // Executable comments are SQL: what is inside counts.
  CHECK(is_write("SELECT * FROM t /*! FOR UPDATE */"));
  CHECK(is_write("SELECT * FROM t /*!50000 FOR UPDATE */"));
  CHECK(is_write("SELECT * FROM t /*M! FOR UPDATE */"));
  CHECK(is_write("SELECT * FROM t /*M!100301 FOR UPDATE */"));
  CHECK(is_write("/*!40101 SET NAMES utf8 */"));
  CHECK(is_read("/*!SELECT*/ 1"));
  CHECK(is_read("/*!50001 SELECT /* inner */ 1 */"));
  CHECK(is_write("/*!40101 SET @OLD_SQL_MODE=@@SQL_MODE */"));
  CHECK(is_write("/* unterminated SELECT"));
}

TEST_CASE("classifier: strings, identifiers and word boundaries") {
  CHECK(is_read("SELECT 'FOR UPDATE' FROM t"));
  CHECK(is_read("SELECT \"x; DELETE FROM t\" FROM t"));
  CHECK(is_read("SELECT 'it''s; FOR UPDATE' FROM t"));
  CHECK(is_read("SELECT 'a\\'; UPDATE t SET a = 1; --' FROM t"));
  CHECK(is_read("SELECT `for update`, `@x` FROM `select`"));
  CHECK(is_read("SELECT selected, for_update_col, intos, get_lock_count FROM t"));
  CHECK(is_read("SELECT t.for_update, t.into FROM t"));
  CHECK(is_read("SELECT nextval FROM t"));
  CHECK(is_read("SELECT '@x', \"@y\" FROM t"));
  CHECK(is_write("selected * from t"));
  CHECK(is_write("SELECTX 1"));
  CHECK(is_read("SELECT x FROM t WHERE a = 'unterminated"));
  // Numbers end where the server ends them; digits running into letters are a name.
  CHECK(is_read("SELECT 1e5, 0x1F, 0b01, 1.5e-3, .5, 1abc FROM t"));
  CHECK(is_write("SELECT * FROM t WHERE a = 1.5FOR UPDATE"));
}

TEST_CASE("classifier: SELECTs that must go to the writer") {
  using namespace sluice;
  CHECK(is_write("SELECT * FROM t FOR UPDATE"));
  CHECK(has("SELECT * FROM t WHERE id = 1 for update  ;  ", kLockingRead));
  CHECK(is_write("SELECT * FROM t FOR UPDATE SKIP LOCKED\n"));
  CHECK(has("SELECT * FROM t LOCK IN SHARE MODE", kLockingRead));
  CHECK(has("SELECT * FROM t FOR SHARE NOWAIT", kLockingRead));
  CHECK(has("SELECT * FROM (SELECT a FROM u FOR UPDATE) d", kLockingRead));
  CHECK(is_read("SELECT * FROM t FOR SYSTEM_TIME AS OF TIMESTAMP '2024-01-01'"));
  CHECK(has("SELECT a INTO OUTFILE '/tmp/x' FROM t", kSelectInto));
  CHECK(has("SELECT a FROM t INTO DUMPFILE '/tmp/x'", kSelectInto));
  CHECK(has("SELECT a INTO @x FROM t", kSelectInto));
  CHECK(is_write("SELECT a FROM t INTO @x"));
  CHECK(has("SELECT NEXTVAL(s)", kSequence));
  CHECK(has("SELECT nextval (s)", kSequence));
  CHECK(has("SELECT SETVAL(s, 10)", kSequence));
  CHECK(has("SELECT LASTVAL(s)", kSequence));
  CHECK(has("SELECT NEXT VALUE FOR s", kSequence));
  CHECK(has("SELECT previous value for s", kSequence));
  CHECK(has("SELECT s.nextval FROM dual", kSequence));
  CHECK(is_write("SELECT NEXT VALUE FOR s"));
  CHECK(has("SELECT GET_LOCK('a', 10)", kGetLock));
  CHECK(has("SELECT IS_USED_LOCK('a')", kGetLock));
  CHECK(has("SELECT RELEASE_LOCK('a')", kReleaseLock));
  CHECK(has("SELECT release_all_locks()", kReleaseLock));
  CHECK(!has("SELECT RELEASE_LOCK('a')", kGetLock));
  CHECK(is_write("DO GET_LOCK('a', 0)"));
  CHECK(has("SELECT LAST_INSERT_ID()", kLastInsertId));
  CHECK(has("SELECT @@last_insert_id", kLastInsertId));
  CHECK(has("SELECT @@identity", kLastInsertId));
  CHECK(is_write("SELECT LAST_INSERT_ID()"));
  CHECK(has("SELECT SQL_CALC_FOUND_ROWS * FROM t LIMIT 10", kFoundRows));
  CHECK(has("SELECT FOUND_ROWS()", kFoundRows));
  CHECK(is_write("SELECT FOUND_ROWS()"));
  CHECK(has("SELECT ROW_COUNT()", kLastStatementInfo));
  CHECK(is_write("SELECT @@warning_count"));
  CHECK(is_write("WITH c AS (SELECT 1) SELECT * FROM c FOR UPDATE"));
  CHECK(is_write("WITH c AS (SELECT 1) SELECT a INTO @v FROM c"));
  CHECK(is_write("(SELECT * FROM t FOR UPDATE)"));
}

TEST_CASE("classifier: user variables") {
  using namespace sluice;
  CHECK(has("SELECT @x", kUserVariable));
  CHECK(is_write("SELECT @x"));
  CHECK(is_write("SELECT@x"));
  CHECK(has("SELECT a FROM t WHERE b = @`odd name`", kUserVariable));
  CHECK(has("SELECT @'quoted'", kUserVariable));
  CHECK(has("SELECT CONCAT(@a,@b)", kUserVariable));
  CHECK(!has("SELECT @@x", kUserVariable));
  CHECK(!has("SELECT @@session.x", kUserVariable));
  CHECK(!has("SELECT '@x' -- @y\n /* @z */", kUserVariable));
  CHECK(has("SET @x = 1", kUserVariable));
  CHECK(has("INSERT INTO t VALUES (@x)", kUserVariable));
  CHECK(has("EXECUTE s USING @a", kUserVariable));
  // Account names are not variables.
  CHECK(!has("GRANT SELECT ON db.* TO 'app'@'%'", kUserVariable));
  CHECK(!has("CREATE USER app@localhost IDENTIFIED BY 'x'", kUserVariable));
  CHECK(!has("SHOW GRANTS FOR `app`@`10.0.0.1`", kUserVariable));
  CHECK(!has("SET PASSWORD FOR app@localhost = PASSWORD('x')", kUserVariable));
  CHECK(!has("CREATE DEFINER=root@localhost VIEW v AS SELECT 1", kUserVariable));
}

TEST_CASE("classifier: transactions") {
  using namespace sluice;
  CHECK(has("BEGIN", kBeginsTransaction));
  CHECK(has("begin work;", kBeginsTransaction));
  CHECK(has("START TRANSACTION", kBeginsTransaction));
  CHECK(has("START TRANSACTION READ ONLY", kBeginsTransaction));
  CHECK(has("start transaction with consistent snapshot, read write", kBeginsTransaction));
  CHECK(has("XA START 'x1'", kBeginsTransaction));
  CHECK(has("XA COMMIT 'x1'", kEndsTransaction));
  CHECK(!has("START SLAVE", kBeginsTransaction));
  CHECK(flags("COMMIT") == kEndsTransaction);
  CHECK(flags("COMMIT WORK") == kEndsTransaction);
  CHECK(flags("ROLLBACK") == kEndsTransaction);
  CHECK(flags("COMMIT AND CHAIN") == (kEndsTransaction | kBeginsTransaction));
  CHECK(flags("ROLLBACK WORK AND CHAIN NO RELEASE") == (kEndsTransaction | kBeginsTransaction));
  CHECK(flags("COMMIT AND NO CHAIN") == kEndsTransaction);
  CHECK(flags("ROLLBACK TO SAVEPOINT sp1") == kNone);
  CHECK(flags("ROLLBACK WORK TO sp1") == kNone);
  CHECK(flags("SAVEPOINT sp1") == kNone);
  CHECK(flags("RELEASE SAVEPOINT sp1") == kNone);
  // BEGIN NOT ATOMIC is a compound statement, not a transaction.
  CHECK(!has("BEGIN NOT ATOMIC SELECT 1; END", kBeginsTransaction));
  CHECK(!has("BEGIN NOT ATOMIC SELECT 1; END", kMultiStatement));
  CHECK(has("BEGIN NOT ATOMIC SELECT GET_LOCK('a', 1); END", kGetLock));
}

TEST_CASE("classifier: SET and autocommit") {
  using namespace sluice;
  CHECK(flags("SET NAMES utf8mb4") == kSetStatement);
  CHECK(flags("SET sql_mode = ''") == kSetStatement);
  CHECK(flags("SET autocommit=0") == (kSetStatement | kSetAutocommit));
  CHECK(has("SET AUTOCOMMIT = 1", kSetAutocommit));
  CHECK(has("SET @@autocommit = 1", kSetAutocommit));
  CHECK(has("SET SESSION autocommit=ON", kSetAutocommit));
  CHECK(has("SET LOCAL autocommit=ON", kSetAutocommit));
  CHECK(has("SET @@session.autocommit=0", kSetAutocommit));
  CHECK(has("SET @@SESSION.AUTOCOMMIT:=0", kSetAutocommit));
  CHECK(has("SET a=1, autocommit=0", kSetAutocommit));
  CHECK(has("SET sql_mode = IF(1, 'a', 'b'), autocommit = 0", kSetAutocommit));
  CHECK(has("SET GLOBAL max_connections = 10, autocommit = 0", kSetAutocommit));
  CHECK(has("SET `autocommit` = 0", kSetAutocommit));
  CHECK(!has("SET GLOBAL autocommit = 0", kSetAutocommit));
  CHECK(!has("SET @@global.autocommit = 0", kSetAutocommit));
  CHECK(!has("SET @x = autocommit", kSetAutocommit));
  CHECK(!has("SET autocommit_x = 1", kSetAutocommit));
  CHECK(!has("SET sql_mode = 'autocommit=0'", kSetAutocommit));
  CHECK(!has("SELECT @@autocommit", kSetAutocommit));
  CHECK(flags("SET @x = 1") == (kSetStatement | kUserVariable));
  CHECK(has("SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED", kSetStatement));
  CHECK(has("/*!40101 SET autocommit=0 */", kSetAutocommit));
  // MariaDB SET STATEMENT ... FOR <stmt> changes nothing in the session.
  CHECK(is_read("SET STATEMENT max_statement_time=5 FOR SELECT * FROM t"));
  CHECK(flags("SET STATEMENT max_statement_time=5 FOR SELECT 1") == kNone);
  CHECK(is_write("SET STATEMENT sql_mode='' FOR UPDATE t SET a = 1"));
  CHECK(!has("SET STATEMENT sql_mode='' FOR UPDATE t SET a = 1", kLockingRead));
  CHECK(!has("SET STATEMENT autocommit=0 FOR SELECT 1", kSetAutocommit));
}

TEST_CASE("classifier: schema, temporary tables, locks, prepare, kill") {
  using namespace sluice;
  CHECK(flags("USE db") == kUseSchema);
  CHECK(has("use `my db`;", kUseSchema));
  CHECK(has("CREATE TEMPORARY TABLE tmp (a INT)", kTempTable));
  CHECK(has("create or replace temporary table tmp select 1", kTempTable));
  CHECK(has("CREATE TEMPORARY TABLE IF NOT EXISTS tmp LIKE t", kTempTable));
  CHECK(has("DROP TEMPORARY TABLE IF EXISTS tmp", kTempTable));
  CHECK(!has("CREATE TABLE t (temporary_col INT)", kTempTable));
  CHECK(!has("DROP TABLE t", kTempTable));
  CHECK(has("LOCK TABLES t READ, u WRITE", kLockTables));
  CHECK(has("lock table t write", kLockTables));
  CHECK(has("FLUSH TABLES WITH READ LOCK", kLockTables));
  CHECK(has("FLUSH TABLES t1, t2 WITH READ LOCK", kLockTables));
  CHECK(has("FLUSH LOCAL TABLES t FOR EXPORT", kLockTables));
  CHECK(!has("FLUSH TABLES", kLockTables));
  CHECK(!has("FLUSH PRIVILEGES", kLockTables));
  CHECK(has("UNLOCK TABLES", kUnlockTables));
  CHECK(has("PREPARE s FROM 'SELECT 1'", kPrepare));
  CHECK(has("EXECUTE s", kPrepare));
  CHECK(has("DEALLOCATE PREPARE s", kPrepare));
  CHECK(has("DROP PREPARE s", kPrepare));
  CHECK(has("KILL QUERY 42", kKill));
  CHECK(has("kill 42", kKill));
  CHECK(is_write("SHOW WARNINGS"));
  CHECK(has("SHOW COUNT(*) ERRORS", kLastStatementInfo));
  CHECK(has("GET DIAGNOSTICS @n = NUMBER", kLastStatementInfo));
}

TEST_CASE("classifier: multi-statements") {
  using namespace sluice;
  CHECK(has("SELECT 1; SELECT 2", kMultiStatement));
  CHECK(is_read("SELECT 1; SELECT 2"));
  CHECK(is_write("SELECT 1; UPDATE t SET a = 1"));
  CHECK(is_write("UPDATE t SET a = 1; SELECT 1"));
  CHECK(!has("SELECT 1;", kMultiStatement));
  CHECK(!has("SELECT 1 ;  -- done\n /* really */ ", kMultiStatement));
  CHECK(!has("SELECT ';' FROM t", kMultiStatement));
  CHECK(!has("SELECT 1 /* ; SELECT 2 */", kMultiStatement));
  CHECK(flags("SET autocommit=0; BEGIN; SELECT @x") ==
        (kMultiStatement | kSetStatement | kSetAutocommit | kBeginsTransaction | kUserVariable));
  CHECK(has("SELECT 1;;SELECT 2", kMultiStatement));
  CHECK(has("CREATE PROCEDURE p() SELECT 1; SELECT 2", kMultiStatement));
  // A stored-program body is one statement, and is not executed now.
  const char* proc =
      "CREATE DEFINER=`root`@`%` PROCEDURE p() BEGIN START TRANSACTION; "
      "SELECT GET_LOCK('a', 1); SET autocommit = 0; COMMIT; END";
  CHECK(flags(proc) == kNone);
  CHECK(is_write(proc));
  CHECK(flags("CREATE TRIGGER tr BEFORE UPDATE ON t FOR EACH ROW SET NEW.a = @x") == kNone);
}

TEST_CASE("classifier: sql_mode options") {
  using namespace sluice;
  const char* sql = "SELECT 'a\\' FOR UPDATE; DELETE FROM t; -- '";
  CHECK(classify(sql).route == Route::Read);
  const Classification nbe = classify(sql, SqlMode{.no_backslash_escapes = true});
  CHECK(nbe.route == Route::Write);
  CHECK(nbe.has(kMultiStatement));
  CHECK(classify("SELECT \"a\" FROM t", SqlMode{.ansi_quotes = true}).route == Route::Read);
}

TEST_CASE("classifier: use_schema_name") {
  using sluice::use_schema_name;
  CHECK(use_schema_name("USE db") == "db");
  CHECK(use_schema_name("use  db ;  ") == "db");
  CHECK(use_schema_name("USE `my db`") == "my db");
  CHECK(use_schema_name("USE `my db`;\n") == "my db");
  CHECK(use_schema_name("/* c */ USE \"quoted\"") == "quoted");
  CHECK(use_schema_name("USE 'single'") == "single");
  CHECK(use_schema_name("USE 123abc") == "123abc");
  CHECK(use_schema_name("USE `unterminated") == "unterminated");
  CHECK(use_schema_name("USE") == "");
  CHECK(use_schema_name("USE ;") == "");
  CHECK(use_schema_name("SELECT 1") == "");
  CHECK(use_schema_name("") == "");
  CHECK(use_schema_name("user_db") == "");
}

TEST_CASE("classifier: every prefix of tricky statements") {
  const char* tricky[] = {
      "SELECT 'a''b\\'c' FROM `t``x` WHERE @v = \"q\\\"\" FOR UPDATE;",
      "/*!50001 SELECT /* n */ 1 */ -- c\n# h\nSELECT 2",
      "/*M!100301 SET STATEMENT a=1 FOR */ SELECT NEXT VALUE FOR s",
      "SET @@session.autocommit := 0, GLOBAL x = (SELECT 1), @`u` = 'v'",
      "WITH RECURSIVE c AS (SELECT 1) (SELECT * FROM c) UNION TABLE t LOCK IN SHARE MODE",
      "CREATE DEFINER='r'@'h' PROCEDURE p() BEGIN SELECT 1; END; SELECT @x",
      "BEGIN NOT ATOMIC DECLARE x INT; SET x = 1; END",
      "COMMIT WORK AND CHAIN NO RELEASE; ROLLBACK TO SAVEPOINT s",
      "USE `my``db`;",
      "EXPLAIN ANALYZE FORMAT=TREE SELECT 1 INTO @x",
      "lbl: LOOP SELECT 1; END LOOP lbl",
      "SELECT 1--1 /*! FOR UPDATE */ -- ",
  };
  for (const char* sql : tricky) {
    const std::string_view full(sql);
    for (size_t n = 0; n <= full.size(); ++n) {
      const sluice::Classification c = classify_exact(full.substr(0, n));
      CHECK((c.route == Route::Write || (c.flags & sluice::kForcesWriter) == 0));
    }
  }
}

TEST_CASE("classifier: random bytes never break it") {
  std::mt19937 rng(20240607u);
  // Half uniform bytes, half drawn from the bytes that change lexer state.
  const std::string_view alphabet =
      "'\"`\\/*!M-#@ \n\t;()=,.:0123456789selctSELCTFORUPDATEINTO\x80\xff";
  std::string buf;
  size_t reads = 0;
  for (int i = 0; i < 20000; ++i) {
    buf.clear();
    const size_t len = rng() % 64;
    const bool uniform = (i % 2) == 0;
    for (size_t j = 0; j < len; ++j) {
      buf.push_back(uniform ? static_cast<char>(rng() & 0xff) : alphabet[rng() % alphabet.size()]);
    }
    const sluice::Classification c = classify_exact(buf);
    REQUIRE((c.route == Route::Write || (c.flags & sluice::kForcesWriter) == 0));
    reads += c.route == Route::Read;
  }
  CHECK(reads < 20000);
}

TEST_CASE("classifier: NUL bytes and non-UTF-8") {
  using namespace std::string_literals;
  CHECK(is_read("SELECT '\0' FROM t"s));
  CHECK(is_write("SELECT 1 \0 FOR UPDATE"s));
  CHECK(is_write("\0SELECT 1"s));
  CHECK(is_read("SELECT \xc3\xa9t\xe9 FROM t"));
  CHECK(is_read("SELECT 1 --\0 FOR UPDATE"s));
}
