// Private to the router: the keyword table the digest normaliser upper-cases from.
//
// Holds MySQL/MariaDB reserved words, the non-reserved words that start or shape common
// statements (BEGIN, COMMIT, SHOW ... STATUS, ISOLATION LEVEL, ...), column types and the
// most used built-in functions. A word outside the table is an identifier and keeps its
// case. Built once on first use (thread-safe static), read-only afterwards.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace sluice::router_detail {

enum KeywordFlag : uint8_t {
  kNotKeyword = 0,
  kKeyword = 1u << 0,
  // Opens a clause or an operand list: `IN (`, `VALUES (`, `AND (` keep a space before
  // the parenthesis, and a following `-`/`+` is a sign (`WHERE -1`, `THEN -1`).
  kClause = 1u << 1,
};

inline constexpr size_t kMaxKeywordLength = 32;

// Flags of `word` (ASCII case-insensitive). When it is a keyword, `upper` (at least
// kMaxKeywordLength bytes) receives its upper-case spelling, word.size() bytes.
uint8_t lookup_keyword(std::string_view word, char* upper);

}  // namespace sluice::router_detail
