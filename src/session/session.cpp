// Client session: socket I/O, packet framing, lifecycle (see session.h for the states).
#include "sluice/session.h"

#include <unistd.h>

#include "sluice/clock.h"
#include "sluice/log.h"
#include "sluice/protocol.h"
#include "sluice/runtime.h"
#include "sluice/topology.h"

namespace sluice {

Session::Session(Worker& worker, int fd, uint32_t conn_id, std::string peer, uint16_t peer_port)
    : worker_(worker), conn_id_(conn_id), peer_(std::move(peer)) {
  client_.attach(worker.loop(), fd, this);
  info_ = std::make_shared<SessionInfo>();
  info_->worker = worker.id();
  info_->session = this;
  info_->client_host = peer_;
  info_->client_port = peer_port;
  info_->connected_ns = now_ns();
  info_->since_ns.store(info_->connected_ns, std::memory_order_relaxed);
  worker.runtime().sessions.add(conn_id, info_);
  worker_.sessions.fetch_add(1, std::memory_order_relaxed);
  worker_.runtime().client_connections.fetch_add(1, std::memory_order_relaxed);
}

Session::~Session() {
  worker_.runtime().sessions.remove(conn_id_);
  worker_.sessions.fetch_sub(1, std::memory_order_relaxed);
  worker_.runtime().client_connections.fetch_sub(1, std::memory_order_relaxed);
}

void Session::start() {
  const auto& fe = worker_.table().config->frontend;
  if (worker_.runtime().client_connections.load() > fe.max_client_connections) {
    worker_.stats.client_connections[static_cast<size_t>(ClientResult::kDenied)].add();
    send_error(0, 1040, "08004", "Too many connections");
    close("max_client_connections reached");
    return;
  }
  send_greeting();
  reading_ = true;
  client_.want_read(true);
}

void Session::on_readable() {
  char* buf = worker_.scratch();
  ssize_t n = client_.read(buf, Worker::kScratchSize);
  if (n == -2) return;
  if (n <= 0) {
    close(n == 0 ? "client closed the connection" : "client read error");
    return;
  }
  in_.append(buf, static_cast<size_t>(n));
  worker_.stats.bytes_from_clients.add(static_cast<uint64_t>(n));
  process_input();
}

void Session::on_drained() {
  // The client took what was queued: resume the backend stream we paused for it.
  // (Also while Sluice's own commands run: relay_backend pauses for any pending output.)
  bool reading = state_ == State::kRelaying || state_ == State::kSyncing || state_ == State::kPreparing;
  if (reading && conn_ != nullptr) conn_->stream().want_read(true);
}

void Session::on_stream_error(int) { close("client socket error"); }

// Extracts one logical packet (joining 16 MiB chunks). raw keeps the exact bytes with
// headers, for forwarding; payload is the joined body. Nothing is copied until the whole
// logical packet has arrived.
bool Session::take_packet(std::string& raw, std::string& payload, uint8_t& seq) {
  size_t end = 0;
  switch (proto::frame_packet(in_, worker_.table().config->frontend.max_packet_size + size_t{1024}, &end)) {
    case proto::Framing::kNeedMore: return false;
    case proto::Framing::kTooBig:
      send_error(static_cast<uint8_t>(in_[3] + 1), 1153, "08S01", "Got a packet bigger than 'max_allowed_packet' bytes");
      close("oversize packet");
      return false;
    case proto::Framing::kReady: break;
  }
  seq = static_cast<uint8_t>(in_[3]);
  proto::join_payload(in_, end, payload);
  raw.assign(in_, 0, end);
  in_.erase(0, end);
  return true;
}

void Session::process_input() {
  uint8_t seq = 0;
  // cmd_raw_/cmd_payload_ keep their capacity across statements: no allocation per query.
  while (state_ == State::kGreeting || state_ == State::kAuthSwitch || state_ == State::kReady ||
         state_ == State::kInfile) {
    if (!take_packet(cmd_raw_, cmd_payload_, seq)) break;
    switch (state_) {
      case State::kGreeting: on_handshake_response(cmd_payload_, seq); break;
      case State::kAuthSwitch: on_auth_switch_response(cmd_payload_, seq); break;
      case State::kReady:
        dispatch();
        if (state_ == State::kReady) info_->note_idle(schema_, now_ns());  // answered locally
        break;
      case State::kInfile:
        if (conn_ != nullptr) conn_->stream().write(cmd_raw_);
        if (cmd_payload_.empty()) {  // the empty packet ends the file
          state_ = State::kRelaying;
          scan_.resume_after_infile();
        }
        break;
      default: break;
    }
  }
  // Keep reading while a command is in flight (toggling the watch costs two syscalls per
  // statement); only a client that piles up pipelined input is paused until it drains.
  bool busy = state_ == State::kCheckout || state_ == State::kSyncing || state_ == State::kPreparing ||
              state_ == State::kRelaying;
  bool want = state_ != State::kClosing && (!busy || in_.size() < kMaxPipelinedInput);
  if (want != reading_) {
    reading_ = want;
    client_.want_read(want);
  }
}

void Session::send_packet(uint8_t seq, std::string_view payload) {
  std::string out;
  proto::append_packet(out, seq, payload);
  write_client(out);
}

bool Session::write_client(std::string_view bytes) {
  worker_.stats.bytes_to_clients.add(bytes.size());
  return client_.write(bytes);
}

void Session::send_error(uint8_t seq, uint16_t code, std::string_view state, std::string_view msg) {
  send_packet(seq, proto::err_payload(code, state, msg));
}

uint16_t Session::status_flags() const {
  return static_cast<uint16_t>((autocommit_ ? proto::kStatusAutocommit : 0) | (in_txn_ ? proto::kStatusInTrans : 0));
}

void Session::send_ok(uint8_t seq, std::string_view info) {
  proto::OkInfo ok;
  ok.status = status_flags();
  ok.info = info;
  send_packet(seq, proto::ok_payload(ok, caps_));
}

bool Session::report_lost_state() {
  if (!lost_state_) return false;
  lost_state_ = false;
  send_error(1, 2013, "HY000",
             "Lost connection to backend server while the session held a transaction or session state; "
             "that state is gone");
  return true;
}

void Session::close(const char* why) {
  if (state_ == State::kClosing) return;
  LOG_DEBUG("session %u (%s): %s", conn_id_, peer_.c_str(), why);
  State was = state_;
  state_ = State::kClosing;
  if (checkout_timer_ != nullptr) {
    uv_close(reinterpret_cast<uv_handle_t*>(checkout_timer_), [](uv_handle_t* h) { delete reinterpret_cast<uv_timer_t*>(h); });
    checkout_timer_ = nullptr;
  }
  if (waiter_token_ != 0 && server_ != nullptr) {
    // Still queued: leave the queue. Already granted: the worker passes the grant on.
    server_->pool.cancel(waiter_token_, false);
    worker_.remove_waiter(waiter_token_);
    waiter_token_ = 0;
  }
  if (conn_ != nullptr) {
    // A connection mid-command or holding client state cannot be reused.
    bool clean = was == State::kReady && (pins_ & ~kNextStatementPins) == 0 && !in_txn_;
    if (clean) release_backend();
    else drop_backend(CloseReason::kError);
  }
  if (counted_user_ && user_ != nullptr) user_->connections->fetch_sub(1, std::memory_order_relaxed);
  int fd = client_.fd();
  client_.detach([this, fd] {
    ::close(fd);
    delete this;
  });
}

}  // namespace sluice
