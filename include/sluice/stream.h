// A non-blocking socket watched by a uv_poll_t on one worker's loop.
//
// Owns: the poll handle and a queue of bytes the socket has not taken yet. Does not own
// the fd (clients: the session closes it; backends: libmysqlclient's mysql_close does).
// Thread rules: used on the loop it is attached to only.
#pragma once

#include <uv.h>

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <sys/types.h>

namespace sluice {

class StreamHandler {
 public:
  virtual void on_readable() = 0;
  virtual void on_drained() {}  // queued bytes are all written
  virtual void on_stream_error(int uv_status) = 0;

 protected:
  ~StreamHandler() = default;
};

class FdStream {
 public:
  FdStream() = default;
  FdStream(const FdStream&) = delete;
  FdStream& operator=(const FdStream&) = delete;
  ~FdStream();

  bool attach(uv_loop_t* loop, int fd, StreamHandler* handler);
  // Closes the poll handle; `done` runs on the loop once libuv let go of the fd.
  void detach(std::function<void()> done = {});
  bool attached() const { return poll_ != nullptr; }
  void set_handler(StreamHandler* h) { handler_ = h; }
  int fd() const { return fd_; }

  void want_read(bool on);
  // Writes as much as the socket takes now and queues the rest. False on a hard error.
  bool write(std::string_view data);
  bool has_pending() const { return pending_off_ < pending_.size(); }
  size_t pending_bytes() const { return pending_.size() - pending_off_; }
  // read(2) that maps EAGAIN to -2. Returns bytes, 0 at EOF, -1 on error (errno set).
  ssize_t read(char* buf, size_t cap);

 private:
  static void on_poll(uv_poll_t* h, int status, int events);
  void update_events();
  bool flush();

  uv_poll_t* poll_ = nullptr;
  int fd_ = -1;
  StreamHandler* handler_ = nullptr;
  bool want_read_ = false;
  int events_ = 0;
  std::string pending_;
  size_t pending_off_ = 0;
};

}  // namespace sluice
