// Statement kinds by leading keywords (see command_kind.h).
#include "sluice/command_kind.h"

#include "sluice/sql_lexer.h"

namespace sluice {
namespace {

struct Word {
  const char* upper;
  CommandKind kind;
};

// Second keyword of CREATE / DROP / ALTER.
CommandKind object_kind(const Token& t, CommandKind table, CommandKind database, CommandKind index, CommandKind view,
                        CommandKind trigger, CommandKind user) {
  if (t.is_word("TABLE")) return table;
  if (t.is_word("DATABASE") || t.is_word("SCHEMA")) return database;
  if (t.is_word("INDEX") || t.is_word("UNIQUE") || t.is_word("FULLTEXT") || t.is_word("SPATIAL")) return index;
  if (t.is_word("VIEW")) return view;
  if (t.is_word("TRIGGER")) return trigger;
  if (t.is_word("USER")) return user;
  return CommandKind::kUnknown;
}

}  // namespace

const char* command_kind_name(CommandKind k) {
  static constexpr const char* kNames[] = {
      "ALTER_TABLE", "ALTER_VIEW", "ANALYZE_TABLE", "BEGIN", "CALL", "COMMIT", "CREATE_DATABASE", "CREATE_INDEX",
      "CREATE_TABLE", "CREATE_TEMPORARY", "CREATE_TRIGGER", "CREATE_USER", "CREATE_VIEW", "DEALLOCATE", "DELETE",
      "DESCRIBE", "DROP_DATABASE", "DROP_INDEX", "DROP_TABLE", "DROP_TRIGGER", "DROP_USER", "DROP_VIEW", "EXECUTE",
      "EXPLAIN", "FLUSH", "GRANT", "INSERT", "KILL", "LOAD", "LOCK_TABLE", "OPTIMIZE", "PREPARE", "RENAME_TABLE",
      "REPLACE", "REVOKE", "ROLLBACK", "SAVEPOINT", "SELECT", "SELECT_FOR_UPDATE", "SET", "SHOW",
      "START_TRANSACTION", "TRUNCATE_TABLE", "UNLOCK_TABLES", "UPDATE", "USE", "UNKNOWN"};
  static_assert(std::size(kNames) == static_cast<size_t>(CommandKind::kCount));
  return k < CommandKind::kCount ? kNames[static_cast<size_t>(k)] : "UNKNOWN";
}

CommandKind command_kind(std::string_view sql, bool locking_read) {
  SqlLexer lex(sql);
  Token first = lex.next();
  while (first.is_punct('(')) first = lex.next();  // (SELECT ...) UNION ...
  if (first.kind != TokenKind::Word) return CommandKind::kUnknown;
  if (first.is_word("SELECT") || first.is_word("WITH") || first.is_word("VALUES") || first.is_word("TABLE"))
    return locking_read ? CommandKind::kSelectForUpdate : CommandKind::kSelect;
  static constexpr Word kSingle[] = {
      {"INSERT", CommandKind::kInsert},     {"UPDATE", CommandKind::kUpdate},     {"DELETE", CommandKind::kDelete},
      {"REPLACE", CommandKind::kReplace},   {"SET", CommandKind::kSet},           {"SHOW", CommandKind::kShow},
      {"BEGIN", CommandKind::kBegin},       {"COMMIT", CommandKind::kCommit},     {"ROLLBACK", CommandKind::kRollback},
      {"SAVEPOINT", CommandKind::kSavepoint}, {"USE", CommandKind::kUse},         {"CALL", CommandKind::kCall},
      {"TRUNCATE", CommandKind::kTruncateTable}, {"RENAME", CommandKind::kRenameTable},
      {"GRANT", CommandKind::kGrant},       {"REVOKE", CommandKind::kRevoke},     {"KILL", CommandKind::kKill},
      {"LOCK", CommandKind::kLockTable},    {"UNLOCK", CommandKind::kUnlockTables}, {"FLUSH", CommandKind::kFlush},
      {"EXPLAIN", CommandKind::kExplain},   {"DESCRIBE", CommandKind::kDescribe}, {"DESC", CommandKind::kDescribe},
      {"ANALYZE", CommandKind::kAnalyzeTable}, {"OPTIMIZE", CommandKind::kOptimize}, {"LOAD", CommandKind::kLoad},
      {"PREPARE", CommandKind::kPrepare},   {"EXECUTE", CommandKind::kExecute},
      {"DEALLOCATE", CommandKind::kDeallocate},
  };
  for (const Word& w : kSingle)
    if (first.is_word(w.upper)) return w.kind;
  if (first.is_word("START")) return CommandKind::kStartTransaction;
  Token second = lex.next();
  if (first.is_word("CREATE")) {
    if (second.is_word("TEMPORARY")) return CommandKind::kCreateTemporary;
    if (second.is_word("OR")) {  // CREATE OR REPLACE <object>
      lex.next();
      second = lex.next();
    }
    return object_kind(second, CommandKind::kCreateTable, CommandKind::kCreateDatabase, CommandKind::kCreateIndex,
                       CommandKind::kCreateView, CommandKind::kCreateTrigger, CommandKind::kCreateUser);
  }
  if (first.is_word("DROP")) {
    if (second.is_word("TEMPORARY")) return CommandKind::kDropTable;
    if (second.is_word("PREPARE")) return CommandKind::kDeallocate;
    return object_kind(second, CommandKind::kDropTable, CommandKind::kDropDatabase, CommandKind::kDropIndex,
                       CommandKind::kDropView, CommandKind::kDropTrigger, CommandKind::kDropUser);
  }
  if (first.is_word("ALTER")) {
    if (second.is_word("VIEW")) return CommandKind::kAlterView;
    if (second.is_word("TABLE") || second.is_word("ONLINE") || second.is_word("IGNORE")) return CommandKind::kAlterTable;
  }
  return CommandKind::kUnknown;
}

}  // namespace sluice
