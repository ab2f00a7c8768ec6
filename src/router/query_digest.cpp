// Query digests (see include/sluice/query_digest.h).
//
// One pass over SqlLexer tokens with one token of lookahead. Each token becomes an output
// item of a class (word, keyword, literal, operator, parenthesis, ...); the class of the
// previous item decides the space before the next one, so spacing is canonical. Two pieces
// of state sit beside the item writer, both streaming (output is append-only, which is what
// lets the writer stop as soon as max_length is reached):
//   - IN lists: per parenthesis level opened by `IN (`, runs of lone-literal items collapse
//     to `?,...`. A literal that could be the third of a run is held back until the next
//     token shows whether its item ends there (`, 3)`) or goes on (`, 3+4)`).
//   - VALUES rows: after the first row of `VALUES (...)`, further `,(...)` rows are skipped
//     token by token and written as one `,...`.
#include "sluice/query_digest.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cstring>

#include "sql_keywords.h"

namespace sluice {
namespace {

using router_detail::kClause;
using router_detail::kMaxKeywordLength;
using router_detail::lookup_keyword;

// Class of a written item; decides spacing and whether a `-`/`+` that follows is a sign.
enum class Item : uint8_t { Start, Word, Keyword, Clause, Literal, Op, LParen, RParen, Comma, Dot, Semi };

bool needs_space(Item prev, Item next) {
  if (prev == Item::Start) return false;
  if (next == Item::RParen || next == Item::Comma || next == Item::Dot || next == Item::Semi) return false;
  if (prev == Item::LParen || prev == Item::Dot || prev == Item::Comma) return false;
  if (next == Item::LParen) {
    return prev == Item::Clause || prev == Item::Op || prev == Item::RParen || prev == Item::Semi;
  }
  return true;
}

// Multi-byte operators, written whole when their bytes come glued together.
bool is_operator(std::string_view op) {
  static constexpr std::string_view kOps[] = {"<=", ">=", "<>", "!=", "<=>", ":=",
                                              "||", "&&", "<<", ">>", "->", "->>"};
  return std::find(std::begin(kOps), std::end(kOps), op) != std::end(kOps);
}

// A literal prefix glued to a string: X'..', B'..', N'..', _charset'..'.
bool is_string_prefix(std::string_view w) {
  if (w.size() == 1) {
    const char c = static_cast<char>(w[0] | 0x20);
    return c == 'x' || c == 'b' || c == 'n';
  }
  return w.size() > 1 && w[0] == '_';
}

// Where an IN list stands while its items are being written.
enum class InItem : uint8_t {
  None,      // between items
  Lone,      // the item so far is one literal, written as `?`
  Deferred,  // the item so far is one literal, not written (may join a collapsed run)
  Mixed,     // the item has other tokens
};

// One parenthesis level. Trivial on purpose: the level array is not cleared per call;
// open_paren() sets every field of the level it enters.
struct Level {
  bool in_list;
  bool comma_pending;  // an item separator not written yet
  InItem item;
  uint32_t run;  // lone-literal items just before the current one
};

enum class Values : uint8_t { None, ExpectRow, FirstRow, AfterRow };

class Normaliser {
 public:
  Normaliser(std::string_view sql, std::string& out, const DigestOptions& o)
      : lex_(sql.substr(0, std::min(sql.size(), o.max_query_length)), o.sql_mode),
        out_(out),
        max_(o.max_length) {
    out_.clear();
    out_.reserve(std::min(max_, sql.size() + sql.size() / 2 + 16));
    lex_.next(cur_);
    lex_.next(next_);
  }

  void run() {
    while (cur_.kind != TokenKind::End && !full_) step();
  }

 private:
  static constexpr uint32_t kMaxDepth = 64;  // IN lists deeper than this are not collapsed

  void advance() {
    cur_ = next_;
    lex_.next(next_);
  }

  // True where a `-`/`+` is a sign and `.5` a number: after an operator, `(`, `,`, a
  // clause keyword or at the start of a statement.
  bool sign_context() const {
    return semicolon_pending_ || last_ == Item::Start || last_ == Item::Op || last_ == Item::LParen ||
           last_ == Item::Comma || last_ == Item::Clause;
  }

