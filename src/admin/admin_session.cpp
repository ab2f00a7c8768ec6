// One admin client: Handshake v10 and auth with the client port's code (protocol/packet,
// protocol/auth: mysql_native_password, caching_sha2_password fast path, auth switch)
// against admin.user / admin.password, then commands answered from the admin database.
#include "admin_session.h"

#include <unistd.h>

#include "sluice/log.h"
#include "sluice/protocol.h"

namespace sluice::admin {
namespace {

constexpr uint32_t kAdminCaps = proto::kLongPassword | proto::kFoundRows | proto::kLongFlag | proto::kConnectWithDb |
                                proto::kProtocol41 | proto::kInteractive | proto::kIgnoreSigpipe | proto::kTransactions |
                                proto::kSecureConnection | proto::kMultiStatements | proto::kMultiResults |
                                proto::kPsMultiResults | proto::kPluginAuth | proto::kConnectAttrs |
                                proto::kPluginAuthLenencData | proto::kDeprecateEof;
constexpr size_t kMaxQuery = 64u << 20;

}  // namespace

AdminSession::AdminSession(AdminServer::Impl& server, int fd, uint32_t id, std::string peer)
    : server_(server), peer_(std::move(peer)) {
  ctx_.id = id;
  client_.attach(&server.loop, fd, this);
  server_.sessions.insert(this);
}

void AdminSession::start() {
  salt_ = auth::random_salt();
  proto::HandshakeV10 h;
  h.server_version = server_.exec->running().frontend.server_version;
  h.connection_id = ctx_.id;
  h.salt = salt_;
  h.capabilities = kAdminCaps;
  h.auth_plugin = std::string(auth::kNativePlugin);
  send(0, proto::handshake_payload(h));
  client_.want_read(true);
}

void AdminSession::close(const char* why) {
  if (state_ == State::kClosing) return;
  LOG_DEBUG("admin session %u (%s): %s", ctx_.id, peer_.c_str(), why);
  state_ = State::kClosing;
  server_.sessions.erase(this);
  int fd = client_.fd();
  client_.detach([this, fd] {
    ::close(fd);
    delete this;
  });
}

void AdminSession::on_stream_error(int) { close("socket error"); }

void AdminSession::on_readable() {
  char buf[65536];
  ssize_t n = client_.read(buf, sizeof buf);
  if (n == -2) return;
  if (n <= 0) {
    close(n == 0 ? "client closed the connection" : "read error");
    return;
  }
  in_.append(buf, static_cast<size_t>(n));
  std::string payload;
  uint8_t seq = 0;
  while (state_ != State::kClosing && take_packet(payload, seq)) {
    switch (state_) {
      case State::kGreeting: on_handshake_response(payload, seq); break;
      case State::kAuthSwitch: on_auth_switch_response(payload, seq); break;
      case State::kReady: dispatch(payload); break;
      case State::kClosing: break;
    }
  }
}

// One logical packet (16 MiB chunks joined).
bool AdminSession::take_packet(std::string& payload, uint8_t& seq) {
  size_t end = 0;
  switch (proto::frame_packet(in_, kMaxQuery, &end)) {
    case proto::Framing::kNeedMore: return false;
    case proto::Framing::kTooBig:
      send_error(static_cast<uint8_t>(in_[3] + 1), 1153, "08S01", "Got a packet bigger than 'max_allowed_packet' bytes");
      close("oversize packet");
      return false;
    case proto::Framing::kReady: break;
  }
  seq = static_cast<uint8_t>(in_[3]);
  proto::join_payload(in_, end, payload);
  in_.erase(0, end);
  return true;
}

void AdminSession::send(uint8_t seq, std::string_view payload) {
  std::string out;
  proto::append_packet(out, seq, payload);
  if (!client_.write(out)) close("write error");
}

void AdminSession::send_ok(uint8_t seq) { send(seq, proto::ok_payload(proto::OkInfo{}, caps_)); }

void AdminSession::send_error(uint8_t seq, uint16_t code, std::string_view state, std::string_view msg) {
  send(seq, proto::err_payload(code, state, msg));
}

// ---- handshake and auth ----

void AdminSession::on_handshake_response(std::string_view payload, uint8_t seq) {
  auto resp = proto::parse_handshake_response(payload);
  uint8_t next = static_cast<uint8_t>(seq + 1);
  if (!resp) {
    send_error(next, 1043, "08S01", "Bad handshake");
    close("bad handshake");
    return;
  }
  caps_ = resp->capabilities & kAdminCaps;
  ctx_.user = resp->user;
  sent_password_ = !resp->auth_response.empty();
  const AdminConfig& admin = server_.exec->state().admin;
  creds_ = auth::make_credentials(admin.password);
  if (resp->user != admin.user) {
    auth_done(false, next, false);
    return;
  }
  if (!resp->database.empty()) {
    if (!server_.exec->known_schema(resp->database)) {
      send_error(next, 1049, "42000", "Unknown database '" + resp->database + "'");
      close("unknown database at login");
      return;
    }
    ctx_.schema = lower(resp->database);
  }
  authenticate(resp->auth_plugin, resp->auth_response, next);
}

// As the client port: check the scramble for the plugin the client chose, else switch it
// to mysql_native_password with a fresh salt.
void AdminSession::authenticate(std::string_view plugin, std::string_view response, uint8_t seq) {
  switch (auth::check_response(creds_, salt_, plugin, response)) {
    case auth::Verdict::kOk: auth_done(true, seq, false); return;
    case auth::Verdict::kOkSha2Fast: auth_done(true, seq, true); return;
    case auth::Verdict::kDenied: auth_done(false, seq, false); return;
    case auth::Verdict::kSwitch:
      salt_ = auth::random_salt();
      send(seq, auth::auth_switch_payload(salt_));
      state_ = State::kAuthSwitch;
      return;
  }
}

void AdminSession::on_auth_switch_response(std::string_view payload, uint8_t seq) {
  sent_password_ = !payload.empty();
  auth_done(auth::verify_native(creds_, salt_, payload), static_cast<uint8_t>(seq + 1), false);
}

void AdminSession::auth_done(bool ok, uint8_t seq, bool sha2_fast) {
  if (!ok) {
    std::string msg = "Access denied for user '" + ctx_.user + "'@'" + peer_ +
                      "' (using password: " + (sent_password_ ? "YES" : "NO") + ")";
    LOG_INFO("admin: %s", msg.c_str());
    send_error(seq, 1045, "28000", msg);
    close("access denied");
    return;
  }
  if (sha2_fast) send(seq++, std::string_view("\x01\x03", 2));
  send_ok(seq);
  state_ = State::kReady;
}

// ---- commands ----

void AdminSession::dispatch(std::string_view payload) {
  if (payload.empty()) {
    send_error(1, 1047, "08S01", "Unknown command");
    return;
  }
  std::string_view arg = payload.substr(1);
  switch (static_cast<uint8_t>(payload[0])) {
    case proto::kComQuit: close("COM_QUIT"); return;
    case proto::kComPing:
    case proto::kComResetConnection: send_ok(1); return;
    case proto::kComInitDb:
      if (!server_.exec->known_schema(arg)) {
        send_error(1, 1049, "42000", "Unknown database '" + std::string(arg) + "'");
        return;
      }
      ctx_.schema = lower(arg);
      send_ok(1);
      return;
    case proto::kComQuery: run_query(arg); return;
    case proto::kComFieldList:  // no column list: clients fall back to SQL
      send(1, proto::eof_payload(0, proto::kStatusAutocommit, caps_));
      return;
    case proto::kComStatistics:
      send(1, "Uptime: " + std::to_string(server_.exec->uptime_s()) +
                  "  Threads: " + std::to_string(server_.sessions.size()) + "  (Sluice admin)");
      return;
    case proto::kComSetOption: send(1, proto::eof_payload(0, proto::kStatusAutocommit, caps_)); return;
    default: send_error(1, 1047, "08S01", "Unknown command (not supported by the Sluice admin port)"); return;
  }
}

void AdminSession::run_query(std::string_view sql) {
  if (!(caps_ & proto::kMultiStatements) && split_statements(sql).size() > 1) {
    send_error(1, 1064, "42000", "multi-statements need CLIENT_MULTI_STATEMENTS");
    return;
  }
  std::vector<Outcome> outcomes = server_.exec->run(sql, ctx_);
  std::string out;
  uint8_t seq = 1;
  for (size_t i = 0; i < outcomes.size(); ++i)
    append_outcome(out, seq, outcomes[i], caps_, i + 1 < outcomes.size());
  if (!client_.write(out)) close("write error");
}

}  // namespace sluice::admin
