// Private to the router: the one-statement scanner behind classify().
//
// A statement is read in two phases over the same token stream:
//   head  - leading keywords decide the statement kind and head-only flags
//           (statement_heads.cpp: SELECT, SET, BEGIN, CREATE TEMPORARY, ...);
//   body  - every following token, up to the ';' that ends the statement, feeds the
//           flags that can appear anywhere (user variables, GET_LOCK(, FOR UPDATE, ...)
//           plus the mode the head chose (SET assignment list, WITH main statement, ...).
// Modes: Plain -> (nothing); SetList -> kSetAutocommit per assignment; SetStatementVars
// -> at depth-0 FOR, back to head for the inner statement; Cte -> first depth-0 DML
// keyword decides the kind; Definition -> at BEGIN, Compound; Compound -> ';' no longer
// ends the statement (runs to the end of the text).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "sluice/classifier.h"
#include "sluice/sql_lexer.h"

namespace sluice::router_detail {

// Fixed lookahead over the lexer; every token is lexed exactly once, in place.
class TokenStream {
 public:
  static constexpr size_t kLookahead = 4;  // peek(0) .. peek(kLookahead - 1)

  TokenStream(std::string_view sql, SqlMode mode);
  const Token& peek(size_t k = 0) const { return ring_[(head_ + k) % kRing]; }
  // The returned token stays valid until kRing - kLookahead more take() calls.
  const Token& take();

 private:
  static constexpr size_t kRing = 2 * kLookahead;

  SqlLexer lexer_;
  Token ring_[kRing];
  size_t head_ = 0;
};

struct StatementResult {
  bool read = false;
  uint32_t flags = kNone;
};

class StatementScanner {
 public:
  explicit StatementScanner(TokenStream& ts) : ts_(ts) {}

  // Consumes one statement, leaving its terminating ';' (or End) in the stream.
  StatementResult run();

 private:
  enum class Kind : uint8_t { Write, Read, Select, PendingCte };
  enum class Mode : uint8_t { Plain, SetList, SetStatementVars, Cte, Definition, Compound };

  // Head phase (statement_heads.cpp).
  void head();
  void dispatch(const Token& keyword);
  bool skip_format_option();
  bool chained(size_t at) const;
  void on_select();
  void on_read();
  void on_with();
  void on_show();
  void on_explain();
  void on_analyze();
  void on_set();
  void on_begin();
  void on_start();
  void on_xa();
  void on_commit();
  void on_rollback();
  void on_use();
  void on_create();
  void on_drop();
  void on_account();
  void on_lock();
  void on_unlock();
  void on_backup();
  void on_flush();
  void on_prepare();
  void on_kill();
  void on_call();
  void on_get();
  void on_compound();

  // Body phase (classifier.cpp).
  void step(const Token& t);
  void set_assignment(const Token& t);
  void cte_main(const Token& t);
  void scan_flags(const Token& t);
  void word_flags(const Token& t);
  bool is_account_host(const Token& t) const;

  TokenStream& ts_;
  uint32_t flags_ = kNone;
  Kind kind_ = Kind::Write;
  Mode mode_ = Mode::Plain;
  size_t depth_ = 0;            // parenthesis depth
  bool scan_flags_ = true;      // off inside stored-program definitions
  bool account_names_ = false;  // `word@host` is an account (GRANT, CREATE USER, ...)
  bool flush_tables_ = false;   // FLUSH TABLES: look for WITH READ LOCK / FOR EXPORT
  bool saw_select_ = false;     // WITH without a depth-0 main keyword: read if true
  bool redispatch_ = false;     // head handler wants the next keyword dispatched too
  bool assignment_start_ = false;
  bool global_scope_ = false;  // current SET assignment is GLOBAL/PERSIST
};

}  // namespace sluice::router_detail
