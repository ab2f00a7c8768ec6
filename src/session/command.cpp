// Command dispatch: which commands Sluice answers itself, which go to a backend and to
// which hostgroup, and what the response leaves behind.
#include "sluice/clock.h"
#include "sluice/log.h"
#include "sluice/protocol.h"
#include "sluice/route.h"
#include "sluice/runtime.h"
#include "sluice/session.h"
#include "sluice/topology.h"

namespace sluice {

void Session::dispatch() {
  const std::string& payload = cmd_payload_;
  if (payload.empty()) {
    send_error(1, 1047, "08S01", "Unknown command");
    return;
  }
  cmd_type_ = static_cast<uint8_t>(payload[0]);
  // Process list (admin port): what runs now. Idle again in finish_command/fail_command.
  info_->note_command(cmd_type_, schema_,
                      cmd_type_ == proto::kComQuery ? std::string_view(payload).substr(1) : std::string_view(),
                      now_ns());
  switch (cmd_type_) {
    case proto::kComQuit:
      close("COM_QUIT");
      return;
    case proto::kComPing:
      send_ok(1);
      return;
    case proto::kComSetOption: {
      proto::Reader r(std::string_view(payload).substr(1));
      uint16_t opt = r.int2();
      if (!r.ok || opt > 1) {
        send_error(1, 1047, "08S01", "Unknown command");
        return;
      }
      multi_statements_ = opt == 0;
      send_packet(1, proto::eof_payload(0, status_flags(), caps_));
      return;
    }
    case proto::kComQuery:
    case proto::kComInitDb:
    case proto::kComFieldList:
    case proto::kComStatistics:
      if (report_lost_state()) return;
      break;
    case proto::kComResetConnection:
      reset_session();
      send_ok(1);
      return;
    case proto::kComChangeUser:
      on_change_user(std::string_view(payload).substr(1));
      return;
    case proto::kComProcessKill: {
      proto::Reader r(std::string_view(payload).substr(1));
      uint32_t id = r.int4();
      if (!r.ok) {
        send_error(1, 1047, "08S01", "Unknown command");
        return;
      }
      kill_session(id, false);
      return;
    }
    case proto::kComStmtPrepare:
    case proto::kComStmtExecute:
    case proto::kComStmtFetch:
    case proto::kComStmtReset:
    case proto::kComStmtClose:
    case proto::kComStmtSendLongData:
      dispatch_statement();
      return;
    default:
      send_error(1, 1047, "08S01", "Unknown command (not supported by Sluice yet)");
      return;
  }
  tried_.clear();
  cmd_start_ns_ = now_ns();
  uint32_t hg = writer_hg();
  ResponseScanner::Kind kind = ResponseScanner::Kind::kSingle;
  if (cmd_type_ == proto::kComQuery) {
    std::string_view sql = std::string_view(cmd_payload_).substr(1);
    cls_ = classify(sql);
    if (cls_.has(kKill) && kill_command()) return;
    server_ = conn_ != nullptr ? &conn_->server() : nullptr;
    if (apply_query_rules(sql)) return;  // answered by a rule (error_msg / OK_msg)
    sql = std::string_view(cmd_payload_).substr(1);  // a rule may have rewritten it
    cmd_kind_ = command_kind(sql, cls_.has(kLockingRead));
    release_unneeded_hold();
    note_diagnostics_need();
    pin_before(sql);
    RouteDecision d = decide_route(cls_, SessionView{autocommit_, in_txn_, pins_ != 0});
    route_read_ = d.read;
    hg = d.read ? reader_hg() : writer_hg();
    if (rule_hostgroup_) {
      // A rule chose the hostgroup: a read there is still a read (replica choice, lag,
      // read-your-writes) unless it is the writer's.
      hg = *rule_hostgroup_;
      route_read_ = d.read && hg != writer_hg();
    }
    kind = ResponseScanner::Kind::kQuery;
  } else if (cmd_type_ == proto::kComFieldList) {
    cls_ = Classification{Route::Read, 0};
    release_unneeded_hold();
    route_read_ = autocommit_ && !in_txn_ && pins_ == 0;
    hg = route_read_ ? reader_hg() : writer_hg();
    kind = ResponseScanner::Kind::kFieldList;
  } else {
    cls_ = Classification{Route::Write, 0};
    release_unneeded_hold();
    route_read_ = false;
  }
  run_on_backend(hg, kind);
}

uint32_t Session::writer_hg() {
  const RoutingTable& t = worker_.table();
  return user_ != nullptr && user_->cfg.default_hostgroup ? *user_->cfg.default_hostgroup : t.writer_id();
}

uint32_t Session::reader_hg() { return worker_.table().reader_id(); }

void Session::run_on_backend(uint32_t hg, ResponseScanner::Kind kind) {
  kind_ = kind;
  gtid_wait_ = false;
  target_hg_ = hg;
  if (conn_ != nullptr) {
    server_ = &conn_->server();
    sync_next();
    return;
  }
  checkout();
}

void Session::finish_command() {
  info_->running_on.store(nullptr, std::memory_order_relaxed);
  info_->note_idle(schema_, now_ns());
  forced_server_ = nullptr;
  record_statement(!scan_.error());
  finish_statement();
  uint16_t status = scan_.status();
  if (scan_.has_status()) {  // an ERR alone says nothing about the session's state
    bool was_in_txn = in_txn_;
    in_txn_ = (status & proto::kStatusInTrans) != 0;
    if (in_txn_ && !was_in_txn) worker_.stats.pins[static_cast<size_t>(PinReason::kTransaction)].add();
    autocommit_ = (status & proto::kStatusAutocommit) != 0;
    if (conn_ != nullptr) conn_->autocommit = autocommit_;
  }
  if (conn_ != nullptr && scan_.schema_change()) conn_->schema = *scan_.schema_change();
  if (scan_.schema_change()) schema_ = *scan_.schema_change();
  if (cmd_type_ == proto::kComInitDb && !scan_.error()) {
    schema_ = cmd_payload_.substr(1);
    if (conn_ != nullptr) conn_->schema = schema_;
  }
  for (const auto& [name, value] : scan_.variables()) {
    if (name == "autocommit") continue;  // followed through status flags
    if (name == "last_gtid") {
      note_write_gtid(value);
      continue;
    }
    vars_.set(name, value);
    if (conn_ != nullptr) conn_->vars.set(name, value);
  }
  bool statement = cmd_type_ == proto::kComQuery || cmd_type_ == proto::kComStmtExecute;
  if (statement && !scan_.error() && scan_.last_insert_id() != 0) {
    last_insert_id_ = scan_.last_insert_id();
    if (conn_ != nullptr) conn_->last_insert_id = last_insert_id_;
  }
  pin_after();
  if (conn_ != nullptr && pins_ == 0 && !in_txn_) release_backend();
  if (login_pending_ && !finish_login()) return;
  if (scan_.infile_refused()) {
    send_error(1, 4166, "HY000",
               "The used command is not allowed because the MariaDB server or client has disabled the local "
               "infile capability");
  } else if (scan_.rejected()) {
    // As MariaDB answers a client without CLIENT_MULTI_RESULTS whose procedure returns rows.
    send_error(1, 1312, "0A000",
               "PROCEDURE " + called_procedure(std::string_view(cmd_payload_).substr(1), schema_) +
                   " can't return a result set in the given context");
  }
  trim_buffers();
  state_ = State::kReady;
  idle_since_ms_ = now_ms();
  process_input();
}

// Counts a statement that went to a backend (or tried to): by route, by the hostgroup
// that ran it, its latency, and whether it failed.
void Session::record_statement(bool ok) {
  if (login_pending_) return;
  WorkerStats& st = worker_.stats;
  auto route = static_cast<size_t>(route_read_ ? RouteKind::kRead : RouteKind::kWrite);
  bool on_writer = server_ == nullptr || server_->hostgroup.load(std::memory_order_relaxed) == worker_.table().writer_id();
  st.queries[route][static_cast<size_t>(on_writer ? TargetGroup::kWriter : TargetGroup::kReader)].add();
  int64_t latency = now_ns() - cmd_start_ns_;
  st.latency[route].observe(latency);
  if (!ok) st.query_errors.add();
  // By statement kind, for stats_mysql_commands_counters (text protocol and USE).
  // cmd_payload_ no longer holds the statement after LOAD DATA LOCAL INFILE (it held the
  // file's packets), so the kind was taken at dispatch.
  if (cmd_type_ == proto::kComQuery) {
    st.commands[static_cast<size_t>(cmd_kind_)].observe(latency);
  } else if (cmd_type_ == proto::kComInitDb) {
    st.commands[static_cast<size_t>(CommandKind::kUse)].observe(latency);
  }
  record_digest(ok);
}

// A big statement must not leave its buffer behind for the rest of the session.
void Session::trim_buffers() {
  constexpr size_t kKeep = 64 * 1024;
  if (cmd_raw_.capacity() > kKeep) std::string().swap(cmd_raw_);
  if (cmd_payload_.capacity() > kKeep) std::string().swap(cmd_payload_);
  if (in_.empty() && in_.capacity() > kKeep) std::string().swap(in_);
}

void Session::fail_command(uint16_t code, std::string_view state, const std::string& msg) {
  LOG_DEBUG("session %u: %s", conn_id_, msg.c_str());
  writer_wait_until_ = 0;
  if (cmd_type_ == proto::kComStmtSendLongData && !login_pending_) {
    // No reply to COM_STMT_SEND_LONG_DATA: the EXECUTE that follows reports the failure.
    if (ClientStmt* st = find_stmt(stmt_id_)) {
      st->long_data_error = "Sluice: long data for this statement was lost: " + msg;
    }
    finish_without_reply();
    return;
  }
  info_->running_on.store(nullptr, std::memory_order_relaxed);
  info_->note_idle(schema_, now_ns());
  forced_server_ = nullptr;
  if (!login_pending_) record_statement(false);
  if (login_pending_) {
    send_error(login_seq_, code, state, msg);
    close("login schema check failed");
    return;
  }
  // Mid-response, the error continues the client's sequence; otherwise it is the reply.
  bool mid_response = state_ == State::kRelaying && scan_.forwarded_any();
  send_error(mid_response ? scan_.next_seq() : 1, code, state, msg);
  trim_buffers();
  state_ = State::kReady;
  idle_since_ms_ = now_ms();
  process_input();
}

}  // namespace sluice
