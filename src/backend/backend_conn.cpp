// Backend connection lifecycle (see backend.h): non-blocking connect through
// libmysqlclient driven by the worker's loop, then a raw socket lent to sessions.
#include "sluice/backend.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include "sluice/clock.h"
#include "sluice/log.h"
#include "sluice/topology.h"
#include "sluice/worker.h"

namespace sluice {

std::string BackendIdentity::key() const {
  std::string k = user;
  k.push_back('\0');
  k += password;
  k.push_back('\0');
  k.push_back(found_rows ? 'F' : '-');
  return k;
}

std::string BackendConn::identity_for(const std::string& login_key, bool has_schema) {
  std::string k = login_key;
  k.push_back('\0');
  k.push_back(has_schema ? 'S' : 'N');
  return k;
}

BackendConn::BackendConn(Server& server, BackendIdentity id)
    : server_(server), id_(std::move(id)), login_key_(id_.key()) {
  refresh_identity();
}

BackendConn::~BackendConn() {
  if (mysql_ != nullptr) mysql_close(mysql_);
}

void BackendConn::connect(Worker& worker, uint32_t timeout_ms, ConnectDone done) {
  worker_ = &worker;
  owner_worker = worker.id();
  connect_done_ = std::move(done);
  mysql_ = mysql_init(nullptr);
  unsigned int timeout_s = std::max(1u, (timeout_ms + 999) / 1000);
  mysql_options(mysql_, MYSQL_OPT_NONBLOCK, nullptr);
  mysql_options(mysql_, MYSQL_OPT_CONNECT_TIMEOUT, &timeout_s);
  mysql_options(mysql_, MYSQL_OPT_READ_TIMEOUT, &timeout_s);
  mysql_options(mysql_, MYSQL_OPT_WRITE_TIMEOUT, &timeout_s);
  mysql_options(mysql_, MYSQL_SET_CHARSET_NAME, "utf8mb4");
  // Lets the server ask for LOCAL INFILE data, which Sluice relays from clients that allow it.
  unsigned int local_infile = 1;
  mysql_options(mysql_, MYSQL_OPT_LOCAL_INFILE, &local_infile);
  mysql_optionsv(mysql_, MYSQL_OPT_CONNECT_ATTR_ADD, "program_name", "sluice");
  // Progress reports would arrive as ERR 0xFFFF packets that clients never asked for.
  // Session tracking tells Sluice what each statement changed, so it can replay it, and
  // (last_gtid) the GTID of each write, for read-your-writes.
  init_command_ = "SET SESSION progress_report_time=0, session_track_schema=ON, session_track_state_change=ON, "
                  "session_track_system_variables='" + std::string(tracked_variables()) + ",last_gtid'";
  mysql_options(mysql_, MYSQL_INIT_COMMAND, init_command_.c_str());
  unsigned long flags = CLIENT_MULTI_STATEMENTS | CLIENT_MULTI_RESULTS | CLIENT_PS_MULTI_RESULTS;
  if (id_.found_rows) flags |= CLIENT_FOUND_ROWS;
  int status = mysql_real_connect_start(&connect_ret_, mysql_, server_.host.c_str(), id_.user.c_str(),
                                        id_.password.c_str(), nullptr, server_.port, nullptr, flags);
  if (status == 0) {
    finish_connect();
    return;
  }
  connect_poll_ = new uv_poll_t;
  uv_poll_init(worker.loop(), connect_poll_, mysql_get_socket(mysql_));
  connect_poll_->data = this;
  connect_timer_ = new uv_timer_t;
  uv_timer_init(worker.loop(), connect_timer_);
  connect_timer_->data = this;
  // Hard deadline on top of the library's own timeouts: a hung server must not hold a slot.
  uv_timer_start(connect_timer_, &BackendConn::on_connect_timer, timeout_ms + 50, 0);
  arm_connect(status);
}

void BackendConn::on_connect_poll(uv_poll_t* h, int status, int events) {
  auto* self = static_cast<BackendConn*>(h->data);
  int ready = 0;
  if (status < 0) ready |= MYSQL_WAIT_EXCEPT;
  if (events & UV_READABLE) ready |= MYSQL_WAIT_READ;
  if (events & UV_WRITABLE) ready |= MYSQL_WAIT_WRITE;
  self->drive_connect(ready);
}

void BackendConn::on_connect_timer(uv_timer_t* t) {
  auto* self = static_cast<BackendConn*>(t->data);
  self->drive_connect(MYSQL_WAIT_TIMEOUT);
}

void BackendConn::drive_connect(int ready) {
  int status = mysql_real_connect_cont(&connect_ret_, mysql_, ready);
  if (status == 0) {
    finish_connect();
    return;
  }
  arm_connect(status);
}

void BackendConn::arm_connect(int status) {
  int ev = 0;
  if (status & MYSQL_WAIT_READ) ev |= UV_READABLE;
  if (status & MYSQL_WAIT_WRITE) ev |= UV_WRITABLE;
  if (ev != 0) uv_poll_start(connect_poll_, ev, &BackendConn::on_connect_poll);
  else uv_poll_stop(connect_poll_);
}

void BackendConn::finish_connect() {
  bool ok = connect_ret_ != nullptr;
  unsigned err = ok ? 0 : mysql_errno(mysql_);
  std::string msg = ok ? std::string() : std::string(mysql_error(mysql_));
  auto after_watchers = [this, ok, err, msg]() {
    if (state_ == State::kClosed) {  // closed while the connect watcher was shutting down
      delete this;
      return;
    }
    if (ok) {
      caps_ = static_cast<uint32_t>(mysql_->client_flag);
      thread_id_ = static_cast<uint32_t>(mysql_thread_id(mysql_));
      unsigned long ext = 0;
      mariadb_get_infov(mysql_, MARIADB_CONNECTION_EXTENDED_SERVER_CAPABILITIES, &ext);
      ext_metadata_ = (ext & (MARIADB_CLIENT_EXTENDED_METADATA >> 32)) != 0;
      cache_metadata_ = (ext & (MARIADB_CLIENT_CACHE_METADATA >> 32)) != 0;
      autocommit = (mysql_->server_status & SERVER_STATUS_AUTOCOMMIT) != 0;
      vars = SessionVars();
      vars.set_charset(mysql_->charset ? mysql_->charset->nr : 45);
      schema.clear();
      multi_statements = true;
      if (uint32_t life = server_.max_lifetime_ms.load(std::memory_order_relaxed); life != 0) {
        // Up to 10% earlier, so connections opened together do not expire together.
        uint32_t jitter = static_cast<uint32_t>((thread_id_ * 2654435761u) % (life / 10 + 1));
        expires_at_ms = now_ms() + life - jitter;
      }
      int fd = mysql_get_socket(mysql_);
      int one = 1;
      setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      state_ = State::kBusy;  // the connecting session uses it first
      if (!stream_.attach(worker_->loop(), fd, this)) {
        connect_done_(false, 2002, "cannot watch backend socket");
        return;
      }
    }
    auto done = std::move(connect_done_);
    connect_done_ = nullptr;
    done(ok, err, msg);
  };
  if (connect_poll_ == nullptr) {
    after_watchers();
    return;
  }
  // libuv must let go of the fd before a new watcher is created on it.
  uv_timer_stop(connect_timer_);
  uv_close(reinterpret_cast<uv_handle_t*>(connect_timer_), [](uv_handle_t* h) { delete reinterpret_cast<uv_timer_t*>(h); });
  connect_timer_ = nullptr;
  auto* cb = new std::function<void()>(std::move(after_watchers));
  connect_poll_->data = cb;
  uv_close(reinterpret_cast<uv_handle_t*>(connect_poll_), [](uv_handle_t* h) {
    auto* fn = static_cast<std::function<void()>*>(h->data);
    delete reinterpret_cast<uv_poll_t*>(h);
    (*fn)();
    delete fn;
  });
  connect_poll_ = nullptr;
}

void BackendConn::lend(BackendListener* user) {
  user_ = user;
  state_ = State::kBusy;
  stream_.want_read(true);
}

void BackendConn::make_idle() {
  user_ = nullptr;
  state_ = State::kIdle;
  stream_.want_read(true);  // EOF or an error packet while idle means the server dropped us
}

void BackendConn::detach(std::function<void()> done) {
  user_ = nullptr;
  stream_.detach(std::move(done));
}

bool BackendConn::adopt(Worker& worker) {
  worker_ = &worker;
  owner_worker = worker.id();
  return stream_.attach(worker.loop(), mysql_get_socket(mysql_), this);
}

void BackendConn::close() {
  if (state_ == State::kClosed) return;
  bool finishing_connect = state_ == State::kConnecting && connect_poll_ == nullptr && connect_done_ != nullptr;
  state_ = State::kClosed;
  user_ = nullptr;
  if (finishing_connect) {
    connect_done_ = nullptr;  // the pending watcher close deletes us
    return;
  }
  if (connect_poll_ != nullptr) {
    // Still connecting: the pending connect callback never runs.
    connect_done_ = nullptr;
    uv_timer_stop(connect_timer_);
    uv_close(reinterpret_cast<uv_handle_t*>(connect_timer_), [](uv_handle_t* h) { delete reinterpret_cast<uv_timer_t*>(h); });
    connect_poll_->data = this;
    uv_close(reinterpret_cast<uv_handle_t*>(connect_poll_), [](uv_handle_t* h) {
      auto* self = static_cast<BackendConn*>(h->data);
      delete reinterpret_cast<uv_poll_t*>(h);
      delete self;
    });
    connect_poll_ = nullptr;
    connect_timer_ = nullptr;
    return;
  }
  // mysql_close() sends COM_QUIT (a few bytes, never blocks on a drained socket) and
  // closes the fd. libuv stops polling inside uv_close(), so the fd may be closed right
  // after detach() returns: it is closed now, before the caller frees the pool slot, so a
  // replacement connection never overlaps this one on the server.
  // detach() may delete this at once (no watcher yet), so the handle is taken first.
  MYSQL* m = mysql_;
  mysql_ = nullptr;
  stream_.detach([this] { delete this; });
  if (m != nullptr) mysql_close(m);
}

void BackendConn::on_readable() {
  if (state_ == State::kBusy && user_ != nullptr) {
    user_->on_backend_readable();
    return;
  }
  if (state_ == State::kIdle) {
    LOG_DEBUG("idle connection to %s closed by the server", server_.name.c_str());
    worker_->discard(this, CloseReason::kServerDown);
  }
}

void BackendConn::on_drained() {
  if (user_ != nullptr) user_->on_backend_drained();
}

void BackendConn::on_stream_error(int uv_status) {
  if (user_ != nullptr) {
    user_->on_backend_error(uv_status);
    return;
  }
  if (state_ == State::kIdle) worker_->discard(this, CloseReason::kError);
}

}  // namespace sluice
