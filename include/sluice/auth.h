// Server-side password checks for the client port: mysql_native_password and the fast
// path of caching_sha2_password.
//
// Owns: salts, stored verifiers derived from the config, scramble verification.
// Thread rules: pure functions; Credentials are immutable after construction.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace sluice::auth {

inline constexpr std::string_view kNativePlugin = "mysql_native_password";
inline constexpr std::string_view kSha2Plugin = "caching_sha2_password";

// What the proxy keeps per configured user to check scrambles without the plain password.
struct Credentials {
  std::string native_hash2;  // SHA1(SHA1(password)), 20 bytes; empty for an empty password
  std::string sha2_digest2;  // SHA256(SHA256(password)), 32 bytes; empty if only a hash is known
  bool empty_password = false;
};

// From a config password: plain text, or "*" + 40 hex digits (mysql.user's native hash).
Credentials make_credentials(std::string_view password);
bool is_native_hash(std::string_view password);

// 20 random bytes in 1..127, as servers send (no NUL, so clients can treat it as a string).
std::string random_salt();

bool verify_native(const Credentials& c, std::string_view salt, std::string_view token);
// Fast auth only: the proxy always knows the digest, so full auth is never needed.
bool verify_sha2(const Credentials& c, std::string_view salt, std::string_view token);

// What a handshake (or COM_CHANGE_USER) response with `plugin` and `response` means for
// `c`, given the salt it was made with. kSwitch: anything Sluice cannot check as sent
// (other plugins, a hash-only user asked for sha2, an empty scramble for a non-empty
// password) -> ask for mysql_native_password with a fresh salt.
enum class Verdict { kOk, kOkSha2Fast, kDenied, kSwitch };
Verdict check_response(const Credentials& c, std::string_view salt, std::string_view plugin,
                       std::string_view response);
// The auth switch request payload asking for mysql_native_password with `salt`.
std::string auth_switch_payload(std::string_view salt);

// The client's scramble for a password (used by tests and by nothing on the query path).
std::string native_scramble(std::string_view password, std::string_view salt);
std::string sha2_scramble(std::string_view password, std::string_view salt);

}  // namespace sluice::auth
