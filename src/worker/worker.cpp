// Worker loop, listener and mailbox (see worker.h). Pool glue is in pool_glue.cpp.
#include "sluice/worker.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "sluice/digest_stats.h"
#include "sluice/log.h"
#include "sluice/net.h"
#include "sluice/runtime.h"
#include "sluice/session.h"
#include "sluice/topology.h"

namespace sluice {

Worker::Worker(Runtime& rt, int id)
    : digests(std::make_unique<DigestStats>()), rt_(rt), id_(id), scratch_(new char[kScratchSize]) {
  uv_loop_init(&loop_);
  uv_async_init(&loop_, &async_, [](uv_async_t* a) { static_cast<Worker*>(a->data)->drain_mailbox(); });
  async_.data = this;
  uv_timer_init(&loop_, &reaper_);
  reaper_.data = this;
}

const RoutingTable& Worker::table() {
  Topology& topo = rt_.topology();
  if (topo.version() != table_version_) {
    table_ = topo.table();
    table_version_ = table_->version;
  }
  return *table_;
}

Worker::~Worker() {
  stop_and_join();
  if (listen_fd_ >= 0) ::close(listen_fd_);
}

bool Worker::listen(const std::string& address, uint16_t port, std::string* error) {
  // Each worker has its own accept queue (SO_REUSEPORT); the kernel spreads connections.
  int fd = net::listen_tcp(address, port, true, 4096, "frontend.listen", error);
  if (fd < 0) return false;
  listen_fd_ = fd;
  uv_poll_init(&loop_, &listen_poll_, fd);
  listen_poll_.data = this;
  uv_poll_start(&listen_poll_, UV_READABLE, [](uv_poll_t* h, int status, int) {
    if (status == 0) static_cast<Worker*>(h->data)->on_accept();
  });
  return true;
}

void Worker::on_accept() {
  // Bounded per wake-up so that a connection storm cannot starve running sessions.
  for (int i = 0; i < 64; ++i) {
    std::string ip;
    uint16_t port = 0;
    int fd = net::accept_tcp(listen_fd_, &ip, &port, "client port");
    if (fd < 0) return;
    auto* s = new Session(*this, fd, rt_.next_connection_id(), ip, port);
    s->start();
  }
}

void Worker::start() {
  uv_timer_start(&reaper_, [](uv_timer_t* t) { static_cast<Worker*>(t->data)->reap_idle(); }, 100, 100);
  post([this] { warm_pools(rt_.topology().servers()); });
  thread_ = std::thread([this] { run(); });
}

void Worker::run() {
  uv_run(&loop_, UV_RUN_DEFAULT);
}

void Worker::stop_and_join() {
  if (!thread_.joinable()) return;
  post([this] {
    // Idle backend connections say goodbye (COM_QUIT, in mysql_close) so that servers do
    // not log them as aborted. Their close callbacks run at the end of this loop
    // iteration; the zero timer stops the loop in the next one.
    close_idle_connections();
    uv_timer_start(&reaper_, [](uv_timer_t* t) { uv_stop(t->loop); }, 0, 0);
  });
  thread_.join();
}

void Worker::post(std::function<void()> fn) {
  {
    std::lock_guard lock(mu_);
    mailbox_.push_back(std::move(fn));
  }
  uv_async_send(&async_);
}

void Worker::drain_mailbox() {
  std::vector<std::function<void()>> batch;
  {
    std::lock_guard lock(mu_);
    batch.swap(mailbox_);
  }
  for (auto& fn : batch) fn();
}

}  // namespace sluice
