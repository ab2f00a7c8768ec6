// Head phase of the statement scanner: what the leading keywords of a statement say.
// Each on_<kw>() runs with its keyword already taken and looks at most three tokens ahead
// (or a bounded number, for CREATE/EXPLAIN modifiers), so the head is O(1) per statement.
#include "statement_scanner.h"

namespace sluice::router_detail {

void StatementScanner::head() {
  do {
    redispatch_ = false;
    while (ts_.peek().is_punct('(')) {  // (SELECT ...) UNION (SELECT ...)
      ts_.take();
      ++depth_;
    }
    const Token& t = ts_.peek();
    if (t.kind != TokenKind::Word || t.after_dot) return;
    if (ts_.peek(1).is_punct(':') && !ts_.peek(2).is_punct('=')) {  // label: LOOP ...
      mode_ = Mode::Compound;
      return;
    }
    dispatch(ts_.take());
  } while (redispatch_);
}

void StatementScanner::dispatch(const Token& keyword) {
  using S = StatementScanner;
  using Handler = void (S::*)();
  struct HeadRule {
    std::string_view keyword;
    Handler handler;
  };
  static constexpr HeadRule kHeads[] = {
      {"SELECT", &S::on_select},
      {"VALUES", &S::on_select},
      {"TABLE", &S::on_select},
      {"WITH", &S::on_with},
      {"SHOW", &S::on_show},
      {"DESC", &S::on_explain},
      {"DESCRIBE", &S::on_explain},
      {"EXPLAIN", &S::on_explain},
      {"ANALYZE", &S::on_analyze},
      {"DO", &S::on_read},
      {"HELP", &S::on_read},
      {"SET", &S::on_set},
      {"BEGIN", &S::on_begin},
      {"START", &S::on_start},
      {"XA", &S::on_xa},
      {"COMMIT", &S::on_commit},
      {"ROLLBACK", &S::on_rollback},
      {"USE", &S::on_use},
      {"CREATE", &S::on_create},
      {"DROP", &S::on_drop},
      {"GRANT", &S::on_account},
      {"REVOKE", &S::on_account},
      {"ALTER", &S::on_account},
      {"RENAME", &S::on_account},
      {"LOCK", &S::on_lock},
      {"UNLOCK", &S::on_unlock},
      {"BACKUP", &S::on_backup},
      {"FLUSH", &S::on_flush},
      {"PREPARE", &S::on_prepare},
      {"EXECUTE", &S::on_prepare},
      {"DEALLOCATE", &S::on_prepare},
      {"KILL", &S::on_kill},
      {"CALL", &S::on_call},
      {"GET", &S::on_get},
      {"IF", &S::on_compound},
      {"CASE", &S::on_compound},
      {"LOOP", &S::on_compound},
      {"WHILE", &S::on_compound},
      {"REPEAT", &S::on_compound},
      {"FOR", &S::on_compound},
      {"DECLARE", &S::on_compound},
  };
  for (const HeadRule& rule : kHeads) {
    if (keyword.is_word(rule.keyword)) {
      (this->*rule.handler)();
      return;
    }
  }
}

// FORMAT = name, as in EXPLAIN FORMAT=JSON / ANALYZE FORMAT=JSON.
bool StatementScanner::skip_format_option() {
  if (!ts_.peek().is_word("FORMAT") || !ts_.peek(1).is_punct('=')) return false;
  ts_.take();
  ts_.take();
  ts_.take();
  return true;
}

// AND CHAIN (not AND NO CHAIN) at lookahead position `at`.
bool StatementScanner::chained(size_t at) const {
  return ts_.peek(at).is_word("AND") && ts_.peek(at + 1).is_word("CHAIN");
}

void StatementScanner::on_select() {
  kind_ = Kind::Select;
  saw_select_ = true;
}

void StatementScanner::on_read() { kind_ = Kind::Read; }

void StatementScanner::on_with() {
  kind_ = Kind::PendingCte;
  mode_ = Mode::Cte;
}

// SHOW WARNINGS / ERRORS / COUNT(*) WARNINGS / PROFILE(S) describe the previous statement
// on this connection; other SHOWs are plain reads.
void StatementScanner::on_show() {
  kind_ = Kind::Read;
  account_names_ = true;  // SHOW GRANTS FOR u@h
  const Token& t = ts_.peek();
  if (t.is_word("WARNINGS") || t.is_word("ERRORS") || t.is_word("COUNT") || t.is_word("PROFILE") ||
      t.is_word("PROFILES")) {
    flags_ |= kLastStatementInfo;
  }
}

// EXPLAIN/DESCRIBE/DESC [EXTENDED|PARTITIONS] [ANALYZE] [FORMAT=x] ...: only shows a plan
// (Read), unless ANALYZE makes it run the statement, which then decides.
void StatementScanner::on_explain() {
  bool analyze = false;
  for (int i = 0; i < 4; ++i) {
    if (skip_format_option()) continue;
    const Token& t = ts_.peek();
    if (t.is_word("ANALYZE")) {
      analyze = true;
    } else if (!t.is_word("EXTENDED") && !t.is_word("PARTITIONS")) {
      break;
    }
    ts_.take();
  }
  kind_ = analyze ? Kind::Write : Kind::Read;
  redispatch_ = analyze;
}

// MariaDB: ANALYZE [FORMAT=x] <stmt> runs <stmt>; ANALYZE TABLE updates statistics.
void StatementScanner::on_analyze() {
  const Token& t = ts_.peek();
  if (t.is_word("TABLE") || t.is_word("TABLES") || t.is_word("NO_WRITE_TO_BINLOG") ||
      t.is_word("LOCAL")) {
    return;
  }
  skip_format_option();
  redispatch_ = true;
}

void StatementScanner::on_set() {
  const Token& t = ts_.peek();
  if (t.is_word("STATEMENT")) {  // MariaDB SET STATEMENT v=x [, ...] FOR <stmt>
    ts_.take();
    mode_ = Mode::SetStatementVars;
    return;
  }
  flags_ |= kSetStatement;
  mode_ = Mode::SetList;
  assignment_start_ = true;
  // SET PASSWORD FOR u@h, SET DEFAULT ROLE r FOR u@h, SET ROLE
  account_names_ = t.is_word("PASSWORD") || t.is_word("DEFAULT") || t.is_word("ROLE");
}

// BEGIN [WORK] starts a transaction; BEGIN NOT ATOMIC (or anything else) opens a block.
void StatementScanner::on_begin() {
  const Token& t = ts_.peek();
  if (t.kind == TokenKind::End || t.is_punct(';') || t.is_word("WORK")) {
    flags_ |= kBeginsTransaction;
  } else {
    mode_ = Mode::Compound;
  }
}

void StatementScanner::on_start() {
  if (ts_.peek().is_word("TRANSACTION")) flags_ |= kBeginsTransaction;
}

void StatementScanner::on_xa() {
  const Token& t = ts_.peek();
  if (t.is_word("START") || t.is_word("BEGIN")) flags_ |= kBeginsTransaction;
  if (t.is_word("COMMIT") || t.is_word("ROLLBACK")) flags_ |= kEndsTransaction;
}

// COMMIT [WORK] [AND [NO] CHAIN] [[NO] RELEASE]
void StatementScanner::on_commit() {
  flags_ |= kEndsTransaction;
  if (chained(ts_.peek().is_word("WORK") ? 1 : 0)) flags_ |= kBeginsTransaction;
}

// ROLLBACK [WORK] TO [SAVEPOINT] x keeps the transaction open.
void StatementScanner::on_rollback() {
  const size_t at = ts_.peek().is_word("WORK") ? 1 : 0;
  if (ts_.peek(at).is_word("TO")) return;
  flags_ |= kEndsTransaction;
  if (chained(at)) flags_ |= kBeginsTransaction;
}

void StatementScanner::on_use() { flags_ |= kUseSchema; }

// CREATE [OR REPLACE] [TEMPORARY] TABLE|SEQUENCE, or a stored program definition:
// CREATE [OR REPLACE] [DEFINER=u@h] [AGGREGATE] PROCEDURE|FUNCTION|TRIGGER|EVENT|PACKAGE.
void StatementScanner::on_create() {
  account_names_ = true;
  bool temporary = false;
  for (int i = 0; i < 16; ++i) {
    const Token& t = ts_.peek();
    if (t.kind == TokenKind::End || t.is_punct(';')) return;
    if (t.is_word("TEMPORARY")) {
      temporary = true;
    } else if (t.is_word("TABLE") || t.is_word("SEQUENCE")) {
      if (temporary) flags_ |= kTempTable;
      return;
    } else if (t.is_word("PROCEDURE") || t.is_word("FUNCTION") || t.is_word("TRIGGER") ||
               t.is_word("EVENT") || t.is_word("PACKAGE")) {
      mode_ = Mode::Definition;  // the body runs at CALL time, not now
      scan_flags_ = false;
      return;
    } else if (t.is_word("VIEW") || t.is_word("INDEX") || t.is_word("DATABASE") ||
               t.is_word("SCHEMA") || t.is_word("USER") || t.is_word("ROLE")) {
      return;
    }
    ts_.take();
  }
}

void StatementScanner::on_drop() {
  account_names_ = true;
  const Token& t = ts_.peek();
  if (t.is_word("TEMPORARY")) flags_ |= kTempTable;
  if (t.is_word("PREPARE")) flags_ |= kPrepare;
}

void StatementScanner::on_account() { account_names_ = true; }

// LOCK TABLE(S) ... / LOCK INSTANCE FOR BACKUP hold locks until UNLOCK.
void StatementScanner::on_lock() {
  const Token& t = ts_.peek();
  if (t.is_word("TABLES") || t.is_word("TABLE") || t.is_word("INSTANCE")) {
    flags_ |= kLockTables;
  }
}

void StatementScanner::on_unlock() {
  const Token& t = ts_.peek();
  if (t.is_word("TABLES") || t.is_word("TABLE") || t.is_word("INSTANCE")) {
    flags_ |= kUnlockTables;
  }
}

// MariaDB: BACKUP LOCK t / BACKUP UNLOCK, BACKUP STAGE START ... BACKUP STAGE END.
void StatementScanner::on_backup() {
  const Token& t = ts_.peek();
  const Token& stage = ts_.peek(1);
  if (t.is_word("LOCK") || (t.is_word("STAGE") && stage.is_word("START"))) {
    flags_ |= kLockTables;
  }
  if (t.is_word("UNLOCK") || (t.is_word("STAGE") && stage.is_word("END"))) {
    flags_ |= kUnlockTables;
  }
}

// FLUSH [NO_WRITE_TO_BINLOG|LOCAL] TABLE(S) [t, ...] WITH READ LOCK | FOR EXPORT: the body
// looks for the lock clause after a table list of any length.
void StatementScanner::on_flush() {
  const size_t at = ts_.peek().is_word("NO_WRITE_TO_BINLOG") || ts_.peek().is_word("LOCAL");
  flush_tables_ = ts_.peek(at).is_word("TABLES") || ts_.peek(at).is_word("TABLE");
}

void StatementScanner::on_prepare() { flags_ |= kPrepare; }

void StatementScanner::on_kill() { flags_ |= kKill; }
void StatementScanner::on_call() { flags_ |= kCall; }

// GET [CURRENT|STACKED] DIAGNOSTICS reads the previous statement's diagnostics area.
void StatementScanner::on_get() {
  const Token& t = ts_.peek();
  if (t.is_word("DIAGNOSTICS") || t.is_word("CURRENT") || t.is_word("STACKED")) {
    flags_ |= kLastStatementInfo;
  }
}

void StatementScanner::on_compound() { mode_ = Mode::Compound; }

}  // namespace sluice::router_detail
