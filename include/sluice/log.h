// Minimal leveled logging to stderr, one line per call, safe from any thread.
#pragma once

#include <cstdarg>
#include <string_view>

namespace sluice::log {

enum class Level { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };

void set_level(Level l);
bool set_level(std::string_view name);  // "debug" | "info" | "warn" | "error"
bool enabled(Level l);
void write(Level l, const char* fmt, ...) __attribute__((format(printf, 2, 3)));

}  // namespace sluice::log

#define SLUICE_LOG(level, ...)                                              \
  do {                                                                      \
    if (::sluice::log::enabled(level)) ::sluice::log::write(level, __VA_ARGS__); \
  } while (0)
#define LOG_DEBUG(...) SLUICE_LOG(::sluice::log::Level::kDebug, __VA_ARGS__)
#define LOG_INFO(...) SLUICE_LOG(::sluice::log::Level::kInfo, __VA_ARGS__)
#define LOG_WARN(...) SLUICE_LOG(::sluice::log::Level::kWarn, __VA_ARGS__)
#define LOG_ERROR(...) SLUICE_LOG(::sluice::log::Level::kError, __VA_ARGS__)
