// Prepared statements on the connection lent for them (see statements.cpp for the client
// side, stmt_cache.h for the maps).
//
// Once the lent connection is in sync (backend_use.cpp), a COM_STMT_* goes out as:
//   PREPARE       the client's packet; the answer is swallowed and cached (finish_prepare)
//   EXECUTE       [COM_STMT_PREPARE first if this connection lacks the statement: kPreparing,
//   LONG_DATA      answer swallowed, counts checked] then the client's packet with the
//                  connection's statement id (and, for EXECUTE, parameter types added when
//                  the connection has not bound the ones the client relies on)
//   FETCH, RESET  the client's packet with the connection's statement id (the connection is
//                  held for the cursor or long data, so it has the statement)
#include "sluice/clock.h"
#include "sluice/log.h"
#include "sluice/protocol.h"
#include "sluice/runtime.h"
#include "sluice/session.h"
#include "sluice/topology.h"

namespace sluice {
namespace {
constexpr size_t kStmtIdInRaw = proto::kHeaderSize + 1;  // after the header and command byte
}

void Session::send_statement() {
  if (cmd_type_ == proto::kComStmtPrepare) {
    scan_.begin(ResponseScanner::Kind::kPrepare, conn_->capabilities(), caps_, false, conn_->ext_metadata(),
                conn_->cache_metadata());
    captured_params_.clear();
    captured_columns_.clear();
    scan_.capture_params(&captured_params_);
    scan_.capture_columns(&captured_columns_);
    worker_.stats.stmt_backend_prepares.add();
    if (!conn_->stream().write(cmd_raw_)) backend_lost("write failed");
    return;
  }
  ClientStmt* st = find_stmt(stmt_id_);
  BackendStatements::Stmt* bs = st ? conn_->statements.find(st->entry->id) : nullptr;
  if (bs == nullptr) {
    if (st != nullptr && (cmd_type_ == proto::kComStmtExecute || cmd_type_ == proto::kComStmtSendLongData)) {
      prepare_on_connection(*st->entry);
      return;
    }
    // A held statement vanished from its connection: cannot happen while holds are kept.
    fail_command(1243, "HY000", "Sluice: prepared statement " + std::to_string(stmt_id_) + " is not on its connection");
    return;
  }
  if (cmd_type_ == proto::kComStmtExecute) {
    send_execute(*st, *bs);
    return;
  }
  proto::put_stmt_id(cmd_raw_, kStmtIdInRaw, bs->backend_id);
  if (cmd_type_ == proto::kComStmtSendLongData) {
    if (!conn_->stream().write(cmd_raw_)) {
      backend_lost("write failed");
      return;
    }
    set_long_data(*st, true);
    finish_without_reply();
    return;
  }
  scan_.begin(kind_, conn_->capabilities(), caps_, true, conn_->ext_metadata(), conn_->cache_metadata());
  if (!conn_->stream().write(cmd_raw_)) backend_lost("write failed");
}

void Session::send_execute(ClientStmt& st, BackendStatements::Stmt& bs) {
  const PreparedStmt& e = *st.entry;
  auto ex = proto::parse_stmt_execute(cmd_payload_, e.params);  // checked at dispatch
  // A client sends parameter types once; a connection that has not bound the same ones
  // (first execution here, or another client's types since) gets them added.
  if (ex && e.params > 0 && !ex->new_types && !st.types.empty() && bs.bound_types != st.types) {
    std::string payload = proto::stmt_execute_add_types(cmd_payload_, *ex, st.types);
    proto::put_stmt_id(payload, 1, bs.backend_id);
    cmd_raw_.clear();
    proto::append_packet(cmd_raw_, 0, payload);
  } else {
    proto::put_stmt_id(cmd_raw_, kStmtIdInRaw, bs.backend_id);
  }
  if (e.params > 0 && !st.types.empty()) bs.bound_types = st.types;
  scan_.begin(ResponseScanner::Kind::kExecute, conn_->capabilities(), caps_, true, conn_->ext_metadata(),
              conn_->cache_metadata());
  captured_columns_.clear();
  scan_.capture_columns(&captured_columns_);
  inject_columns_ = bs.columns;
  scan_.inject_columns(inject_columns_.get());
  if (!(caps_ & proto::kMultiResults) && cls_.has(kCall)) scan_.reject_result_sets();
  if (!conn_->stream().write(cmd_raw_)) backend_lost("write failed");
}

void Session::prepare_on_connection(const PreparedStmt& e) {
  state_ = State::kPreparing;
  std::string payload(1, static_cast<char>(proto::kComStmtPrepare));
  payload += e.sql;
  std::string raw;
  proto::append_packet(raw, 0, payload);
  scan_.begin(ResponseScanner::Kind::kPrepare, conn_->capabilities(), caps_, false, conn_->ext_metadata(),
              conn_->cache_metadata());
  captured_columns_.clear();
  scan_.capture_columns(&captured_columns_);
  worker_.stats.stmt_backend_prepares.add();
  if (!conn_->stream().write(raw)) backend_lost("write failed");
}

// The swallowed answer of prepare_on_connection is complete.
void Session::on_connection_prepared() {
  ClientStmt* st = find_stmt(stmt_id_);
  const PreparedStmt& e = *st->entry;
  state_ = State::kRelaying;
  if (scan_.error()) {
    if (pins_ == 0 && !in_txn_) release_backend();
    fail_command(scan_.error_code(), scan_.error_state(), scan_.error_message());
    return;
  }
  if (scan_.prepared_params() != e.params || scan_.prepared_columns() != e.columns) {
    // The server's answer changed (DDL since): no later prepare may be answered from the
    // cache, and this client must prepare again.
    conn_->stream().write(proto::stmt_close_packet(scan_.prepared_id()));
    worker_.runtime().stmt_cache.forget(identity_no_schema_, e);
    std::string msg = "Prepared statement needs to be re-prepared (Sluice: " + server_->name + " now reports " +
                      std::to_string(scan_.prepared_params()) + " parameters and " +
                      std::to_string(scan_.prepared_columns()) + " columns, it was prepared with " +
                      std::to_string(e.params) + " and " + std::to_string(e.columns) + ")";
    if (pins_ == 0 && !in_txn_) release_backend();
    fail_command(1615, "HY000", msg);
    return;
  }
  register_on_connection(e, scan_.prepared_id(), e.share_columns(std::move(captured_columns_)));
  captured_columns_.clear();
  conn_->stream().want_read(true);  // relay_backend may have paused it for a slow client
  send_statement();
}

void Session::register_on_connection(const PreparedStmt& e, uint32_t backend_id,
                                     std::shared_ptr<const ColumnDefs> cols) {
  BackendStatements::Stmt bs;
  bs.backend_id = backend_id;
  bs.columns = std::move(cols);
  size_t bound = conn_->server().max_prepared_statements.load(std::memory_order_relaxed);
  for (uint32_t old : conn_->statements.add(e.id, std::move(bs), bound)) {
    conn_->stream().write(proto::stmt_close_packet(old));
    worker_.stats.stmt_lru_closes.add();
  }
}

// COM_STMT_SEND_LONG_DATA is done once written (or has failed): no reply to wait for.
void Session::finish_without_reply() {
  info_->running_on.store(nullptr, std::memory_order_relaxed);
  info_->note_idle(schema_, now_ns());
  forced_server_ = nullptr;
  if (conn_ != nullptr && pins_ == 0 && !in_txn_) release_backend();
  trim_buffers();
  state_ = State::kReady;
  idle_since_ms_ = now_ms();
  process_input();
}

}  // namespace sluice
