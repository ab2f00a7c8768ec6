// Client handshake and authentication: Handshake v10, mysql_native_password,
// caching_sha2_password (fast path), and auth switch between them.
#include "sluice/auth.h"
#include "sluice/clock.h"
#include "sluice/log.h"
#include "sluice/protocol.h"
#include "sluice/runtime.h"
#include "sluice/session.h"
#include "sluice/topology.h"

namespace sluice {
namespace {

// What Sluice offers. Not offered until implemented: SSL, COMPRESS.
// Backends never use DEPRECATE_EOF (libmysqlclient lacks it); the response scanner
// translates for clients that negotiate it.
constexpr uint32_t kServerCaps =
    proto::kLongPassword | proto::kFoundRows | proto::kLongFlag | proto::kConnectWithDb | proto::kNoSchema |
    proto::kOdbc | proto::kLocalFiles | proto::kIgnoreSpace | proto::kProtocol41 | proto::kInteractive | proto::kIgnoreSigpipe |
    proto::kTransactions | proto::kSecureConnection | proto::kMultiStatements | proto::kMultiResults |
    proto::kPsMultiResults | proto::kPluginAuth | proto::kConnectAttrs | proto::kPluginAuthLenencData |
    proto::kSessionTrack | proto::kDeprecateEof;

}  // namespace

void Session::send_greeting() {
  salt_ = auth::random_salt();
  proto::HandshakeV10 h;
  h.server_version = worker_.table().config->frontend.server_version;
  h.connection_id = conn_id_;
  h.salt = salt_;
  h.capabilities = kServerCaps;
  h.auth_plugin = worker_.table().config->frontend.default_auth;
  send_packet(0, proto::handshake_payload(h));
  state_ = State::kGreeting;
}

void Session::on_handshake_response(std::string_view payload, uint8_t seq) {
  auto resp = proto::parse_handshake_response(payload);
  uint8_t next = static_cast<uint8_t>(seq + 1);
  if (!resp) {
    worker_.stats.client_connections[static_cast<size_t>(ClientResult::kError)].add();
    send_error(next, 1043, "08S01", "Bad handshake");
    close("bad handshake");
    return;
  }
  caps_ = resp->capabilities & kServerCaps;
  charset_ = resp->charset != 0 ? resp->charset : 45;
  vars_.set_charset(charset_);
  multi_statements_ = (caps_ & proto::kMultiStatements) != 0;
  sent_password_ = !resp->auth_response.empty();
  user_ = worker_.table().find_user(resp->user);
  if (user_ != nullptr && !user_->cfg.active) user_ = nullptr;
  backend_id_.user = resp->user;  // kept for the error message until auth succeeds
  if (user_ == nullptr) {
    deny_access(next);
    return;
  }
  schema_ = !resp->database.empty() ? resp->database : user_->cfg.default_schema;
  authenticate(resp->auth_plugin, resp->auth_response, next);
}

// Checks the client's scramble (auth::check_response); what it cannot check gets an auth
// switch to mysql_native_password with a fresh salt.
void Session::authenticate(std::string_view plugin, std::string_view response, uint8_t seq) {
  switch (auth::check_response(user_->creds, salt_, plugin, response)) {
    case auth::Verdict::kOk: auth_done(true, seq, false); return;
    case auth::Verdict::kOkSha2Fast: auth_done(true, seq, true); return;
    case auth::Verdict::kDenied: auth_done(false, seq, false); return;
    case auth::Verdict::kSwitch: send_auth_switch(seq); return;
  }
}

// Asks the client for a mysql_native_password scramble of a fresh salt.
void Session::send_auth_switch(uint8_t seq) {
  salt_ = auth::random_salt();
  send_packet(seq, auth::auth_switch_payload(salt_));
  state_ = State::kAuthSwitch;
}

void Session::on_auth_switch_response(std::string_view payload, uint8_t seq) {
  LOG_DEBUG("session %u: auth switch response of %zu bytes, seq %u", conn_id_, payload.size(), seq);
  sent_password_ = !payload.empty();
  auth_done(auth::verify_native(user_->creds, salt_, payload), static_cast<uint8_t>(seq + 1), false);
}

void Session::deny_access(uint8_t seq) {
  std::string msg = "Access denied for user '" + backend_id_.user + "'@'" + peer_ + "' (using password: " + (sent_password_ ? "YES" : "NO") + ")";
  worker_.stats.client_connections[static_cast<size_t>(ClientResult::kDenied)].add();
  send_error(seq, 1045, "28000", msg);
  LOG_INFO("session %u: %s", conn_id_, msg.c_str());
  close("access denied");
}

void Session::auth_done(bool ok, uint8_t seq, bool sha2_fast) {
  if (!ok) {
    deny_access(seq);
    return;
  }
  uint32_t cap = user_->cfg.max_connections;
  uint32_t now = user_->connections->fetch_add(1, std::memory_order_relaxed) + 1;
  counted_user_ = true;
  if (cap != 0 && now > cap) {
    worker_.stats.client_connections[static_cast<size_t>(ClientResult::kDenied)].add();
    send_error(seq, 1203, "42000",
               "User " + user_->cfg.username + " already has more than 'max_user_connections' active connections");
    close("max_user_connections reached");
    return;
  }
  worker_.stats.client_connections[static_cast<size_t>(ClientResult::kOk)].add();
  if (sha2_fast) {
    // caching_sha2_password: "fast auth succeeded", then the OK.
    send_packet(seq++, std::string_view("\x01\x03", 2));
  }
  // The per-username counter outlives table swaps: it identifies the user for KILL.
  info_->user.store(user_->connections.get(), std::memory_order_relaxed);
  info_->note_login(user_->cfg.username, schema_, now_ns());
  backend_id_.user = user_->cfg.backend_username;
  backend_id_.password = user_->cfg.backend_password;
  backend_id_.found_rows = (caps_ & proto::kFoundRows) != 0;
  identity_schema_ = BackendConn::identity_for(backend_id_.key(), true);
  identity_no_schema_ = BackendConn::identity_for(backend_id_.key(), false);
  if (!schema_.empty()) {
    check_login_schema(seq);
    return;
  }
  send_ok(seq);
  state_ = State::kReady;
}

// COM_RESET_CONNECTION and COM_CHANGE_USER: the client starts over as a fresh session. A
// held connection carries state of the old session, so it is closed rather than pooled.
void Session::reset_session() {
  if (conn_ != nullptr) {
    if ((pins_ & ~kNextStatementPins) != 0 || in_txn_) drop_backend(CloseReason::kEvicted);
    else release_backend();
  }
  pins_ = 0;
  stmts_.clear();  // a fresh session has no prepared statements
  next_stmt_id_ = 1;
  open_cursors_ = 0;
  long_data_stmts_ = 0;
  get_locks_ = 0;
  last_insert_id_ = 0;
  in_txn_ = false;
  autocommit_ = true;
  lost_state_ = false;
  vars_ = SessionVars();
  vars_.set_charset(charset_);
}

// COM_CHANGE_USER: user, scramble, schema, charset, plugin. Sluice always answers with an
// auth switch to mysql_native_password with a fresh salt, then goes on as after a login.
void Session::on_change_user(std::string_view payload) {
  proto::Reader r(payload);
  std::string user(r.null_str());
  std::string response(caps_ & proto::kSecureConnection ? r.bytes(r.int1()) : r.null_str());
  std::string db(r.null_str());
  if (r.remaining() >= 2) {
    uint16_t cs = r.int2();
    if (cs != 0) charset_ = static_cast<uint8_t>(cs);
  }
  std::string plugin(r.remaining() > 0 && (caps_ & proto::kPluginAuth) ? r.null_str() : std::string_view());
  if (counted_user_ && user_ != nullptr) user_->connections->fetch_sub(1, std::memory_order_relaxed);
  counted_user_ = false;
  reset_session();
  backend_id_.user = user;
  sent_password_ = !response.empty();
  user_ = r.ok ? worker_.table().find_user(user) : nullptr;
  if (user_ != nullptr && !user_->cfg.active) user_ = nullptr;
  if (user_ == nullptr) {
    deny_access(1);
    return;
  }
  schema_ = !db.empty() ? db : user_->cfg.default_schema;
  authenticate(plugin, response, 1);
}

// MariaDB refuses a login naming an unknown database; so does Sluice, by running the
// COM_INIT_DB on a pooled connection before it answers the handshake. Routed like a read
// (a replica, else the writer), so logins do not depend on the writer pool having room.
void Session::check_login_schema(uint8_t seq) {
  login_pending_ = true;
  login_seq_ = seq;
  cmd_payload_.assign(1, static_cast<char>(proto::kComInitDb));
  cmd_payload_ += schema_;
  cmd_raw_.clear();
  proto::append_packet(cmd_raw_, 0, cmd_payload_);
  cmd_type_ = proto::kComInitDb;
  cls_ = Classification{Route::Read, 0};
  route_read_ = true;
  tried_.clear();
  run_on_backend(reader_hg(), ResponseScanner::Kind::kSingle);
}

// After the login check: true if the session may go on (the OK or the error was sent).
bool Session::finish_login() {
  login_pending_ = false;
  if (scan_.error()) {
    send_error(login_seq_, scan_.error_code(), scan_.error_state(), scan_.error_message());
    close("unknown database at login");
    return false;
  }
  send_ok(login_seq_);
  return true;
}

}  // namespace sluice
