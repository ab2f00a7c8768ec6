// Entry point: parse arguments, load the config, wire the runtime, wait for a signal.
#include <signal.h>

#include <cstdio>
#include <cstring>
#include <string>

#include "sluice/admin.h"
#include "sluice/config.h"
#include "sluice/log.h"
#include "sluice/metrics.h"
#include "sluice/monitor.h"
#include "sluice/runtime.h"

namespace {

constexpr const char* kVersion = "0.1.0";

void usage() {
  std::fprintf(stderr,
               "usage: sluice --config FILE          run the proxy\n"
               "       sluice --check-config FILE    validate FILE and exit (0 = valid)\n"
               "       sluice --version\n");
}

}  // namespace

int main(int argc, char** argv) {
  std::string config_path;
  bool check_only = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if ((a == "--config" || a == "-c") && i + 1 < argc) {
      config_path = argv[++i];
    } else if (a == "--check-config") {
      check_only = true;
      if (i + 1 < argc && argv[i + 1][0] != '-') config_path = argv[++i];
    } else if (a == "--version") {
      std::printf("sluice %s\n", kVersion);
      return 0;
    } else {
      usage();
      return 2;
    }
  }
  if (config_path.empty()) {
    usage();
    return 2;
  }
  sluice::Config cfg;
  try {
    cfg = sluice::load_config_file(config_path);
  } catch (const sluice::ConfigError& e) {
    std::fprintf(stderr, "sluice: invalid config %s: %s\n", config_path.c_str(), e.what());
    return 1;
  }
  if (check_only) {
    std::printf("sluice: config %s is valid\n", config_path.c_str());
    return 0;
  }
  sluice::log::set_level(cfg.log_level);
  signal(SIGPIPE, SIG_IGN);
  // Workers inherit this mask, so only the main thread's sigwait sees these signals.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);

  sluice::Runtime rt(std::move(cfg));
  rt.set_config_path(config_path);
  std::string err;
  if (!rt.listen(&err)) {
    LOG_ERROR("%s", err.c_str());
    return 1;
  }
  sluice::MetricsExporter metrics(rt, kVersion);
  if (!metrics.start(&err)) {
    LOG_ERROR("%s", err.c_str());
    return 1;
  }
  sluice::AdminServer admin(rt, kVersion);
  if (!admin.start(&err)) {
    LOG_ERROR("%s", err.c_str());
    return 1;
  }
  sluice::Monitor monitor(rt.topology(), [&rt](sluice::Server* s) { rt.server_shunned(s); }, &rt.monitor_log);
  rt.kick_monitor = [&monitor] { monitor.check_now(); };
  rt.start();
  monitor.start();
  const auto& l = rt.config().frontend.listen;
  LOG_INFO("sluice listening on %s:%u with %d workers, %zu servers", l.address.c_str(), l.port, rt.worker_count(),
           rt.topology().servers().size());
  // SIGHUP: re-read the config file and apply it like LOAD ... TO RUNTIME.
  while (true) {
    int sig = 0;
    sigwait(&set, &sig);
    if (sig == SIGHUP) {
      try {
        std::string err = rt.apply_config(sluice::load_config_file(config_path));
        if (err.empty()) LOG_INFO("SIGHUP: reloaded %s", config_path.c_str());
        else LOG_ERROR("SIGHUP: %s not applied: %s", config_path.c_str(), err.c_str());
      } catch (const sluice::ConfigError& e) {
        LOG_ERROR("SIGHUP: %s not applied: %s", config_path.c_str(), e.what());
      }
      continue;
    }
    LOG_INFO("signal %d: shutting down", sig);
    break;
  }
  monitor.stop();
  admin.stop();
  metrics.stop();
  rt.stop();
  return 0;
}
