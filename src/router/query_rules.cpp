// Query rules (see include/sluice/query_rules.h): compilation and evaluation.
#include "sluice/query_rules.h"

#include <re2/re2.h>

#include <algorithm>
#include <atomic>

namespace sluice {

struct RuleSet::Rule {
  uint32_t rule_id = 0;
  uint32_t flag_in = 0;
  std::optional<uint32_t> flag_out;
  std::string username;     // empty = any
  std::string schemaname;   // empty = any
  std::string client_addr;  // empty = any
  bool client_addr_wildcard = false;
  std::optional<uint64_t> digest;
  bool match_digest = false;   // a regex exists in the shard
  bool match_pattern = false;  // a regex exists in the shard
  bool negate = false;
  bool global_replace = false;
  std::optional<std::string> replace_pattern;
  std::optional<uint32_t> destination_hostgroup;
  std::optional<uint32_t> timeout_ms;
  std::optional<uint32_t> multiplex;
  std::optional<std::string> error_msg;
  std::optional<std::string> ok_msg;
  bool apply = false;
};

// Everything one worker touches while evaluating: its own regex copies and counters.
// Counters sit between kPad-entry guards so that two shards never share a cache line.
struct alignas(64) RuleSet::Shard {
  static constexpr size_t kPad = 8;  // 8 x 8 bytes = one cache line each side

  explicit Shard(size_t rules)
      : match_digest(rules), match_pattern(rules), hits(new std::atomic<uint64_t>[rules + 2 * kPad]) {
    for (size_t i = 0; i < rules + 2 * kPad; ++i) hits[i].store(0, std::memory_order_relaxed);
  }
  std::atomic<uint64_t>& hit(size_t rule) const { return hits[kPad + rule]; }

