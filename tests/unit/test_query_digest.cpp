// Query digests: the normalised text (literals, comments, IN lists, VALUES rows, keyword
// case, spacing, truncation), the XXH64 hash against the reference vectors, the
// "0x%016X" spelling, robustness on arbitrary bytes, and a skipped-by-default benchmark.
#include <doctest/doctest.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <string_view>

#include "sluice/query_digest.h"

using sluice::digest_text;

namespace {

std::string D(std::string_view sql) { return digest_text(sql); }

// Copies into an exactly sized heap block so that ASan sees any read past the end.
std::string digest_exact(std::string_view sql, const sluice::DigestOptions& o = {}) {
  std::unique_ptr<char[]> buf(new char[sql.size()]);
  if (!sql.empty()) std::memcpy(buf.get(), sql.data(), sql.size());
  return digest_text(std::string_view(buf.get(), sql.size()), o);
}

}  // namespace

TEST_CASE("digest: literals become ?") {
  CHECK(D("SELECT c FROM sbtest1 WHERE id=4242") == "SELECT c FROM sbtest1 WHERE id = ?");
  CHECK(D("select 'abc', \"def\", 12, 1.5, 1e5, 1.5e-3, 2E+10") == "SELECT ?,?,?,?,?,?,?");
  CHECK(D("select 0x1F, 0b0101, X'1F', x'ab', b'01', B'1', N'nat', _utf8mb4'x', _latin1'y'") ==
        "SELECT ?,?,?,?,?,?,?,?,?");
  CHECK(D("select .5, 1., -.25") == "SELECT ?,?,?");
  CHECK(D("SELECT ? FROM t WHERE a = ?") == "SELECT ? FROM t WHERE a = ?");  // placeholders stay
  CHECK(D("SELECT DATE '2024-01-01', TIMESTAMP '2024-01-01 00:00:00'") == "SELECT DATE ?,TIMESTAMP ?");
}

TEST_CASE("digest: escaped and doubled quotes stay inside the literal") {
  CHECK(D("SELECT 'it''s', 'a\\'b', \"x\"\"y\", 'back\\\\' FROM t") == "SELECT ?,?,?,? FROM t");
  CHECK(D("SELECT 'a -- not a comment', '/* nor this */', '#' FROM t") == "SELECT ?,?,? FROM t");
  CHECK(D("SELECT 'has \"double\" inside', \"has 'single' inside\"") == "SELECT ?,?");
  // Unterminated string runs to the end.
  CHECK(D("SELECT 'abc") == "SELECT ?");
}

TEST_CASE("digest: NULL, TRUE and FALSE are kept (query_digests_replace_null=0)") {
  CHECK(D("select null, NULL is null, true, False") == "SELECT NULL,NULL IS NULL,TRUE,FALSE");
  CHECK(D("UPDATE t SET a = NULL WHERE b IS NOT NULL") == "UPDATE t SET a = NULL WHERE b IS NOT NULL");
}

TEST_CASE("digest: signs vs the minus operator") {
  CHECK(D("SELECT a-1, a - 1, a -1") == "SELECT a - ?,a - ?,a - ?");
  CHECK(D("SELECT -1, +2, - 3") == "SELECT ?,?,?");
  CHECK(D("SELECT * FROM t WHERE x=-5 AND y>=-1.5e3 AND z<-1") == "SELECT * FROM t WHERE x = ? AND y >= ? AND z < ?");
  CHECK(D("SELECT a - -1, a--1, (-1), f(-1, -'2')") == "SELECT a - ?,a - ?,(?),f(?,?)");
  CHECK(D("SELECT * FROM t WHERE x IN (-1, -2) LIMIT 1") == "SELECT * FROM t WHERE x IN (?,...) LIMIT ?");
  CHECK(D("SELECT CASE WHEN a THEN -1 ELSE -2 END") == "SELECT CASE WHEN a THEN ? ELSE ? END");
  CHECK(D("SELECT b - a, 3 - a, c * -d") == "SELECT b - a,? - a,c * - d");
}