  // The token after next_ is a number glued to it (peeks on a copy of the lexer).
  bool third_is_glued_number() const {
    SqlLexer peek = lex_;
    const Token t = peek.next();
    return t.kind == TokenKind::Number && t.glued_to == TokenKind::Punct;
  }

  bool next_is_value() const {
    return next_.kind == TokenKind::Number || next_.kind == TokenKind::String;
  }

  void step() {
    switch (cur_.kind) {
      case TokenKind::Number:
      case TokenKind::String:
        literal(1);
        return;
      case TokenKind::Word:
        word();
        return;
      case TokenKind::QuotedIdent:
      case TokenKind::UserVar:
      case TokenKind::SysVar:
        item(Item::Word, cur_.text);
        advance();
        return;
      default:
        punct();
        return;
    }
  }

  void literal(int tokens) {
    item(Item::Literal, "?");
    while (tokens-- > 0) advance();
  }

  void word() {
    if (next_.kind == TokenKind::String && next_.glued_to == TokenKind::Word && is_string_prefix(cur_.text)) {
      literal(2);
      return;
    }
    char upper[kMaxKeywordLength];
    const uint8_t flags = cur_.after_dot ? 0 : lookup_keyword(cur_.text, upper);
    if (flags == 0) {
      item(Item::Word, cur_.text);
    } else {
      const std::string_view kw(upper, cur_.text.size());
      // `= VALUES(col)` (ON DUPLICATE KEY UPDATE) is a function, not a row list.
      const bool function = kw == "VALUES" && (last_ == Item::Op || last_ == Item::LParen || last_ == Item::Comma);
      item((flags & kClause) && !function ? Item::Clause : Item::Keyword, kw);
      if (kw == "IN") in_pending_ = true;
      if ((kw == "VALUES" || kw == "VALUE") && !function) {
        values_ = Values::ExpectRow;
        values_depth_ = depth_;
      }
    }
    advance();
  }

  void punct() {
    const char c = cur_.text[0];
    switch (c) {
      case '?':
        literal(1);
        return;
      case '(':
        item(Item::LParen, "(");
        open_paren();
        advance();
        return;
      case ')':
        item(Item::RParen, ")");
        close_paren();
        advance();
        return;
      case ',':
        if (values_ == Values::AfterRow && depth_ == values_depth_ && next_.is_punct('(')) {
          skip_rows();
          return;
        }
        item(Item::Comma, ",");
        advance();
        return;
      case '.':
        if (next_.kind == TokenKind::Number && next_.glued_to == TokenKind::Punct && sign_context()) {
          literal(2);  // .5
          return;
        }
        item(Item::Dot, ".");
        advance();
        return;
      case ';':
        semicolon_pending_ = true;
        depth_ = 0;
        values_ = Values::None;
        in_pending_ = false;
        advance();
        return;
      case '-':
      case '+':
        if (sign_context()) {
          if (next_is_value()) {
            literal(2);  // -1, +'2'
            return;
          }
          if (next_.is_punct('.') && next_.glued_to == TokenKind::Punct && third_is_glued_number()) {
            literal(3);  // -.5
            return;
          }
        }
        break;
      default:
        break;
    }
    operator_byte(c);
    advance();
  }

  // Appends to the previous operator when glued and the pair is a known operator.
  void operator_byte(char c) {
    if (last_ == Item::Op && cur_.glued_to == TokenKind::Punct && op_len_ < 3 && !semicolon_pending_) {
      char joined[4];
      std::memcpy(joined, op_, op_len_);
      joined[op_len_] = c;
      if (is_operator(std::string_view(joined, op_len_ + 1u))) {
        op_[op_len_++] = c;
        append(std::string_view(&c, 1));
        return;
      }
    }
    item(Item::Op, std::string_view(&c, 1));
    op_[0] = c;
    op_len_ = 1;
  }

  void open_paren() {
    if (values_ == Values::ExpectRow && depth_ == values_depth_) values_ = Values::FirstRow;
    ++depth_;
    if (depth_ < kMaxDepth) levels_[depth_] = Level{in_pending_, false, InItem::None, 0};
    in_pending_ = false;
  }

