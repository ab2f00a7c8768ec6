// Counter names and the histogram bucket search (see stats.h).
#include "sluice/stats.h"

namespace sluice {

const char* route_name(RouteKind r) { return r == RouteKind::kRead ? "read" : "write"; }

const char* pin_reason_name(PinReason r) {
  switch (r) {
    case PinReason::kSessionState: return "session_state";
    case PinReason::kLastInsertId: return "last_insert_id";
    case PinReason::kTransaction: return "transaction";
    case PinReason::kCount: break;
  }
  return "unknown";
}

const char* client_result_name(ClientResult r) {
  switch (r) {
    case ClientResult::kOk: return "ok";
    case ClientResult::kDenied: return "denied";
    case ClientResult::kError: return "error";
    case ClientResult::kCount: break;
  }
  return "unknown";
}

void LatencyHistogram::observe(int64_t ns) {
  if (ns < 0) ns = 0;
  double s = static_cast<double>(ns) / 1e9;
  size_t i = 0;
  while (i < kLatencyBounds.size() && s > kLatencyBounds[i]) ++i;
  buckets[i].add();
  sum_ns.add(static_cast<uint64_t>(ns));
}

}  // namespace sluice