  std::vector<std::unique_ptr<RE2>> match_digest;   // per rule; null when the rule has none
  std::vector<std::unique_ptr<RE2>> match_pattern;  // per rule; null when the rule has none
  std::unique_ptr<std::atomic<uint64_t>[]> hits;
};

namespace {

bool contains_word_caseless(std::string_view list, std::string_view word) {
  if (word.size() > list.size()) return false;
  for (size_t i = 0; i + word.size() <= list.size(); ++i) {
    if (iequals_upper(list.substr(i, word.size()), word)) return true;
  }
  return false;
}

// `%` matches any run of bytes (ProxySQL's client_addr wildcard); everything else itself.
bool wildcard_match(std::string_view pattern, std::string_view text) {
  size_t p = 0;
  size_t t = 0;
  size_t star = std::string_view::npos;
  size_t star_t = 0;
  while (t < text.size()) {
    if (p < pattern.size() && pattern[p] == '%') {
      star = p++;
      star_t = t;
    } else if (p < pattern.size() && pattern[p] == text[t]) {
      ++p;
      ++t;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      t = ++star_t;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '%') ++p;
  return p == pattern.size();
}

std::string rule_error(uint32_t rule_id, std::string_view column, std::string_view reason) {
  return "rule_id " + std::to_string(rule_id) + ": " + std::string(column) + ": " + std::string(reason);
}

std::unique_ptr<RE2> compile(const std::string& pattern, bool caseless) {
  RE2::Options options;
  options.set_log_errors(false);
  options.set_case_sensitive(!caseless);
  return std::make_unique<RE2>(pattern, options);
}

// Partial match, then negate_match_pattern (which ProxySQL applies to both regexes).
bool regex_passes(const RE2& re, std::string_view subject, bool negate) {
  return RE2::PartialMatch(subject, re) != negate;
}

}  // namespace

void QueryContext::set_digest(std::string_view text, uint64_t hash) {
  digest_ = QueryDigest{text, hash};
  has_digest_ = true;
}

const QueryDigest& QueryContext::digest() const {
  if (!has_digest_) {
    digest_text(sql, digest_buffer_, digest_options);
    digest_ = QueryDigest{digest_buffer_, digest_hash(digest_buffer_)};
    has_digest_ = true;
  }
  return digest_;
}

void RuleOutcome::clear() {
  destination_hostgroup.reset();
  error_msg.reset();
  ok_msg.reset();
  rewritten_sql.reset();
  timeout_ms.reset();
  multiplex.reset();
  matched_rules.clear();
}

RuleSet::RuleSet() = default;
RuleSet::~RuleSet() = default;

std::shared_ptr<const RuleSet> RuleSet::empty_set() {
  std::string unused;
  return build({}, &unused);
}

std::shared_ptr<const RuleSet> RuleSet::build(const std::vector<QueryRuleConfig>& configs, std::string* error,
                                              const RuleSetOptions& options) {
  std::vector<const QueryRuleConfig*> active;
  for (const QueryRuleConfig& c : configs)
    if (c.active) active.push_back(&c);
  std::stable_sort(active.begin(), active.end(),
                   [](const QueryRuleConfig* a, const QueryRuleConfig* b) { return a->rule_id < b->rule_id; });

  std::shared_ptr<RuleSet> set(new RuleSet());
  set->iterations_ = options.iterations;
  const uint32_t shards = std::max<uint32_t>(1, options.shards);
  for (uint32_t s = 0; s < shards; ++s) set->shards_.push_back(std::make_unique<Shard>(active.size()));

  for (size_t i = 0; i < active.size(); ++i) {
    const QueryRuleConfig& c = *active[i];
    auto fail = [&](std::string_view column, std::string_view reason) {
      if (error) *error = rule_error(c.rule_id, column, reason);
      return nullptr;
    };
    if (i > 0 && active[i - 1]->rule_id == c.rule_id) return fail("rule_id", "used by two active rules");
    Rule r;
    r.rule_id = c.rule_id;
    r.flag_in = c.flag_in;
    r.flag_out = c.flag_out;
    r.username = c.username;
    r.schemaname = c.schemaname;
    r.client_addr = c.client_addr;
    r.client_addr_wildcard = c.client_addr.find('%') != std::string::npos;
    if (!c.digest.empty()) {
      uint64_t d = 0;
      if (!parse_digest(c.digest, &d)) return fail("digest", "expected \"0x\" and up to 16 hex digits");
      r.digest = d;
    }
    const bool caseless = contains_word_caseless(c.re_modifiers, "CASELESS");
    r.global_replace = contains_word_caseless(c.re_modifiers, "GLOBAL");
    r.negate = c.negate_match_pattern;
    r.match_digest = !c.match_digest.empty();
    r.match_pattern = !c.match_pattern.empty();
    for (auto& shard : set->shards_) {
      if (r.match_digest) {
        shard->match_digest[i] = compile(c.match_digest, caseless);
        if (!shard->match_digest[i]->ok()) return fail("match_digest", shard->match_digest[i]->error());
      }
      if (r.match_pattern) {
        shard->match_pattern[i] = compile(c.match_pattern, caseless);
        if (!shard->match_pattern[i]->ok()) return fail("match_pattern", shard->match_pattern[i]->error());
      }
    }
    if (c.replace_pattern) {
      if (!r.match_pattern) return fail("replace_pattern", "needs a match_pattern (its regex)");
      std::string why;
      if (!set->shards_[0]->match_pattern[i]->CheckRewriteString(*c.replace_pattern, &why)) {
        return fail("replace_pattern", why);
      }
    }
    r.replace_pattern = c.replace_pattern;
    r.destination_hostgroup = c.destination_hostgroup;
    r.timeout_ms = c.timeout_ms;
    r.multiplex = c.multiplex;
    r.error_msg = c.error_msg;
    r.ok_msg = c.ok_msg;
    r.apply = c.apply;
    set->needs_digest_ = set->needs_digest_ || r.digest || r.match_digest;
    set->rules_.push_back(std::move(r));
  }
  set->rule_count_ = set->rules_.size();
  return set;
}

bool RuleSet::rule_matches(const Rule& r, const Shard& shard, uint32_t flag, const QueryContext& q,
                           std::string_view text) const {
  if (r.flag_in != flag) return false;
  if (!r.username.empty() && r.username != q.username) return false;
  if (!r.schemaname.empty() && r.schemaname != q.schemaname) return false;
  if (!r.client_addr.empty()) {
    const bool ok = r.client_addr_wildcard ? wildcard_match(r.client_addr, q.client_addr)
                                           : r.client_addr == q.client_addr;
    if (!ok) return false;
  }
  const size_t i = static_cast<size_t>(&r - rules_.data());
  if (r.digest && *r.digest != q.digest().hash) return false;
  if (r.match_digest && !regex_passes(*shard.match_digest[i], q.digest().text, r.negate)) return false;
  if (r.match_pattern && !regex_passes(*shard.match_pattern[i], text, r.negate)) return false;
  return true;
}

void RuleSet::apply_actions(size_t i, const Shard& shard, const QueryContext& q, RuleOutcome& out) const {
  const Rule& r = rules_[i];
  if (r.timeout_ms) out.timeout_ms = r.timeout_ms;
  if (r.error_msg) out.error_msg = r.error_msg;
  if (r.ok_msg) out.ok_msg = r.ok_msg;
  if (r.multiplex) out.multiplex = r.multiplex;
  if (r.destination_hostgroup) out.destination_hostgroup = r.destination_hostgroup;
  // A negated rule matched because its pattern did not: there is nothing to replace.
  if (!r.replace_pattern || !q.allow_rewrite || r.negate) return;
  const RE2& re = *shard.match_pattern[i];
  if (out.rewritten_sql) {
    if (r.global_replace) {
      RE2::GlobalReplace(&*out.rewritten_sql, re, *r.replace_pattern);
    } else {
      RE2::Replace(&*out.rewritten_sql, re, *r.replace_pattern);
    }
    return;
  }
  std::string text(q.sql);
  const bool changed = r.global_replace ? RE2::GlobalReplace(&text, re, *r.replace_pattern) > 0
                                        : RE2::Replace(&text, re, *r.replace_pattern);
  if (changed) out.rewritten_sql = std::move(text);
}

void RuleSet::evaluate(const QueryContext& q, RuleOutcome& out) const {
  out.clear();
  if (rule_count_ == 0) return;
  const Shard& shard = *shards_[q.worker % shards_.size()];
  uint32_t flag = 0;
  uint32_t restarts_left = iterations_;
  size_t i = 0;
  while (i < rule_count_) {
    const Rule& r = rules_[i];
    const std::string_view text = out.rewritten_sql ? std::string_view(*out.rewritten_sql) : q.sql;
    if (!rule_matches(r, shard, flag, q, text)) {
      ++i;
      continue;
    }
    shard.hit(i).fetch_add(1, std::memory_order_relaxed);
    out.matched_rules.push_back(r.rule_id);
    if (r.flag_out) flag = *r.flag_out;
    apply_actions(i, shard, q, out);
    if (r.apply) return;
    if (r.flag_out && restarts_left > 0) {
      --restarts_left;
      i = 0;
      continue;
    }
    ++i;
  }
}

RuleOutcome RuleSet::evaluate(const QueryContext& q) const {
  RuleOutcome out;
  evaluate(q, out);
  return out;
}

std::vector<std::pair<uint32_t, uint64_t>> RuleSet::hits() const {
  std::vector<std::pair<uint32_t, uint64_t>> result;
  result.reserve(rule_count_);
  for (size_t i = 0; i < rule_count_; ++i) {
    uint64_t sum = 0;
    for (const auto& shard : shards_) sum += shard->hit(i).load(std::memory_order_relaxed);
    result.emplace_back(rules_[i].rule_id, sum);
  }
  return result;
}

}  // namespace sluice
