// How a session gets, prepares, uses and gives back a backend connection:
// checkout (pool, connect, wait) -> sync (options, variables/autocommit, schema) ->
// relay (command out, response streamed back) -> release or keep.
#include <mysql.h>

#include "sluice/clock.h"
#include "sluice/log.h"
#include "sluice/monitor.h"
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

// A replica worth a MASTER_GTID_WAIT: the monitor saw it at most a second behind (one that
// is stopped (NULL) or delayed would only make the read wait before going to the writer).
bool lag_allows_wait(const Server& s) {
  int64_t lag = s.replication_lag_ms.load(std::memory_order_relaxed);
  return lag >= 0 && lag <= 1000;
}

}  // namespace

void Session::checkout() {
  gtid_wait_ = false;
  const RoutingTable& table = worker_.table();
  int64_t now = now_ms();
  auto group = [&table](uint32_t id) {
    static const Hostgroup kEmpty;
    const Hostgroup* g = table.find(id);
    return g != nullptr ? g : &kEmpty;
  };
  const Hostgroup* hg = group(target_hg_);
  auto to_writer = [&] {
    target_hg_ = writer_hg();
    hg = group(target_hg_);
    return pick_server(*hg, now, tried_);
  };
  Server* s = forced_server_;
  const bool replica_read = s == nullptr && route_read_ && target_hg_ != writer_hg();
  if (replica_read) {
    const uint64_t* floor = read_your_writes_floor();
    s = pick_server(*hg, now, tried_, floor);
    Server* candidate = s == nullptr && floor != nullptr ? pick_server(*hg, now, tried_) : nullptr;
    if (candidate != nullptr) {
      // Replicas are up but the monitor has not seen one apply this session's last write:
      // a replica that is not lagging may wait for it briefly, else the writer reads.
      if (table.config->routing.read_your_writes_wait_ms != 0 && lag_allows_wait(*candidate)) {
        s = candidate;
        gtid_wait_ = true;
      } else {
        worker_.stats.consistency_reads_on_writer.add();
        s = to_writer();
      }
    } else if (s == nullptr) {  // no usable replica: reads go to the writer, if allowed
      if (!table.config->routing.reads_fallback_to_writer && !login_pending_) {
        fail_command(9001, "HY000", "Sluice: no usable server in reader hostgroup " + std::to_string(target_hg_));
        return;
      }
      s = to_writer();
    }
  } else if (s == nullptr) {
    s = pick_server(*hg, now, tried_);
  }
  if (s == nullptr) s = any_server(*hg, tried_);  // all marked down: try one anyway
  if (s == nullptr && target_hg_ == writer_hg() && wait_for_writer()) return;
  if (s == nullptr) {
    fail_command(9001, "HY000", "Sluice: no usable server in hostgroup " + std::to_string(target_hg_));
    return;
  }
  server_ = s;
  state_ = State::kCheckout;
  uint64_t token = worker_.new_token();
  const std::string& identity = schema_.empty() ? identity_no_schema_ : identity_schema_;
  auto a = s->pool.acquire(worker_.id(), identity, token, now_ns(), now);
  for (PooledConn* old : a.expired) static_cast<BackendConn*>(old)->close();
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

// No writer (a failover in progress): polls for the monitor to place one, for up to
// routing.writer_wait_ms. True if the command now waits.
bool Session::wait_for_writer() {
  int64_t now = now_ms();
  if (writer_wait_until_ == 0) writer_wait_until_ = now + worker_.table().config->routing.writer_wait_ms;
  if (now >= writer_wait_until_) {
    writer_wait_until_ = 0;
    return false;
  }
  state_ = State::kCheckout;
  if (checkout_timer_ == nullptr) {
    checkout_timer_ = new uv_timer_t;
    uv_timer_init(worker_.loop(), checkout_timer_);
    checkout_timer_->data = this;
  }
  constexpr uint64_t kPollMs = 50;
  uv_timer_start(checkout_timer_, [](uv_timer_t* t) { static_cast<Session*>(t->data)->checkout(); }, kPollMs, 0);
  return true;
}

// The GTID a write left (session tracking of last_gtid): remembered for this session's
// later reads, and for everyone's in "global" mode.
void Session::note_write_gtid(std::string_view gtid) {
  ReadYourWrites mode = worker_.table().read_your_writes;
  if (mode == ReadYourWrites::kOff) return;
  for (const Gtid& g : parse_gtid_list(gtid)) {
    if (g.domain >= kGtidDomains) {
      unknown_gtid_until_ms_ = now_ms() + 10000;  // cannot track it: reads go to the writer for a while
      continue;
    }
    written_seq_[g.domain] = std::max(written_seq_[g.domain], g.seq);
    written_server_[g.domain] = g.server_id;
    wrote_seq_ = true;
    if (mode == ReadYourWrites::kGlobal) {
      auto& global = worker_.runtime().global_written_seq[g.domain];
      uint64_t cur = global.load(std::memory_order_relaxed);
      while (cur < g.seq && !global.compare_exchange_weak(cur, g.seq, std::memory_order_relaxed)) {
      }
    }
  }
}

// What a replica must have applied to serve this session's reads; nullptr = anything.
const uint64_t* Session::read_your_writes_floor() {
  ReadYourWrites mode = worker_.table().read_your_writes;
  if (mode == ReadYourWrites::kOff) return nullptr;
  static const uint64_t kImpossible[kGtidDomains] = {~0ull, ~0ull, ~0ull, ~0ull, ~0ull, ~0ull, ~0ull, ~0ull};
  if (unknown_gtid_until_ms_ != 0) {
    if (now_ms() < unknown_gtid_until_ms_) return kImpossible;
    unknown_gtid_until_ms_ = 0;
  }
  if (mode == ReadYourWrites::kGlobal) {
    thread_local uint64_t floor[kGtidDomains];
    bool any = false;
    for (uint32_t d = 0; d < kGtidDomains; ++d) {
      floor[d] = worker_.runtime().global_written_seq[d].load(std::memory_order_relaxed);
      any = any || floor[d] != 0;
    }
    return any ? floor : nullptr;
  }
  return wrote_seq_ ? written_seq_ : nullptr;
}

// A write refused because the server is read-only: a promotion is under way and the
// topology is stale. If nothing reached the client and the statement can move (autocommit,
// no session state on the connection), the server leaves the writer hostgroup and the
// write waits for the new writer (routing.writer_wait_ms). True if it was retried.
bool Session::retry_read_only_write() {
  if (scan_.error_code() != 1290 || route_read_ || in_txn_ || pins_ != 0 || !autocommit_ || login_pending_ ||
      forced_server_ != nullptr || (cmd_type_ != proto::kComQuery && cmd_type_ != proto::kComStmtExecute) ||
      target_hg_ != writer_hg())
    return false;
  const std::string& msg = scan_.error_message();
  if (msg.find("read-only") == std::string::npos && msg.find("read_only") == std::string::npos) return false;
  Server* s = server_;
  Topology& topo = worker_.runtime().topology();
  topo.on_read_only(s, 1);
  const Hostgroup* hg = topo.table()->find(writer_hg());
  if (hg != nullptr && std::find(hg->servers.begin(), hg->servers.end(), s) != hg->servers.end()) {
    return false;  // not in a replication hostgroup pair: Sluice cannot move it
  }
  LOG_WARN("session %u: %s refused a write as read-only; waiting for the new writer", conn_id_, s->name.c_str());
  worker_.stats.writes_retried_read_only.add();
  if (worker_.runtime().kick_monitor) worker_.runtime().kick_monitor();
  release_backend();
  tried_.clear();
  target_hg_ = writer_hg();
  checkout();
  return true;
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
  c->connect(worker_, server.connect_timeout_ms.load(std::memory_order_relaxed), [this, c, &server](bool ok, unsigned err, const std::string& msg) {
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
    server.mark_down(now_ms(), worker_.table().config->monitor.down_retry_ms);
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
                 server_->checkout_timeout_ms.load(std::memory_order_relaxed), 0);
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
               "Sluice: timed out after " + std::to_string(server_->checkout_timeout_ms.load(std::memory_order_relaxed)) +
                   " ms waiting for a connection to hostgroup " + std::to_string(target_hg_) +
                   ", server " + server_->name + " (pool full " + std::to_string(st.open) + "/" +
                   std::to_string(st.max_open) + ", " + std::to_string(st.waiting + 1) + " waiting)");
}

void Session::got_connection(BackendConn* conn) {
  writer_wait_until_ = 0;
  conn_ = conn;
  server_ = &conn->server();
  conn->lend(this);
  sync_next();
}

// Replays what the client's session expects and the borrowed connection lacks, one
// command at a time (a failed step must not let the statement run in the wrong state).
void Session::sync_next() {
  state_ = State::kSyncing;
  // A held connection may still be paused for a client that was slow to take the last
  // response (relay_backend); every command Sluice sends needs its answer read.
  conn_->stream().want_read(true);
  std::string payload;
  if (gtid_wait_) {
    // Errs (1644) unless the replica applies the session's writes within the wait.
    const uint64_t* floor = read_your_writes_floor();
    std::string pos;
    for (uint32_t d = 0; floor != nullptr && d < kGtidDomains; ++d) {
      if (floor[d] == 0) continue;
      if (!pos.empty()) pos += ",";
      pos += std::to_string(d) + "-" + std::to_string(written_server_[d]) + "-" + std::to_string(floor[d]);
    }
    uint32_t wait_ms = worker_.table().config->routing.read_your_writes_wait_ms;
    payload.push_back(static_cast<char>(proto::kComQuery));
    payload += "IF MASTER_GTID_WAIT('" + pos + "', " + std::to_string(wait_ms / 1000) + "." +
               std::to_string(1000 + wait_ms % 1000).substr(1) +
               ") <> 0 THEN SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'sluice: replica behind'; END IF";
  } else if (conn_->multi_statements != multi_statements_) {
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
  bool forwarded_before = scan_.forwarded_any();
  size_t used = scan_.feed(data, out_);
  if (state_ == State::kRelaying && scan_.done() && scan_.error() && !forwarded_before && used == data.size() &&
      !scan_.protocol_error() && retry_read_only_write()) {
    return;
  }
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
    if (gtid_wait_) {
      gtid_wait_ = false;
      if (scan_.error()) {
        // The replica did not catch up in time: the writer answers this read.
        worker_.stats.consistency_reads_on_writer.add();
        release_backend();
        target_hg_ = writer_hg();
        checkout();
        return;
      }
      sync_next();
      return;
    }
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
  if (s != nullptr) s->mark_down(now_ms(), worker_.table().config->monitor.down_retry_ms);
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

void Session::abort_on_server(Server* s) {
  if (conn_ == nullptr || &conn_->server() != s) return;
  if (state_ != State::kSyncing && state_ != State::kRelaying) return;
  backend_lost("shunned by the monitor (checks failing)");
}

void Session::release_soft_hold(const std::vector<Server*>& wanted, int64_t now, uint32_t min_idle_ms) {
  if (state_ != State::kReady || conn_ == nullptr || in_txn_ || pins_ == 0) return;
  if ((pins_ & ~kNextStatementPins) != 0 || (pins_ & kPinFoundRows) != 0) return;  // FOUND_ROWS: never
  if (std::find(wanted.begin(), wanted.end(), &conn_->server()) == wanted.end()) return;
  // LAST_INSERT_ID() is replayed on any connection; warnings are lost, so a client that
  // asks for them right away (within min_idle_ms) still gets them.
  if ((pins_ & kPinWarnings) != 0 && now - idle_since_ms_ < min_idle_ms) return;
  pins_ = 0;
  kept_for_info_ = false;
  release_backend();
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
