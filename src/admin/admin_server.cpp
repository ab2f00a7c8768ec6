// The admin thread: its own libuv loop, the listener on config.admin.listen, admin
// sessions, and the SQLite database they share (created here, used on that thread only).
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "admin_session.h"
#include "sluice/log.h"
#include "sluice/net.h"
#include "sluice/runtime.h"

namespace sluice::admin {

void AdminServer::Impl::on_accept() {
  for (int i = 0; i < 16; ++i) {
    std::string ip;
    uint16_t port = 0;
    int fd = net::accept_tcp(listen_fd, &ip, &port, "admin port");
    if (fd < 0) return;
    auto* s = new AdminSession(*this, fd, next_id++, ip);
    s->start();
  }
}

void AdminServer::Impl::shutdown() {
  uv_poll_stop(&listen_poll);
  uv_close(reinterpret_cast<uv_handle_t*>(&listen_poll), nullptr);
  std::vector<AdminSession*> open(sessions.begin(), sessions.end());
  for (AdminSession* s : open) s->close("admin port shutting down");
  uv_close(reinterpret_cast<uv_handle_t*>(&wake), nullptr);
}

AdminServer::AdminServer(Runtime& rt, std::string version) : impl_(std::make_unique<Impl>(rt, std::move(version))) {}

AdminServer::~AdminServer() { stop(); }

bool AdminServer::start(std::string* error) {
  Impl& m = *impl_;
  Config running = running_config(m.rt);
  const Endpoint& l = running.admin.listen;
  try {
    m.db = std::make_unique<Database>(running.pool);
    m.exec = std::make_unique<Executor>(m.rt, *m.db, m.version, AdminState{running.admin, running.log_level});
    // At start the memory layer is what runs, as after ProxySQL loads its config.
    for (Module mod : {Module::kMysqlServers, Module::kMysqlUsers, Module::kMysqlQueryRules, Module::kMysqlVariables,
                       Module::kAdminVariables})
      write_tables(*m.db, mod, Layer::kMemory, running);
  } catch (const AdminError& e) {
    *error = e.what();
    return false;
  }
  int fd = net::listen_tcp(l.address, l.port, false, 128, "admin.listen", error);
  if (fd < 0) return false;
  m.listen_fd = fd;
  uv_loop_init(&m.loop);
  uv_async_init(&m.loop, &m.wake, [](uv_async_t* a) {
    auto* impl = static_cast<Impl*>(a->data);
    if (impl->stopping.load()) impl->shutdown();
  });
  m.wake.data = &m;
  uv_poll_init(&m.loop, &m.listen_poll, fd);
  m.listen_poll.data = &m;
  uv_poll_start(&m.listen_poll, UV_READABLE, [](uv_poll_t* h, int status, int) {
    if (status == 0) static_cast<Impl*>(h->data)->on_accept();
  });
  m.thread = std::thread([&m] { uv_run(&m.loop, UV_RUN_DEFAULT); });
  LOG_INFO("admin port listening on %s:%u", l.address.c_str(), l.port);
  return true;
}

void AdminServer::stop() {
  Impl& m = *impl_;
  if (!m.thread.joinable()) return;
  m.stopping.store(true);
  uv_async_send(&m.wake);
  m.thread.join();
  uv_loop_close(&m.loop);
  ::close(m.listen_fd);
  m.listen_fd = -1;
  m.exec.reset();
  m.db.reset();
}

}  // namespace sluice::admin
