// Non-blocking socket I/O over uv_poll (see stream.h). Level-triggered: a handler that
// leaves bytes unread is called again on the next loop iteration.
#include "sluice/stream.h"

#include <cerrno>
#include <sys/socket.h>
#include <unistd.h>

namespace sluice {

FdStream::~FdStream() { detach(); }

bool FdStream::attach(uv_loop_t* loop, int fd, StreamHandler* handler) {
  poll_ = new uv_poll_t;
  if (uv_poll_init(loop, poll_, fd) != 0) {
    delete poll_;
    poll_ = nullptr;
    return false;
  }
  poll_->data = this;
  fd_ = fd;
  handler_ = handler;
  events_ = 0;
  update_events();
  return true;
}

void FdStream::detach(std::function<void()> done) {
  if (poll_ == nullptr) {
    if (done) done();
    return;
  }
  uv_poll_t* h = poll_;
  poll_ = nullptr;
  events_ = 0;
  want_read_ = false;
  pending_.clear();
  pending_off_ = 0;
  // After close the handle no longer points at this stream, which may be gone by then.
  h->data = done ? new std::function<void()>(std::move(done)) : nullptr;
  uv_close(reinterpret_cast<uv_handle_t*>(h), [](uv_handle_t* handle) {
    auto* fn = static_cast<std::function<void()>*>(handle->data);
    delete reinterpret_cast<uv_poll_t*>(handle);
    if (fn) {
      (*fn)();
      delete fn;
    }
  });
}

void FdStream::want_read(bool on) {
  if (want_read_ == on) return;
  want_read_ = on;
  update_events();
}

void FdStream::update_events() {
  if (poll_ == nullptr) return;
  int ev = (want_read_ ? UV_READABLE : 0) | (has_pending() ? UV_WRITABLE : 0);
  if (ev == events_) return;
  events_ = ev;
  if (ev == 0) uv_poll_stop(poll_);
  else uv_poll_start(poll_, ev, &FdStream::on_poll);
}

bool FdStream::flush() {
  while (has_pending()) {
    ssize_t n = ::send(fd_, pending_.data() + pending_off_, pending_bytes(), MSG_NOSIGNAL);
    if (n > 0) {
      pending_off_ += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return true;
    return false;
  }
  pending_.clear();
  pending_off_ = 0;
  return true;
}

bool FdStream::write(std::string_view data) {
  if (data.empty()) return true;
  if (!has_pending()) {
    // Fast path: most responses fit in the socket buffer in one call.
    while (!data.empty()) {
      ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n > 0) {
        data.remove_prefix(static_cast<size_t>(n));
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
      return false;
    }
    if (data.empty()) return true;
  }
  pending_.append(data);
  update_events();
  return true;
}

ssize_t FdStream::read(char* buf, size_t cap) {
  while (true) {
    ssize_t n = ::read(fd_, buf, cap);
    if (n >= 0) return n;
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return -2;
    return -1;
  }
}

void FdStream::on_poll(uv_poll_t* h, int status, int events) {
  auto* self = static_cast<FdStream*>(h->data);
  if (self == nullptr) return;
  if (status < 0) {
    self->handler_->on_stream_error(status);
    return;
  }
  if (events & UV_WRITABLE) {
    if (!self->flush()) {
      self->handler_->on_stream_error(UV_EPIPE);
      return;
    }
    if (!self->has_pending()) {
      self->update_events();
      self->handler_->on_drained();
      if (self->poll_ != h) return;  // the handler detached us
    }
  }
  if ((events & UV_READABLE) && self->want_read_) self->handler_->on_readable();
}

}  // namespace sluice
