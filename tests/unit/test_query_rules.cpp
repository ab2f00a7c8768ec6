// Query rules: build errors, ProxySQL's read/write split example, flagIN/flagOUT chains,
// apply, iterations, filters (user, schema, client address, digest, match_digest,
// negate), replace_pattern (first / GLOBAL, rewrites seen by later rules), messages,
// overriding actions, hit counters (shards, threads), lazy digests; a skipped benchmark.
#include <doctest/doctest.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "sluice/query_rules.h"

using sluice::QueryContext;
using sluice::QueryRuleConfig;
using sluice::RuleOutcome;
using sluice::RuleSet;

namespace {

QueryRuleConfig rule(uint32_t id, std::string match_pattern) {
  QueryRuleConfig r;
  r.rule_id = id;
  r.active = true;
  r.match_pattern = std::move(match_pattern);
  return r;
}

std::shared_ptr<const RuleSet> build_ok(const std::vector<QueryRuleConfig>& rules, sluice::RuleSetOptions o = {}) {
  std::string error;
  auto set = RuleSet::build(rules, &error, o);
  REQUIRE_MESSAGE(set != nullptr, error);
  return set;
}

std::string build_error(const std::vector<QueryRuleConfig>& rules) {
  std::string error;
  auto set = RuleSet::build(rules, &error);
  CHECK(set == nullptr);
  return error;
}

RuleOutcome run(const RuleSet& set, std::string_view sql, std::string_view user = "app",
                std::string_view schema = "shop", std::string_view addr = "10.0.0.5") {
  QueryContext q(sql);
  q.username = user;
  q.schemaname = schema;
  q.client_addr = addr;
  return set.evaluate(q);
}

uint64_t hits_of(const RuleSet& set, uint32_t rule_id) {
  for (auto [id, n] : set.hits())
    if (id == rule_id) return n;
  FAIL("no rule " << rule_id);
  return 0;
}

}  // namespace

TEST_CASE("rules: empty set costs nothing and matches nothing") {
  auto set = RuleSet::empty_set();
  CHECK(set->empty());
  CHECK(set->size() == 0);
  CHECK_FALSE(set->needs_digest());
  QueryContext q("SELECT 1");
  const RuleOutcome out = set->evaluate(q);
  CHECK_FALSE(out.matched());
  CHECK_FALSE(out.destination_hostgroup);
  CHECK_FALSE(q.has_digest());  // never computed
  CHECK(set->hits().empty());
}

TEST_CASE("rules: inactive rules are not loaded; order is rule_id, not input order") {
  QueryRuleConfig off = rule(1, "^SELECT");
  off.active = false;
  off.destination_hostgroup = 99;
  QueryRuleConfig second = rule(20, "^SELECT");
  second.destination_hostgroup = 2;
  QueryRuleConfig first = rule(10, "^SELECT");
  first.destination_hostgroup = 1;
  auto set = build_ok({off, second, first});
  CHECK(set->size() == 2);
  const RuleOutcome out = run(*set, "SELECT 1");
  CHECK(out.matched_rules == std::vector<uint32_t>{10, 20});
  CHECK(out.destination_hostgroup == 2u);  // later rule overrides
  CHECK(set->hits() == std::vector<std::pair<uint32_t, uint64_t>>{{10, 1}, {20, 1}});
}

TEST_CASE("rules: build errors name the rule and the column") {
  QueryRuleConfig bad = rule(7, "(abc");
  CHECK(build_error({bad}).rfind("rule_id 7: match_pattern: ", 0) == 0);

  QueryRuleConfig bad_digest_re = rule(8, "");
  bad_digest_re.match_digest = "[z-a]";
  CHECK(build_error({bad_digest_re}).rfind("rule_id 8: match_digest: ", 0) == 0);

  QueryRuleConfig bad_digest = rule(9, "");
  bad_digest.digest = "0xNOTHEX";
  CHECK(build_error({bad_digest}).rfind("rule_id 9: digest: ", 0) == 0);

  QueryRuleConfig no_pattern = rule(11, "");
  no_pattern.replace_pattern = "x";
  CHECK(build_error({no_pattern}).rfind("rule_id 11: replace_pattern: ", 0) == 0);

  QueryRuleConfig bad_rewrite = rule(12, "^(SELECT)");
  bad_rewrite.replace_pattern = "\\2";  // one group only
  CHECK(build_error({bad_rewrite}).rfind("rule_id 12: replace_pattern: ", 0) == 0);

  CHECK(build_error({rule(5, "a"), rule(5, "b")}) == "rule_id 5: rule_id: used by two active rules");

  // An inactive rule is never compiled, so it cannot fail the build.
  bad.active = false;
  CHECK(build_ok({bad})->empty());
}

