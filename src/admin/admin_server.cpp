// The admin thread: its own libuv loop, the listener on config.admin.listen, admin
// sessions, and the SQLite database they share (created here, used on that thread only).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "admin_session.h"
#include "sluice/log.h"
#include "sluice/runtime.h"

namespace sluice::admin {

void AdminServer::Impl::on_accept() {
  for (int i = 0; i < 16; ++i) {
    sockaddr_in peer{};
    socklen_t len = sizeof peer;
    int fd = ::accept4(listen_fd, reinterpret_cast<sockaddr*>(&peer), &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EMFILE || errno == ENFILE) LOG_ERROR("admin accept: %s", std::strerror(errno));
      return;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    char ip[INET_ADDRSTRLEN] = "?";
    inet_ntop(AF_INET, &peer.sin_addr, ip, sizeof ip);
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
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(l.port);
  if (inet_pton(AF_INET, l.address.c_str(), &addr.sin_addr) != 1) {
    *error = "admin.listen.address: not an IPv4 address: " + l.address;
    return false;
  }
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(fd, 128) != 0) {
    *error = "admin.listen: cannot listen on " + l.address + ":" + std::to_string(l.port) + ": " + std::strerror(errno);
    ::close(fd);
    return false;
  }
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
