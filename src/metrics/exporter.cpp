// The /metrics HTTP endpoint: prometheus-cpp's Exposer with one custom Collectable.
//
// The Collectable holds no metric objects of its own: each Collect() (one per scrape, on
// a civetweb thread) calls gather() and render(), so the workers never touch a
// prometheus-cpp type and the query path pays nothing for being observed.
#include <prometheus/collectable.h>
#include <prometheus/exposer.h>

#include <exception>

#include "sluice/log.h"
#include "sluice/metrics.h"
#include "sluice/runtime.h"

namespace sluice {

class MetricsExporter::Collector : public prometheus::Collectable {
 public:
  Collector(Runtime& rt, const std::string& version) : rt_(rt), version_(version) {}
  std::vector<prometheus::MetricFamily> Collect() const override { return render(gather(rt_, version_)); }

 private:
  Runtime& rt_;
  const std::string version_;
};

MetricsExporter::MetricsExporter(Runtime& rt, std::string version) : rt_(rt), version_(std::move(version)) {}

MetricsExporter::~MetricsExporter() { stop(); }

namespace {

// civetweb's listening_ports syntax: "ip:port", IPv6 as "[ip]:port".
std::string civet_address(const Endpoint& e) {
  std::string host = e.address;
  if (host.find(':') != std::string::npos && host.front() != '[') host = "[" + host + "]";
  return host + ":" + std::to_string(e.port);
}

}  // namespace

bool MetricsExporter::start(std::string* error) {
  const Endpoint& l = rt_.config().metrics.listen;
  const std::string addr = civet_address(l);
  try {
    // Two HTTP threads: a slow scraper (or a browser) cannot hold up Prometheus.
    exposer_ = std::make_unique<prometheus::Exposer>(addr, 2);
  } catch (const std::exception& e) {
    *error = "metrics.listen " + addr + ": cannot listen for /metrics (" + e.what() +
             "); is the port already in use?";
    return false;
  }
  collector_ = std::make_shared<Collector>(rt_, version_);
  exposer_->RegisterCollectable(collector_, "/metrics");
  LOG_INFO("metrics on http://%s/metrics", addr.c_str());
  return true;
}

void MetricsExporter::stop() {
  exposer_.reset();  // joins the HTTP threads: no Collect() runs after this
  collector_.reset();
}

}  // namespace sluice
