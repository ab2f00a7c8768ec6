// Query rules and digests on the statement path: the running RuleSet is evaluated for each
// COM_QUERY (after the classifier, before routing); its actions answer the client
// (error_msg, OK_msg), rewrite the statement (replace_pattern, timeout), choose the
// hostgroup or pin the session (multiplex=0). The digest is computed once per statement,
// only when digest statistics or a rule need it, and recorded when the statement ends.
#include <ctime>

#include "sluice/clock.h"
#include "sluice/digest_stats.h"
#include "sluice/log.h"
#include "sluice/protocol.h"
#include "sluice/query_rules.h"
#include "sluice/runtime.h"
#include "sluice/session.h"
#include "sluice/stmt_cache.h"
#include "sluice/topology.h"

namespace sluice {
namespace {

// ProxySQL answers error_msg rules with 1148 (ER_NOT_ALLOWED_COMMAND).
constexpr uint16_t kRuleErrorCode = 1148;

}  // namespace

bool Session::apply_query_rules(std::string_view sql, const PreparedStmt* prepared) {
  rule_hostgroup_.reset();
  digest_valid_ = false;
  const RoutingTable& table = worker_.table();
  const RuleSet* rules = table.rules.get();
  if (!table.config->query_digests && rules == nullptr) return false;
  QueryContext q(sql);
  if (table.config->query_digests) {
    if (prepared != nullptr) {
      digest_text_ = prepared->digest_text;
      digest_hash_ = prepared->digest_hash;
    } else {
      digest_text(sql, digest_text_);
      digest_hash_ = digest_hash(digest_text_);
    }
    digest_valid_ = true;
    q.set_digest(digest_text_, digest_hash_);
  }
  if (rules == nullptr) return false;
  q.username = user_->cfg.username;
  q.schemaname = schema_;
  q.client_addr = peer_;
  q.worker = static_cast<uint32_t>(worker_.id());
  q.allow_rewrite = prepared == nullptr;
  thread_local RuleOutcome out;
  rules->evaluate(q, out);
  if (!out.matched()) return false;
  if (!digest_valid_ && q.has_digest()) {
    digest_text_.assign(q.digest().text);
    digest_hash_ = q.digest().hash;
    digest_valid_ = true;
  }
  if (prepared != nullptr) {
    if (out.multiplex && *out.multiplex == 0) add_pin(kPinQueryRule);
    rule_hostgroup_ = out.destination_hostgroup;
    return false;
  }
  if (out.error_msg || out.ok_msg) {
    worker_.stats.rule_answered.add();
    server_ = nullptr;  // answered by Sluice: digest hostgroup -1
    record_digest(!out.error_msg);
    if (out.error_msg) {
      send_error(1, kRuleErrorCode, "42000", *out.error_msg);
    } else {
      send_ok(1, *out.ok_msg);
    }
    return true;
  }
  std::string rewritten;
  if (out.rewritten_sql) rewritten = *out.rewritten_sql;
  if (out.timeout_ms && *out.timeout_ms != 0) {
    // MariaDB enforces it server-side; the client gets error 1969 when it passes.
    std::string_view base = out.rewritten_sql ? std::string_view(rewritten) : sql;
    rewritten = "SET STATEMENT max_statement_time=" + std::to_string(*out.timeout_ms / 1000) + "." +
                std::to_string(1000 + *out.timeout_ms % 1000).substr(1) + " FOR " + std::string(base);
  }
  if (!rewritten.empty()) {
    cmd_payload_.assign(1, static_cast<char>(proto::kComQuery));
    cmd_payload_ += rewritten;
    cmd_raw_.clear();
    proto::append_packet(cmd_raw_, 0, cmd_payload_);
    cls_ = classify(std::string_view(cmd_payload_).substr(1));
  }
  if (out.multiplex && *out.multiplex == 0) add_pin(kPinQueryRule);
  rule_hostgroup_ = out.destination_hostgroup;
  return false;
}

void Session::record_digest(bool ok) {
  (void)ok;
  if (!digest_valid_) return;
  digest_valid_ = false;
  DigestKeyView key;
  key.hostgroup = server_ != nullptr ? static_cast<int32_t>(target_hg_) : -1;
  key.schemaname = schema_;
  key.username = user_ != nullptr ? std::string_view(user_->cfg.username) : std::string_view();
  key.digest = digest_hash_;
  DigestSample sample;
  sample.time_us = static_cast<uint64_t>(std::max<int64_t>(0, now_ns() - cmd_start_ns_) / 1000);
  sample.rows_affected = scan_.affected_rows();
  sample.rows_sent = scan_.rows_sent();
  sample.now_unix_s = static_cast<int64_t>(std::time(nullptr));
  worker_.digests->record(key, digest_text_, sample);
}

}  // namespace sluice
