// Digest statistics: per-key counters, min/max/first/last, keys that differ in one field,
// snapshot with and without reset, the per-worker bound and its overflow row, merging
// workers' snapshots, record() racing snapshot() from another thread; a skipped benchmark.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "sluice/digest_stats.h"

using sluice::DigestKeyView;
using sluice::DigestRow;
using sluice::DigestSample;
using sluice::DigestStats;

namespace {

DigestKeyView key(uint64_t digest, int32_t hostgroup = 10, std::string_view user = "app",
                  std::string_view schema = "shop", std::string_view client = "10.0.0.5") {
  return DigestKeyView{hostgroup, schema, user, client, digest};
}

DigestSample sample(uint64_t time_us, int64_t now, uint64_t affected = 0, uint64_t sent = 0) {
  return DigestSample{time_us, affected, sent, now};
}

// The row of key(digest, hostgroup) with the default names.
const DigestRow* find(const std::vector<DigestRow>& rows, uint64_t digest, int32_t hostgroup = 10) {
  for (const auto& r : rows) {
    if (r.digest == digest && r.hostgroup == hostgroup && r.username == "app" && r.schemaname == "shop" &&
        r.client_address == "10.0.0.5") {
      return &r;
    }
  }
  return nullptr;
}

}  // namespace

TEST_CASE("digest stats: counters of one key") {
  DigestStats stats;
  stats.record(key(0xA), "SELECT c FROM t WHERE id = ?", sample(120, 1000, 0, 1));
  stats.record(key(0xA), "ignored: the text is kept from the first record", sample(80, 1005, 0, 1));
  stats.record(key(0xA), "", sample(300, 1002, 0, 3));
  const auto rows = stats.snapshot(false);
  REQUIRE(rows.size() == 1);
  const DigestRow& r = rows[0];
  CHECK(r.hostgroup == 10);
  CHECK(r.schemaname == "shop");
  CHECK(r.username == "app");
  CHECK(r.client_address == "10.0.0.5");
  CHECK(r.digest == 0xA);
  CHECK(r.digest_text == "SELECT c FROM t WHERE id = ?");
  CHECK(r.count_star == 3);
  CHECK(r.first_seen == 1000);
  CHECK(r.last_seen == 1005);
  CHECK(r.sum_time == 500);
  CHECK(r.min_time == 80);
  CHECK(r.max_time == 300);
  CHECK(r.sum_rows_affected == 0);
  CHECK(r.sum_rows_sent == 5);
  CHECK_FALSE(r.is_overflow());
}

TEST_CASE("digest stats: every key field separates rows") {
  DigestStats stats;
  stats.record(key(1), "q", sample(1, 1));
  stats.record(key(2), "q2", sample(1, 1));
  stats.record(key(1, 20), "q", sample(1, 1));
  stats.record(key(1, 10, "other"), "q", sample(1, 1));
  stats.record(key(1, 10, "app", "other"), "q", sample(1, 1));
  stats.record(key(1, 10, "app", "shop", "10.0.0.6"), "q", sample(1, 1));
  stats.record(key(1, -1), "q", sample(1, 1, 7, 0));  // answered by Sluice itself
  stats.record(key(1), "q", sample(1, 1));
  CHECK(stats.size() == 7);
  const auto rows = stats.snapshot(false);
  CHECK(rows.size() == 7);
  CHECK(find(rows, 1)->count_star == 2);
  CHECK(find(rows, 1, -1)->sum_rows_affected == 7);
}

TEST_CASE("digest stats: snapshot with reset starts again") {
  DigestStats stats;
  stats.record(key(1), "q", sample(5, 100));
  CHECK(stats.snapshot(false).size() == 1);
  CHECK(stats.snapshot(false).size() == 1);  // without reset, rows stay
  const auto taken = stats.snapshot(true);
  REQUIRE(taken.size() == 1);
  CHECK(taken[0].count_star == 1);
  CHECK(stats.size() == 0);
  CHECK(stats.snapshot(false).empty());
  stats.record(key(1), "q", sample(7, 200));
  const auto again = stats.snapshot(false);
  REQUIRE(again.size() == 1);
  CHECK(again[0].count_star == 1);
  CHECK(again[0].first_seen == 200);
  CHECK(again[0].min_time == 7);
}