  void close_paren() {
    if (depth_ > 0) --depth_;
    if (values_ == Values::FirstRow && depth_ == values_depth_) values_ = Values::AfterRow;
  }

  // cur_ is the `,` before a second VALUES row: skip rows while `,(` follows a row.
  void skip_rows() {
    while (cur_.is_punct(',') && next_.is_punct('(')) {
      advance();
      uint32_t depth = 0;
      do {
        if (cur_.is_punct('(')) ++depth;
        if (cur_.is_punct(')')) --depth;
        advance();
      } while (depth > 0 && cur_.kind != TokenKind::End);
    }
    item(Item::Comma, ",");
    item(Item::Literal, "...");
    values_ = Values::None;
  }

  Level* in_level() {
    if (depth_ == 0 || depth_ >= kMaxDepth || !levels_[depth_].in_list) return nullptr;
    return &levels_[depth_];
  }

  // Every token goes through here, in order.
  void item(Item kind, std::string_view text) {
    if (semicolon_pending_) {
      semicolon_pending_ = false;
      put(Item::Semi, ";");
    }
    last_ = kind;
    if (kind != Item::LParen) in_pending_ = false;  // open_paren() reads it after `(`
    if ((values_ == Values::ExpectRow || values_ == Values::AfterRow) && depth_ == values_depth_ &&
        kind != Item::LParen) {
      values_ = Values::None;
    }
    if (Level* level = in_level()) {
      if (!in_list_item(*level, kind)) return;
    }
    put(kind, text);
  }

  // IN-list bookkeeping for a token at the list's own level. Returns whether the token
  // itself is to be written now.
  bool in_list_item(Level& l, Item kind) {
    if (kind == Item::Comma || kind == Item::RParen) {
      if (l.item == InItem::Lone) ++l.run;
      if (l.item == InItem::Deferred) {
        if (l.run == 1) {
          put(Item::Comma, ",");
          put(Item::Literal, "...");
        }
        ++l.run;
        l.comma_pending = false;  // it separated the held-back literal
      }
      if (l.item == InItem::Mixed || l.item == InItem::None) l.run = 0;
      l.item = InItem::None;
      if (l.comma_pending) put(Item::Comma, ",");  // empty item: keep what was written
      l.comma_pending = kind == Item::Comma;
      return kind == Item::RParen;
    }
    switch (l.item) {
      case InItem::None:
        if (kind == Item::Literal && l.run >= 1) {
          l.item = InItem::Deferred;
          return false;
        }
        flush_comma(l);
        l.item = kind == Item::Literal ? InItem::Lone : InItem::Mixed;
        return true;
      case InItem::Deferred:
        flush_comma(l);
        put(Item::Literal, "?");
        l.run = 0;
        l.item = InItem::Mixed;
        return true;
      case InItem::Lone:
      case InItem::Mixed:
        l.item = InItem::Mixed;
        return true;
    }
    return true;
  }

  void flush_comma(Level& l) {
    if (l.comma_pending) put(Item::Comma, ",");
    l.comma_pending = false;
  }

  void put(Item kind, std::string_view text) {
    const bool space = needs_space(prev_, kind);
    prev_ = kind;
    if (out_.size() + text.size() + 1 < max_) {  // the common case: no cut
      if (space) out_.push_back(' ');
      out_.append(text);
      return;
    }
    if (space) append(" ");
    append(text);
  }

  void append(std::string_view text) {
    if (full_) return;
    out_.append(text);
    if (out_.size() >= max_) {
      out_.resize(max_);
      full_ = true;
    }
  }

  SqlLexer lex_;
  Token cur_;
  Token next_;
  std::string& out_;
  const size_t max_;
  bool full_ = false;

  Item prev_ = Item::Start;  // class of the last item written (spacing)
  Item last_ = Item::Start;  // class of the last token read, written or held back (signs)
  char op_[4] = {};
  uint8_t op_len_ = 0;
  bool semicolon_pending_ = false;
  bool in_pending_ = false;

  uint32_t depth_ = 0;
  std::array<Level, kMaxDepth> levels_;  // [1, depth_] are live

