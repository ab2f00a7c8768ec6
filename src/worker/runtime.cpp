// Runtime wiring (see runtime.h).
#include "sluice/runtime.h"

#include <thread>

#include "sluice/clock.h"
#include "sluice/log.h"
#include "sluice/session.h"

namespace sluice {

int effective_workers(const Config& cfg) {
  if (cfg.workers > 0) return static_cast<int>(cfg.workers);
  unsigned n = std::thread::hardware_concurrency();
  return n == 0 ? 1 : static_cast<int>(n);
}

Runtime::Runtime(Config cfg) : cfg_(std::move(cfg)), topo_(cfg_, effective_workers(cfg_)) {
  int n = effective_workers(cfg_);
  for (int i = 0; i < n; ++i) workers_.push_back(std::make_unique<Worker>(*this, i));
}

Runtime::~Runtime() { stop(); }

bool Runtime::listen(std::string* error) {
  const auto& l = cfg_.frontend.listen;
  for (auto& w : workers_) {
    if (!w->listen(l.address, l.port, error)) return false;
  }
  return true;
}

Config Runtime::running_config() const { return *topo_.table()->config; }

std::string Runtime::apply_config(const Config& next) {
  try {
    validate_config(next);
  } catch (const ConfigError& e) {
    return e.what();
  }
  auto same = [](const Endpoint& a, const Endpoint& b) { return a.address == b.address && a.port == b.port; };
  const char* fixed = nullptr;
  if (next.workers != cfg_.workers) fixed = "workers";
  else if (!same(next.frontend.listen, cfg_.frontend.listen)) fixed = "frontend.listen";
  else if (!same(next.admin.listen, cfg_.admin.listen)) fixed = "admin.listen";
  else if (!same(next.metrics.listen, cfg_.metrics.listen)) fixed = "metrics.listen";
  if (fixed != nullptr) return std::string(fixed) + ": cannot change while running (restart Sluice to change it)";
  std::lock_guard lock(apply_mu_);
  std::vector<std::pair<Server*, Grant>> grants;
  std::string err = topo_.apply(next, &grants);
  if (!err.empty()) return err;
  for (auto& [server, grant] : grants) workers_[static_cast<size_t>(grant.worker)]->dispatch(*server, grant);
  log::set_level(next.log_level);
  LOG_INFO("config applied: %zu servers, %zu users, %zu query rules", next.servers.size(), next.users.size(),
           next.query_rules.size());
  return "";
}

void Runtime::server_shunned(Server* s) {
  for (auto& w : workers_) {
    Worker* worker = w.get();
    worker->post([this, worker, s] {
      for (auto& [id, info] : sessions.on_worker(worker->id())) {
        if (info->running_on.load(std::memory_order_relaxed) == s && info->session != nullptr)
          info->session->abort_on_server(s);
      }
    });
  }
}

void Runtime::start() {
  for (auto& w : workers_) w->start();
}

void Runtime::stop() {
  for (auto& w : workers_) w->stop_and_join();
}

}  // namespace sluice
