// KILL [CONNECTION | QUERY] id and COM_PROCESS_KILL, where id is a Sluice connection id.
// The statement a session runs is on some pooled backend connection; Sluice kills it with
// `KILL QUERY <backend thread>` sent to that server through the killer's own checkout, and
// closes the client session for KILL CONNECTION. A client may kill only its own user's
// sessions. The running-statement record is read without stopping the target, so a
// statement that ends at that very moment may already have returned its connection.
#include <cctype>
#include <string>

#include "sluice/clock.h"
#include "sluice/protocol.h"
#include "sluice/runtime.h"
#include "sluice/session.h"
#include "sluice/topology.h"

namespace sluice {
namespace {

std::string_view next_word(std::string_view& s) {
  while (!s.empty() && (std::isspace(static_cast<unsigned char>(s.front())) || s.front() == ';')) s.remove_prefix(1);
  size_t n = 0;
  while (n < s.size() && !std::isspace(static_cast<unsigned char>(s[n])) && s[n] != ';') ++n;
  std::string_view w = s.substr(0, n);
  s.remove_prefix(n);
  return w;
}

bool is(std::string_view w, std::string_view kw) {
  if (w.size() != kw.size()) return false;
  for (size_t i = 0; i < w.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(w[i])) != kw[i]) return false;
  return true;
}

}  // namespace

bool Session::kill_command() {
  std::string_view s = std::string_view(cmd_payload_).substr(1);
  if (!is(next_word(s), "kill")) return false;  // KILL inside a larger text: not ours to parse
  std::string_view w = next_word(s);
  if (is(w, "hard") || is(w, "soft")) w = next_word(s);
  bool query_only = false;
  if (is(w, "connection")) {
    w = next_word(s);
  } else if (is(w, "query")) {
    query_only = true;
    w = next_word(s);
  }
  uint64_t id = 0;
  bool digits = !w.empty() && w.size() <= 10;
  for (char c : w) digits = digits && std::isdigit(static_cast<unsigned char>(c));
  if (digits) id = std::stoull(std::string(w));
  if (!digits || id > UINT32_MAX || !next_word(s).empty()) {
    send_error(1, 1235, "42000", "This version of Sluice doesn't yet support this form of KILL");
    return true;
  }
  kill_session(static_cast<uint32_t>(id), query_only);
  return true;
}

void Session::kill_session(uint32_t id, bool query_only) {
  cls_ = Classification{Route::Write, 0};
  release_unneeded_hold();  // a connection kept for the previous statement is not needed
  Runtime& rt = worker_.runtime();
  auto target = rt.sessions.find(id);
  if (target == nullptr) {
    send_error(1, 1094, "HY000", "Unknown thread id: " + std::to_string(id));
    return;
  }
  if (target->user.load(std::memory_order_relaxed) != user_->connections.get()) {
    send_error(1, 1095, "HY000", "You are not owner of thread " + std::to_string(id));
    return;
  }
  if (!query_only) {
    rt.worker(target->worker).post([&rt, id] {
      if (auto t = rt.sessions.find(id); t != nullptr && t->session != nullptr) t->session->kill_connection();
    });
  }
  Server* server = target->running_on.load(std::memory_order_relaxed);
  uint32_t thread = target->running_thread.load(std::memory_order_relaxed);
  bool can_route = conn_ == nullptr || &conn_->server() == server;
  if (server == nullptr || thread == 0 || target == info_ || !can_route) {
    send_ok(1);
    return;
  }
  cmd_payload_.assign(1, static_cast<char>(proto::kComQuery));
  cmd_payload_ += "KILL QUERY " + std::to_string(thread);
  cmd_raw_.clear();
  proto::append_packet(cmd_raw_, 0, cmd_payload_);
  cmd_type_ = proto::kComQuery;
  cls_ = Classification{Route::Write, 0};
  route_read_ = false;
  cmd_start_ns_ = now_ns();
  tried_.clear();
  forced_server_ = server;
  run_on_backend(server->hostgroup.load(std::memory_order_relaxed), ResponseScanner::Kind::kQuery);
}

}  // namespace sluice