  Values values_ = Values::None;
  uint32_t values_depth_ = 0;
};

// ---- XXH64, from the xxHash specification (doc/xxhash_spec.md, "XXH64 algorithm") ----

constexpr uint64_t kPrime1 = 0x9E3779B185EBCA87ULL;
constexpr uint64_t kPrime2 = 0xC2B2AE3D27D4EB4FULL;
constexpr uint64_t kPrime3 = 0x165667B19E3779F9ULL;
constexpr uint64_t kPrime4 = 0x85EBCA77C2B2AE63ULL;
constexpr uint64_t kPrime5 = 0x27D4EB2F165667C5ULL;

uint64_t read64(const unsigned char* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  if constexpr (std::endian::native == std::endian::big) v = __builtin_bswap64(v);
  return v;
}

uint64_t read32(const unsigned char* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  if constexpr (std::endian::native == std::endian::big) v = __builtin_bswap32(v);
  return v;
}

uint64_t round(uint64_t acc, uint64_t lane) {
  acc += lane * kPrime2;
  acc = std::rotl(acc, 31);
  return acc * kPrime1;
}

uint64_t merge_round(uint64_t acc, uint64_t lane) {
  acc ^= round(0, lane);
  return acc * kPrime1 + kPrime4;
}

}  // namespace

uint64_t xxh64(const void* data, size_t size, uint64_t seed) {
  const auto* p = static_cast<const unsigned char*>(data);
  const unsigned char* const end = p + size;
  uint64_t h;
  if (size >= 32) {
    uint64_t v1 = seed + kPrime1 + kPrime2;
    uint64_t v2 = seed + kPrime2;
    uint64_t v3 = seed;
    uint64_t v4 = seed - kPrime1;
    for (; end - p >= 32; p += 32) {
      v1 = round(v1, read64(p));
      v2 = round(v2, read64(p + 8));
      v3 = round(v3, read64(p + 16));
      v4 = round(v4, read64(p + 24));
    }
    h = std::rotl(v1, 1) + std::rotl(v2, 7) + std::rotl(v3, 12) + std::rotl(v4, 18);
    h = merge_round(h, v1);
    h = merge_round(h, v2);
    h = merge_round(h, v3);
    h = merge_round(h, v4);
  } else {
    h = seed + kPrime5;
  }
  h += static_cast<uint64_t>(size);
  for (; end - p >= 8; p += 8) {
    h ^= round(0, read64(p));
    h = std::rotl(h, 27) * kPrime1 + kPrime4;
  }
  if (end - p >= 4) {
    h ^= read32(p) * kPrime1;
    h = std::rotl(h, 23) * kPrime2 + kPrime3;
    p += 4;
  }
  for (; p < end; ++p) {
    h ^= *p * kPrime5;
    h = std::rotl(h, 11) * kPrime1;
  }
  h ^= h >> 33;
  h *= kPrime2;
  h ^= h >> 29;
  h *= kPrime3;
  h ^= h >> 32;
  return h;
}

void digest_text(std::string_view sql, std::string& out, const DigestOptions& options) {
  Normaliser n(sql, out, options);
  n.run();
}

std::string digest_text(std::string_view sql, const DigestOptions& options) {
  std::string out;
  digest_text(sql, out, options);
  return out;
}

uint64_t digest_hash(std::string_view text) { return xxh64(text.data(), text.size(), 0); }

std::string format_digest(uint64_t digest) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string s = "0x0000000000000000";
  for (int i = 17; i >= 2; --i, digest >>= 4) s[i] = kHex[digest & 0xF];
  return s;
}

bool parse_digest(std::string_view text, uint64_t* out) {
  if (text.size() < 3 || text.size() > 18 || text[0] != '0' || (text[1] | 0x20) != 'x') return false;
  uint64_t v = 0;
  for (char c : text.substr(2)) {
    const int lower = c | 0x20;
    int d;
    if (c >= '0' && c <= '9') {
      d = c - '0';
    } else if (lower >= 'a' && lower <= 'f') {
      d = lower - 'a' + 10;
    } else {
      return false;
    }
    v = (v << 4) | static_cast<uint64_t>(d);
  }
  *out = v;
  return true;
}

}  // namespace sluice
