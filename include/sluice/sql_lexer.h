// SQL lexer: splits MySQL/MariaDB statement text into tokens, skipping what the server
// skips.
//
// Owns: whitespace, `-- ` / `#` / `/* */` comments (dropped), executable comments
// (`/*!`, `/*!NNNNN`, `/*M!`, `/*M!NNNNNN`: opener and closing `*/` are dropped, the
// content is lexed as SQL), quoted strings and identifiers (one token each, quotes kept).
// Contract: never allocates, never reads outside the given text, accepts any bytes
// (unterminated strings and comments run to the end). Tokens are views into the text, so
// the text must outlive them. Used by the classifier; query digests may reuse it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace sluice {

enum class TokenKind : uint8_t {
  End,          // no more input (repeats forever)
  Word,         // keyword or unquoted identifier: [A-Za-z0-9_$] and bytes >= 0x80
  Number,       // 12, 1.5, 1.5e-3, 0x1F, 0b01 (`1abc` is a Word, as for the server)
  String,       // '...' or "..." (quotes kept; "..." is QuotedIdent under ANSI_QUOTES)
  QuotedIdent,  // `...`
  UserVar,      // @name, @'name', @`name` (also the @host half of 'user'@'host')
  SysVar,       // @@name, @@session.name, @@global.name
  Punct,        // any other single byte, including NUL
};

// sql_mode bits that change where strings end. Unknown mode: leave both false.
struct SqlMode {
  bool no_backslash_escapes = false;  // NO_BACKSLASH_ESCAPES: '\' is an ordinary byte
  bool ansi_quotes = false;           // ANSI_QUOTES: "x" is an identifier
};

struct Token {
  std::string_view text;  // raw bytes as written, quotes and sigils included
  TokenKind kind = TokenKind::End;
  // Previous token was '.', so a Word here is a qualified name (`t.select`), not a keyword.
  bool after_dot = false;
  // Kind of the previous token when nothing (no space, no comment) separates the two,
  // else End. `'u'@'h'` gives a UserVar glued to a String: a host, not a variable.
  TokenKind glued_to = TokenKind::End;

  bool is_punct(char c) const {
    return kind == TokenKind::Punct && text.size() == 1 && text[0] == c;
  }
  // Case-insensitive keyword test; `upper` must be upper case. False after a dot.
  bool is_word(std::string_view upper) const;
};

// ASCII case-insensitive equality; `upper` must be upper case. Inline: the classifier
// calls it for every word, and most calls end at the length test.
inline bool iequals_upper(std::string_view text, std::string_view upper) {
  if (text.size() != upper.size()) return false;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - ('a' - 'A'));
    if (c != upper[i]) return false;
  }
  return true;
}

inline bool Token::is_word(std::string_view upper) const {
  return kind == TokenKind::Word && !after_dot && iequals_upper(text, upper);
}

class SqlLexer {
 public:
  explicit SqlLexer(std::string_view sql, SqlMode mode = {});

  // Writes the next token into `out` (in place: the classifier lexes into its lookahead
  // ring, which avoids copying tokens around).
  void next(Token& out);
  Token next() {
    Token t;
    next(t);
    return t;
  }

 private:
  int byte_at(size_t i) const;  // -1 past the end
  void skip_trivia();
  void skip_to_line_end();
  void skip_block_comment();
  void open_executable_comment(size_t opener_len);
  void skip_quoted(char quote, bool backslash_escapes);
  void skip_word_bytes(bool allow_dot);
  TokenKind lex_at_sign();
  TokenKind lex_number();

  std::string_view sql_;
  SqlMode mode_;
  size_t pos_ = 0;
  bool in_executable_comment_ = false;
  size_t prev_end_ = static_cast<size_t>(-1);
  TokenKind prev_kind_ = TokenKind::End;
  bool prev_was_dot_ = false;
};

}  // namespace sluice
