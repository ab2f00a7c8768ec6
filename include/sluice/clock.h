// Monotonic time in milliseconds and nanoseconds; the one clock pools and timeouts use.
#pragma once

#include <cstdint>
#include <time.h>

namespace sluice {

inline int64_t now_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}
inline int64_t now_ms() { return now_ns() / 1000000; }

}  // namespace sluice
