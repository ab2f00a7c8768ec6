// The admin server's internals and one admin client session (admin thread only).
//
// AdminSession states (transitions in brackets):
//   kGreeting   greeting sent, waiting for the handshake response  [on_handshake_response]
//   kAuthSwitch auth switch sent, waiting for the new scramble      [on_auth_switch_response]
//   kReady      waiting for a command                               [dispatch]
//   kClosing    socket being closed; deleted once libuv let go      [close]
// Commands are answered synchronously (SQLite in memory), one at a time, in order.
#pragma once

#include <uv.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <unordered_set>

#include "admin_internal.h"
#include "sluice/auth.h"
#include "sluice/stream.h"

namespace sluice::admin {

class AdminSession;

struct AdminServer::Impl {
  Impl(Runtime& r, std::string v) : rt(r), version(std::move(v)) {}

  Runtime& rt;
  std::string version;
  std::unique_ptr<Database> db;
  std::unique_ptr<Executor> exec;
  uv_loop_t loop{};
  uv_async_t wake{};
  uv_poll_t listen_poll{};
  int listen_fd = -1;
  std::thread thread;
  std::atomic<bool> stopping{false};
  std::unordered_set<AdminSession*> sessions;
  uint32_t next_id = 1;

  void on_accept();
  void shutdown();  // on the admin thread: close the listener, the sessions, the wake handle
};

class AdminSession final : private StreamHandler {
 public:
  AdminSession(AdminServer::Impl& server, int fd, uint32_t id, std::string peer);
  void start();
  void close(const char* why);

 private:
  enum class State : uint8_t { kGreeting, kAuthSwitch, kReady, kClosing };

  void on_readable() override;
  void on_stream_error(int uv_status) override;
  bool take_packet(std::string& payload, uint8_t& seq);
  void send(uint8_t seq, std::string_view payload);
  void send_ok(uint8_t seq);
  void send_error(uint8_t seq, uint16_t code, std::string_view state, std::string_view msg);

  void on_handshake_response(std::string_view payload, uint8_t seq);
  void authenticate(std::string_view plugin, std::string_view response, uint8_t seq);
  void on_auth_switch_response(std::string_view payload, uint8_t seq);
  void auth_done(bool ok, uint8_t seq, bool sha2_fast);
  void dispatch(std::string_view payload);
  void run_query(std::string_view sql);

  AdminServer::Impl& server_;
  FdStream client_;
  const std::string peer_;
  State state_ = State::kGreeting;
  SessionContext ctx_;
  std::string salt_;
  uint32_t caps_ = 0;
  bool sent_password_ = false;
  auth::Credentials creds_;
  std::string in_;
};

}  // namespace sluice::admin
