// Metrics rendering: names, labels, cumulative histogram buckets, every close reason, lag
// only when known. Snapshots are built by hand: no runtime, no sockets.
#include <doctest/doctest.h>

#include <prometheus/text_serializer.h>

#include <string>

#include "sluice/metrics.h"

using sluice::MetricsSnapshot;
using sluice::ServerSample;

namespace {

MetricsSnapshot sample() {
  MetricsSnapshot s;
  s.version = "9.9.9";
  s.hostgroup_of[0] = 10;
  s.hostgroup_of[1] = 20;
  ServerSample w;
  w.hostgroup = 10;
  w.server = "127.0.0.1:3306";
  w.role = "writer";
  w.pool.max_open = 8;
  w.pool.open = 5;
  w.pool.in_use = 3;
  w.pool.idle = 2;
  w.pool.waiting = 1;
  w.pool.wait_count = 4;
  w.pool.wait_ns = 1500000000;
  w.pool.closed[static_cast<size_t>(sluice::CloseReason::kIdleTimeout)] = 7;
  w.up = true;
  ServerSample r;
  r.hostgroup = 20;
  r.server = "127.0.0.1:3307";
  r.role = "reader";
  r.lag_ms = 2500;
  s.servers = {w, r};
  // route=read: one at 0.3 ms (bucket le=0.0005), two above 10 s (+Inf).
  s.totals.buckets[0][2] = 1;
  s.totals.buckets[0][sluice::kBuckets - 1] = 2;
  s.totals.sum_ns[0] = 25000300000;
  s.totals.queries[0][1] = 3;
  s.totals.bytes_in = 11;
  s.totals.bytes_out = 22;
  s.client_connections = 6;
  return s;
}

std::string text(const MetricsSnapshot& s) { return prometheus::TextSerializer().Serialize(sluice::render(s)); }

bool has(const std::string& t, const std::string& line) { return t.find("\n" + line + "\n") != std::string::npos; }

}  // namespace

TEST_CASE("pool figures carry hostgroup, server and role") {
  std::string t = text(sample());
  CHECK(has(t, R"(sluice_pool_max_open_connections{hostgroup="10",server="127.0.0.1:3306",role="writer"} 8)"));
  CHECK(has(t, R"(sluice_pool_open_connections{hostgroup="10",server="127.0.0.1:3306",role="writer"} 5)"));
  CHECK(has(t, R"(sluice_pool_in_use_connections{hostgroup="10",server="127.0.0.1:3306",role="writer"} 3)"));
  CHECK(has(t, R"(sluice_pool_idle_connections{hostgroup="10",server="127.0.0.1:3306",role="writer"} 2)"));
  CHECK(has(t, R"(sluice_pool_waiting_clients{hostgroup="10",server="127.0.0.1:3306",role="writer"} 1)"));
  CHECK(has(t, R"(sluice_pool_wait_count_total{hostgroup="10",server="127.0.0.1:3306",role="writer"} 4)"));
  CHECK(has(t, R"(sluice_pool_wait_duration_seconds_total{hostgroup="10",server="127.0.0.1:3306",role="writer"} 1.5)"));
  CHECK(has(t, R"(sluice_pool_in_use_connections{hostgroup="20",server="127.0.0.1:3307",role="reader"} 0)"));
}

TEST_CASE("every close reason is exported for every pool, zero or not") {
  std::string t = text(sample());
  for (size_t r = 0; r < static_cast<size_t>(sluice::CloseReason::kCount); ++r) {
    std::string reason = sluice::close_reason_name(static_cast<sluice::CloseReason>(r));
    for (const char* server : {R"(hostgroup="10",server="127.0.0.1:3306",role="writer")",
                               R"(hostgroup="20",server="127.0.0.1:3307",role="reader")"}) {
      CHECK(t.find(std::string("sluice_pool_closed_total{") + server + ",reason=\"" + reason + "\"}") !=
            std::string::npos);
    }
  }
  CHECK(has(t, R"(sluice_pool_closed_total{hostgroup="10",server="127.0.0.1:3306",role="writer",reason="idle_timeout"} 7)"));
}

TEST_CASE("latency histogram buckets are cumulative and +Inf is the count") {
  std::string t = text(sample());
  CHECK(has(t, R"(sluice_query_duration_seconds_bucket{route="read",le="0.00025"} 0)"));
  CHECK(has(t, R"(sluice_query_duration_seconds_bucket{route="read",le="0.0005"} 1)"));
  CHECK(has(t, R"(sluice_query_duration_seconds_bucket{route="read",le="10"} 1)"));
  CHECK(has(t, R"(sluice_query_duration_seconds_bucket{route="read",le="+Inf"} 3)"));
  CHECK(has(t, R"(sluice_query_duration_seconds_count{route="read"} 3)"));
  CHECK(has(t, R"(sluice_query_duration_seconds_sum{route="read"} 25.0003)"));
  CHECK(has(t, R"(sluice_query_duration_seconds_count{route="write"} 0)"));
}

TEST_CASE("queries by hostgroup and route, clients, bytes, build info") {
  std::string t = text(sample());
  CHECK(has(t, R"(sluice_queries_total{hostgroup="20",route="read"} 3)"));
  CHECK(has(t, R"(sluice_queries_total{hostgroup="10",route="read"} 0)"));
  CHECK(has(t, R"(sluice_queries_total{hostgroup="10",route="write"} 0)"));
  CHECK(has(t, R"(sluice_client_connections 6)"));
  CHECK(has(t, R"(sluice_client_connections_total{result="denied"} 0)"));
  CHECK(has(t, R"(sluice_bytes_total{direction="in"} 11)"));
  CHECK(has(t, R"(sluice_bytes_total{direction="out"} 22)"));
  CHECK(has(t, R"(sluice_build_info{version="9.9.9"} 1)"));
  CHECK(has(t, R"(sluice_pins_total{reason="transaction"} 0)"));
  CHECK(has(t, R"(sluice_query_errors_total 0)"));
}

TEST_CASE("prepared statement cache figures") {
  MetricsSnapshot s = sample();
  s.stmt_cache_entries = 12;
  s.totals.stmt_cache_hits = 7;
  s.totals.stmt_backend_prepares = 5;
  s.totals.stmt_lru_closes = 2;
  std::string t = text(s);
  CHECK(has(t, R"(sluice_stmt_cache_entries 12)"));
  CHECK(has(t, R"(sluice_stmt_cache_hits_total 7)"));
  CHECK(has(t, R"(sluice_stmt_backend_prepares_total 5)"));
  CHECK(has(t, R"(sluice_stmt_lru_closes_total 2)"));
  CHECK(has(t, R"(sluice_pins_total{reason="cursor"} 0)"));
}

TEST_CASE("backend up, and lag only where known") {
  std::string t = text(sample());
  CHECK(has(t, R"(sluice_backend_up{hostgroup="10",server="127.0.0.1:3306",role="writer"} 1)"));
  CHECK(has(t, R"(sluice_backend_up{hostgroup="20",server="127.0.0.1:3307",role="reader"} 0)"));
  CHECK(has(t, R"(sluice_backend_replication_lag_seconds{hostgroup="20",server="127.0.0.1:3307",role="reader"} 2.5)"));
  CHECK(t.find(R"(sluice_backend_replication_lag_seconds{hostgroup="10")") == std::string::npos);
}

TEST_CASE("a server that is not in the snapshot is not exported") {
  MetricsSnapshot s = sample();
  s.servers.pop_back();
  std::string t = text(s);
  CHECK(t.find("127.0.0.1:3307") == std::string::npos);
}