TEST_CASE("digest: comments are dropped, executable comments are SQL") {
  const std::string expected = "SELECT ?";
  CHECK(D("select /* COMMENT */ 1") == expected);
  CHECK(D("select/* COMMENT */1") == expected);
  CHECK(D("/* COMMENT */select 1") == expected);
  CHECK(D("select 1 /* COMMENT */ ") == expected);
  CHECK(D("# random_comment \n   select 1.1") == expected);
  CHECK(D("-- random_comment \n select 1.1") == expected);
  CHECK(D("select 1.1 -- final_comment\n   ") == expected);
  CHECK(D("select 1.1# final_comment   \n") == expected);
  CHECK(D("select /*+ MAX_EXECUTION_TIME(1000) */ 1") == expected);  // hints too, as ProxySQL
  CHECK(D("SELECT /*!40001 SQL_NO_CACHE */ * FROM t") == "SELECT SQL_NO_CACHE * FROM t");
  CHECK(D("SELECT /*!50700 STRAIGHT_JOIN */ a FROM t") == "SELECT STRAIGHT_JOIN a FROM t");
  CHECK(D("SELECT /*M! 1 + */ 2") == "SELECT ? + ?");
  CHECK(D("SELECT 1--1") == "SELECT ? - ?");  // `--` without a space is not a comment
  CHECK(D("/* only a comment */") == "");
}

TEST_CASE("digest: IN lists collapse runs of literals") {
  CHECK(D("SELECT * FROM t WHERE id IN (1,2,3)") == "SELECT * FROM t WHERE id IN (?,...)");
  CHECK(D("SELECT * FROM t WHERE id IN (1, 2)") == "SELECT * FROM t WHERE id IN (?,...)");
  CHECK(D("SELECT * FROM t WHERE id IN (1)") == "SELECT * FROM t WHERE id IN (?)");
  CHECK(D("SELECT * FROM t WHERE id in ('a' , 'b','c','d')") == "SELECT * FROM t WHERE id IN (?,...)");
  CHECK(D("SELECT * FROM t WHERE id NOT IN (1,2,3)") == "SELECT * FROM t WHERE id NOT IN (?,...)");
  CHECK(D("SELECT * FROM t WHERE id IN (?,?,?,?)") == "SELECT * FROM t WHERE id IN (?,...)");
  // Non-literal items break a run; runs on either side collapse on their own.
  CHECK(D("SELECT * FROM t WHERE id IN (1,2,@a,3)") == "SELECT * FROM t WHERE id IN (?,...,@a,?)");
  CHECK(D("SELECT * FROM t WHERE id IN (1,2,3+4)") == "SELECT * FROM t WHERE id IN (?,...,? + ?)");
  CHECK(D("SELECT * FROM t WHERE id IN (a,1,2,3,b)") == "SELECT * FROM t WHERE id IN (a,?,...,b)");
  CHECK(D("SELECT * FROM t WHERE id IN (NULL,1,2)") == "SELECT * FROM t WHERE id IN (NULL,?,...)");
  CHECK(D("SELECT * FROM t WHERE (a,b) IN ((1,2),(3,4))") == "SELECT * FROM t WHERE (a,b) IN ((?,?),(?,?))");
  // Subqueries, nested IN lists.
  CHECK(D("select * from t where x in (select id from u where v in (1,2)) and y in (3,4)") ==
        "SELECT * FROM t WHERE x IN (SELECT id FROM u WHERE v IN (?,...)) AND y IN (?,...)");
  // Other parenthesised lists keep their arity.
  CHECK(D("SELECT CONCAT('a','b','c'), FIELD(x, 1, 2, 3)") == "SELECT CONCAT(?,?,?),FIELD(x,?,?,?)");
  // Lists long enough to pass max_length collapse as they stream.
  std::string big = "SELECT * FROM t WHERE id IN (";
  for (int i = 0; i < 5000; ++i) big += std::to_string(i) + ",";
  big += "5000)";
  CHECK(D(big) == "SELECT * FROM t WHERE id IN (?,...)");
}

