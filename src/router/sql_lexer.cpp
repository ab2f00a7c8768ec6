// SQL lexer (see include/sluice/sql_lexer.h). Every read goes through byte_at() or is
// guarded by `pos_ < sql_.size()`, so arbitrary bytes cannot make it read out of bounds.
#include "sluice/sql_lexer.h"

#include <algorithm>

namespace sluice {
namespace {

bool is_space(int c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

bool is_digit(int c) { return c >= '0' && c <= '9'; }

bool is_word_byte(int c) {
  const int lower = c | 0x20;
  return (lower >= 'a' && lower <= 'z') || is_digit(c) || c == '_' || c == '$' || c >= 0x80;
}

// `--` starts a comment only when followed by whitespace, a control byte or the end
// (MySQL: "--" then my_isspace/my_iscntrl), so `1--1` stays arithmetic.
bool ends_double_dash(int c) { return c < 0 || c <= ' ' || c == 0x7f; }

}  // namespace

SqlLexer::SqlLexer(std::string_view sql, SqlMode mode) : sql_(sql), mode_(mode) {}

int SqlLexer::byte_at(size_t i) const {
  return i < sql_.size() ? static_cast<unsigned char>(sql_[i]) : -1;
}

void SqlLexer::skip_to_line_end() {
  while (pos_ < sql_.size() && sql_[pos_] != '\n') ++pos_;
}

void SqlLexer::skip_block_comment() {
  const size_t close = sql_.find("*/", pos_ + 2);
  pos_ = close == std::string_view::npos ? sql_.size() : close + 2;
}

// `/*!` or `/*M!`: drop the opener and the version digits; the body is SQL up to `*/`.
void SqlLexer::open_executable_comment(size_t opener_len) {
  pos_ += opener_len;
  while (is_digit(byte_at(pos_))) ++pos_;
  in_executable_comment_ = true;
}

void SqlLexer::skip_trivia() {
  while (pos_ < sql_.size()) {
    const int c = byte_at(pos_);
    const int c1 = byte_at(pos_ + 1);
    if (is_space(c)) {
      ++pos_;
    } else if (c == '#' || (c == '-' && c1 == '-' && ends_double_dash(byte_at(pos_ + 2)))) {
      skip_to_line_end();
    } else if (c == '/' && c1 == '*') {
      const int c2 = byte_at(pos_ + 2);
      if (c2 == '!') {
        open_executable_comment(3);
      } else if (c2 == 'M' && byte_at(pos_ + 3) == '!') {
        open_executable_comment(4);
      } else {
        skip_block_comment();
      }
    } else if (in_executable_comment_ && c == '*' && c1 == '/') {
      pos_ += 2;
      in_executable_comment_ = false;
    } else {
      return;
    }
  }
}

// pos_ is on the opening quote. A doubled quote is an escaped quote; with
// backslash_escapes a backslash escapes the next byte. Unterminated: runs to the end.
void SqlLexer::skip_quoted(char quote, bool backslash_escapes) {
  ++pos_;
  while (pos_ < sql_.size()) {
    const char c = sql_[pos_];
    if (c == '\\' && backslash_escapes) {
      pos_ = std::min(pos_ + 2, sql_.size());
    } else if (c == quote) {
      if (byte_at(pos_ + 1) != static_cast<unsigned char>(quote)) {
        ++pos_;
        return;
      }
      pos_ += 2;
    } else {
      ++pos_;
    }
  }
}

void SqlLexer::skip_word_bytes(bool allow_dot) {
  while (pos_ < sql_.size()) {
    const int c = byte_at(pos_);
    if (!is_word_byte(c) && !(allow_dot && c == '.')) return;
    ++pos_;
  }
}

// pos_ is on '@'. `@@x.y` is a system variable; `@x`, `@'x'`, `@"x"`, @`x` a user variable
// (or the host of an account name, which the caller tells apart through glued_to). A lone
// '@' is punctuation.
TokenKind SqlLexer::lex_at_sign() {
  if (byte_at(pos_ + 1) == '@') {
    pos_ += 2;
    skip_word_bytes(true);
    return TokenKind::SysVar;
  }
  ++pos_;
  const int c = byte_at(pos_);
  if (c == '\'' || c == '"') {
    skip_quoted(static_cast<char>(c), !mode_.no_backslash_escapes);
  } else if (c == '`') {
    skip_quoted('`', false);
  } else if (is_word_byte(c) || c == '.') {
    skip_word_bytes(true);
  } else {
    return TokenKind::Punct;
  }
  return TokenKind::UserVar;
}

// pos_ is on a digit. Like the server: 12, 1.5, 1.5e-3, 0x1F and 0b01 are numbers, and
// digits running into letters (`1abc`) are an identifier. `1.5FOR` is `1.5` then FOR.
TokenKind SqlLexer::lex_number() {
  const int c1 = byte_at(pos_ + 1);
  if (sql_[pos_] == '0' && (c1 == 'x' || c1 == 'b')) {
    skip_word_bytes(false);
    return TokenKind::Number;
  }
  while (is_digit(byte_at(pos_))) ++pos_;
  bool fraction = false;
  if (byte_at(pos_) == '.') {
    fraction = true;
    ++pos_;
    while (is_digit(byte_at(pos_))) ++pos_;
  }
  const int e = byte_at(pos_) | 0x20;
  const int sign = byte_at(pos_ + 1);
  const size_t digit_at = (sign == '+' || sign == '-') ? pos_ + 2 : pos_ + 1;
  if (e == 'e' && is_digit(byte_at(digit_at))) {
    pos_ = digit_at;
    while (is_digit(byte_at(pos_))) ++pos_;
  } else if (!fraction && is_word_byte(byte_at(pos_))) {
    skip_word_bytes(false);
    return TokenKind::Word;
  }
  return TokenKind::Number;
}

void SqlLexer::next(Token& tok) {
  skip_trivia();
  tok.after_dot = prev_was_dot_;
  const size_t start = pos_;
  tok.glued_to = start == prev_end_ ? prev_kind_ : TokenKind::End;
  const int c = byte_at(pos_);
  if (c < 0) {
    tok.kind = TokenKind::End;
    tok.text = sql_.substr(sql_.size());
  } else {
    if (c == '\'' || (c == '"' && !mode_.ansi_quotes)) {
      tok.kind = TokenKind::String;
      skip_quoted(static_cast<char>(c), !mode_.no_backslash_escapes);
    } else if (c == '`' || c == '"') {
      tok.kind = TokenKind::QuotedIdent;
      skip_quoted(static_cast<char>(c), false);
    } else if (c == '@') {
      tok.kind = lex_at_sign();
    } else if (is_digit(c)) {
      tok.kind = lex_number();
    } else if (is_word_byte(c)) {
      tok.kind = TokenKind::Word;
      skip_word_bytes(false);
    } else {
      tok.kind = TokenKind::Punct;
      ++pos_;
    }
    tok.text = sql_.substr(start, pos_ - start);
  }
  prev_end_ = pos_;
  prev_kind_ = tok.kind;
  prev_was_dot_ = tok.is_punct('.');
}

}  // namespace sluice
