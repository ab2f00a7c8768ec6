// Runtime wiring (see runtime.h).
#include "sluice/runtime.h"

#include <thread>

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

Config Runtime::running_config() const { return cfg_; }

std::string Runtime::apply_config(const Config& next) {
  try {
    validate_config(next);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "applying a config at run time is not implemented yet";
}

void Runtime::start() {
  for (auto& w : workers_) w->start();
}

void Runtime::stop() {
  for (auto& w : workers_) w->stop_and_join();
}

}  // namespace sluice
