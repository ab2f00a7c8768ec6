// Statement classifier: one pass over the SQL text decides where a statement may run and
// whether it changes session state.
//
// Owns: lexical skipping of comments (`-- `, `#`, `/* */`), honouring executable comments
// (`/*! ... */` and `/*!50700 ... */` are read as SQL; `/*M! ... */` too), quoted strings and
// identifiers, and recognition of leading keywords.
// Contract: pure function of the text, no allocation beyond the result, no locks; called
// on the worker loop for every COM_QUERY, so it must stay O(n) with a small constant.
#pragma once

#include <cstdint>
#include <string_view>

#include "sluice/sql_lexer.h"

namespace sluice {

enum class Route : uint8_t {
  Read,   // may run on a replica
  Write,  // must run on the writer
};

// Bit flags describing side effects the session layer must know about.
enum StmtFlag : uint32_t {
  kNone = 0,
  kBeginsTransaction = 1u << 0,   // BEGIN, START TRANSACTION, XA START
  kEndsTransaction = 1u << 1,     // COMMIT, ROLLBACK (not "ROLLBACK TO SAVEPOINT"), XA COMMIT,
                                  // XA ROLLBACK; ... AND CHAIN also sets kBeginsTransaction
  kSetStatement = 1u << 2,        // SET ... (any form but MariaDB SET STATEMENT ... FOR <stmt>)
  kSetAutocommit = 1u << 3,       // SET autocommit = ... (also SET @@autocommit, SESSION ...,
                                  // anywhere in a list; not GLOBAL/PERSIST/@@global.)
  kUseSchema = 1u << 4,           // USE db
  kUserVariable = 1u << 5,        // mentions @name (not @@sysvar, not the @host of 'user'@'host')
  kTempTable = 1u << 6,           // CREATE/DROP TEMPORARY TABLE (or MariaDB TEMPORARY SEQUENCE)
  kLockTables = 1u << 7,          // LOCK TABLES / FLUSH TABLES ... WITH READ LOCK | FOR EXPORT /
                                  // LOCK INSTANCE / MariaDB BACKUP LOCK, BACKUP STAGE START
  kUnlockTables = 1u << 8,        // UNLOCK TABLES / UNLOCK INSTANCE / BACKUP UNLOCK, ... STAGE END
  kGetLock = 1u << 9,             // GET_LOCK( / IS_USED_LOCK( / IS_FREE_LOCK( (server lock state)
  kReleaseLock = 1u << 10,        // RELEASE_LOCK( / RELEASE_ALL_LOCKS(
  kPrepare = 1u << 11,            // PREPARE / EXECUTE [IMMEDIATE] / DEALLOCATE|DROP PREPARE (text)
  kFoundRows = 1u << 12,          // SQL_CALC_FOUND_ROWS or FOUND_ROWS()
  kLastInsertId = 1u << 13,       // LAST_INSERT_ID() mentioned (or @@last_insert_id, @@identity)
  kMultiStatement = 1u << 14,     // a ';' followed by more SQL outside strings/comments
  kSequence = 1u << 15,           // NEXTVAL/SETVAL/LASTVAL/NEXT VALUE FOR/PREVIOUS VALUE FOR,
                                  // s.nextval / s.currval (sql_mode=ORACLE)
  kSelectInto = 1u << 16,         // SELECT ... INTO (OUTFILE|DUMPFILE|@var|anything in a SELECT)
  kLockingRead = 1u << 17,        // FOR UPDATE / LOCK IN SHARE MODE / FOR SHARE
  kKill = 1u << 18,               // KILL ...
  kCall = 1u << 20,               // CALL proc(...): may return result sets
  // SHOW WARNINGS/ERRORS/COUNT(*) .../PROFILE(S), GET DIAGNOSTICS, ROW_COUNT(),
  // @@warning_count, @@error_count: answered from the connection that ran the previous
  // statement, so the session should send it there (SELECT/SHOW forms are routed Write).
  kLastStatementInfo = 1u << 19,
};

// Flags that make an otherwise read-only statement depend on (or change) state held by
// one connection, so it is routed to the writer.
inline constexpr uint32_t kForcesWriter = kLockingRead | kSelectInto | kSequence | kGetLock |
                                          kReleaseLock | kLastInsertId | kFoundRows |
                                          kUserVariable | kLastStatementInfo;

struct Classification {
  Route route = Route::Write;
  uint32_t flags = kNone;
  bool has(StmtFlag f) const { return (flags & f) != 0; }
};

// Reads: SELECT, SHOW, DESCRIBE/DESC, EXPLAIN (without ANALYZE, of anything; EXPLAIN
// ANALYZE and MariaDB's ANALYZE <stmt> run the statement and take its route), WITH ...
// SELECT, VALUES, TABLE, DO, HELP, `(SELECT ...)`, and MariaDB's SET STATEMENT v=x FOR
// <read>, which takes its inner statement's route and flags (it changes no session
// state, so it carries no kSetStatement). Any kForcesWriter flag makes a read Write.
// Everything else, including CALL, DDL, DML, SET, BEGIN and unknown text, is Write.
// In a multi-statement text the route is Write if any statement is a write.
// Flags are lexical: a keyword or function inside a string or comment never counts, one
// in a subquery does. Stored-program bodies (CREATE PROCEDURE/FUNCTION/TRIGGER/EVENT ...
// BEGIN ... END) are not scanned and their semicolons do not split statements; top-level
// compound statements (BEGIN NOT ATOMIC, IF, CASE, LOOP, WHILE, REPEAT, FOR, `label:`)
// run to the end of the text and only contribute flags found anywhere in them.
Classification classify(std::string_view sql);
// Same, when the session knows its sql_mode (NO_BACKSLASH_ESCAPES and ANSI_QUOTES change
// where strings end, hence what is SQL and what is data).
Classification classify(std::string_view sql, SqlMode mode);

// For `USE db` texts: the schema name with backticks/quotes removed; empty if none.
// The result is a view into `sql`; a doubled quote inside the name (`a``b`) is returned
// as written.
std::string_view use_schema_name(std::string_view sql);

}  // namespace sluice
