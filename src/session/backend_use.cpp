// How a session gets, prepares, uses and gives back a backend connection:
// checkout (pool, connect, wait) -> sync (options, variables/autocommit, schema) ->
// relay (command out, response streamed back) -> release or keep.
#include <mysql.h>

#include "sluice/clock.h"
#include "sluice/log.h"
#include "sluice/protocol.h"
#include "sluice/route.h"
#include "sluice/runtime.h"
#include "sluice/session.h"
#include "sluice/topology.h"

namespace sluice {
namespace {

constexpr size_t kMaxAttempts = 3;

bool connection_level_error(unsigned err) {
  // Client-side connect/IO errors and "server is out of connections": another server may work.
  return (err >= 2000 && err < 2100) || err == 1040 || err == 1129 || err == 1152 || err == 1158 || err == 1159 ||
         err == 1160 || err == 1161;
}

}  // namespace

void Session::checkout() {
  Runtime& rt = worker_.runtime();
  Topology& topo = rt.topology();
  int64_t now = now_ms();
  Server* s = forced_server_ != nullptr ? forced_server_ : pick_server(*target_, now, tried_);
  if (s == nullptr && target_ == &topo.reader()) {
    if (!rt.config().routing.reads_fallback_to_writer) {
      fail_command(9001, "HY000", "Sluice: no usable server in reader hostgroup " + std::to_string(target_->id));
      return;
    }
    target_ = &topo.writer();  // no usable replica: reads go to the writer
    s = pick_server(*target_, now, tried_);
  }
  if (s == nullptr) s = any_server(*target_, tried_);  // all marked down: try one anyway
  if (s == nullptr) {
    fail_command(9001, "HY000", "Sluice: no usable server in hostgroup " + std::to_string(target_->id));
    return;
  }
  server_ = s;
  state_ = State::kCheckout;
  uint64_t token = worker_.new_token();
  const std::string& identity = schema_.empty() ? identity_no_schema_ : identity_schema_;
  auto a = s->pool.acquire(worker_.id(), identity, token, now_ns());
  switch (a.kind) {
    case Pool::Acquired::kIdle:
      got_connection(static_cast<BackendConn*>(a.conn));
      return;
    case Pool::Acquired::kConnect:
      open_connection(*s);
      return;
    case Pool::Acquired::kQueued:
      waiter_token_ = token;
      worker_.add_waiter(token, this);
      start_checkout_timer();
      if (a.kick_worker >= 0) worker_.kick(*s, a.kick_worker);
      return;
  }
}

void Session::on_grant(Server& server, BackendConn* conn) {
  waiter_token_ = 0;
  stop_checkout_timer();
  if (conn != nullptr) got_connection(conn);
  else open_connection(server);
}

void Session::open_connection(Server& server) {
  auto* c = new BackendConn(server, backend_id_);
  conn_ = c;
  c->connect(worker_, server.cfg.pool.connect_timeout_ms, [this, c, &server](bool ok, unsigned err, const std::string& msg) {
    server.pool.connect_result(ok);
    if (ok) {
      got_connection(c);
      return;
    }
    conn_ = nullptr;
    c->close();
    worker_.release_slot(server, CloseReason::kCount);
    connect_failed(server, err, msg);
  });
}

void Session::connect_failed(Server& server, unsigned err, const std::string& msg) {
  LOG_WARN("session %u: cannot connect to %s: %u %s", conn_id_, server.name.c_str(), err, msg.c_str());
  if (connection_level_error(err)) {
    server.mark_down(now_ms(), worker_.runtime().config().monitor.down_retry_ms);
    tried_.push_back(&server);
    if (tried_.size() < kMaxAttempts) {
      checkout();
      return;
    }
  }
  std::string text = err == 1045 ? msg : "Sluice: cannot connect to backend " + server.name + ": " + msg;
  fail_command(static_cast<uint16_t>(err), err == 1045 ? "28000" : "HY000", text);
}

void Session::start_checkout_timer() {
  if (checkout_timer_ == nullptr) {
    checkout_timer_ = new uv_timer_t;
    uv_timer_init(worker_.loop(), checkout_timer_);
    checkout_timer_->data = this;
  }
  uv_timer_start(checkout_timer_, [](uv_timer_t* t) { static_cast<Session*>(t->data)->checkout_timed_out(); },
                 server_->cfg.pool.checkout_timeout_ms, 0);
}

void Session::stop_checkout_timer() {
  if (checkout_timer_ != nullptr) uv_timer_stop(checkout_timer_);
}

void Session::checkout_timed_out() {
  if (waiter_token_ == 0 || !server_->pool.cancel(waiter_token_, true)) return;  // a grant is on its way
  worker_.remove_waiter(waiter_token_);
  waiter_token_ = 0;
  PoolStats st = server_->pool.stats();
  fail_command(9001, "HY000",
               "Sluice: timed out after " + std::to_string(server_->cfg.pool.checkout_timeout_ms) +
                   " ms waiting for a connection to hostgroup " + std::to_string(server_->cfg.hostgroup) +
                   ", server " + server_->name + " (pool full " + std::to_string(st.open) + "/" +
                   std::to_string(st.max_open) + ", " + std::to_string(st.waiting + 1) + " waiting)");
}

void Session::got_connection(BackendConn* conn) {
  conn_ = conn;
  server_ = &conn->server();
  conn->lend(this);
  sync_next();
}

// Replays what the client's session expects and the borrowed connection lacks, one
// command at a time (a failed step must not let the statement run in the wrong state).
void Session::sync_next() {
  state_ = State::kSyncing;
  std::string payload;
  if (conn_->multi_statements != multi_statements_) {
    payload.push_back(static_cast<char>(proto::kComSetOption));
    proto::put_int2(payload, multi_statements_ ? 0 : 1);
  } else if (conn_->autocommit != autocommit_ || !(conn_->vars == vars_) || needs_last_insert_id()) {
    // One statement replays every variable, autocommit and (when asked for) LAST_INSERT_ID.
    std::string sql = "SET " + vars_.diff_from(conn_->vars);
    auto add = [&sql](const std::string& a) {
      if (sql.size() > 4) sql += ", ";
      sql += a;
    };
    if (conn_->autocommit != autocommit_) add(autocommit_ ? "autocommit=1" : "autocommit=0");
    if (needs_last_insert_id()) add("last_insert_id=" + std::to_string(last_insert_id_));
    payload.push_back(static_cast<char>(proto::kComQuery));
    payload += sql;
  } else if (const std::string& want = sync_schema(); !want.empty() && conn_->schema != want) {
    payload.push_back(static_cast<char>(proto::kComInitDb));
    payload += want;
  } else if (fresh_diagnostics_) {
    payload.push_back(static_cast<char>(proto::kComQuery));
    // MariaDB empties the warning list only for a statement that uses a table.
    payload += "DO (SELECT 1 FROM information_schema.CHARACTER_SETS LIMIT 0)";
  } else {
    send_command();
    return;
  }
  scan_.begin(ResponseScanner::Kind::kSingle, conn_->capabilities(), caps_, false, conn_->ext_metadata(),
              conn_->cache_metadata());
  std::string raw;
  proto::append_packet(raw, 0, payload);
  if (!conn_->stream().write(raw)) backend_lost("write failed");
}

bool Session::needs_last_insert_id() const {
  return cls_.has(kLastInsertId) && conn_->last_insert_id != last_insert_id_;
}

void Session::send_command() {
  state_ = State::kRelaying;
  info_->running_thread.store(conn_->thread_id(), std::memory_order_relaxed);
  info_->running_on.store(server_, std::memory_order_relaxed);
  if (proto::is_stmt_command(cmd_type_) && !login_pending_) {
    send_statement();  // stmt_backend.cpp
    return;
  }
  scan_.begin(kind_, conn_->capabilities(), caps_, !login_pending_, conn_->ext_metadata(), conn_->cache_metadata());
  if (!(caps_ & proto::kMultiResults) && cls_.has(kCall)) scan_.reject_result_sets();
  if (!conn_->stream().write(cmd_raw_)) backend_lost("write failed");
}

void Session::on_backend_readable() {
  char* buf = worker_.scratch();
  ssize_t n = conn_->stream().read(buf, Worker::kScratchSize);
  if (n == -2) return;
  if (n <= 0) {
    backend_lost(n == 0 ? "closed by server" : "read error");
    return;
  }
  relay_backend(std::string_view(buf, static_cast<size_t>(n)));
}

void Session::on_backend_drained() {}

void Session::on_backend_error(int) { backend_lost("socket error"); }

void Session::relay_backend(std::string_view data) {
  if (state_ != State::kSyncing && state_ != State::kPreparing && state_ != State::kRelaying) {
    drop_backend(CloseReason::kError);  // bytes nobody asked for: the connection is unusable
    return;
  }
  out_.clear();
  size_t used = scan_.feed(data, out_);
  if (!out_.empty() && !write_client(out_)) {
    close("client write error");
    return;
  }
  if (client_.has_pending()) conn_->stream().want_read(false);  // resume in on_drained
  if (scan_.protocol_error() || (used < data.size())) {
    LOG_ERROR("session %u: unexpected bytes from %s; dropping the connection", conn_id_, server_->name.c_str());
    drop_backend(CloseReason::kError);
    forget_connection_statements();
    pins_ = 0;
    in_txn_ = false;
    fail_command(2027, "HY000", "Sluice: malformed packet from backend " + server_->name);
    return;
  }
  if (!scan_.done()) return;
  if (state_ == State::kSyncing) {
    if (scan_.error()) {
      if (pins_ == 0 && !in_txn_) release_backend();
      fail_command(scan_.error_code(), scan_.error_state(), scan_.error_message());
      return;
    }
    // Record what the step changed, then go on.
    if (conn_->multi_statements != multi_statements_) conn_->multi_statements = multi_statements_;
    else if (conn_->autocommit != autocommit_ || !(conn_->vars == vars_) || needs_last_insert_id()) {
      conn_->vars = vars_;
      conn_->autocommit = autocommit_;
      if (cls_.has(kLastInsertId)) conn_->last_insert_id = last_insert_id_;
    } else if (const std::string& want = sync_schema(); !want.empty() && conn_->schema != want) {
      conn_->schema = want;
    } else {
      fresh_diagnostics_ = false;
    }
    sync_next();
    return;
  }
  if (state_ == State::kPreparing) {
    on_connection_prepared();  // stmt_backend.cpp
    return;
  }
  if (scan_.infile_requested()) {
    if (scan_.infile_refused()) {
      // An empty file loads nothing; the server's reply is swallowed and the client gets
      // the error MariaDB gives a client without local-infile support.
      std::string empty;
      proto::append_packet(empty, scan_.next_seq(), {});
      conn_->stream().write(empty);
      scan_.resume_after_infile();
      return;
    }
    state_ = State::kInfile;
    process_input();
    return;
  }
  finish_command();
}

void Session::backend_lost(const char* what) {
  Server* s = server_;
  LOG_WARN("session %u: backend %s %s", conn_id_, s ? s->name.c_str() : "?", what);
  if (state_ != State::kSyncing && state_ != State::kPreparing && state_ != State::kRelaying &&
      state_ != State::kInfile) {
    // The held connection (transaction or pinned state) died between statements: the
    // client is not waiting for a reply, so it hears about it on its next statement.
    drop_backend(CloseReason::kServerDown);
    // Cursors and long data are reported by their own commands, not as lost session state.
    if ((pins_ & ~(kNextStatementPins | kPinCursor | kPinLongData)) != 0 || in_txn_) lost_state_ = true;
    forget_connection_statements();
    pins_ = 0;
    in_txn_ = false;
    return;
  }
  bool nothing_sent = state_ == State::kSyncing || state_ == State::kPreparing ||
                      (state_ == State::kRelaying && !scan_.forwarded_any());
  bool safe = nothing_sent && pins_ == 0 && !in_txn_ &&
              (state_ == State::kSyncing || state_ == State::kPreparing || cls_.route == Route::Read);
  drop_backend(CloseReason::kServerDown);
  if (s != nullptr) s->mark_down(now_ms(), worker_.runtime().config().monitor.down_retry_ms);
  if (safe && s != nullptr) {
    tried_.push_back(s);
    if (tried_.size() < kMaxAttempts) {
      checkout();
      return;
    }
  }
  forget_connection_statements();
  pins_ = 0;
  in_txn_ = false;
  fail_command(2013, "HY000",
               std::string("Lost connection to backend server ") + (s ? s->name : "?") + " during query");
}

void Session::release_backend() {
  BackendConn* c = conn_;
  conn_ = nullptr;
  worker_.checkin(c);
}

void Session::drop_backend(CloseReason why) {
  BackendConn* c = conn_;
  if (c == nullptr) return;
  conn_ = nullptr;
  worker_.discard(c, why);
}

}  // namespace sluice
