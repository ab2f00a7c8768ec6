// Error helpers shared by the config loader's files (config.cpp reads keys,
// config_checks.cpp checks across sections): messages start with the JSON path.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace sluice::config_detail {

// Throws ConfigError("<path>: <reason>") ("(top level)" for an empty path).
[[noreturn]] void fail(const std::string& path, const std::string& reason);
std::string child(const std::string& parent, std::string_view key);  // "a.b"
std::string item(const std::string& parent, size_t index);           // "a[3]"

}  // namespace sluice::config_detail
