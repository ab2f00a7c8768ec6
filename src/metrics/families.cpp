// render(): a MetricsSnapshot as Prometheus families, names and labels as in issue 5.
//
// Conventions: `sluice_` prefix, base units (seconds, bytes), counters end in `_total`,
// per-server series carry hostgroup, server="host:port" and role=writer|reader. Every
// series that can exist is exported from the first scrape on (zero until something
// happens), so dashboards and alerts never see a series appear out of nowhere.
#include <deque>
#include <iterator>
#include <string>
#include <utility>

#include "sluice/metrics.h"

namespace sluice {
namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;
using Labels = std::vector<ClientMetric::Label>;

constexpr size_t kPinReasons = static_cast<size_t>(PinReason::kCount);
constexpr size_t kClientResults = static_cast<size_t>(ClientResult::kCount);
constexpr size_t kCloseReasons = static_cast<size_t>(CloseReason::kCount);

class Families {
 public:
  MetricFamily& family(const char* name, const char* help, MetricType type) {
    out.push_back(MetricFamily{name, help, type, {}});
    return out.back();
  }
  void gauge(MetricFamily& f, Labels labels, double v) {
    ClientMetric m;
    m.label = std::move(labels);
    m.gauge.value = v;
    f.metric.push_back(std::move(m));
  }
  void counter(MetricFamily& f, Labels labels, double v) {
    ClientMetric m;
    m.label = std::move(labels);
    m.counter.value = v;
    f.metric.push_back(std::move(m));
  }
  std::deque<MetricFamily> out;  // push_back keeps references to earlier families valid
};

Labels server_labels(const ServerSample& s) {
  return {{"hostgroup", std::to_string(s.hostgroup)}, {"server", s.server}, {"role", s.role}};
}

Labels with(Labels l, const char* name, std::string value) {
  l.push_back({name, std::move(value)});
  return l;
}

double seconds(uint64_t ns) { return static_cast<double>(ns) / 1e9; }

// One gauge family with a value per server.
template <typename F>
void per_server_gauge(Families& fs, const MetricsSnapshot& s, const char* name, const char* help, F value) {
  auto& f = fs.family(name, help, MetricType::Gauge);
  for (const auto& x : s.servers) fs.gauge(f, server_labels(x), static_cast<double>(value(x)));
}

template <typename F>
void per_server_counter(Families& fs, const MetricsSnapshot& s, const char* name, const char* help, F value) {
  auto& f = fs.family(name, help, MetricType::Counter);
  for (const auto& x : s.servers) fs.counter(f, server_labels(x), static_cast<double>(value(x)));
}

void pool_families(Families& fs, const MetricsSnapshot& s) {
  per_server_gauge(fs, s, "sluice_pool_max_open_connections",
                   "Pool limit on open backend connections (max_connections, Go's MaxOpenConns).",
                   [](const ServerSample& x) { return x.pool.max_open; });
  per_server_gauge(fs, s, "sluice_pool_open_connections",
                   "Backend connections open or being opened (in use + idle).",
                   [](const ServerSample& x) { return x.pool.open; });
  per_server_gauge(fs, s, "sluice_pool_in_use_connections", "Backend connections lent to a client.",
                   [](const ServerSample& x) { return x.pool.in_use; });
  per_server_gauge(fs, s, "sluice_pool_idle_connections", "Backend connections open and idle.",
                   [](const ServerSample& x) { return x.pool.idle; });
  per_server_gauge(fs, s, "sluice_pool_waiting_clients", "Clients queued for a connection of a full pool.",
                   [](const ServerSample& x) { return x.pool.waiting; });
  per_server_counter(fs, s, "sluice_pool_wait_count_total", "Checkouts that had to wait for a full pool.",
                     [](const ServerSample& x) { return x.pool.wait_count; });
  per_server_counter(fs, s, "sluice_pool_wait_duration_seconds_total",
                     "Time clients spent waiting for a connection (served waits).",
                     [](const ServerSample& x) { return seconds(x.pool.wait_ns); });
  per_server_counter(fs, s, "sluice_pool_checkout_timeouts_total",
                     "Clients that gave up waiting after checkout_timeout.",
                     [](const ServerSample& x) { return x.pool.checkout_timeouts; });

  auto& closed = fs.family("sluice_pool_closed_total", "Backend connections closed, by reason.",
                           MetricType::Counter);
  for (const auto& x : s.servers) {
    for (size_t r = 0; r < kCloseReasons; ++r) {
      fs.counter(closed, with(server_labels(x), "reason", close_reason_name(static_cast<CloseReason>(r))),
                 static_cast<double>(x.pool.closed[r]));
    }
  }
  auto& connects = fs.family("sluice_pool_connects_total", "Backend connection attempts, by result.",
                             MetricType::Counter);
  for (const auto& x : s.servers) {
    fs.counter(connects, with(server_labels(x), "result", "ok"), static_cast<double>(x.pool.connects_ok));
    fs.counter(connects, with(server_labels(x), "result", "error"), static_cast<double>(x.pool.connects_failed));
  }
}

void backend_families(Families& fs, const MetricsSnapshot& s) {
  per_server_gauge(fs, s, "sluice_backend_up",
                   "1 when the monitor's last check succeeded and the server is not marked down.",
                   [](const ServerSample& x) { return x.up ? 1 : 0; });
  auto& lag = fs.family("sluice_backend_replication_lag_seconds",
                        "Seconds_Behind_Master of a replica, when the monitor knows it.", MetricType::Gauge);
  for (const auto& x : s.servers) {
    if (x.lag_ms >= 0) fs.gauge(lag, server_labels(x), static_cast<double>(x.lag_ms) / 1e3);
  }
  per_server_gauge(fs, s, "sluice_backend_state",
                   "0 ONLINE, 1 SHUNNED (failing checks), 2 SHUNNED_REPLICATION_LAG, 3 OFFLINE_SOFT, 4 OFFLINE_HARD "
                   "(or removed from the config, draining).",
                   [](const ServerSample& x) { return x.state; });
  auto& ro = fs.family("sluice_backend_read_only", "The server's read_only as the monitor last saw it.",
                       MetricType::Gauge);
  for (const auto& x : s.servers) {
    if (x.read_only >= 0) fs.gauge(ro, server_labels(x), x.read_only);
  }
  per_server_counter(fs, s, "sluice_backend_check_failures_total", "Monitor checks that failed.",
                     [](const ServerSample& x) { return x.check_failures; });
  fs.counter(fs.family("sluice_failovers_total", "Writer changes seen by the monitor (a server's read_only flipped).",
                       MetricType::Counter),
             {}, static_cast<double>(s.failovers));
  auto& check = fs.family("sluice_backend_check_latency_seconds",
                          "Round trip of the monitor's last `SELECT 1`, when it succeeded.", MetricType::Gauge);
  for (const auto& x : s.servers) {
    if (x.check_latency_us >= 0) fs.gauge(check, server_labels(x), static_cast<double>(x.check_latency_us) / 1e6);
  }
}

void query_families(Families& fs, const MetricsSnapshot& s) {
  const QueryTotals& t = s.totals;
  auto& q = fs.family("sluice_queries_total",
                      "Statements by route (read|write) and the hostgroup that ran them.", MetricType::Counter);
  for (size_t r = 0; r < kRoutes; ++r) {
    for (size_t g = 0; g < kTargets; ++g) {
      fs.counter(q,
                 {{"hostgroup", std::to_string(s.hostgroup_of[g])}, {"route", route_name(static_cast<RouteKind>(r))}},
                 static_cast<double>(t.queries[r][g]));
    }
  }
  auto& h = fs.family("sluice_query_duration_seconds", "Statement latency seen by Sluice, by route.",
                      MetricType::Histogram);
  for (size_t r = 0; r < kRoutes; ++r) {
    ClientMetric m;
    m.label = {{"route", route_name(static_cast<RouteKind>(r))}};
    uint64_t cumulative = 0;
    for (size_t b = 0; b < kLatencyBounds.size(); ++b) {
      cumulative += t.buckets[r][b];
      m.histogram.bucket.push_back({cumulative, kLatencyBounds[b]});
    }
    // The serializer adds le="+Inf" with sample_count: the total including the last bucket.
    m.histogram.sample_count = cumulative + t.buckets[r][kBuckets - 1];
    m.histogram.sample_sum = seconds(t.sum_ns[r]);
    h.metric.push_back(std::move(m));
  }
  fs.counter(fs.family("sluice_query_errors_total", "Statements that ended in an error packet.",
                       MetricType::Counter),
             {}, static_cast<double>(t.errors));
  fs.counter(fs.family("sluice_reads_on_writer_for_consistency_total",
                       "Reads sent to the writer because no replica had applied the session's last write "
                       "(read-your-writes).",
                       MetricType::Counter),
             {}, static_cast<double>(t.consistency_reads_on_writer));
  fs.counter(fs.family("sluice_writes_retried_read_only_total",
                       "Writes a server refused as read-only (promotion under way), retried on the new writer.",
                       MetricType::Counter),
             {}, static_cast<double>(t.writes_retried_read_only));
  auto& pins = fs.family("sluice_pins_total", "Clients pinned to their backend connection, by reason.",
                         MetricType::Counter);
  for (size_t i = 0; i < kPinReasons; ++i) {
    fs.counter(pins, {{"reason", pin_reason_name(static_cast<PinReason>(i))}}, static_cast<double>(t.pins[i]));
  }
}

void client_families(Families& fs, const MetricsSnapshot& s) {
  const QueryTotals& t = s.totals;
  fs.gauge(fs.family("sluice_client_connections", "Client connections open now.", MetricType::Gauge), {},
           s.client_connections);
  fs.gauge(fs.family("sluice_client_connections_max", "Cap on client connections (frontend.max_client_connections).",
                     MetricType::Gauge),
           {}, s.max_client_connections);
  auto& c = fs.family("sluice_client_connections_total", "Client logins, by result (ok|denied|error).",
                      MetricType::Counter);
  for (size_t i = 0; i < kClientResults; ++i) {
    fs.counter(c, {{"result", client_result_name(static_cast<ClientResult>(i))}},
               static_cast<double>(t.client_results[i]));
  }
  auto& b = fs.family("sluice_bytes_total", "Bytes from clients (in) and to clients (out).", MetricType::Counter);
  fs.counter(b, {{"direction", "in"}}, static_cast<double>(t.bytes_in));
  fs.counter(b, {{"direction", "out"}}, static_cast<double>(t.bytes_out));
  fs.gauge(fs.family("sluice_build_info", "Always 1; the version is in the label.", MetricType::Gauge),
           {{"version", s.version}}, 1);
}

}  // namespace

std::vector<MetricFamily> render(const MetricsSnapshot& s) {
  Families fs;
  pool_families(fs, s);
  backend_families(fs, s);
  query_families(fs, s);
  client_families(fs, s);
  return {std::make_move_iterator(fs.out.begin()), std::make_move_iterator(fs.out.end())};
}

}  // namespace sluice
