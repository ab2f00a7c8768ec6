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

namespace sluice {

enum class Route : uint8_t {
  Read,   // may run on a replica
  Write,  // must run on the writer
};

// Bit flags describing side effects the session layer must know about.
enum StmtFlag : uint32_t {
  kNone = 0,
  kBeginsTransaction = 1u << 0,   // BEGIN, START TRANSACTION, XA START
  kEndsTransaction = 1u << 1,     // COMMIT, ROLLBACK (not "ROLLBACK TO SAVEPOINT")
  kSetStatement = 1u << 2,        // SET ... (any form)
  kSetAutocommit = 1u << 3,       // SET autocommit = ... (also SET @@autocommit, SESSION ...)
  kUseSchema = 1u << 4,           // USE db
  kUserVariable = 1u << 5,        // mentions @name (not @@sysvar)
  kTempTable = 1u << 6,           // CREATE/DROP TEMPORARY TABLE
  kLockTables = 1u << 7,          // LOCK TABLES / FLUSH TABLES ... WITH READ LOCK
  kUnlockTables = 1u << 8,        // UNLOCK TABLES
  kGetLock = 1u << 9,             // GET_LOCK( / IS_USED_LOCK etc. that hold server state
  kReleaseLock = 1u << 10,        // RELEASE_LOCK( / RELEASE_ALL_LOCKS(
  kPrepare = 1u << 11,            // PREPARE / EXECUTE / DEALLOCATE PREPARE (text protocol)
  kFoundRows = 1u << 12,          // SQL_CALC_FOUND_ROWS or FOUND_ROWS()
  kLastInsertId = 1u << 13,       // LAST_INSERT_ID() mentioned
  kMultiStatement = 1u << 14,     // a ';' followed by more SQL outside strings/comments
  kSequence = 1u << 15,           // NEXTVAL/SETVAL/LASTVAL/NEXT VALUE FOR/PREVIOUS VALUE FOR
  kSelectInto = 1u << 16,         // SELECT ... INTO (OUTFILE|DUMPFILE|@var)
  kLockingRead = 1u << 17,        // FOR UPDATE / LOCK IN SHARE MODE / FOR SHARE
  kKill = 1u << 18,               // KILL ...
};

struct Classification {
  Route route = Route::Write;
  uint32_t flags = kNone;
  bool has(StmtFlag f) const { return (flags & f) != 0; }
};

// Reads: SELECT (without the write-forcing flags above), SHOW, DESCRIBE/DESC, EXPLAIN
// (of a read), WITH ... SELECT, VALUES, TABLE, DO, HELP, `(SELECT ...)`.
// Everything else, including CALL, DDL, DML, SET, BEGIN and unknown text, is Write.
// In a multi-statement text the route is Write if any statement is a write.
Classification classify(std::string_view sql);

// For `USE db` texts: the schema name with backticks/quotes removed; empty if none.
std::string_view use_schema_name(std::string_view sql);

}  // namespace sluice