TEST_CASE("rules: ProxySQL read/write split example") {
  QueryRuleConfig for_update = rule(1, "^SELECT.*FOR UPDATE$");
  for_update.destination_hostgroup = 10;
  for_update.apply = true;
  QueryRuleConfig select = rule(2, "^SELECT");
  select.destination_hostgroup = 20;
  select.apply = true;
  auto set = build_ok({for_update, select});

  RuleOutcome out = run(*set, "SELECT c FROM sbtest1 WHERE id=1 FOR UPDATE");
  CHECK(out.destination_hostgroup == 10u);
  CHECK(out.matched_rules == std::vector<uint32_t>{1});
  out = run(*set, "select c from sbtest1 where id=1");  // re_modifiers CASELESS by default
  CHECK(out.destination_hostgroup == 20u);
  CHECK(out.matched_rules == std::vector<uint32_t>{2});
  out = run(*set, "UPDATE sbtest1 SET k=k+1 WHERE id=1");
  CHECK_FALSE(out.matched());
  CHECK_FALSE(out.destination_hostgroup);
  CHECK(hits_of(*set, 1) == 1);
  CHECK(hits_of(*set, 2) == 1);
}

TEST_CASE("rules: re_modifiers without CASELESS are case-sensitive") {
  QueryRuleConfig r = rule(1, "^SELECT");
  r.re_modifiers = "";
  r.destination_hostgroup = 5;
  auto set = build_ok({r});
  CHECK(run(*set, "SELECT 1").destination_hostgroup == 5u);
  CHECK_FALSE(run(*set, "select 1").matched());
}

TEST_CASE("rules: apply stops evaluation") {
  QueryRuleConfig a = rule(1, "^SELECT");
  a.destination_hostgroup = 1;
  a.apply = true;
  QueryRuleConfig b = rule(2, "^SELECT");
  b.destination_hostgroup = 2;
  auto set = build_ok({a, b});
  const RuleOutcome out = run(*set, "SELECT 1");
  CHECK(out.destination_hostgroup == 1u);
  CHECK(out.matched_rules == std::vector<uint32_t>{1});
  CHECK(hits_of(*set, 2) == 0);
}

TEST_CASE("rules: flagIN/flagOUT chains") {
  // 1 (flag 0 -> 23) leads to 3 (flagIN 23); 2 has flagIN 0 and is skipped once the flag
  // moved; 4 (flagIN 0) is never reached after the chain.
  QueryRuleConfig enter = rule(1, "^SELECT");
  enter.flag_out = 23;
  QueryRuleConfig plain = rule(2, "^SELECT");
  plain.destination_hostgroup = 2;
  QueryRuleConfig chained = rule(3, "FROM orders");
  chained.flag_in = 23;
  chained.destination_hostgroup = 30;
  chained.apply = true;
  QueryRuleConfig fallback = rule(4, "");
  fallback.flag_in = 23;
  fallback.destination_hostgroup = 40;
  auto set = build_ok({enter, plain, chained, fallback});

  RuleOutcome out = run(*set, "SELECT * FROM orders");
  CHECK(out.matched_rules == std::vector<uint32_t>{1, 3});
  CHECK(out.destination_hostgroup == 30u);
  out = run(*set, "SELECT * FROM users");
  CHECK(out.matched_rules == std::vector<uint32_t>{1, 4});
  CHECK(out.destination_hostgroup == 40u);
  out = run(*set, "UPDATE orders SET a=1");  // flag stays 0; rules 3, 4 never apply
  CHECK_FALSE(out.matched());
  CHECK(hits_of(*set, 2) == 0);
}

TEST_CASE("rules: flagOUT with apply=0 goes on with the next rules, earlier ones are not revisited") {
  // ProxySQL (query_processor_iterations=0): rule 1 (flagIN 5) precedes the rule that sets
  // flag 5, so it is not seen again.
  QueryRuleConfig before = rule(1, "");
  before.flag_in = 5;
  before.destination_hostgroup = 1;
  QueryRuleConfig setter = rule(2, "^SELECT");
  setter.flag_out = 5;
  QueryRuleConfig after = rule(3, "");
  after.flag_in = 5;
  after.timeout_ms = 100;
  auto set = build_ok({before, setter, after});
  RuleOutcome out = run(*set, "SELECT 1");
  CHECK(out.matched_rules == std::vector<uint32_t>{2, 3});
  CHECK_FALSE(out.destination_hostgroup);
  CHECK(out.timeout_ms == 100u);

  // With iterations, a flagOUT restarts from the first rule.
  sluice::RuleSetOptions o;
  o.iterations = 1;
  auto again = build_ok({before, setter, after}, o);
  out = run(*again, "SELECT 1");
  CHECK(out.matched_rules == std::vector<uint32_t>{2, 1, 3});  // rule 2 needs flag 0
  CHECK(out.destination_hostgroup == 1u);
}

