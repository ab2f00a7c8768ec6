// Registry of client sessions by Sluice connection id, so that `KILL [QUERY] id` and
// COM_PROCESS_KILL can find the session and the backend thread running its statement.
//
// Owns: one shared SessionInfo per live session. The session writes its `running_*`
// fields on its own worker; other workers read them (relaxed atomics) through find().
// A Session* from an entry may be used only on the entry's worker.
// The admin port reads every entry (snapshot()) for stats_mysql_processlist: the
// process-list fields below are written by the session's worker, read by the admin thread.
// Thread rules: add/remove/find/snapshot from any thread; one short mutex section each.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace sluice {

class Session;
struct Server;

struct SessionInfo {
  int worker = 0;
  Session* session = nullptr;
  std::atomic<const void*> user{nullptr};   // the logged-in User (owner check)
  std::atomic<Server*> running_on{nullptr};  // server of the statement in flight, if any
  std::atomic<uint32_t> running_thread{0};   // its backend connection's thread id

  // ---- process list (admin port's stats_mysql_processlist) ----
  // Set before the session is registered, then constant.
  std::string client_host;
  uint16_t client_port = 0;
  int64_t connected_ns = 0;
  static constexpr uint8_t kConnecting = 0xff;  // `command` before login completes
  std::atomic<uint8_t> command{kConnecting};    // COM_* in flight; COM_SLEEP when idle
  std::atomic<int64_t> since_ns{0};             // when `command` last changed (now_ns())
  struct Text {
    std::string user, schema, info;  // info: the statement in flight, truncated
  };
  static constexpr size_t kMaxInfo = 1024;
  // Worker side: a command starts (info = its text) / the session is idle again.
  void note_command(uint8_t com, std::string_view schema, std::string_view info, int64_t now);
  void note_idle(std::string_view schema, int64_t now);
  void note_login(std::string_view user, std::string_view schema, int64_t now);
  Text text() const;  // any thread

 private:
  mutable std::mutex text_mu_;
  Text text_;
};

class SessionRegistry {
 public:
  void add(uint32_t id, std::shared_ptr<SessionInfo> info);
  void remove(uint32_t id);
  std::shared_ptr<SessionInfo> find(uint32_t id) const;
  // Every live session, by connection id (the admin port's process list).
  std::vector<std::pair<uint32_t, std::shared_ptr<SessionInfo>>> snapshot() const;
  // The sessions living on `worker` (copied under the lock).
  std::vector<std::pair<uint32_t, std::shared_ptr<SessionInfo>>> on_worker(int worker) const;

 private:
  mutable std::mutex mu_;
  std::unordered_map<uint32_t, std::shared_ptr<SessionInfo>> by_id_;
};

}  // namespace sluice
