// Prepared statements (COM_STMT_*), first form: a session that prepares a statement is
// pinned to its writer connection, so statement ids are the backend's own and every
// COM_STMT_* goes to that connection. The column definitions of each statement are kept
// so that an execution whose metadata MariaDB skips (cache-metadata capability) still
// gives the client the definitions it expects. Closing the last statement unpins.
// (Sharing statements across pooled connections is the next step: DESIGN.md.)
#include <string>

#include "sluice/clock.h"
#include "sluice/protocol.h"
#include "sluice/runtime.h"
#include "sluice/session.h"
#include "sluice/topology.h"

namespace sluice {

// Returns true if the command was a COM_STMT_* and has been handled or started.
bool Session::dispatch_statement() {
  uint8_t type = cmd_type_;
  if (type != proto::kComStmtPrepare && type != proto::kComStmtExecute && type != proto::kComStmtFetch &&
      type != proto::kComStmtReset && type != proto::kComStmtClose && type != proto::kComStmtSendLongData)
    return false;
  if (type == proto::kComStmtPrepare) {
    cls_ = Classification{Route::Write, 0};
    release_unneeded_hold();
    add_pin(kPinStatements);
    tried_.clear();
    cmd_start_ns_ = now_ns();
    route_read_ = false;
    prepared_columns_.clear();
    run_on_backend(writer_hg(), ResponseScanner::Kind::kPrepare);
    return true;
  }
  proto::Reader r(std::string_view(cmd_payload_).substr(1));
  uint32_t id = r.int4();
  auto it = statements_.find(id);
  bool known = r.ok && it != statements_.end() && conn_ != nullptr;
  if (type == proto::kComStmtClose || type == proto::kComStmtSendLongData) {
    // No reply, whatever happens: the statement's connection gets the command as it is.
    if (known) conn_->stream().write(cmd_raw_);
    if (known && type == proto::kComStmtClose) {
      statements_.erase(it);
      if (statements_.empty()) pins_ &= ~kPinStatements;
      if (pins_ == 0 && !in_txn_) release_backend();
    }
    return true;
  }
  if (!known) {
    send_error(1, 1243, "HY000",
               "Unknown prepared statement handler (" + std::to_string(id) + ") given to " +
                   (type == proto::kComStmtExecute ? "mysqld_stmt_execute"
                    : type == proto::kComStmtFetch ? "mysqld_stmt_fetch"
                                                   : "mysqld_stmt_reset"));
    return true;
  }
  cls_ = Classification{Route::Write, 0};
  tried_.clear();
  cmd_start_ns_ = now_ns();
  route_read_ = false;
  executing_ = &it->second;
  executing_id_ = id;
  prepared_columns_.clear();
  auto kind = type == proto::kComStmtExecute ? ResponseScanner::Kind::kExecute
              : type == proto::kComStmtFetch ? ResponseScanner::Kind::kFetch
                                             : ResponseScanner::Kind::kSingle;
  run_on_backend(writer_hg(), kind);
  return true;
}

// After a COM_STMT_PREPARE reply: remember the statement and its column definitions.
void Session::finish_statement() {
  if (cmd_type_ == proto::kComStmtPrepare && !scan_.error()) {
    statements_[scan_.prepared_id()] = std::move(prepared_columns_);
  } else if (cmd_type_ == proto::kComStmtExecute && !prepared_columns_.empty()) {
    // The server skips the next execution's metadata if it equals these (not the
    // prepare-time ones: parameter types decide some column types).
    if (auto it = statements_.find(executing_id_); it != statements_.end()) it->second = std::move(prepared_columns_);
  }
  prepared_columns_.clear();
  if (statements_.empty()) pins_ &= ~kPinStatements;
  executing_ = nullptr;
}

}  // namespace sluice
