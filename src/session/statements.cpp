// Prepared statements (COM_STMT_*), as the client sees them.
//
// Statement ids are Sluice's own, per session, from 1. Each maps to an entry of the
// process-wide statement cache (stmt_cache.h): COM_STMT_PREPARE is answered from the cache
// when the same login prepared the same text in the same schema before, else the text is
// prepared on a backend (the held connection, or a writer) and the answer cached.
// Executions are routed like text statements of the same SQL (reads may go to a reader)
// and prepare on the lent connection when it has not prepared them yet (stmt_backend.cpp).
// What keeps a connection: an open cursor (COM_STMT_FETCH must reach it) and long data
// (COM_STMT_SEND_LONG_DATA and the EXECUTE after it go to one connection).
#include <string>

#include "sluice/clock.h"
#include "sluice/protocol.h"
#include "sluice/query_digest.h"
#include "sluice/route.h"
#include "sluice/runtime.h"
#include "sluice/session.h"
#include "sluice/topology.h"

namespace sluice {
namespace {

// A client that prepares without ever closing must not grow Sluice without bound: the same
// cap as MariaDB's default max_prepared_stmt_count, per client.
constexpr size_t kMaxClientStatements = 16382;

std::string unknown_handler(uint32_t id, const char* where) {
  return "Unknown prepared statement handler (" + std::to_string(id) + ") given to " + where;
}

}  // namespace

// The schema the lent connection must be in: a statement runs (and is prepared) in the
// schema it was prepared in, even after the client moved on with USE.
const std::string& Session::sync_schema() const {
  if (stmt_id_ != 0 && (cmd_type_ == proto::kComStmtExecute || cmd_type_ == proto::kComStmtSendLongData)) {
    auto it = stmts_.find(stmt_id_);
    if (it != stmts_.end() && !it->second.entry->schema.empty()) return it->second.entry->schema;
  }
  return schema_;
}

// What besides the schema decides a server's answer to COM_STMT_PREPARE (stmt_cache.h).
std::string Session::stmt_context() const {
  std::string c;
  for (const char* name : {"character_set_results", "sql_mode"}) {
    if (const std::string* v = vars_.get(name)) c += *v;
    c.push_back('\0');
  }
  return c;
}

Session::ClientStmt* Session::find_stmt(uint32_t id) {
  auto it = stmts_.find(id);
  return it == stmts_.end() ? nullptr : &it->second;
}

// Returns true if the command was a COM_STMT_* and has been handled or started.
bool Session::dispatch_statement() {
  uint8_t type = cmd_type_;
  if (type == proto::kComStmtPrepare) {
    prepare_statement();
    return true;
  }
  if (type != proto::kComStmtExecute && type != proto::kComStmtFetch && type != proto::kComStmtReset &&
      type != proto::kComStmtClose && type != proto::kComStmtSendLongData)
    return false;
  proto::Reader r(std::string_view(cmd_payload_).substr(1));
  uint32_t id = r.int4();
  if (!r.ok) {
    // COM_STMT_CLOSE and SEND_LONG_DATA never get an answer, not even an error.
    if (type != proto::kComStmtClose && type != proto::kComStmtSendLongData) send_error(1, 1047, "08S01", "Unknown command");
    return true;
  }
  switch (type) {
    case proto::kComStmtExecute: execute_statement(id); break;
    case proto::kComStmtSendLongData: long_data_statement(id); break;
    case proto::kComStmtFetch: fetch_statement(id); break;
    case proto::kComStmtReset: reset_statement(id); break;
    default: close_statement(id); break;
  }
  return true;
}

void Session::prepare_statement() {
  std::string_view sql = std::string_view(cmd_payload_).substr(1);
  info_->note_command(cmd_type_, schema_, sql, now_ns());
  if (stmts_.size() >= kMaxClientStatements) {
    send_error(1, 1461, "42000",
               "Can't create more than max_prepared_stmt_count statements (current value: " +
                   std::to_string(kMaxClientStatements) + ")");
    return;
  }
  // A statement on a temporary table means what this session's table is: never shared.
  if ((pins_ & kPinTempTable) == 0) {
    if (auto entry = worker_.runtime().stmt_cache.find(identity_no_schema_, schema_, stmt_context(), sql)) {
      worker_.stats.stmt_cache_hits.add();
      uint32_t id = next_stmt_id_++;
      stmts_[id].entry = entry;
      answer_prepare(*entry, id);
      return;
    }
  }
  cls_ = Classification{Route::Read, 0};  // changes nothing: may be retried elsewhere
  release_unneeded_hold();
  tried_.clear();
  cmd_start_ns_ = now_ns();
  route_read_ = false;
  stmt_id_ = 0;
  run_on_backend(writer_hg(), ResponseScanner::Kind::kPrepare);
}

// The answer a server gives to COM_STMT_PREPARE, for this client's capabilities.
void Session::answer_prepare(const PreparedStmt& e, uint32_t client_id) {
  std::string out;
  uint8_t seq = proto::append_packet(out, 1, proto::prepare_ok_payload(client_id, e.columns, e.params, e.warnings));
  bool eofs = (caps_ & proto::kDeprecateEof) == 0;
  uint16_t status = status_flags();
  auto section = [&](const ColumnDefs& defs) {
    if (defs.empty()) return;
    for (const std::string& d : defs) seq = proto::append_packet(out, seq, d);
    if (eofs) seq = proto::append_packet(out, seq, proto::eof_payload(0, status));
  };
  section(e.param_defs);
  section(*e.column_defs);
  write_client(out);
}

void Session::execute_statement(uint32_t id) {
  ClientStmt* st = find_stmt(id);
  if (st == nullptr) {
    send_error(1, 1243, "HY000", unknown_handler(id, "mysqld_stmt_execute"));
    return;
  }
  if (report_lost_state()) return;
  if (!st->long_data_error.empty()) {
    std::string msg = std::move(st->long_data_error);
    st->long_data_error.clear();
    send_error(1, 2013, "HY000", msg);
    return;
  }
  info_->note_command(cmd_type_, schema_, st->entry->sql, now_ns());  // the process list shows the SQL
  auto ex = proto::parse_stmt_execute(cmd_payload_, st->entry->params);
  if (!ex) {
    send_error(1, 1210, "HY000", "Incorrect arguments to mysqld_stmt_execute");
    return;
  }
  if (ex->new_types) st->types.assign(ex->types);
  stmt_id_ = id;
  route_statement(*st, ResponseScanner::Kind::kExecute);
}

// No reply, whatever happens (errors show at the EXECUTE): the data goes to the
// connection the EXECUTE will use, which is then held until that EXECUTE is done.
void Session::long_data_statement(uint32_t id) {
  ClientStmt* st = find_stmt(id);
  if (st == nullptr || cmd_payload_.size() < 7) return;
  stmt_id_ = id;
  route_statement(*st, ResponseScanner::Kind::kSingle);
}

void Session::fetch_statement(uint32_t id) {
  ClientStmt* st = find_stmt(id);
  if (st == nullptr) {
    send_error(1, 1243, "HY000", unknown_handler(id, "mysqld_stmt_fetch"));
    return;
  }
  if (!st->cursor || conn_ == nullptr) {
    send_error(1, 1421, "HY000", "The statement (" + std::to_string(id) + ") has no open cursor.");
    return;
  }
  stmt_id_ = id;
  cls_ = Classification{Route::Write, 0};
  tried_.clear();
  cmd_start_ns_ = now_ns();
  run_on_backend(writer_hg(), ResponseScanner::Kind::kFetch);  // the held connection
}

// Only a cursor or long data lives on a connection; without either there is nothing to
// reset on any server, and the client's statement itself keeps nothing to clear.
void Session::reset_statement(uint32_t id) {
  ClientStmt* st = find_stmt(id);
  if (st == nullptr) {
    send_error(1, 1243, "HY000", unknown_handler(id, "mysqld_stmt_reset"));
    return;
  }
  st->long_data_error.clear();
  if ((!st->cursor && !st->long_data) || conn_ == nullptr) {
    send_ok(1);
    return;
  }
  stmt_id_ = id;
  cls_ = Classification{Route::Write, 0};
  tried_.clear();
  cmd_start_ns_ = now_ns();
  route_read_ = false;
  run_on_backend(writer_hg(), ResponseScanner::Kind::kSingle);  // the held connection
}

// The backend statement stays prepared on its connections for other clients, unless it
// holds this client's cursor or long data: then it is closed there (no reply to wait for).
void Session::close_statement(uint32_t id) {
  ClientStmt* st = find_stmt(id);
  if (st == nullptr) return;
  if ((st->cursor || st->long_data) && conn_ != nullptr) {
    if (auto* bs = conn_->statements.find(st->entry->id)) {
      conn_->stream().write(proto::stmt_close_packet(bs->backend_id));
      conn_->statements.erase(st->entry->id);
    }
  }
  set_cursor(*st, false);
  set_long_data(*st, false);
  stmts_.erase(id);
  if (conn_ != nullptr && pins_ == 0 && !in_txn_) release_backend();
}

// Same routing as a text statement of the same SQL.
void Session::route_statement(ClientStmt& st, ResponseScanner::Kind kind) {
  cls_ = st.entry->cls;
  tried_.clear();
  cmd_start_ns_ = now_ns();
  release_unneeded_hold();
  note_diagnostics_need();
  rule_hostgroup_.reset();
  if (cmd_type_ == proto::kComStmtExecute) {
    pin_before(st.entry->sql);
    apply_query_rules(st.entry->sql, st.entry.get());  // digest statistics, destination_hostgroup
  }
  RouteDecision d = decide_route(cls_, SessionView{autocommit_, in_txn_, pins_ != 0});
  route_read_ = d.read;
  uint32_t hg = d.read ? reader_hg() : writer_hg();
  if (rule_hostgroup_) {
    hg = *rule_hostgroup_;
    route_read_ = d.read && hg != writer_hg();
  }
  run_on_backend(hg, kind);
}

// After a COM_STMT_* response (finish_command).
void Session::finish_statement() {
  switch (cmd_type_) {
    case proto::kComStmtPrepare: finish_prepare(); break;
    case proto::kComStmtExecute: finish_execute(); break;
    case proto::kComStmtFetch:
      if (ClientStmt* st = find_stmt(stmt_id_); st && !scan_.error() && (scan_.status() & proto::kStatusLastRowSent))
        set_cursor(*st, false);
      break;
    case proto::kComStmtReset:
      if (ClientStmt* st = find_stmt(stmt_id_); st && !scan_.error()) {
        if (auto* bs = conn_ ? conn_->statements.find(st->entry->id) : nullptr) bs->bound_types.clear();
        set_cursor(*st, false);
        set_long_data(*st, false);
      }
      break;
    default: break;
  }
  captured_params_.clear();
  captured_columns_.clear();
  inject_columns_.reset();
}

// The prepare went to a backend (its answer was swallowed): cache it, give the client an id.
void Session::finish_prepare() {
  if (scan_.error()) {
    send_error(1, scan_.error_code(), scan_.error_state(), scan_.error_message());
    return;
  }
  if (captured_params_.size() != scan_.prepared_params() || captured_columns_.size() != scan_.prepared_columns()) {
    send_error(1, 2027, "HY000", "Sluice: malformed COM_STMT_PREPARE answer from backend " + server_->name);
    return;
  }
  auto fresh = std::make_shared<PreparedStmt>();
  StmtCache& cache = worker_.runtime().stmt_cache;
  fresh->id = cache.new_id();
  fresh->schema = schema_;
  fresh->context = stmt_context();
  fresh->sql = cmd_payload_.substr(1);
  fresh->cls = classify(fresh->sql);
  fresh->digest_text = digest_text(fresh->sql);
  fresh->digest_hash = digest_hash(fresh->digest_text);
  fresh->params = scan_.prepared_params();
  fresh->columns = scan_.prepared_columns();
  fresh->warnings = scan_.prepared_warnings();
  fresh->param_defs = std::move(captured_params_);
  fresh->column_defs = std::make_shared<const ColumnDefs>(std::move(captured_columns_));
  auto cols = fresh->column_defs;
  StmtCache::Ptr entry = (pins_ & kPinTempTable) ? StmtCache::Ptr(fresh) : cache.publish(identity_no_schema_, fresh);
  // Another session may have published the same statement meanwhile: this connection's
  // statement then serves that entry (same counts), with the definitions it sent.
  if (conn_ != nullptr) register_on_connection(*entry, scan_.prepared_id(), entry->share_columns(ColumnDefs(*cols)));
  uint32_t id = next_stmt_id_++;
  stmts_[id].entry = entry;
  answer_prepare(*entry, id);
}

void Session::finish_execute() {
  ClientStmt* st = find_stmt(stmt_id_);
  if (st == nullptr) return;
  if (auto* bs = conn_ ? conn_->statements.find(st->entry->id) : nullptr) {
    // Full metadata: the server skips it next time it is the same, so these are injected then.
    if (!captured_columns_.empty()) bs->columns = st->entry->share_columns(std::move(captured_columns_));
    if (scan_.error()) bs->bound_types.clear();  // the server may not have taken them
  }
  set_long_data(*st, false);
  set_cursor(*st, !scan_.error() && scan_.has_status() && (scan_.status() & proto::kStatusCursorExists));
}

void Session::set_cursor(ClientStmt& st, bool open) {
  if (st.cursor == open) return;
  st.cursor = open;
  if (auto* bs = conn_ ? conn_->statements.find(st.entry->id) : nullptr) {
    if (open) ++bs->holds;
    else if (bs->holds > 0) --bs->holds;
  }
  if (open) {
    ++open_cursors_;
    add_pin(kPinCursor);
  } else if (--open_cursors_ == 0) {
    pins_ &= ~kPinCursor;
  }
}

void Session::set_long_data(ClientStmt& st, bool pending) {
  if (st.long_data == pending) return;
  st.long_data = pending;
  if (auto* bs = conn_ ? conn_->statements.find(st.entry->id) : nullptr) {
    if (pending) ++bs->holds;
    else if (bs->holds > 0) --bs->holds;
  }
  if (pending) {
    ++long_data_stmts_;
    add_pin(kPinLongData);
  } else if (--long_data_stmts_ == 0) {
    pins_ &= ~kPinLongData;
  }
}

// The held connection died: cursors and long data on it are gone (the statements
// themselves live on in the cache and are prepared again where they run next).
void Session::forget_connection_statements() {
  for (auto& [id, st] : stmts_) {
    st.cursor = false;
    if (st.long_data) {
      st.long_data = false;
      st.long_data_error = "Lost connection to backend server after COM_STMT_SEND_LONG_DATA; send the long data again";
    }
  }
  open_cursors_ = 0;
  long_data_stmts_ = 0;
  pins_ &= ~(kPinCursor | kPinLongData);
}

}  // namespace sluice