TEST_CASE("rules: a rule whose flagOUT equals its flagIN lets later same-flag rules run") {
  QueryRuleConfig a = rule(1, "^SELECT");
  a.flag_out = 0;
  a.destination_hostgroup = 1;
  QueryRuleConfig b = rule(2, "sbtest");
  b.multiplex = 0;
  auto set = build_ok({a, b});
  const RuleOutcome out = run(*set, "SELECT * FROM sbtest1");
  CHECK(out.matched_rules == std::vector<uint32_t>{1, 2});
  CHECK(out.destination_hostgroup == 1u);
  CHECK(out.multiplex == 0u);
}

TEST_CASE("rules: negate_match_pattern") {
  QueryRuleConfig not_select = rule(1, "^SELECT");
  not_select.negate_match_pattern = true;
  not_select.destination_hostgroup = 10;
  auto set = build_ok({not_select});
  CHECK(run(*set, "UPDATE t SET a=1").destination_hostgroup == 10u);
  CHECK_FALSE(run(*set, "SELECT 1").matched());
}

TEST_CASE("rules: username, schemaname and client_addr filters") {
  QueryRuleConfig by_user = rule(1, "");
  by_user.username = "reporting";
  by_user.destination_hostgroup = 30;
  QueryRuleConfig by_schema = rule(2, "");
  by_schema.schemaname = "analytics";
  by_schema.timeout_ms = 5000;
  QueryRuleConfig by_addr = rule(3, "");
  by_addr.client_addr = "10.1.%";
  by_addr.multiplex = 0;
  QueryRuleConfig exact_addr = rule(4, "");
  exact_addr.client_addr = "192.168.1.7";
  exact_addr.ok_msg = "ok";
  auto set = build_ok({by_user, by_schema, by_addr, exact_addr});

  RuleOutcome out = run(*set, "SELECT 1", "reporting", "shop", "10.0.0.5");
  CHECK(out.matched_rules == std::vector<uint32_t>{1});
  out = run(*set, "SELECT 1", "Reporting", "shop", "10.0.0.5");  // case-sensitive
  CHECK_FALSE(out.matched());
  out = run(*set, "SELECT 1", "app", "analytics", "10.0.0.5");
  CHECK(out.matched_rules == std::vector<uint32_t>{2});
  CHECK(out.timeout_ms == 5000u);
  out = run(*set, "SELECT 1", "app", "shop", "10.1.200.3");
  CHECK(out.matched_rules == std::vector<uint32_t>{3});
  out = run(*set, "SELECT 1", "app", "shop", "10.10.0.1");  // prefix is "10.1." not "10.1"
  CHECK_FALSE(out.matched());
  out = run(*set, "SELECT 1", "app", "shop", "192.168.1.7");
  CHECK(out.matched_rules == std::vector<uint32_t>{4});
  out = run(*set, "SELECT 1", "app", "shop", "192.168.1.70");
  CHECK_FALSE(out.matched());
  out = run(*set, "SELECT 1", "reporting", "analytics", "10.1.0.1");
  CHECK(out.matched_rules == std::vector<uint32_t>{1, 2, 3});
}