TEST_CASE("digest stats: beyond max_digests, statements count in one overflow row") {
  DigestStats stats(3);
  CHECK(stats.max_digests() == 3);
  for (uint64_t d = 1; d <= 3; ++d) stats.record(key(d), "q", sample(1, 10));
  stats.record(key(4), "q4", sample(10, 11, 1, 2));
  stats.record(key(5), "q5", sample(30, 12));
  stats.record(key(1), "q", sample(1, 13));  // a held key still counts in its own row
  CHECK(stats.size() == 3);
  CHECK(stats.overflowed() == 2);
  const auto rows = stats.snapshot(false);
  REQUIRE(rows.size() == 4);
  const DigestRow& over = rows.back();
  CHECK(over.is_overflow());
  CHECK(over.digest == 0);
  CHECK(over.hostgroup == -1);
  CHECK(over.digest_text == sluice::kDigestOverflowText);
  CHECK(over.count_star == 2);
  CHECK(over.sum_time == 40);
  CHECK(over.min_time == 10);
  CHECK(over.max_time == 30);
  CHECK(over.first_seen == 11);
  CHECK(over.last_seen == 12);
  CHECK(find(rows, 1)->count_star == 2);

  stats.snapshot(true);
  CHECK(stats.overflowed() == 0);
  stats.record(key(9), "q9", sample(1, 20));  // room again after the reset
  CHECK(stats.size() == 1);
  CHECK(stats.snapshot(false).size() == 1);
}

TEST_CASE("digest stats: merging workers' snapshots") {
  DigestStats w1;
  DigestStats w2;
  w1.record(key(1), "q1", sample(100, 50, 1, 0));
  w1.record(key(2), "q2", sample(5, 51));
  w2.record(key(1), "q1", sample(20, 40, 2, 0));
  w2.record(key(1), "q1", sample(400, 60, 0, 0));
  w2.record(key(3, 20), "q3", sample(1, 70));
  const auto merged = sluice::merge_digest_rows({w1.snapshot(false), w2.snapshot(false)});
  REQUIRE(merged.size() == 3);
  const DigestRow* one = find(merged, 1);
  REQUIRE(one != nullptr);
  CHECK(one->count_star == 3);
  CHECK(one->sum_time == 520);
  CHECK(one->min_time == 20);
  CHECK(one->max_time == 400);
  CHECK(one->first_seen == 40);
  CHECK(one->last_seen == 60);
  CHECK(one->sum_rows_affected == 3);
  CHECK(one->digest_text == "q1");
  CHECK(find(merged, 2)->count_star == 1);
  CHECK(find(merged, 3, 20)->count_star == 1);
  // Sorted by key: hostgroup first.
  CHECK(merged[0].hostgroup == 10);
  CHECK(merged[2].hostgroup == 20);
  CHECK(sluice::merge_digest_rows({}).empty());
}

TEST_CASE("digest stats: record and snapshot(reset) from two threads lose nothing") {
  DigestStats stats;
  constexpr uint64_t kRecords = 200000;
  std::atomic<bool> done{false};
  std::thread worker([&] {
    for (uint64_t i = 0; i < kRecords; ++i) stats.record(key(i % 50), "q", sample(1, 1));
    done = true;
  });
  uint64_t counted = 0;
  auto drain = [&] {
    for (const auto& r : stats.snapshot(true)) counted += r.count_star;
  };
  while (!done) drain();
  worker.join();
  drain();
  CHECK(counted == kRecords);
}

// Run with: ./build/sluice_unit -tc='*benchmark*' --no-skip
TEST_CASE("digest stats benchmark: ns per record of an existing key" * doctest::skip()) {
  DigestStats stats;
  for (uint64_t d = 0; d < 1000; ++d) stats.record(key(d), "SELECT c FROM sbtest1 WHERE id = ?", sample(1, 1));
  double best = 1e18;
  for (int round = 0; round < 5; ++round) {
    constexpr int kIterations = 500000;
    const auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < kIterations; ++i) {
      stats.record(key(static_cast<uint64_t>(i) % 1000), "SELECT c FROM sbtest1 WHERE id = ?", sample(150, 1, 0, 1));
    }
    const auto end = std::chrono::steady_clock::now();
    best = std::min(best, std::chrono::duration<double, std::nano>(end - start).count() / kIterations);
  }
  std::printf("digest stats record (1000 keys held): %6.1f ns/record (best of 5 x 500000)\n", best);
}
