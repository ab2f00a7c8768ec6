// Per-server connection pool: exact limits across all workers, FIFO waiters, counters.
//
// Owns: the accounting of one server's backend connections (open, idle, waiting) and the
// idle stacks, one per worker (a backend socket is registered on its owner's loop, so an
// idle connection is handed to another worker only through a Grant, never taken).
// Does not own: sockets or loops. The pool decides; the worker that called carries the
// decision out (close a connection, post a Grant to another worker).
// Thread rules: every method may be called from any worker thread; one short mutex
// section per call. No callbacks are invoked under the lock.
#pragma once

#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace sluice {

enum class CloseReason : uint8_t {
  kMaxIdle,      // more idle connections than max_idle
  kIdleTimeout,  // idle longer than idle_timeout
  kMaxLifetime,  // older than max_lifetime
  kError,        // broken socket, protocol error, connection-level failure
  kServerDown,   // the server went away (connect refused, EOF while idle)
  kEvicted,      // closed to make room for a waiter of another user
  kShutdown,
  kOffline,      // the server was set OFFLINE_* or removed from the config: drained
  kCount
};
const char* close_reason_name(CloseReason r);

// What the pool needs to know about a connection. BackendConn derives from it.
struct PooledConn {
  std::string identity;  // backend user, password and flags: only equal identities share
  int owner_worker = 0;  // the worker whose loop watches the socket
  int64_t idle_since_ms = 0;
  int64_t expires_at_ms = 0;  // max_lifetime deadline (0 = never)
  virtual ~PooledConn() = default;
};

// A checkout served asynchronously: either a connection or a reserved slot (conn ==
// nullptr), in which case the receiving worker opens a new connection in that slot.
struct Grant {
  int worker = -1;
  uint64_t token = 0;
  PooledConn* conn = nullptr;
  // An idle conn of another identity to close on its owner's loop; already counted, and
  // its slot is the one this grant carries.
  PooledConn* close_first = nullptr;
};

struct PoolStats {
  uint32_t max_open = 0, open = 0, in_use = 0, idle = 0, waiting = 0;
  uint64_t wait_count = 0, wait_ns = 0, connects_ok = 0, connects_failed = 0, checkout_timeouts = 0;
  uint64_t closed[static_cast<size_t>(CloseReason::kCount)] = {};
};

class Pool {
 public:
  Pool(uint32_t max_open, uint32_t max_idle, int workers);

  struct Acquired {
    enum Kind { kIdle, kConnect, kQueued } kind = kQueued;
    PooledConn* conn = nullptr;  // kIdle
    int kick_worker = -1;        // kQueued: a worker holding idle conns that can serve us
    // Idle conns of this worker found past max_lifetime on the way: already counted as
    // closed (max_lifetime) and removed; the caller closes their sockets.
    std::vector<PooledConn*> expired;
  };
  // Idle conn of the same identity on this worker, else a slot to connect, else a place in
  // the FIFO queue under `token`. An expired idle conn is never handed out.
  Acquired acquire(int worker, const std::string& identity, uint64_t token, int64_t now_ns,
                   int64_t now_ms = 0);

  struct Released {
    std::optional<Grant> grant;  // the conn (or its slot) goes to the first waiter
    bool close = false;          // caller must close the conn (and report it via closed())
    CloseReason reason = CloseReason::kMaxIdle;
  };
  // A healthy conn finished its work on its owner worker. When `close` is set the pool has
  // already counted the close and freed or passed on the slot: just close the socket.
  Released release(PooledConn* c, int worker, int64_t now_ms, int64_t now_ns);
  // A conn that was in use, or taken out of the idle stack, is gone; or (r == kCount) a
  // reserved slot never got a connection. The slot goes to the first waiter if any.
  std::optional<Grant> closed(CloseReason r, int64_t now_ns);
  // Removes an idle conn the owner wants to close (EOF while idle, timeouts). True if it
  // was idle here; the caller then closes it and calls closed().
  bool take_idle(PooledConn* c, int worker);
  // Called on a worker kicked by acquire(): hand its idle conns to waiters.
  std::vector<Grant> serve_waiters(int worker, int64_t now_ns);
  // Idle conns of `worker` past idle_timeout or max_lifetime, removed from the pool.
  std::vector<std::pair<PooledConn*, CloseReason>> expire_idle(int worker, int64_t now_ms,
                                                               uint32_t idle_timeout_ms);
  // Reserves a slot to open a warm connection when fewer than `min_idle` are open and
  // nobody waits. The caller connects and checks the connection in (or frees the slot).
  bool reserve_warm(uint32_t min_idle);
  // Removes and returns this worker's idle conns, counted as closed for `why` (shutdown,
  // a drained server).
  std::vector<PooledConn*> drain_idle(int worker, CloseReason why = CloseReason::kShutdown);
  // A waiter gave up. True if it was still queued (no grant is on its way).
  bool cancel(uint64_t token, bool timed_out);
  void connect_result(bool ok);
  // New limits from a config change. Lowering max_open closes nothing at once: connections
  // above the limit close when they are released and no new ones open until below it.
  // Raising it hands the new slots to waiters (returned, for the caller to dispatch).
  std::vector<Grant> set_limits(uint32_t max_open, uint32_t max_idle, int64_t now_ns);

  PoolStats stats() const;

 private:
  struct Waiter {
    int worker;
    uint64_t token;
    std::string identity;
    int64_t since_ns;
  };
  Waiter pop_waiter_locked(int64_t now_ns);  // the first waiter, its wait accounted
  std::optional<Grant> grant_slot_locked(int64_t now_ns);
  PooledConn* pop_idle_locked(int worker, const std::string* identity);
  int worker_with_idle_locked(const std::string& identity) const;

  mutable std::mutex mu_;
  uint32_t max_open_;
  uint32_t max_idle_;
  uint32_t open_ = 0;  // connected + connecting; never above max_open_
  uint32_t idle_ = 0;
  std::vector<std::vector<PooledConn*>> idle_by_worker_;  // stacks: back = most recent
  std::deque<Waiter> waiters_;
  PoolStats st_;
};

}  // namespace sluice
