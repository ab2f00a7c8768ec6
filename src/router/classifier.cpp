// Statement classifier (see include/sluice/classifier.h): splits the text at top-level
// ';' and runs the statement scanner (statement_scanner.h) on each statement. This file
// holds the body phase: flags that may appear anywhere in a statement.
#include "sluice/classifier.h"

#include "statement_scanner.h"

namespace sluice {
namespace router_detail {
namespace {

struct FunctionRule {
  std::string_view name;
  uint32_t flag;
};

// Functions whose result or side effect lives on one server (or one connection).
constexpr FunctionRule kStatefulFunctions[] = {
    {"NEXTVAL", kSequence},
    {"SETVAL", kSequence},
    {"LASTVAL", kSequence},
    {"GET_LOCK", kGetLock},
    {"IS_USED_LOCK", kGetLock},
    {"IS_FREE_LOCK", kGetLock},
    {"SERVICE_GET_READ_LOCKS", kGetLock},
    {"SERVICE_GET_WRITE_LOCKS", kGetLock},
    {"RELEASE_LOCK", kReleaseLock},
    {"RELEASE_ALL_LOCKS", kReleaseLock},
    {"SERVICE_RELEASE_LOCKS", kReleaseLock},
    {"LAST_INSERT_ID", kLastInsertId},
    {"FOUND_ROWS", kFoundRows},
    {"ROW_COUNT", kLastStatementInfo},
};

uint32_t function_flag(std::string_view name) {
  for (const FunctionRule& rule : kStatefulFunctions) {
    if (iequals_upper(name, rule.name)) return rule.flag;
  }
  return kNone;
}

struct SysVarName {
  std::string_view scope;  // empty, SESSION, LOCAL, GLOBAL, PERSIST, ...
  std::string_view name;
};

// "@@session.autocommit" -> {session, autocommit}; "@@autocommit" -> {"", autocommit}.
SysVarName split_sysvar(std::string_view text) {
  text.remove_prefix(text.size() < 2 ? text.size() : 2);
  const size_t dot = text.find('.');
  if (dot == std::string_view::npos) return {{}, text};
  return {text.substr(0, dot), text.substr(dot + 1)};
}

bool is_global_scope(std::string_view scope) {
  return iequals_upper(scope, "GLOBAL") || iequals_upper(scope, "PERSIST") ||
         iequals_upper(scope, "PERSIST_ONLY");
}

uint32_t sysvar_flags(std::string_view text) {
  const std::string_view name = split_sysvar(text).name;
  if (iequals_upper(name, "LAST_INSERT_ID") || iequals_upper(name, "IDENTITY")) {
    return kLastInsertId;
  }
  if (iequals_upper(name, "WARNING_COUNT") || iequals_upper(name, "ERROR_COUNT")) {
    return kLastStatementInfo;
  }
  return kNone;
}

std::string_view unquote(std::string_view text) {
  if (text.empty()) return text;
  const char q = text.front();
  if (q != '`' && q != '"' && q != '\'') return text;
  text.remove_prefix(1);
  if (!text.empty() && text.back() == q) text.remove_suffix(1);
  return text;
}

// The target of one SET assignment names the session's autocommit.
bool names_session_autocommit(const Token& t) {
  switch (t.kind) {
    case TokenKind::Word:
      return t.is_word("AUTOCOMMIT");
    case TokenKind::QuotedIdent:
      return iequals_upper(unquote(t.text), "AUTOCOMMIT");
    case TokenKind::SysVar: {
      const SysVarName v = split_sysvar(t.text);
      return !is_global_scope(v.scope) && iequals_upper(v.name, "AUTOCOMMIT");
    }
    default:
      return false;
  }
}

bool is_scope_word(const Token& t) {
  return t.is_word("SESSION") || t.is_word("LOCAL") || t.is_word("GLOBAL") ||
         t.is_word("PERSIST") || t.is_word("PERSIST_ONLY");
}

}  // namespace

TokenStream::TokenStream(std::string_view sql, SqlMode mode) : lexer_(sql, mode) {
  for (size_t i = 0; i < kLookahead; ++i) lexer_.next(ring_[i]);
}

const Token& TokenStream::take() {
  const Token& t = ring_[head_ % kRing];
  lexer_.next(ring_[(head_ + kLookahead) % kRing]);
  ++head_;
  return t;
}

StatementResult StatementScanner::run() {
  head();
  for (;;) {
    const Token& t = ts_.peek();
    if (t.kind == TokenKind::End) break;
    if (t.is_punct(';') && mode_ != Mode::Compound) break;
    step(ts_.take());
  }
  if (kind_ == Kind::PendingCte) kind_ = saw_select_ ? Kind::Select : Kind::Write;
  const bool read_kind = kind_ == Kind::Read || kind_ == Kind::Select;
  return {read_kind && (flags_ & kForcesWriter) == 0, flags_};
}

void StatementScanner::step(const Token& t) {
  if (t.is_punct('(')) {
    ++depth_;
  } else if (t.is_punct(')') && depth_ > 0) {
    --depth_;
  }
  switch (mode_) {
    case Mode::SetList:
      set_assignment(t);
      break;
    case Mode::SetStatementVars:
      if (depth_ == 0 && t.is_word("FOR")) {  // the inner statement starts here
        mode_ = Mode::Plain;
        kind_ = Kind::Write;
        head();
        return;
      }
      break;
    case Mode::Cte:
      cte_main(t);
      break;
    case Mode::Definition:
      if (t.is_word("BEGIN")) mode_ = Mode::Compound;
      break;
    case Mode::Plain:
    case Mode::Compound:
      break;
  }
  if (flush_tables_ && ((t.is_word("WITH") && ts_.peek().is_word("READ")) ||
                        (t.is_word("FOR") && ts_.peek().is_word("EXPORT")))) {
    flags_ |= kLockTables;
  }
  if (scan_flags_) scan_flags(t);
}

// SET [scope] target = expr [, [scope] target = expr ...]: a scope keyword applies to the
// assignment it precedes (so `SET GLOBAL a=1, autocommit=0` still sets the session's).
void StatementScanner::set_assignment(const Token& t) {
  if (depth_ != 0) return;
  if (t.is_punct(',')) {
    assignment_start_ = true;
    global_scope_ = false;
    return;
  }
  if (!assignment_start_) return;
  if (is_scope_word(t)) {
    global_scope_ = !t.is_word("SESSION") && !t.is_word("LOCAL");
    return;
  }
  assignment_start_ = false;
  if (!global_scope_ && names_session_autocommit(t)) flags_ |= kSetAutocommit;
}

// WITH ... : the first DML keyword outside the CTE bodies is the main statement.
void StatementScanner::cte_main(const Token& t) {
  if (t.is_word("SELECT")) saw_select_ = true;
  if (kind_ != Kind::PendingCte || depth_ != 0) return;
  if (t.is_word("SELECT") || t.is_word("VALUES") || t.is_word("TABLE")) {
    kind_ = Kind::Select;
  } else if (t.is_word("UPDATE") || t.is_word("DELETE") || t.is_word("INSERT") ||
             t.is_word("REPLACE")) {
    kind_ = Kind::Write;
  }
}

// `@h` right after a quoted name is the host of 'user'@'host'; after a bare word it is
// one only in statements that take account names (GRANT, CREATE USER, DEFINER=, ...),
// because `SELECT@x` is a valid read of a user variable.
bool StatementScanner::is_account_host(const Token& t) const {
  return t.glued_to == TokenKind::String || t.glued_to == TokenKind::QuotedIdent ||
         (t.glued_to == TokenKind::Word && account_names_);
}

void StatementScanner::scan_flags(const Token& t) {
  switch (t.kind) {
    case TokenKind::UserVar:
      if (!is_account_host(t)) flags_ |= kUserVariable;
      break;
    case TokenKind::SysVar:
      flags_ |= sysvar_flags(t.text);
      break;
    case TokenKind::Word:
      word_flags(t);
      break;
    default:
      break;
  }
}

void StatementScanner::word_flags(const Token& t) {
  if (t.after_dot) {  // MariaDB sql_mode=ORACLE: seq.nextval, seq.currval
    if (iequals_upper(t.text, "NEXTVAL") || iequals_upper(t.text, "CURRVAL")) {
      flags_ |= kSequence;
    }
    return;
  }
  const Token& n = ts_.peek();
  if (n.is_punct('(')) {
    flags_ |= function_flag(t.text);
  } else if (t.is_word("FOR")) {
    if (n.is_word("UPDATE") || n.is_word("SHARE")) flags_ |= kLockingRead;
  } else if (t.is_word("LOCK")) {
    if (n.is_word("IN") && ts_.peek(1).is_word("SHARE")) flags_ |= kLockingRead;
  } else if (t.is_word("INTO")) {
    if (kind_ == Kind::Select || n.is_word("OUTFILE") || n.is_word("DUMPFILE") ||
        n.kind == TokenKind::UserVar) {
      flags_ |= kSelectInto;
    }
  } else if (t.is_word("NEXT") || t.is_word("PREVIOUS")) {
    if (n.is_word("VALUE") && ts_.peek(1).is_word("FOR")) flags_ |= kSequence;
  } else if (t.is_word("SQL_CALC_FOUND_ROWS")) {
    flags_ |= kFoundRows;
  }
}

}  // namespace router_detail

Classification classify(std::string_view sql) { return classify(sql, SqlMode{}); }

Classification classify(std::string_view sql, SqlMode mode) {
  router_detail::TokenStream ts(sql, mode);
  Classification out;
  bool any_statement = false;
  bool all_read = true;
  bool after_semicolon = false;
  for (;;) {
    const Token& t = ts.peek();
    if (t.kind == TokenKind::End) break;
    if (t.is_punct(';')) {  // empty statements in between do not count
      ts.take();
      after_semicolon = true;
      continue;
    }
    if (after_semicolon) out.flags |= kMultiStatement;
    const router_detail::StatementResult r = router_detail::StatementScanner(ts).run();
    out.flags |= r.flags;
    all_read = all_read && r.read;
    any_statement = true;
  }
  out.route = any_statement && all_read ? Route::Read : Route::Write;
  return out;
}

std::string_view use_schema_name(std::string_view sql) {
  SqlLexer lexer(sql);
  if (!lexer.next().is_word("USE")) return {};
  const Token name = lexer.next();
  switch (name.kind) {
    case TokenKind::Word:
    case TokenKind::Number:
      return name.text;
    case TokenKind::String:
    case TokenKind::QuotedIdent:
      return router_detail::unquote(name.text);
    default:
      return {};
  }
}

}  // namespace sluice
