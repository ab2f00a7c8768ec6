// Counter names and the histogram bucket search (see stats.h).
#include "sluice/stats.h"

namespace sluice {

const char* route_name(RouteKind r) { return r == RouteKind::kRead ? "read" : "write"; }

const char* pin_reason_name(PinReason r) {
  switch (r) {
    case PinReason::kUserVariables: return "user_variables";
    case PinReason::kTempTable: return "temp_table";
    case PinReason::kLockTables: return "lock_tables";
    case PinReason::kGetLock: return "get_lock";
    case PinReason::kPrepare: return "prepare";
    case PinReason::kUnknownState: return "unknown_state";
    case PinReason::kLastInsertId: return "last_insert_id";
    case PinReason::kFoundRows: return "found_rows";
    case PinReason::kWarnings: return "warnings";
    case PinReason::kTransaction: return "transaction";
    case PinReason::kQueryRule: return "query_rule";
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
