// The monitor: a checker thread per server and the health policy (see monitor.h).
#include "sluice/monitor.h"

#include <mysql.h>

#include <algorithm>
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

void MonitorLog::add(MonitorCheck kind, MonitorLogEntry e) {
  std::lock_guard lock(mu_);
  auto& ring = rings_[static_cast<size_t>(kind)];
  ring.push_back(std::move(e));
  if (ring.size() > kMaxEntries) ring.pop_front();
}

std::vector<MonitorLogEntry> MonitorLog::snapshot(MonitorCheck kind) const {
  std::lock_guard lock(mu_);
  const auto& ring = rings_[static_cast<size_t>(kind)];
  return {ring.begin(), ring.end()};
}

std::vector<Gtid> parse_gtid_list(std::string_view text) {
  std::vector<Gtid> out;
  size_t i = 0;
  auto number = [&](uint64_t* v) {
    size_t start = i;
    uint64_t n = 0;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') n = n * 10 + static_cast<uint64_t>(text[i++] - '0');
    *v = n;
    return i > start;
  };
  while (i < text.size()) {
    while (i < text.size() && (text[i] == ' ' || text[i] == ',' || text[i] == '\n')) ++i;
    if (i == text.size()) break;
    uint64_t d = 0, s = 0, q = 0;
    if (!number(&d) || i >= text.size() || text[i++] != '-' || !number(&s) || i >= text.size() || text[i++] != '-' ||
        !number(&q))
      return {};
    out.push_back(Gtid{static_cast<uint32_t>(d), static_cast<uint32_t>(s), q});
  }
  return out;
}

HealthState next_health(const HealthInputs& in) {
  if (!in.check_ok) {
    if (in.consecutive_failures >= std::max<uint32_t>(1, in.max_failures)) return HealthState::kShunned;
    return in.current;
  }
  if (in.current == HealthState::kShunned && in.now_ms - in.shunned_since_ms < in.recovery_ms) {
    return HealthState::kShunned;
  }
  if (in.replica && in.max_lag_s != 0) {
    int64_t lag = in.lag_s.value_or(kLagWhenNullS);
    if (lag > in.max_lag_s) return HealthState::kShunnedReplicationLag;
  }
  return HealthState::kOnline;
}

struct Monitor::Target {
  Server& server;
  MYSQL* conn = nullptr;
  std::thread thread;
  int64_t next_ping = 0, next_read_only = 0, next_lag = 0;
  uint64_t seen_generation = 0;
  uint32_t failures = 0;          // consecutive
  int64_t shunned_since = 0;
  bool replica = false;           // the last SHOW SLAVE STATUS had a row
  std::optional<int64_t> lag_s;
  bool lag_warned = false;
  std::string last_error;

  explicit Target(Server& s) : server(s) {}
  ~Target() { disconnect(); }
  void disconnect() {
    if (conn != nullptr) mysql_close(conn);
    conn = nullptr;
  }
};

Monitor::Monitor(Topology& topo, ShunListener on_shunned, MonitorLog* log)
    : topo_(topo), on_shunned_(std::move(on_shunned)), log_(log) {}

namespace {

int64_t unix_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

void Monitor::note(MonitorCheck kind, const Server& s, int64_t start_us, int64_t took_us, bool ok,
                   std::optional<int64_t> value, const std::string& error) {
  if (log_ == nullptr) return;
  MonitorLogEntry e;
  e.host = s.host;
  e.port = s.port;
  e.time_start_us = start_us;
  e.success_time_us = ok ? std::max<int64_t>(1, took_us) : 0;
  e.value = value;
  if (!ok) e.error = error;
  log_->add(kind, std::move(e));
}

Monitor::~Monitor() { stop(); }

void Monitor::start() {
  if (supervisor_.joinable()) return;
  supervisor_ = std::thread([this] { supervise(); });
}

void Monitor::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (supervisor_.joinable()) supervisor_.join();
  for (auto& t : targets_) {
    if (t->thread.joinable()) t->thread.join();
  }
  targets_.clear();  // closes the connections (COM_QUIT): no aborted-connection noise
}

void Monitor::check_now() {
  {
    std::lock_guard lock(mu_);
    ++generation_;
  }
  wake_.notify_all();
}

bool Monitor::wait_for(std::chrono::milliseconds d) {
  std::unique_lock lock(mu_);
  wake_.wait_for(lock, d, [this] { return stopping_; });
  return !stopping_;
}

// Starts a checker for every server the topology knows, including servers a config change
// added later.
void Monitor::supervise() {
  do {
    for (Server* s : topo_.servers()) {
      bool known = false;
      for (auto& t : targets_) known = known || &t->server == s;
      if (known) continue;
      targets_.push_back(std::make_unique<Target>(*s));
      Target* t = targets_.back().get();
      t->thread = std::thread([this, t] { run(*t); });
    }
  } while (wait_for(std::chrono::milliseconds(200)));
}

