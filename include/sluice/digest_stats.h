// Digest statistics: what ProxySQL shows in stats_mysql_query_digest, gathered per worker.
//
// Owns: per-(hostgroup, schemaname, username, client_address, digest) counters of one
// worker, a bound on how many distinct keys it keeps, and the merge of several workers'
// snapshots into table rows.
// Thread rules: one DigestStats per worker thread. record() is called by that worker only;
// snapshot() by any thread (the admin port). A per-object mutex guards the map; only
// snapshot() ever contends with record(), so the worker pays an uncontended lock. record()
// copies strings only when it creates a row (an existing key is found through views).
// Times are microseconds; first_seen/last_seen are unix seconds passed in by the caller.
#pragma once

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace sluice {

inline constexpr size_t kDefaultMaxDigestsPerWorker = 10000;
// The row that counts statements once a worker holds max_digests keys: digest 0,
// hostgroup -1, empty names, and this text.
inline constexpr std::string_view kDigestOverflowText = "(digests over the per-worker limit)";

// The key as the caller has it (views; nothing is copied to look it up).
struct DigestKeyView {
  int32_t hostgroup = -1;  // -1: answered by Sluice itself (rule error_msg/OK_msg, ...)
  std::string_view schemaname;
  std::string_view username;
  std::string_view client_address;
  uint64_t digest = 0;
};

// One execution of a statement.
struct DigestSample {
  uint64_t time_us = 0;
  uint64_t rows_affected = 0;
  uint64_t rows_sent = 0;
  int64_t now_unix_s = 0;
};

// The figures of one digest key.
struct DigestCounters {
  std::string digest_text;
  uint64_t count_star = 0;
  int64_t first_seen = 0;
  int64_t last_seen = 0;
  uint64_t sum_time = 0;
  uint64_t min_time = 0;
  uint64_t max_time = 0;
  uint64_t sum_rows_affected = 0;
  uint64_t sum_rows_sent = 0;
  void add(const DigestSample& s);
  void fold(const DigestCounters& other);  // another worker's figures for the same key
};

// One row of stats_mysql_query_digest: the key, then its figures.
struct DigestRow : DigestCounters {
  int32_t hostgroup = -1;
  std::string schemaname;
  std::string username;
  std::string client_address;
  uint64_t digest = 0;

  bool is_overflow() const { return digest == 0 && digest_text == kDigestOverflowText; }
};

class DigestStats {
 public:
  explicit DigestStats(size_t max_digests = kDefaultMaxDigestsPerWorker);

  void record(const DigestKeyView& key, std::string_view digest_text, const DigestSample& sample);

  // Current rows (the overflow row last, when it counted anything). With reset, the
  // worker starts again from nothing (stats_mysql_query_digest_reset).
  std::vector<DigestRow> snapshot(bool reset);

  size_t size() const;              // distinct keys held (overflow row not included)
  uint64_t overflowed() const;      // statements counted in the overflow row since reset
  size_t max_digests() const { return max_digests_; }

 private:
  struct Key {
    int32_t hostgroup;
    std::string schemaname;
    std::string username;
    std::string client_address;
    uint64_t digest;
  };
  using Counters = DigestCounters;
  struct KeyHash {
    using is_transparent = void;
    size_t operator()(const DigestKeyView& k) const;
    size_t operator()(const Key& k) const;
  };
  struct KeyEqual {
    using is_transparent = void;
    bool operator()(const DigestKeyView& a, const Key& b) const;
    bool operator()(const Key& a, const DigestKeyView& b) const { return (*this)(b, a); }
    bool operator()(const Key& a, const Key& b) const;
  };
  using Map = std::unordered_map<Key, Counters, KeyHash, KeyEqual>;

  static DigestRow to_row(const Key& k, const Counters& c);

  const size_t max_digests_;
  mutable std::mutex mu_;
  Map map_;
  Counters overflow_;
};

// Sums rows with equal keys (hostgroup, schemaname, username, client_address, digest)
// across workers: counts and sums add, first_seen/min_time take the minimum,
// last_seen/max_time the maximum. Output sorted by key.
std::vector<DigestRow> merge_digest_rows(std::vector<std::vector<DigestRow>> per_worker);

}  // namespace sluice