TEST_CASE("digest: VALUES rows after the first collapse") {
  CHECK(D("INSERT INTO t(a,b) VALUES (1,'x')") == "INSERT INTO t(a,b) VALUES (?,?)");
  CHECK(D("INSERT INTO t(a,b) VALUES (1,'x'),(2,'y'),(3,'z')") == "INSERT INTO t(a,b) VALUES (?,?),...");
  CHECK(D("insert into t (a, b) values(1,'x'), (2,'y')") == "INSERT INTO t(a,b) VALUES (?,?),...");
  CHECK(D("INSERT INTO t VALUE (1),(2)") == "INSERT INTO t VALUE (?),...");
  CHECK(D("INSERT INTO t VALUES (1,NOW()),(2,NOW()) ON DUPLICATE KEY UPDATE b=VALUES(b), c=c+1") ==
        "INSERT INTO t VALUES (?,NOW()),... ON DUPLICATE KEY UPDATE b = VALUES(b),c = c + ?");
  CHECK(D("REPLACE INTO t VALUES (1,'(not a paren'),(2,')')") == "REPLACE INTO t VALUES (?,?),...");
  CHECK(D("INSERT INTO t VALUES (1),(2); INSERT INTO t VALUES (3),(4),(5)") ==
        "INSERT INTO t VALUES (?),...; INSERT INTO t VALUES (?),...");
  // Bulk inserts far past max_length stay one digest.
  std::string bulk = "INSERT INTO t VALUES ";
  for (int i = 0; i < 3000; ++i) bulk += "(" + std::to_string(i) + ",'row'),";
  bulk += "(0,'last')";
  CHECK(D(bulk) == "INSERT INTO t VALUES (?,?),...");
}

TEST_CASE("digest: LIMIT, backticks, variables, operators") {
  CHECK(D("SELECT * FROM t LIMIT 10, 20") == "SELECT * FROM t LIMIT ?,?");
  CHECK(D("SELECT * FROM t LIMIT 10 OFFSET 20") == "SELECT * FROM t LIMIT ? OFFSET ?");
  CHECK(D("SELECT `Col`, `select` FROM `My Table` WHERE `id`=1") ==
        "SELECT `Col`,`select` FROM `My Table` WHERE `id` = ?");
  CHECK(D("SELECT t.`select`, t.select, db.tbl.col FROM db.tbl t") ==
        "SELECT t.`select`,t.select,db.tbl.col FROM db.tbl t");
  CHECK(D("SET @a := 5, @b = 'x', @@session.sql_mode = 'ANSI', autocommit=1") ==
        "SET @a := ?,@b = ?,@@session.sql_mode = ?,autocommit = ?");
  CHECK(D("SELECT @v, @`q v`, @@global.max_connections") == "SELECT @v,@`q v`,@@global.max_connections");
  CHECK(D("SELECT a<=b, a>=b, a<>b, a!=b, a<=>b, a||b, a&&b, a<<2, a>>2") ==
        "SELECT a <= b,a >= b,a <> b,a != b,a <=> b,a || b,a && b,a << ?,a >> ?");
  CHECK(D("SELECT doc->'$.a', doc->>'$.b' FROM t") == "SELECT doc -> ?,doc ->> ? FROM t");
  CHECK(D("SELECT COUNT(*), t.* FROM t") == "SELECT COUNT(*),t.* FROM t");
}

TEST_CASE("digest: keywords upper-cased, identifiers kept, spacing canonical") {
  CHECK(D("select c from sbtest1 where id = 17 ") == "SELECT c FROM sbtest1 WHERE id = ?");
  CHECK(D("  SELECT   c\n\tFROM sbtest1\r\n WHERE   id=17;") == "SELECT c FROM sbtest1 WHERE id = ?");
  CHECK(D("select MyCol from MyTable") == "SELECT MyCol FROM MyTable");
  CHECK(D("select count(distinct k), sum(k), my_func(k) from t group by k order by 1 desc") ==
        "SELECT COUNT(DISTINCT k),SUM(k),my_func(k) FROM t GROUP BY k ORDER BY ? DESC");
  CHECK(D("SELECT * FROM t1 JOIN t2 ON (t1.a = t2.a) WHERE EXISTS (SELECT 1) AND (a OR b)") ==
        "SELECT * FROM t1 JOIN t2 ON (t1.a = t2.a) WHERE EXISTS (SELECT ?) AND (a OR b)");
  CHECK(D("CREATE TABLE t (id INT NOT NULL, name VARCHAR(64), PRIMARY KEY (id))") ==
        "CREATE TABLE t(id INT NOT NULL,name VARCHAR(?),PRIMARY KEY (id))");
  CHECK(D("SELECT c FROM sbtest1 WHERE id BETWEEN 1 AND 100 FOR UPDATE") ==
        "SELECT c FROM sbtest1 WHERE id BETWEEN ? AND ? FOR UPDATE");
  CHECK(D("begin") == "BEGIN");
  CHECK(D("START TRANSACTION READ ONLY") == "START TRANSACTION READ ONLY");
  CHECK(D("SHOW SLAVE STATUS") == "SHOW SLAVE STATUS");
  CHECK(D("select 1abc, 1_value from t_2") == "SELECT 1abc,1_value FROM t_2");  // identifiers with digits
}

