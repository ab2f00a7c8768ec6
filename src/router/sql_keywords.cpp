// Keyword table for digests (see sql_keywords.h): an open-addressing hash set built from
// two word lists on first use. Lookups hash the upper-cased word while copying it.
#include "sql_keywords.h"

#include <array>

namespace sluice::router_detail {
namespace {

// Words after which `(` keeps a space and `-`/`+` is a sign.
constexpr std::string_view kClauseWords[] = {
    "ALL",      "AND",       "ANY",      "AS",        "BETWEEN",   "BY",         "CASE",
    "CHECK",    "CONSTRAINT", "DISTINCT", "DISTINCTROW", "DIV",    "DO",         "ELSE",
    "ELSEIF",   "EXCEPT",    "EXISTS",   "FOREIGN",   "FROM",      "FULLTEXT",   "GROUPS",
    "HAVING",   "IN",        "INDEX",    "INTERSECT", "INTERVAL",  "INTO",       "IS",
    "JOIN",     "KEY",       "LATERAL",  "LIKE",      "LIMIT",     "NOT",        "OFFSET",
    "ON",       "OR",        "OVER",     "PARTITION", "PRIMARY",   "RANGE",      "REFERENCES",
    "REGEXP",   "RETURN",    "RLIKE",    "ROWS",      "SELECT",    "SET",        "SOME",
    "SPATIAL",  "TABLE",     "THEN",     "UNION",     "UNIQUE",    "UNTIL",      "USING",
    "VALUE",    "VALUES",    "WHEN",     "WHERE",     "WHILE",     "WITH",       "XOR",
};

// Every other keyword: `WORD(` is written without a space (functions, column types).
constexpr std::string_view kOtherWords[] = {
    // Reserved words (MySQL 8 and MariaDB).
    "ACCESSIBLE", "ADD", "ALTER", "ANALYZE", "ASC", "ASENSITIVE", "BEFORE", "BIGINT", "BINARY",
    "BLOB", "BOTH", "CALL", "CASCADE", "CHANGE", "CHAR", "CHARACTER", "COLLATE", "COLUMN",
    "CONDITION", "CONTINUE", "CONVERT", "CREATE", "CROSS", "CUBE", "CUME_DIST", "CURRENT_DATE",
    "CURRENT_ROLE", "CURRENT_TIME", "CURRENT_TIMESTAMP", "CURRENT_USER", "CURSOR", "DATABASE",
    "DATABASES", "DAY_HOUR", "DAY_MICROSECOND", "DAY_MINUTE", "DAY_SECOND", "DEC", "DECIMAL",
    "DECLARE", "DEFAULT", "DELAYED", "DELETE", "DELETE_DOMAIN_ID", "DENSE_RANK", "DESC",
    "DESCRIBE", "DETERMINISTIC", "DO_DOMAIN_IDS", "DOUBLE", "DROP", "DUAL", "EACH", "EMPTY",
    "ENCLOSED", "ESCAPED", "EXIT", "EXPLAIN", "FALSE", "FETCH", "FIRST_VALUE", "FLOAT", "FLOAT4",
    "FLOAT8", "FOR", "FORCE", "FUNCTION", "GENERATED", "GET", "GRANT", "GROUP", "GROUPING",
    "HIGH_PRIORITY", "HOUR_MICROSECOND", "HOUR_MINUTE", "HOUR_SECOND", "IF", "IGNORE",
    "IGNORE_DOMAIN_IDS", "INFILE", "INNER", "INOUT", "INSENSITIVE", "INSERT", "INT", "INT1",
    "INT2", "INT3", "INT4", "INT8", "INTEGER", "ITERATE", "JSON_TABLE", "KEYS", "KILL", "LAG",
    "LAST_VALUE", "LEAD", "LEADING", "LEAVE", "LEFT", "LINEAR", "LINES", "LOAD", "LOCALTIME",
    "LOCALTIMESTAMP", "LOCK", "LONG", "LONGBLOB", "LONGTEXT", "LOOP", "LOW_PRIORITY",
    "MASTER_BIND", "MASTER_HEARTBEAT_PERIOD", "MASTER_SSL_VERIFY_SERVER_CERT", "MATCH",
    "MAXVALUE", "MEDIUMBLOB", "MEDIUMINT", "MEDIUMTEXT", "MIDDLEINT", "MINUTE_MICROSECOND",
    "MINUTE_SECOND", "MOD", "MODIFIES", "NATURAL", "NO_WRITE_TO_BINLOG", "NTH_VALUE", "NTILE",
    "NULL", "NUMERIC", "OF", "OPTIMIZE", "OPTIMIZER_COSTS", "OPTION", "OPTIONALLY", "ORDER",
    "OUT", "OUTER", "OUTFILE", "PAGE_CHECKSUM", "PARSE_VCOL_EXPR", "PERCENT_RANK", "PRECISION",
    "PROCEDURE", "PURGE", "RANK", "READ", "READS", "READ_WRITE", "REAL", "RECURSIVE",
    "REF_SYSTEM_ID", "RELEASE", "RENAME", "REPEAT", "REPLACE", "REQUIRE", "RESIGNAL",
    "RESTRICT", "RETURNING", "REVOKE", "RIGHT", "ROW", "ROW_NUMBER", "SCHEMA", "SCHEMAS",
    "SECOND_MICROSECOND", "SENSITIVE", "SEPARATOR", "SHOW", "SIGNAL", "SLOW", "SMALLINT",
    "SPECIFIC", "SQL", "SQLEXCEPTION", "SQLSTATE", "SQLWARNING", "SQL_BIG_RESULT",
    "SQL_CALC_FOUND_ROWS", "SQL_SMALL_RESULT", "SSL", "STARTING", "STATS_AUTO_RECALC",
    "STATS_PERSISTENT", "STATS_SAMPLE_PAGES", "STORED", "STRAIGHT_JOIN", "SYSTEM", "TERMINATED",
    "TINYBLOB", "TINYINT", "TINYTEXT", "TO", "TRAILING", "TRIGGER", "TRUE", "UNDO", "UNLOCK",
    "UNSIGNED", "UPDATE", "USAGE", "USE", "UTC_DATE", "UTC_TIME", "UTC_TIMESTAMP", "VARBINARY",
    "VARCHAR", "VARCHARACTER", "VARYING", "VIRTUAL", "WINDOW", "WRITE", "YEAR_MONTH", "ZEROFILL",
    // Non-reserved words that start or shape common statements.
    "ACTION", "AFTER", "AGAINST", "ALGORITHM", "AUTO_INCREMENT", "BEGIN", "BOOLEAN", "BTREE",
    "CHARSET", "COLLATION", "COLUMNS", "COMMIT", "COMMITTED", "CONSISTENT", "DEALLOCATE",
    "DUPLICATE", "ENGINE", "ENGINES", "ERRORS", "EVENT", "EXECUTE", "EXTENDED", "FIELDS",
    "FIRST", "FLUSH", "FOLLOWING", "FULL", "GLOBAL", "GRANTS", "HANDLER", "HASH", "IDENTIFIED",
    "IMMEDIATE", "ISOLATION", "LAST", "LEVEL", "LOCKED", "LOGS", "MASTER", "MODE", "NAMES",
    "NEXT", "NO", "NOWAIT", "ONLY", "PERSIST", "PRECEDING", "PREPARE", "PREVIOUS",
    "PROCESSLIST", "REPEATABLE", "REPLICA", "RESET", "ROLLBACK", "ROLLUP", "SAVEPOINT",
    "SEQUENCE", "SERIALIZABLE", "SESSION", "SHARE", "SKIP", "SLAVE", "SNAPSHOT", "SQL_CACHE",
    "SQL_NO_CACHE", "START", "STATUS", "TABLES", "TEMPORARY", "TEXT", "TRANSACTION",
    "TRUNCATE", "UNBOUNDED", "UNCOMMITTED", "VARIABLES", "VIEW", "WAIT", "WARNINGS", "WORK",
    "XA",
    // Column types that are not reserved.
    "BIT", "BOOL", "DATE", "DATETIME", "ENUM", "JSON", "TIME", "TIMESTAMP", "YEAR",
    // Built-in functions seen in most workloads.
    "ABS", "AVG", "CAST", "CEIL", "CEILING", "COALESCE", "CONCAT", "CONCAT_WS",
    "CONNECTION_ID", "COUNT", "CURDATE", "CURTIME", "DATEDIFF", "DATE_ADD", "DATE_FORMAT",
    "DATE_SUB", "FIELD", "FIND_IN_SET", "FLOOR", "FOUND_ROWS", "FROM_UNIXTIME", "GET_LOCK",
    "GREATEST", "GROUP_CONCAT", "IFNULL", "ISNULL", "IS_FREE_LOCK", "IS_USED_LOCK",
    "JSON_ARRAY", "JSON_CONTAINS", "JSON_EXTRACT", "JSON_OBJECT", "JSON_UNQUOTE",
    "LAST_INSERT_ID", "LASTVAL", "LEAST", "LENGTH", "LOWER", "LPAD", "MAX", "MD5", "MIN",
    "NEXTVAL", "NOW", "NULLIF", "RAND", "RELEASE_LOCK", "ROUND", "ROW_COUNT", "RPAD", "SETVAL",
    "SHA1", "SHA2", "SLEEP", "SUBSTR", "SUBSTRING", "SUBSTRING_INDEX", "SUM", "SYSDATE",
    "TIMESTAMPDIFF", "TRIM", "UNIX_TIMESTAMP", "UPPER", "UUID", "VERSION",
};

struct Slot {
  const char* text = nullptr;
  uint8_t size = 0;
  uint8_t flags = kNotKeyword;
};

constexpr size_t kSlots = 1024;  // power of two (word_hash gives 10 bits), load under 40%

// Hash of an upper-case word from its length and three of its bytes: no per-byte
// multiply chain, and words of the table rarely share all four (probing handles it).
uint32_t word_hash(const char* w, size_t n) {
  const uint32_t k = static_cast<uint32_t>(n) << 24 | static_cast<uint32_t>(static_cast<unsigned char>(w[0])) << 16 |
                     static_cast<uint32_t>(static_cast<unsigned char>(w[1])) << 8 |
                     static_cast<unsigned char>(w[n - 1]);
  return (k * 0x9E3779B1u) >> 22;  // top 10 bits: kSlots is 1024
}

// Keywords are short: a byte loop beats a call to memcmp.
bool same(const char* a, std::string_view b) {
  for (size_t i = 0; i < b.size(); ++i)
    if (a[i] != b[i]) return false;
  return true;
}

class KeywordTable {
 public:
  KeywordTable() {
    for (std::string_view w : kClauseWords) insert(w, kKeyword | kClause);
    for (std::string_view w : kOtherWords) insert(w, kKeyword);
  }

