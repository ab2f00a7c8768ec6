// The monitor's recent check results, for the admin port's monitor.* tables (ProxySQL's
// mysql_server_connect_log, _ping_log, _read_only_log, _replication_lag_log).
//
// Owns: one bounded ring per kind of check (the newest kMaxEntries results).
// Thread rules: checker threads add(); the admin thread reads snapshot(); one mutex.
#pragma once

#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace sluice {

enum class MonitorCheck : uint8_t { kConnect, kPing, kReadOnly, kReplicationLag, kCount };

struct MonitorLogEntry {
  std::string host;
  uint16_t port = 0;
  int64_t time_start_us = 0;    // wall clock (unix µs) when the check started
  int64_t success_time_us = 0;  // how long it took; 0 when it failed
  std::optional<int64_t> value;  // read_only (0/1) or lag seconds (NULL when unknown)
  std::string error;             // empty when it succeeded
};

class MonitorLog {
 public:
  static constexpr size_t kMaxEntries = 1000;
  void add(MonitorCheck kind, MonitorLogEntry e);
  std::vector<MonitorLogEntry> snapshot(MonitorCheck kind) const;

 private:
  mutable std::mutex mu_;
  std::deque<MonitorLogEntry> rings_[static_cast<size_t>(MonitorCheck::kCount)];
};

}  // namespace sluice