TEST_CASE("digest: multi-statement text") {
  CHECK(D("SELECT 1; SELECT 2;") == "SELECT ?; SELECT ?");
  CHECK(D("UPDATE t SET a=1 WHERE id=2;DELETE FROM u WHERE id IN (1,2,3);;") ==
        "UPDATE t SET a = ? WHERE id = ?; DELETE FROM u WHERE id IN (?,...)");
  CHECK(D(";") == "");
  CHECK(D("") == "");
}

TEST_CASE("digest: equal for queries that differ only in literals, whitespace, comments, case") {
  const std::string a = D("SELECT c FROM sbtest1 WHERE id=1");
  CHECK(D("select c from sbtest1 where id = 99999") == a);
  CHECK(D("  SELECT /* x */ c\n FROM sbtest1 WHERE id =   -3 ;") == a);
  CHECK(D("Select c From sbtest1 Where id = '12'") == a);
  CHECK(sluice::digest_hash(D("select c from sbtest1 where id = 99999")) == sluice::digest_hash(a));

  const std::string in = D("SELECT * FROM t WHERE k IN (1,2,3)");
  CHECK(D("select * from t where k in (4, 5, 6, 7, 8)") == in);
  CHECK(D("select * from t where k in ('a','b')") == in);

  const std::string ins = D("INSERT INTO t VALUES (1,'a')");
  CHECK(D("insert into t values (2, 'bbb')") == ins);

  CHECK(D("SELECT c FROM sbtest1 WHERE id=1") != D("SELECT c FROM sbtest2 WHERE id=1"));
  CHECK(D("SELECT c FROM t WHERE id=1") != D("SELECT c FROM t WHERE k=1"));
}

TEST_CASE("digest: max_length cuts, max_query_length stops reading") {
  sluice::DigestOptions o;
  o.max_length = 10;
  CHECK(digest_text("SELECT c FROM sbtest1 WHERE id=1", o) == "SELECT c F");
  o.max_length = 2048;
  o.max_query_length = 8;
  CHECK(digest_text("SELECT c FROM sbtest1 WHERE id=1", o) == "SELECT c");
  o.max_query_length = 11;  // cut inside a string: the literal runs to the cut
  CHECK(digest_text("SELECT 'abcdef' FROM t", o) == "SELECT ?");

  std::string long_sql = "SELECT ";
  for (int i = 0; i < 1000; ++i) long_sql += "col" + std::to_string(i) + ", ";
  long_sql += "x FROM t";
  const std::string d = D(long_sql);
  CHECK(d.size() == sluice::kDefaultDigestMaxLength);
  CHECK(d.compare(0, 21, "SELECT col0,col1,col2") == 0);
}

TEST_CASE("digest: ANSI_QUOTES keeps double-quoted identifiers") {
  sluice::DigestOptions o;
  o.sql_mode.ansi_quotes = true;
  CHECK(digest_text("SELECT \"Col\" FROM t WHERE a = 'x'", o) == "SELECT \"Col\" FROM t WHERE a = ?");
  CHECK(D("SELECT \"Col\" FROM t WHERE a = 'x'") == "SELECT ? FROM t WHERE a = ?");
}

TEST_CASE("digest: buffer is reused") {
  std::string out;
  digest_text("SELECT 1", out);
  CHECK(out == "SELECT ?");
  digest_text("DELETE FROM t WHERE a IN (1,2)", out);
  CHECK(out == "DELETE FROM t WHERE a IN (?,...)");
  digest_text("", out);
  CHECK(out.empty());
}

TEST_CASE("digest: arbitrary bytes never read past the end") {
  std::mt19937 rng(12345);
  const char alphabet[] = "SELECT in(),'\"`\\-#/*!;@.0x1e+ \n\tVALUES";
  for (int i = 0; i < 20000; ++i) {
    std::string s(rng() % 64, ' ');
    for (char& c : s) c = (rng() % 4 == 0) ? static_cast<char>(rng()) : alphabet[rng() % (sizeof(alphabet) - 1)];
    sluice::DigestOptions o;
    o.max_length = 1 + rng() % 80;
    const std::string d = digest_exact(s, o);
    CHECK(d.size() <= o.max_length);
  }
  CHECK(digest_exact("") == "");
  CHECK(digest_exact("'") == "?");
  CHECK(digest_exact("/*") == "");
  CHECK(digest_exact("X'") == "?");
  CHECK(digest_exact("-") == "-");
  CHECK(digest_exact("-.") == "-.");
  CHECK(digest_exact("IN (") == "IN (");
  CHECK(digest_exact("IN (1,2,") == "IN (?,...");  // a trailing separator is never written
  CHECK(digest_exact("VALUES (1),(") == "VALUES (?),...");
}

