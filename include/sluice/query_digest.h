// Query digests: the normalised text of a statement (literals replaced by `?`) and its
// 64-bit hash, as ProxySQL shows them in stats_mysql_query_digest and matches them in
// mysql_query_rules (digest, match_digest).
//
// Owns: the digest text format, the digest hash (XXH64, seed 0, implemented from the
// xxHash specification; stable across builds and machines) and its "0x%016X" spelling.
// Contract: pure functions, no locks, never read outside the given text, accept any bytes.
// digest_text() makes one pass over the SQL with the shared SqlLexer (so digests, the
// classifier and the rules agree on where strings and comments end) and appends to a
// caller-owned buffer: with a reused buffer it does not allocate.
//
// Digest text format (what an operator sees and what match_digest regexes run against):
//  - comments are dropped (`-- `, `#`, `/* */`, optimizer hints `/*+ */` too, as ProxySQL);
//    executable comments (`/*! */`, `/*!50700 */`, `/*M! */`) are read as SQL;
//  - literals become `?`: numbers (`12`, `-1` where the sign is unary, `1.5e-3`, `.5`,
//    `0x1F`, `0b01`), strings ('..' and ".." unless ANSI_QUOTES, with any escapes),
//    `X'..'`, `B'..'`, `N'..'`, `_charset'..'`; a `?` placeholder stays `?`.
//    NULL, TRUE and FALSE are kept (ProxySQL's default, query_digests_replace_null=0);
//  - a run of two or more literal items in an IN list becomes `?,...`:
//    `IN (1,2,3)` -> `IN (?,...)`, `IN (1,2,a,3)` -> `IN (?,...,a,?)`;
//  - rows after the first of a VALUES list become `,...`:
//    `VALUES (1,'a'),(2,'b')` -> `VALUES (?,?),...` (`= VALUES(col)` in ON DUPLICATE KEY
//    UPDATE is a function call, not a row list);
//  - keywords are upper-cased; identifiers, `quoted identifiers`, @user_vars and
//    @@sys_vars are kept as written (function names that are not keywords too);
//  - tokens are re-spaced canonically, whatever the original spacing: one space between
//    tokens, none after `(` and `.`, none before `)`, `,`, `.`, none after `,`, and none
//    before `(` unless it follows a clause keyword (IN, VALUES, AND, WHERE, ...), an
//    operator or `)`: `SELECT COUNT(*) FROM t(a,b) WHERE id = ? AND k IN (?,...)`;
//  - multi-character operators are kept whole (`<=`, `<>`, `:=`, `->>`, ...);
//  - statements of a multi-statement text are joined by `; `; trailing `;` are dropped;
//  - only the first max_query_length bytes of the SQL are read and the text is cut at
//    max_length bytes (ProxySQL: query_digests_max_query_length, ..._max_digest_length).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "sluice/sql_lexer.h"

namespace sluice {

inline constexpr size_t kDefaultDigestMaxLength = 2048;
inline constexpr size_t kDefaultDigestMaxQueryLength = 65000;

struct DigestOptions {
  size_t max_length = kDefaultDigestMaxLength;             // digest text is cut here
  size_t max_query_length = kDefaultDigestMaxQueryLength;  // SQL past this is not read
  SqlMode sql_mode;  // ANSI_QUOTES makes ".." an identifier (kept), not a string
};

// Replaces `out` with the digest text of `sql`. Reuses out's capacity.
void digest_text(std::string_view sql, std::string& out, const DigestOptions& options = {});
std::string digest_text(std::string_view sql, const DigestOptions& options = {});

// XXH64 (seed 0) of the digest text: the `digest` column.
uint64_t digest_hash(std::string_view digest_text);

// XXH64 of any bytes with a seed (digest statistics hash their keys with it).
uint64_t xxh64(const void* data, size_t size, uint64_t seed);

// "0x" + 16 upper-case hex digits, e.g. "0x00000000000001F4" (ProxySQL's spelling).
std::string format_digest(uint64_t digest);
// Inverse of format_digest: "0x"/"0X" then 1 to 16 hex digits of either case. False (and
// `out` untouched) on anything else.
bool parse_digest(std::string_view text, uint64_t* out);

}  // namespace sluice
