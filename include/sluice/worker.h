// A worker: one thread, one libuv loop, its own SO_REUSEPORT listener, its sessions.
//
// Owns: the loop, the listening socket, a mailbox other threads post to, the table of
// sessions waiting for a pool grant, and the glue that carries out pool decisions
// (closing connections, handing connections or slots to waiters on other workers).
// Thread rules: everything runs on the worker's own thread except post(), which any
// thread may call.
#pragma once

#include <uv.h>

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "sluice/pool.h"
#include "sluice/stats.h"

namespace sluice {

class Runtime;
struct RoutingTable;
class DigestStats;
class BackendConn;
class Session;
struct Server;

// A session waiting for a backend connection of `server`.
class PoolWaiter {
 public:
  // conn != nullptr: a ready connection, now owned by the receiving worker's loop.
  // conn == nullptr: a reserved slot; the waiter opens a new connection.
  virtual void on_grant(Server& server, BackendConn* conn) = 0;

 protected:
  ~PoolWaiter() = default;
};

class Worker {
 public:
  Worker(Runtime& rt, int id);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  int id() const { return id_; }
  uv_loop_t* loop() { return &loop_; }
  Runtime& runtime() { return rt_; }
  // The routing table this worker routes by: the topology's latest, re-read when a newer
  // one was published (one atomic load per call when nothing changed). References into it
  // are valid until the next call on this worker, so sessions keep hostgroup ids, not
  // pointers, across callbacks.
  const RoutingTable& table();

  bool listen(const std::string& address, uint16_t port, std::string* error);
  void start();
  void stop_and_join();
  void post(std::function<void()> fn);  // any thread

  // ---- pool glue (worker thread only) ----
  uint64_t new_token() { return (static_cast<uint64_t>(id_) << 56) | next_token_++; }
  void add_waiter(uint64_t token, PoolWaiter* w) { waiters_[token] = w; }
  void remove_waiter(uint64_t token);
  // Returns a healthy conn owned by this worker to its pool.
  void checkin(BackendConn* c);
  // Closes a conn owned by this worker that is not in the idle stack, freeing its slot.
  void discard(BackendConn* c, CloseReason why);
  // A reserved slot was not used (connect failed or the waiter left).
  void release_slot(Server& s, CloseReason why);
  // Carries out a grant decided by a pool on this thread.
  void dispatch(Server& s, const Grant& g);
  void kick(Server& s, int worker);  // ask `worker` to serve waiters from its idle conns

  // Scratch buffer for socket reads, reused by every session of this worker.
  char* scratch() { return scratch_.get(); }
  static constexpr size_t kScratchSize = 256 * 1024;
  static constexpr uint32_t kSoftHoldMinIdleMs = 100;

  std::atomic<uint32_t> sessions{0};
  WorkerStats stats;  // written by this worker only
  std::unique_ptr<DigestStats> digests;  // stats_mysql_query_digest, recorded by this worker

 private:
  void run();
  void drain_mailbox();
  void on_accept();
  void receive_grant(Server& s, uint64_t token, BackendConn* conn);
  void reap_idle();
  void warm_pools(const std::vector<Server*>& servers);
  void close_idle_connections();  // at shutdown

  Runtime& rt_;
  const int id_;
  uv_loop_t loop_;
  uv_async_t async_;
  uv_timer_t reaper_;
  uv_poll_t listen_poll_;
  int listen_fd_ = -1;
  std::thread thread_;
  std::mutex mu_;
  std::vector<std::function<void()>> mailbox_;
  uint64_t next_token_ = 1;
  std::unordered_map<uint64_t, PoolWaiter*> waiters_;
  std::unique_ptr<char[]> scratch_;
  std::shared_ptr<const RoutingTable> table_;
  uint64_t table_version_ = 0;
};

}  // namespace sluice
