// Query-path counters, one set per worker.
//
// Owns: plain counters and a latency histogram. Each WorkerStats has exactly one writer
// (its worker thread), so updates are a relaxed load + store (no locked instruction on
// the query path); readers (the metrics exporter, admin stats tables) sum all workers at
// scrape time and may see a value a few statements old, never a torn one.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>

#include "sluice/command_kind.h"

namespace sluice {

class Counter {
 public:
  void add(uint64_t n = 1) { v_.store(v_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed); }
  uint64_t get() const { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> v_{0};
};

enum class RouteKind : uint8_t { kRead = 0, kWrite = 1, kCount };
enum class TargetGroup : uint8_t { kWriter = 0, kReader = 1, kCount };
enum class PinReason : uint8_t {
  kUserVariables, kTempTable, kLockTables, kGetLock, kPrepare, kUnknownState,
  kLastInsertId, kFoundRows, kWarnings, kTransaction, kQueryRule,
  kCursor,    // a prepared statement's read-only cursor is open on the connection
  kLongData,  // COM_STMT_SEND_LONG_DATA sent; its COM_STMT_EXECUTE must follow there
  kCount
};
enum class ClientResult : uint8_t { kOk = 0, kDenied = 1, kError = 2, kCount };

const char* route_name(RouteKind r);
const char* pin_reason_name(PinReason r);
const char* client_result_name(ClientResult r);

// Latency buckets in seconds (upper bounds); the last bucket is +Inf.
inline constexpr std::array<double, 16> kLatencyBounds = {
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
    0.05,   0.1,     0.25,   0.5,   1,     2.5,    5,     10};

struct LatencyHistogram {
  std::array<Counter, kLatencyBounds.size() + 1> buckets;  // non-cumulative counts
  Counter sum_ns;
  void observe(int64_t ns);
};

struct WorkerStats {
  // [route][hostgroup that ran it]: a read that fell back to the writer counts as
  // route=read on the writer hostgroup.
  Counter queries[static_cast<size_t>(RouteKind::kCount)][static_cast<size_t>(TargetGroup::kCount)];
  LatencyHistogram latency[static_cast<size_t>(RouteKind::kCount)];
  Counter query_errors;  // statements that ended in an error packet
  Counter pins[static_cast<size_t>(PinReason::kCount)];
  Counter client_connections[static_cast<size_t>(ClientResult::kCount)];
  Counter bytes_from_clients;
  Counter bytes_to_clients;
  // Prepared statements (stmt_cache.h): client COM_STMT_PREPAREs answered from the global
  // statement cache without a backend round trip; COM_STMT_PREPAREs Sluice sent to
  // backends (a client's first prepare, or lazily before an execution on a connection
  // that had not prepared the statement); backend statements closed because their
  // connection held more than pool.max_prepared_statements (least recently used first).
  Counter stmt_cache_hits;
  Counter stmt_backend_prepares;
  Counter stmt_lru_closes;
  // Reads sent to the writer because no replica had applied the session's last write.
  Counter consistency_reads_on_writer;
  // Writes a server refused as read-only (a promotion in progress) and retried elsewhere.
  Counter writes_retried_read_only;
  Counter rule_answered;  // statements answered by a query rule's error_msg / OK_msg
  // Statements by kind, with their latency (the admin port's stats_mysql_commands_counters).
  LatencyHistogram commands[static_cast<size_t>(CommandKind::kCount)];
};

}  // namespace sluice