TEST_CASE("rules: replace_pattern rewrites the first match, GLOBAL all; later rules see the rewrite") {
  QueryRuleConfig first = rule(1, "sbtest(\\d+)");
  first.replace_pattern = "sbtest_archive_\\1";
  auto set = build_ok({first});
  RuleOutcome out = run(*set, "SELECT * FROM sbtest1 JOIN sbtest2 USING (id)");
  REQUIRE(out.rewritten_sql);
  CHECK(*out.rewritten_sql == "SELECT * FROM sbtest_archive_1 JOIN sbtest2 USING (id)");

  first.re_modifiers = "CASELESS,GLOBAL";
  set = build_ok({first});
  out = run(*set, "SELECT * FROM sbtest1 JOIN SBTEST2 USING (id)");
  REQUIRE(out.rewritten_sql);
  CHECK(*out.rewritten_sql == "SELECT * FROM sbtest_archive_1 JOIN sbtest_archive_2 USING (id)");
  CHECK(out.sql(QueryContext("ignored")) == *out.rewritten_sql);

  // Rule 2 matches only the rewritten text; rule 3 rewrites it again.
  QueryRuleConfig sees_rewrite = rule(2, "sbtest_archive_1");
  sees_rewrite.destination_hostgroup = 50;
  QueryRuleConfig again = rule(3, "^SELECT \\*");
  again.replace_pattern = "SELECT id";
  set = build_ok({first, sees_rewrite, again});
  out = run(*set, "SELECT * FROM sbtest1");
  CHECK(out.matched_rules == std::vector<uint32_t>{1, 2, 3});
  CHECK(out.destination_hostgroup == 50u);
  CHECK(*out.rewritten_sql == "SELECT id FROM sbtest_archive_1");

  // No rewrite when nothing matched, or when rewriting is not allowed (COM_STMT_EXECUTE).
  out = run(*set, "DELETE FROM t");
  CHECK_FALSE(out.rewritten_sql);
  CHECK(out.sql(QueryContext("DELETE FROM t")) == "DELETE FROM t");
  QueryContext exec("SELECT * FROM sbtest1");
  exec.allow_rewrite = false;
  out = set->evaluate(exec);
  CHECK(out.matched_rules == std::vector<uint32_t>{1, 3});  // rule 2 needs the rewrite
  CHECK_FALSE(out.rewritten_sql);
}

TEST_CASE("rules: error_msg and OK_msg, later rules override, earlier values persist") {
  QueryRuleConfig block = rule(1, "^DROP");
  block.error_msg = "DROP is not allowed through Sluice";
  QueryRuleConfig route = rule(2, "");
  route.destination_hostgroup = 10;
  QueryRuleConfig fake_ok = rule(3, "^SET sql_log_bin");
  fake_ok.ok_msg = "";
  fake_ok.apply = true;
  auto set = build_ok({block, route, fake_ok});
  RuleOutcome out = run(*set, "DROP TABLE t");
  CHECK(out.error_msg == std::string("DROP is not allowed through Sluice"));
  CHECK(out.destination_hostgroup == 10u);  // rule 2 matched too, error_msg kept
  CHECK_FALSE(out.ok_msg);
  out = run(*set, "SET sql_log_bin=0");
  CHECK_FALSE(out.error_msg);
  CHECK(out.ok_msg == std::string());
}

TEST_CASE("rules: digest and match_digest") {
  const std::string text = sluice::digest_text("SELECT c FROM sbtest1 WHERE id=1");
  QueryRuleConfig by_digest = rule(1, "");
  by_digest.digest = sluice::format_digest(sluice::digest_hash(text));
  by_digest.destination_hostgroup = 11;
  QueryRuleConfig by_match_digest = rule(2, "");
  by_match_digest.match_digest = "^UPDATE sbtest\\d+ SET k = k \\+ \\?";
  by_match_digest.destination_hostgroup = 12;
  QueryRuleConfig negated = rule(3, "");
  negated.match_digest = "^SELECT";
  negated.negate_match_pattern = true;
  negated.timeout_ms = 7;
  auto set = build_ok({by_digest, by_match_digest, negated});
  CHECK(set->needs_digest());

  CHECK(run(*set, "select c from sbtest1 where id = 42").destination_hostgroup == 11u);
  CHECK_FALSE(run(*set, "select c from sbtest2 where id = 42").destination_hostgroup);
  RuleOutcome out = run(*set, "UPDATE sbtest7 SET k=k+1 WHERE id=3");
  CHECK(out.destination_hostgroup == 12u);
  CHECK(out.timeout_ms == 7u);

  // match_digest runs on the original query's digest, not on a rewrite.
  QueryRuleConfig rewrite = rule(1, "sbtest1");
  rewrite.replace_pattern = "sbtest9";
  QueryRuleConfig on_digest = rule(2, "");
  on_digest.match_digest = "FROM sbtest1 ";
  on_digest.destination_hostgroup = 1;
  auto set2 = build_ok({rewrite, on_digest});
  out = run(*set2, "SELECT c FROM sbtest1 WHERE id=1");
  CHECK(*out.rewritten_sql == "SELECT c FROM sbtest9 WHERE id=1");
  CHECK(out.destination_hostgroup == 1u);
}