  uint8_t find(std::string_view upper, uint32_t hash) const {
    for (uint32_t i = hash;; ++i) {
      const Slot& s = slots_[i & (kSlots - 1)];
      if (s.text == nullptr) return kNotKeyword;
      if (s.size == upper.size() && same(s.text, upper)) return s.flags;
    }
  }

 private:
  void insert(std::string_view w, uint8_t flags) {
    for (uint32_t i = word_hash(w.data(), w.size());; ++i) {
      Slot& s = slots_[i & (kSlots - 1)];
      if (s.text == nullptr) {
        s = Slot{w.data(), static_cast<uint8_t>(w.size()), flags};
        return;
      }
      if (std::string_view(s.text, s.size) == w) return;  // listed twice: first wins
    }
  }

  std::array<Slot, kSlots> slots_{};
};

const KeywordTable& table() {
  static const KeywordTable t;
  return t;
}

}  // namespace

uint8_t lookup_keyword(std::string_view word, char* upper) {
  if (word.size() > kMaxKeywordLength || word.size() < 2) return kNotKeyword;
  for (size_t i = 0; i < word.size(); ++i) {
    const char c = word[i];
    upper[i] = (c >= 'a' && c <= 'z') ? static_cast<char>(c - ('a' - 'A')) : c;
  }
  return table().find(std::string_view(upper, word.size()), word_hash(upper, word.size()));
}

}  // namespace sluice::router_detail
