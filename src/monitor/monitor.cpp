// The monitor thread: connect, `SELECT 1`, replication lag (see monitor.h).
#include "sluice/monitor.h"

#include <mysql.h>

#include <chrono>
#include <cstdlib>
#include <cstring>

#include "sluice/clock.h"
#include "sluice/log.h"

namespace sluice {

std::optional<int64_t> seconds_behind_master(const std::vector<std::string>& columns,
                                             const std::vector<const char*>& row) {
  for (size_t i = 0; i < columns.size() && i < row.size(); ++i) {
    if (columns[i] != "Seconds_Behind_Master") continue;
    const char* v = row[i];
    if (v == nullptr || *v == '\0') return std::nullopt;  // NULL: replication not running
    char* end = nullptr;
    long long n = std::strtoll(v, &end, 10);
    if (*end != '\0' || n < 0) return std::nullopt;
    return static_cast<int64_t>(n);
  }
  return std::nullopt;
}

// One server and the monitor's own connection to it (nullptr when not connected).
struct Monitor::Target {
  Server& server;
  bool reader;
  MYSQL* conn = nullptr;
  bool was_up = true;        // for logging transitions only (start optimistic: log a failure)
  bool lag_warned = false;   // SHOW SLAVE STATUS failed once: do not repeat the warning

  Target(Server& s, bool r) : server(s), reader(r) {}
  ~Target() { disconnect(); }
  void disconnect() {
    if (conn != nullptr) mysql_close(conn);
    conn = nullptr;
  }
};

Monitor::Monitor(const Config& cfg, Topology& topo)
    : cfg_(cfg.monitor), reader_hostgroup_(cfg.routing.reader_hostgroup) {
  for (const auto& s : topo.servers()) {
    targets_.push_back(std::make_unique<Target>(*s, s->cfg.hostgroup == reader_hostgroup_));
  }
}

Monitor::~Monitor() { stop(); }

void Monitor::start() {
  if (thread_.joinable()) return;
  thread_ = std::thread([this] { run(); });
}

void Monitor::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  targets_.clear();  // closes the connections (COM_QUIT): no aborted-connection noise
}

void Monitor::run() {
  mysql_thread_init();
  std::unique_lock lock(mu_);
  while (!stopping_) {
    auto round_end = std::chrono::steady_clock::now() + std::chrono::milliseconds(kIntervalMs);
    lock.unlock();
    for (auto& t : targets_) {
      check_server(*t);
      std::lock_guard peek(mu_);
      if (stopping_) break;
    }
    lock.lock();
    wake_.wait_until(lock, round_end, [this] { return stopping_; });
  }
  lock.unlock();
  for (auto& t : targets_) t->disconnect();
  mysql_thread_end();
}

namespace {

MYSQL* open_connection(const Server& s, const MonitorConfig& cfg, std::string* error) {
  MYSQL* m = mysql_init(nullptr);
  if (m == nullptr) {
    *error = "out of memory";
    return nullptr;
  }
  unsigned int timeout_s = Monitor::kTimeoutS;
  mysql_options(m, MYSQL_OPT_CONNECT_TIMEOUT, &timeout_s);
  mysql_options(m, MYSQL_OPT_READ_TIMEOUT, &timeout_s);
  mysql_options(m, MYSQL_OPT_WRITE_TIMEOUT, &timeout_s);
  mysql_optionsv(m, MYSQL_OPT_CONNECT_ATTR_ADD, "program_name", "sluice-monitor");
  if (mysql_real_connect(m, s.cfg.host.c_str(), cfg.user.c_str(), cfg.password.c_str(), nullptr,
                         s.cfg.port, nullptr, 0) == nullptr) {
    *error = "connect as monitor.user '" + cfg.user + "': " + mysql_error(m);
    mysql_close(m);
    return nullptr;
  }
  return m;
}

// Runs a statement and returns its stored result (nullptr with *error set on failure).
MYSQL_RES* run_query(MYSQL* m, const char* sql, std::string* error) {
  if (mysql_real_query(m, sql, std::strlen(sql)) != 0) {
    *error = std::string(sql) + ": " + mysql_error(m);
    return nullptr;
  }
  MYSQL_RES* res = mysql_store_result(m);
  if (res == nullptr) *error = std::string(sql) + ": no result set (" + mysql_error(m) + ")";
  return res;
}

// Replication lag in ms from SHOW SLAVE STATUS; -1 when unknown (not a replica, NULL).
// Returns false (with *error) only when the statement itself failed.
bool read_lag_ms(MYSQL* m, int64_t* lag_ms, std::string* error) {
  MYSQL_RES* res = run_query(m, "SHOW SLAVE STATUS", error);
  if (res == nullptr) return false;
  std::vector<std::string> columns;
  unsigned n = mysql_num_fields(res);
  MYSQL_FIELD* fields = mysql_fetch_fields(res);
  for (unsigned i = 0; i < n; ++i) columns.emplace_back(fields[i].name);
  *lag_ms = -1;
  if (MYSQL_ROW row = mysql_fetch_row(res)) {
    std::vector<const char*> values(row, row + n);
    if (auto s = seconds_behind_master(columns, values)) *lag_ms = *s * 1000;
  }
  mysql_free_result(res);
  return true;
}

}  // namespace

void Monitor::check_server(Target& t) {
  Server& s = t.server;
  std::string error;
  bool up = false;
  int64_t latency_us = -1;
  int64_t lag_ms = -1;
  if (t.conn == nullptr) t.conn = open_connection(s, cfg_, &error);
  if (t.conn != nullptr) {
    int64_t t0 = now_ns();
    if (MYSQL_RES* res = run_query(t.conn, "SELECT 1", &error)) {
      mysql_free_result(res);
      latency_us = (now_ns() - t0) / 1000;
      up = true;
    } else {
      t.disconnect();  // a broken connection: reconnect next round
    }
  }
  if (up && t.reader) {
    std::string lag_error;
    if (!read_lag_ms(t.conn, &lag_ms, &lag_error)) {
      if (!t.lag_warned) LOG_WARN("monitor: %s: %s (replication lag unknown)", s.name.c_str(), lag_error.c_str());
      t.lag_warned = true;
      // A lost connection shows up here too; anything else (e.g. a missing grant) does not
      // make the server unhealthy.
      if (mysql_errno(t.conn) >= 2000) {
        t.disconnect();
        up = false;
        error = lag_error;
      }
    } else {
      t.lag_warned = false;
    }
  }
  s.monitor_latency_us.store(latency_us, std::memory_order_relaxed);
  s.replication_lag_ms.store(lag_ms, std::memory_order_relaxed);
  s.monitor_up.store(up, std::memory_order_relaxed);
  s.monitor_checked_ms.store(now_ms(), std::memory_order_relaxed);
  if (up != t.was_up) {
    if (up) LOG_INFO("monitor: %s is up", s.name.c_str());
    else LOG_WARN("monitor: %s is down: %s", s.name.c_str(), error.c_str());
  }
  t.was_up = up;
}

}  // namespace sluice