TEST_CASE("rules: the digest is computed lazily, or taken from the caller") {
  QueryRuleConfig pattern_only = rule(1, "^SELECT");
  pattern_only.destination_hostgroup = 1;
  auto set = build_ok({pattern_only});
  CHECK_FALSE(set->needs_digest());
  QueryContext q("SELECT 1");
  set->evaluate(q);
  CHECK_FALSE(q.has_digest());

  // Rule 2 needs the digest but only for user "batch": other users never compute it.
  QueryRuleConfig batch = rule(2, "");
  batch.username = "batch";
  batch.match_digest = "^SELECT \\?$";
  batch.destination_hostgroup = 2;
  set = build_ok({batch});
  QueryContext app("SELECT 1");
  app.username = "app";
  set->evaluate(app);
  CHECK_FALSE(app.has_digest());
  QueryContext b("SELECT 1");
  b.username = "batch";
  CHECK(set->evaluate(b).destination_hostgroup == 2u);
  REQUIRE(b.has_digest());
  CHECK(b.digest().text == "SELECT ?");
  CHECK(b.digest().hash == sluice::digest_hash("SELECT ?"));

  // A digest supplied by the caller is used as is (here, a deliberately different one).
  QueryContext given("SELECT 1");
  given.username = "batch";
  given.set_digest("UPDATE x", 1);
  CHECK_FALSE(set->evaluate(given).matched());
}

TEST_CASE("rules: outcome reuse clears the previous statement") {
  QueryRuleConfig r = rule(1, "^SELECT");
  r.destination_hostgroup = 1;
  r.error_msg = "no";
  r.replace_pattern = "SELECT /* x */";
  auto set = build_ok({r});
  RuleOutcome out;
  set->evaluate(QueryContext("SELECT 1"), out);
  CHECK(out.matched());
  CHECK(out.rewritten_sql);
  set->evaluate(QueryContext("UPDATE t SET a=1"), out);
  CHECK_FALSE(out.matched());
  CHECK_FALSE(out.destination_hostgroup);
  CHECK_FALSE(out.error_msg);
  CHECK_FALSE(out.rewritten_sql);
}

TEST_CASE("rules: hit counters are exact across threads and shards") {
  QueryRuleConfig a = rule(1, "^SELECT");
  QueryRuleConfig b = rule(2, "^SELECT 2");
  b.apply = true;
  QueryRuleConfig c = rule(3, "");
  sluice::RuleSetOptions o;
  o.shards = 3;
  auto set = build_ok({a, b, c}, o);
  constexpr int kThreads = 4;
  constexpr int kPerThread = 20000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      RuleOutcome out;
      for (int i = 0; i < kPerThread; ++i) {
        QueryContext q(i % 2 ? "SELECT 1" : "SELECT 2");
        q.worker = static_cast<uint32_t>(t);
        set->evaluate(q, out);
      }
    });
  }
  for (auto& th : threads) th.join();
  const uint64_t total = uint64_t{kThreads} * kPerThread;
  CHECK(set->hits() == std::vector<std::pair<uint32_t, uint64_t>>{{1, total}, {2, total / 2}, {3, total / 2}});
}

// Run with: ./build/sluice_unit -tc='*benchmark*' --no-skip
TEST_CASE("rules benchmark: ns per evaluate" * doctest::skip()) {
  QueryRuleConfig for_update = rule(1, "^SELECT.*FOR UPDATE$");
  for_update.destination_hostgroup = 10;
  for_update.apply = true;
  QueryRuleConfig select = rule(2, "^SELECT");
  select.destination_hostgroup = 20;
  select.apply = true;
  QueryRuleConfig digest = rule(3, "");
  digest.match_digest = "^SELECT c FROM sbtest\\d+ WHERE id = \\?$";
  digest.destination_hostgroup = 20;
  digest.apply = true;
  const auto empty = RuleSet::empty_set();
  const auto split = build_ok({for_update, select});
  const auto by_digest = build_ok({digest});
  const std::string sql = "SELECT c FROM sbtest1 WHERE id=4242";
  struct Case {
    const char* name;
    const RuleSet* set;
  };
  for (const Case& c : {Case{"empty rule set", empty.get()}, Case{"read/write split (2 rules)", split.get()},
                        Case{"match_digest (digest computed)", by_digest.get()}}) {
    RuleOutcome out;
    double best = 1e18;
    for (int round = 0; round < 5; ++round) {
      constexpr int kIterations = 200000;
      const auto start = std::chrono::steady_clock::now();
      for (int i = 0; i < kIterations; ++i) {
        QueryContext q(sql);
        c.set->evaluate(q, out);
      }
      const auto end = std::chrono::steady_clock::now();
      best = std::min(best, std::chrono::duration<double, std::nano>(end - start).count() / kIterations);
    }
    std::printf("rules %-32s %7.1f ns/evaluate (best of 5 x 200000)\n", c.name, best);
  }
}
