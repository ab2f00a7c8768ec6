// Backend connections: opened and authenticated by libmysqlclient's non-blocking API on a
// worker's loop, then used as a raw packet pipe.
//
// Owns: the MYSQL handle (and through it the fd), the socket watcher, and what Sluice
// knows of the server-side session (schema, charset, autocommit, multi-statements,
// prepared statements).
// States: kConnecting -> kIdle <-> kBusy -> kClosed. kIdle conns sit in their pool's idle
// stack with a read watch (EOF there means the server dropped them); kBusy conns belong to
// one client session, which receives their socket events.
// Thread rules: used on the owner worker's loop only; moved between workers only by
// detach() on the old loop and adopt() on the new one.
#pragma once

#include <mysql.h>

#include <cstdint>
#include <functional>
#include <string>

#include "sluice/pool.h"
#include "sluice/session_vars.h"
#include "sluice/stmt_cache.h"
#include "sluice/stream.h"

namespace sluice {

struct Server;
class Worker;

// Who a backend connection logs in as; connections are shared only within one identity.
struct BackendIdentity {
  std::string user;
  std::string password;
  bool found_rows = false;  // CLIENT_FOUND_ROWS changes affected-row counts for the session
  std::string key() const;
};

// Receives socket events while a session uses the connection.
class BackendListener {
 public:
  virtual void on_backend_readable() = 0;
  virtual void on_backend_drained() = 0;
  virtual void on_backend_error(int uv_status) = 0;

 protected:
  ~BackendListener() = default;
};

class BackendConn final : public PooledConn, private StreamHandler {
 public:
  enum class State { kConnecting, kIdle, kBusy, kClosed };

  BackendConn(Server& server, BackendIdentity id);
  ~BackendConn() override;

  Server& server() const { return server_; }
  // Pool identity: the login plus whether a default schema is selected. A connection
  // that has one cannot go back to "no database", so it only serves clients that use one.
  static std::string identity_for(const std::string& login_key, bool has_schema);
  void refresh_identity() { identity = identity_for(login_key_, !schema.empty()); }
  State state() const { return state_; }
  FdStream& stream() { return stream_; }
  uint32_t capabilities() const { return caps_; }
  uint32_t thread_id() const { return thread_id_; }
  // MariaDB extended column metadata is on (libmysqlclient always asks MariaDB for it).
  bool ext_metadata() const { return ext_metadata_; }
  // MariaDB's cache-metadata capability: column counts carry a "metadata follows" byte.
  bool cache_metadata() const { return cache_metadata_; }

  // Opens the connection on `worker`'s loop. `done(ok, errno, message)` runs on that loop.
  using ConnectDone = std::function<void(bool ok, unsigned err, const std::string& message)>;
  void connect(Worker& worker, uint32_t timeout_ms, ConnectDone done);

  // Lends the socket to a session (kBusy) or puts it back to an idle watch (kIdle).
  void lend(BackendListener* user);
  void make_idle();
  // Moves ownership off this loop; `done` runs once the old watcher is gone.
  void detach(std::function<void()> done);
  bool adopt(Worker& worker);
  // Closes now (state kClosed); the object deletes itself once libuv lets go.
  void close();

  // Server-side session as last seen by Sluice.
  std::string schema;
  SessionVars vars;  // changed variables (and the character set), as for a client
  uint64_t last_insert_id = 0;
  bool autocommit = true;
  bool multi_statements = true;
  // Prepared statements this connection holds (they die with it).
  BackendStatements statements;

 private:
  void on_readable() override;
  void on_drained() override;
  void on_stream_error(int uv_status) override;
  void drive_connect(int ready_status);
  void arm_connect(int wait_status);
  void finish_connect();
  static void on_connect_poll(uv_poll_t* h, int status, int events);
  static void on_connect_timer(uv_timer_t* t);

  Server& server_;
  BackendIdentity id_;
  std::string login_key_;
  std::string init_command_;
  State state_ = State::kConnecting;
  MYSQL* mysql_ = nullptr;
  MYSQL* connect_ret_ = nullptr;
  uint32_t caps_ = 0;
  uint32_t thread_id_ = 0;
  bool ext_metadata_ = false;
  bool cache_metadata_ = false;
  Worker* worker_ = nullptr;
  FdStream stream_;
  BackendListener* user_ = nullptr;
  ConnectDone connect_done_;
  uv_poll_t* connect_poll_ = nullptr;
  uv_timer_t* connect_timer_ = nullptr;
};

}  // namespace sluice