TEST_CASE("digest hash: XXH64 reference vectors") {
  // Published XXH64 (seed 0) results: empty, short, one 32-byte stripe, and longer.
  CHECK(sluice::digest_hash("") == 0xEF46DB3751D8E999ULL);
  CHECK(sluice::digest_hash("a") == 0xD24EC4F1A98C6E5BULL);
  CHECK(sluice::digest_hash("abc") == 0x44BC2CF5AD770999ULL);
  CHECK(sluice::digest_hash(std::string(32, 'a')) == 0x856E843298F99AD7ULL);
  CHECK(sluice::digest_hash("0123456789abcdef0123456789abcdef") == 0x642A94958E71E6C5ULL);
  CHECK(sluice::digest_hash("Nobody inspects the spammish repetition") == 0xFBCEA83C8A378BF1ULL);
  CHECK(sluice::digest_hash("The quick brown fox jumps over the lazy dog") == 0x0B242D361FDA71BCULL);
  CHECK(sluice::xxh64("abc", 3, 12345) == 0x01700E64F6F23509ULL);
}

TEST_CASE("digest: format and parse") {
  CHECK(sluice::format_digest(0) == "0x0000000000000000");
  CHECK(sluice::format_digest(0x1F4) == "0x00000000000001F4");
  CHECK(sluice::format_digest(0xEF46DB3751D8E999ULL) == "0xEF46DB3751D8E999");
  uint64_t v = 7;
  CHECK(sluice::parse_digest("0xEF46DB3751D8E999", &v));
  CHECK(v == 0xEF46DB3751D8E999ULL);
  CHECK(sluice::parse_digest("0Xef46db3751d8e999", &v));
  CHECK(v == 0xEF46DB3751D8E999ULL);
  CHECK(sluice::parse_digest("0x1f4", &v));
  CHECK(v == 0x1F4);
  v = 7;
  CHECK_FALSE(sluice::parse_digest("", &v));
  CHECK_FALSE(sluice::parse_digest("0x", &v));
  CHECK_FALSE(sluice::parse_digest("EF46DB3751D8E999", &v));
  CHECK_FALSE(sluice::parse_digest("0xEF46DB3751D8E9990", &v));  // 17 digits
  CHECK_FALSE(sluice::parse_digest("0xEF46DB3751D8E99G", &v));
  CHECK(v == 7);
  for (uint64_t x : {0ULL, 1ULL, 0xFFFFFFFFFFFFFFFFULL, 0x0123456789ABCDEFULL}) {
    uint64_t back = 0;
    CHECK(sluice::parse_digest(sluice::format_digest(x), &back));
    CHECK(back == x);
  }
}

// Run with: ./build/sluice_unit -ts='*digest*' -tc='*benchmark*' --no-skip
TEST_CASE("digest benchmark: ns per query (text + hash)" * doctest::skip()) {
  const std::string point = "SELECT c FROM sbtest1 WHERE id=4242";
  const std::string update =
      "UPDATE sbtest1 SET c='83868641912-28773972837-60736120486-75162659906-27563526494-20381887404-"
      "41576422241-93426793964-56405065102-33518432330', k=k+1, pad='67847967377-48000963322-"
      "62604785301-91415491898-96926520291' WHERE id=5021 AND k BETWEEN 100 AND 2000 AND c IN "
      "('a','b','c') LIMIT 1";
  std::string out;
  uint64_t sink = 0;
  for (const std::string* sql : {&point, &update}) {
    double best = 1e18;
    for (int round = 0; round < 5; ++round) {
      constexpr int kIterations = 200000;
      const auto start = std::chrono::steady_clock::now();
      for (int i = 0; i < kIterations; ++i) {
        digest_text(*sql, out);
        sink += sluice::digest_hash(out);
      }
      const auto end = std::chrono::steady_clock::now();
      best = std::min(best, std::chrono::duration<double, std::nano>(end - start).count() / kIterations);
    }
    std::printf("digest %3zu bytes: %6.1f ns/query (best of 5 x 200000)  %s\n", sql->size(), best, out.c_str());
  }
  CHECK(sink != 0);
}