void Monitor::run(Target& t) {
  mysql_thread_init();
  std::unique_lock lock(mu_);
  while (!stopping_) {
    uint64_t gen = generation_;
    lock.unlock();
    auto table = topo_.table();
    const MonitorConfig& cfg = table->config->monitor;
    int64_t now = now_ms();
    if (gen != t.seen_generation) {
      t.seen_generation = gen;
      t.next_ping = t.next_read_only = t.next_lag = now;
    }
    if (!t.server.configured.load(std::memory_order_relaxed)) {
      t.disconnect();
    } else if (now >= std::min({t.next_ping, t.next_read_only, t.next_lag})) {
      check(t, cfg, now);
    }
    int64_t next = std::min({t.next_ping, t.next_read_only, t.next_lag});
    int64_t sleep = std::clamp<int64_t>(next - now_ms(), 10, 200);
    lock.lock();
    wake_.wait_for(lock, std::chrono::milliseconds(sleep), [&] { return stopping_ || generation_ != gen; });
  }
  lock.unlock();
  t.disconnect();
  mysql_thread_end();
}

namespace {

MYSQL* open_connection(const Server& s, const MonitorConfig& cfg, std::string* error) {
  MYSQL* m = mysql_init(nullptr);
  if (m == nullptr) {
    *error = "out of memory";
    return nullptr;
  }
  unsigned int timeout_s = std::max<unsigned>(1, (cfg.connect_timeout_ms + 999) / 1000);
  mysql_options(m, MYSQL_OPT_CONNECT_TIMEOUT, &timeout_s);
  mysql_options(m, MYSQL_OPT_READ_TIMEOUT, &timeout_s);
  mysql_options(m, MYSQL_OPT_WRITE_TIMEOUT, &timeout_s);
  mysql_optionsv(m, MYSQL_OPT_CONNECT_ATTR_ADD, "program_name", "sluice-monitor");
  if (mysql_real_connect(m, s.host.c_str(), cfg.user.c_str(), cfg.password.c_str(), nullptr, s.port, nullptr, 0) ==
      nullptr) {
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

// A lost connection (client error) makes the check fail; a server error (e.g. a missing
// grant) only loses that figure.
bool connection_error(MYSQL* m) { return mysql_errno(m) >= 2000 && mysql_errno(m) < 3000; }

const char* read_only_query(const std::string& check_type) {
  if (check_type == "super_read_only") {
    return "SELECT @@global.super_read_only, 0, @@global.gtid_current_pos";
  }
  return "SELECT @@global.read_only, @@global.innodb_read_only, @@global.gtid_current_pos";
}

int read_only_of(const std::string& check_type, bool ro, bool innodb_ro) {
  if (check_type == "innodb_read_only") return innodb_ro ? 1 : 0;
  if (check_type == "read_only|innodb_read_only") return ro || innodb_ro ? 1 : 0;
  if (check_type == "read_only&innodb_read_only") return ro && innodb_ro ? 1 : 0;
  return ro ? 1 : 0;  // read_only, super_read_only
}

}  // namespace

void Monitor::check(Target& t, const MonitorConfig& cfg, int64_t now) {
  Server& s = t.server;
  std::string error;
  bool ok = true;
  if (t.conn == nullptr) {
    int64_t start = unix_us(), t0 = now_ns();
    t.conn = open_connection(s, cfg, &error);
    ok = t.conn != nullptr;
    note(MonitorCheck::kConnect, s, start, (now_ns() - t0) / 1000, ok, std::nullopt, error);
  }
  if (ok && now >= t.next_ping) {
    t.next_ping = now + cfg.ping_interval_ms;
    int64_t start = unix_us(), t0 = now_ns();
    if (MYSQL_RES* res = run_query(t.conn, "SELECT 1", &error)) {
      mysql_free_result(res);
      s.monitor_latency_us.store((now_ns() - t0) / 1000, std::memory_order_relaxed);
    } else {
      ok = false;
    }
    note(MonitorCheck::kPing, s, start, (now_ns() - t0) / 1000, ok, std::nullopt, error);
  }
  if (ok && now >= t.next_read_only) {
    t.next_read_only = now + cfg.read_only_interval_ms;
    auto table = topo_.table();
    std::string check_type = "read_only";
    for (const auto& r : table->config->replication_hostgroups) {
      for (const auto& sc : table->config->servers) {
        if (sc.host == s.host && sc.port == s.port &&
            (sc.hostgroup == r.writer_hostgroup || sc.hostgroup == r.reader_hostgroup))
          check_type = r.check_type;
      }
    }
    int64_t start = unix_us(), t0 = now_ns();
    std::string ro_error;
    MYSQL_RES* res = run_query(t.conn, read_only_query(check_type), &ro_error);
    const bool ro_ok = res != nullptr;
    std::optional<int64_t> ro_value;
    if (res != nullptr) {
      if (MYSQL_ROW row = mysql_fetch_row(res)) {
        bool ro = row[0] != nullptr && std::strcmp(row[0], "0") != 0;
        bool innodb_ro = row[1] != nullptr && std::strcmp(row[1], "0") != 0;
        ro_value = read_only_of(check_type, ro, innodb_ro);
        topo_.on_read_only(&s, static_cast<int>(*ro_value));
        for (const Gtid& g : parse_gtid_list(row[2] != nullptr ? row[2] : "")) {
          if (g.domain < kGtidDomains) s.applied_seq[g.domain].store(g.seq, std::memory_order_release);
        }
      }
      mysql_free_result(res);
    } else if (connection_error(t.conn)) {
      ok = false;
      error = ro_error;
    }
    note(MonitorCheck::kReadOnly, s, start, (now_ns() - t0) / 1000, ro_ok, ro_value, ro_error);
  }
  if (ok && now >= t.next_lag) {
    t.next_lag = now + cfg.replication_lag_interval_ms;
    std::string lag_error;
    int64_t start = unix_us(), t0 = now_ns();
    MYSQL_RES* res = run_query(t.conn, "SHOW SLAVE STATUS", &lag_error);
    if (res != nullptr) {
      std::vector<std::string> columns;
      unsigned n = mysql_num_fields(res);
      MYSQL_FIELD* fields = mysql_fetch_fields(res);
      for (unsigned i = 0; i < n; ++i) columns.emplace_back(fields[i].name);
      t.replica = false;
      t.lag_s.reset();
      if (MYSQL_ROW row = mysql_fetch_row(res)) {
        std::vector<const char*> values(row, row + n);
        t.replica = true;
        t.lag_s = seconds_behind_master(columns, values);
      }
      mysql_free_result(res);
      s.replication_lag_ms.store(t.lag_s ? *t.lag_s * 1000 : -1, std::memory_order_relaxed);
      t.lag_warned = false;
      if (t.replica) note(MonitorCheck::kReplicationLag, s, start, (now_ns() - t0) / 1000, true, t.lag_s, "");
    } else if (connection_error(t.conn)) {
      ok = false;
      error = lag_error;
      note(MonitorCheck::kReplicationLag, s, start, 0, false, std::nullopt, lag_error);
    } else {
      if (!t.lag_warned) LOG_WARN("monitor: %s: %s (replication lag unknown)", s.name.c_str(), lag_error.c_str());
      t.lag_warned = true;
    }
  }
  if (!ok) {
    t.disconnect();
    ++t.failures;
    s.check_failures.fetch_add(1, std::memory_order_relaxed);
    s.monitor_latency_us.store(-1, std::memory_order_relaxed);
    // Every due check failed with the connection: try again at the next ping.
    t.next_read_only = std::max(t.next_read_only, t.next_ping);
    t.next_lag = std::max(t.next_lag, t.next_ping);
    if (t.next_ping <= now) t.next_ping = now + cfg.ping_interval_ms;
  } else {
    t.failures = 0;
  }
  bool was_up = s.monitor_up.exchange(ok, std::memory_order_relaxed);
  s.monitor_checked_ms.store(now_ms(), std::memory_order_relaxed);
  if (ok != was_up || (!ok && error != t.last_error)) {
    if (ok) LOG_INFO("monitor: %s is up", s.name.c_str());
    else LOG_WARN("monitor: %s check failed: %s", s.name.c_str(), error.c_str());
  }
  t.last_error = ok ? "" : error;

  HealthInputs in;
  in.current = s.health.load(std::memory_order_relaxed);
  in.check_ok = ok;
  in.consecutive_failures = t.failures;
  in.max_failures = cfg.ping_max_failures;
  in.now_ms = now;
  in.shunned_since_ms = t.shunned_since;
  in.recovery_ms = cfg.shun_recovery_ms;
  in.replica = t.replica;
  in.lag_s = t.lag_s;
  in.max_lag_s = s.max_replication_lag_s.load(std::memory_order_relaxed);
  HealthState next = next_health(in);
  if (next == in.current) return;
  s.health.store(next, std::memory_order_relaxed);
  if (next == HealthState::kShunned) t.shunned_since = now;
  LOG_WARN("monitor: %s is now %s%s", s.name.c_str(), health_state_name(next),
           next == HealthState::kShunnedReplicationLag
               ? (" (lag " + (t.lag_s ? std::to_string(*t.lag_s) + " s" : std::string("NULL")) + ", max " +
                  std::to_string(in.max_lag_s) + " s)").c_str()
               : "");
  if (next == HealthState::kShunned && on_shunned_) on_shunned_(&s);
}

}  // namespace sluice
