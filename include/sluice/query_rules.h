// Query rules: ProxySQL's mysql_query_rules compiled into an immutable RuleSet that every
// worker evaluates for every statement.
//
// Owns: rule compilation (active rules only, in rule_id order, RE2 patterns compiled at
// build), rule evaluation with ProxySQL's semantics, and the per-rule hit counters behind
// stats_mysql_query_rules.
// Thread rules: a RuleSet is built once (admin or config thread), then shared read-only
// through shared_ptr<const RuleSet>; swapping in a new one is the owner's business.
// evaluate() takes no lock and allocates only for a rewrite, the matched-rule list and
// copied messages (reuse a RuleOutcome to keep even those off the steady state). Hit
// counters are relaxed atomics. With RuleSetOptions::shards = number of workers and
// QueryContext::worker set, each worker increments its own counters (no shared cache
// line) and runs its own copies of the regexes (RE2's lazy DFA cache takes a reader lock
// per search; per-shard copies keep workers off each other's lock word).
// A QueryContext is per statement and single-threaded.
//
// Semantics (ProxySQL's Query_Processor, with mysql-query_processor_iterations):
//  - the flag starts at 0; a rule is considered only when its flagIN equals the flag;
//  - filters: username and schemaname (exact, case-sensitive), client_addr (exact, or a
//    pattern with `%` wildcards such as "10.0.%"), digest (the query's digest hash),
//    match_digest (RE2 partial match on the digest text of the original query),
//    match_pattern (RE2 partial match on the query text, rewritten by earlier rules if
//    they rewrote it); negate_match_pattern inverts both regex tests;
//  - a matching rule counts a hit and records its actions; a later matching rule
//    overrides hostgroup, error_msg, OK_msg, timeout and multiplex it also sets;
//    replace_pattern rewrites the current text with match_pattern's regex (first match,
//    all with GLOBAL; RE2 rewrite syntax \0..\9) and later rules see the rewrite;
//  - flagOUT, when set, becomes the flag for the rules after this one;
//  - apply=1 stops evaluation. Otherwise, when the rule set a flagOUT and iterations
//    remain (RuleSetOptions::iterations, ProxySQL's default 0), evaluation restarts from
//    the first rule with the new flag; else it goes on with the next rule.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "sluice/config.h"
#include "sluice/query_digest.h"

namespace sluice {

struct QueryDigest {
  std::string_view text;
  uint64_t hash = 0;
};

// What evaluate() looks at. The digest is computed on first use (only when a rule with
// digest or match_digest is reached), or supplied by the caller with set_digest() when it
// has it already (digest statistics need it anyway). After evaluate(), digest() returns
// the computed digest without recomputing.
class QueryContext {
 public:
  QueryContext() = default;
  explicit QueryContext(std::string_view sql_text) : sql(sql_text) {}

  std::string_view sql;  // the statement as the client sent it
  std::string_view username;
  std::string_view schemaname;
  std::string_view client_addr;  // client IP address as text
  uint32_t worker = 0;           // picks the counter/regex shard (modulo shards)
  bool allow_rewrite = true;     // false for COM_STMT_EXECUTE: ProxySQL skips replace_pattern
  DigestOptions digest_options;  // used when the digest is computed here

  // A digest computed elsewhere; `text` must outlive this context.
  void set_digest(std::string_view text, uint64_t hash);
  bool has_digest() const { return has_digest_; }
  const QueryDigest& digest() const;

 private:
  mutable std::string digest_buffer_;
  mutable QueryDigest digest_;
  mutable bool has_digest_ = false;
};

// The actions of the rules that matched, last writer wins per field.
struct RuleOutcome {
  std::optional<uint32_t> destination_hostgroup;
  std::optional<std::string> error_msg;      // answer the client with this error
  std::optional<std::string> ok_msg;         // answer the client with OK (and this info)
  std::optional<std::string> rewritten_sql;  // set only when a replace_pattern changed the text
  std::optional<uint32_t> timeout_ms;
  std::optional<uint32_t> multiplex;
  std::vector<uint32_t> matched_rules;  // rule_ids in the order they matched

  bool matched() const { return !matched_rules.empty(); }
  // The text to send on: the rewrite if any, else the original.
  std::string_view sql(const QueryContext& q) const {
    return rewritten_sql ? std::string_view(*rewritten_sql) : q.sql;
  }
  void clear();  // keeps matched_rules' capacity
};

struct RuleSetOptions {
  uint32_t shards = 1;      // one per worker thread: counters and regex copies each
  uint32_t iterations = 0;  // mysql-query_processor_iterations: restarts after a flagOUT
};

class RuleSet {
 public:
  // Compiles the active rules of `rules` (any order). On error returns null and sets
  // *error to "rule_id <id>: <column>: <reason>", e.g.
  // "rule_id 7: match_pattern: missing ): (abc".
  static std::shared_ptr<const RuleSet> build(const std::vector<QueryRuleConfig>& rules, std::string* error,
                                              const RuleSetOptions& options = {});
  // A rule set with no rules (what runs before any rule is loaded).
  static std::shared_ptr<const RuleSet> empty_set();

  ~RuleSet();
  RuleSet(const RuleSet&) = delete;
  RuleSet& operator=(const RuleSet&) = delete;

  // Evaluates the rules for one statement. `out` is cleared first.
  void evaluate(const QueryContext& q, RuleOutcome& out) const;
  RuleOutcome evaluate(const QueryContext& q) const;

  bool empty() const { return rule_count_ == 0; }
  size_t size() const { return rule_count_; }
  // Some rule filters on digest or match_digest: the digest may be computed on evaluate.
  bool needs_digest() const { return needs_digest_; }
  // (rule_id, hits) of every rule, in rule_id order, summed over shards.
  std::vector<std::pair<uint32_t, uint64_t>> hits() const;

 private:
  struct Rule;
  struct Shard;
  RuleSet();
  bool rule_matches(const Rule& r, const Shard& shard, uint32_t flag, const QueryContext& q,
                    std::string_view text) const;
  void apply_actions(size_t index, const Shard& shard, const QueryContext& q, RuleOutcome& out) const;

  std::vector<Rule> rules_;  // active rules, by rule_id
  std::vector<std::unique_ptr<Shard>> shards_;
  size_t rule_count_ = 0;
  uint32_t iterations_ = 0;
  bool needs_digest_ = false;
};

}  // namespace sluice
