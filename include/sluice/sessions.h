// Registry of client sessions by Sluice connection id, so that `KILL [QUERY] id` and
// COM_PROCESS_KILL can find the session and the backend thread running its statement.
//
// Owns: one shared SessionInfo per live session. The session writes its `running_*`
// fields on its own worker; other workers read them (relaxed atomics) through find().
// A Session* from an entry may be used only on the entry's worker.
// Thread rules: add/remove/find from any worker; one short mutex section each.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
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
};

class SessionRegistry {
 public:
  void add(uint32_t id, std::shared_ptr<SessionInfo> info);
  void remove(uint32_t id);
  std::shared_ptr<SessionInfo> find(uint32_t id) const;
  // The sessions living on `worker` (copied under the lock).
  std::vector<std::pair<uint32_t, std::shared_ptr<SessionInfo>>> on_worker(int worker) const;

 private:
  mutable std::mutex mu_;
  std::unordered_map<uint32_t, std::shared_ptr<SessionInfo>> by_id_;
};

}  // namespace sluice
