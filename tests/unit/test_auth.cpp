// Password checks: mysql_native_password against plain and `*HEX` credentials, the fast
// path of caching_sha2_password, empty passwords, and the salt the proxy sends.
#include <doctest/doctest.h>

#include <openssl/sha.h>

#include <cctype>
#include <cstdio>
#include <set>
#include <string>
#include <string_view>

#include "sluice/auth.h"

namespace auth = sluice::auth;

namespace {

// Independent reference implementations of the two scrambles, straight from the protocol
// documentation, to check the module against.
std::string sha1(std::string_view s) {
  unsigned char d[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(s.data()), s.size(), d);
  return std::string(reinterpret_cast<char*>(d), sizeof d);
}
std::string sha256(std::string_view s) {
  unsigned char d[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(s.data()), s.size(), d);
  return std::string(reinterpret_cast<char*>(d), sizeof d);
}
std::string xored(std::string a, std::string_view b) {
  for (size_t i = 0; i < a.size(); ++i) a[i] = static_cast<char>(a[i] ^ b[i]);
  return a;
}
std::string hex_upper(std::string_view s) {
  std::string out;
  char buf[3];
  for (unsigned char c : s) {
    std::snprintf(buf, sizeof buf, "%02X", c);
    out += buf;
  }
  return out;
}
// SHA1(password) XOR SHA1(salt + SHA1(SHA1(password)))
std::string ref_native(std::string_view pw, std::string_view salt) {
  return xored(sha1(pw), sha1(std::string(salt) + sha1(sha1(pw))));
}
// SHA256(password) XOR SHA256(SHA256(SHA256(password)) + salt)
std::string ref_sha2(std::string_view pw, std::string_view salt) {
  return xored(sha256(pw), sha256(sha256(sha256(pw)) + std::string(salt)));
}

const std::string kSalt = "abcdefghij0123456789";
// What PASSWORD('app') returns: "*" + uppercase hex of SHA1(SHA1("app")), computed outside
// this code base (Python's hashlib), and again below with OpenSSL.
const std::string kAppHash = "*5BCB3E6AC345B435C7C2E6B7949A04CE6F6563D3";

}  // namespace

TEST_CASE("auth: the *HEX hash of a password is SHA1(SHA1(password)) in uppercase hex") {
  CHECK("*" + hex_upper(sha1(sha1("app"))) == kAppHash);
  CHECK(auth::is_native_hash(kAppHash));
  auth::Credentials plain = auth::make_credentials("app");
  auth::Credentials hashed = auth::make_credentials(kAppHash);
  CHECK(plain.native_hash2 == sha1(sha1("app")));
  CHECK(hashed.native_hash2 == plain.native_hash2);
  CHECK(plain.sha2_digest2 == sha256(sha256("app")));
  CHECK(hashed.sha2_digest2.empty());  // a SHA1 hash cannot give the SHA256 digest
  CHECK_FALSE(plain.empty_password);
  CHECK_FALSE(hashed.empty_password);
}

TEST_CASE("auth: is_native_hash") {
  std::string lower = kAppHash;
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  CHECK(auth::is_native_hash(lower));
  CHECK(auth::make_credentials(lower).native_hash2 == sha1(sha1("app")));
  CHECK_FALSE(auth::is_native_hash(kAppHash.substr(1)));        // no '*'
  CHECK_FALSE(auth::is_native_hash(kAppHash + "0"));            // 41 hex digits
  CHECK_FALSE(auth::is_native_hash(kAppHash.substr(0, 40)));    // 39 hex digits
  CHECK_FALSE(auth::is_native_hash("*" + std::string(39, '0') + "G"));
  CHECK_FALSE(auth::is_native_hash(""));
  // Not a hash: a plain password that happens to start with '*'.
  CHECK_FALSE(auth::make_credentials("*secret").sha2_digest2.empty());
}

TEST_CASE("auth: native scramble matches the protocol and verifies against both credentials") {
  const std::string token = auth::native_scramble("app", kSalt);
  CHECK(token.size() == 20);
  CHECK(token == ref_native("app", kSalt));
  CHECK(auth::verify_native(auth::make_credentials("app"), kSalt, token));
  CHECK(auth::verify_native(auth::make_credentials(kAppHash), kSalt, token));
  // The handshake carries the salt with a trailing NUL: only the first 20 bytes count.
  CHECK(auth::verify_native(auth::make_credentials("app"), kSalt + std::string(1, '\0'), token));
}

TEST_CASE("auth: native scramble refusals") {
  const auth::Credentials plain = auth::make_credentials("app");
  const auth::Credentials hashed = auth::make_credentials(kAppHash);
  const std::string wrong = auth::native_scramble("apq", kSalt);
  CHECK_FALSE(auth::verify_native(plain, kSalt, wrong));
  CHECK_FALSE(auth::verify_native(hashed, kSalt, wrong));
  // Right password, another salt (a replayed scramble).
  const std::string other = auth::native_scramble("app", "01234567890123456789");
  CHECK_FALSE(auth::verify_native(plain, kSalt, other));
  const std::string token = auth::native_scramble("app", kSalt);
  CHECK_FALSE(auth::verify_native(plain, kSalt, token.substr(0, 19)));
  CHECK_FALSE(auth::verify_native(plain, kSalt, token + "x"));
  CHECK_FALSE(auth::verify_native(plain, kSalt, ""));
  std::string flipped = token;
  flipped[7] = static_cast<char>(flipped[7] ^ 1);
  CHECK_FALSE(auth::verify_native(plain, kSalt, flipped));
}

TEST_CASE("auth: empty password") {
  const auth::Credentials c = auth::make_credentials("");
  CHECK(c.empty_password);
  CHECK(c.native_hash2.empty());
  CHECK(auth::native_scramble("", kSalt).empty());
  CHECK(auth::sha2_scramble("", kSalt).empty());
  CHECK(auth::verify_native(c, kSalt, ""));
  CHECK(auth::verify_sha2(c, kSalt, ""));
  CHECK(auth::verify_sha2(c, kSalt, std::string(1, '\0')));
  // A client that sends a password to a user without one is refused.
  CHECK_FALSE(auth::verify_native(c, kSalt, auth::native_scramble("app", kSalt)));
  CHECK_FALSE(auth::verify_sha2(c, kSalt, auth::sha2_scramble("app", kSalt)));
  // And a client that sends none to a user with one.
  CHECK_FALSE(auth::verify_native(auth::make_credentials("app"), kSalt, ""));
  CHECK_FALSE(auth::verify_sha2(auth::make_credentials("app"), kSalt, ""));
}

TEST_CASE("auth: caching_sha2 fast auth verifies with plain credentials only") {
  const std::string token = auth::sha2_scramble("app", kSalt);
  CHECK(token.size() == 32);
  CHECK(token == ref_sha2("app", kSalt));
  CHECK(auth::verify_sha2(auth::make_credentials("app"), kSalt, token));
  CHECK(auth::verify_sha2(auth::make_credentials("app"), kSalt + std::string(1, '\0'), token));
  CHECK_FALSE(auth::verify_sha2(auth::make_credentials(kAppHash), kSalt, token));
  CHECK_FALSE(auth::verify_sha2(auth::make_credentials("apq"), kSalt, token));
  CHECK_FALSE(auth::verify_sha2(auth::make_credentials("app"), "01234567890123456789", token));
  CHECK_FALSE(auth::verify_sha2(auth::make_credentials("app"), kSalt, token.substr(0, 31)));
  // A native scramble is not a sha2 one.
  CHECK_FALSE(auth::verify_sha2(auth::make_credentials("app"), kSalt, auth::native_scramble("app", kSalt)));
}

TEST_CASE("auth: long and non-ASCII passwords") {
  const std::string pw = std::string(200, 'p') + "\xc3\xa9\xe2\x82\xac";
  CHECK(auth::verify_native(auth::make_credentials(pw), kSalt, auth::native_scramble(pw, kSalt)));
  CHECK(auth::verify_sha2(auth::make_credentials(pw), kSalt, auth::sha2_scramble(pw, kSalt)));
  CHECK(auth::native_scramble(pw, kSalt) == ref_native(pw, kSalt));
}

TEST_CASE("auth: random_salt is 20 bytes in 1..127 and changes") {
  std::set<std::string> seen;
  for (int i = 0; i < 200; ++i) {
    const std::string s = auth::random_salt();
    REQUIRE(s.size() == 20);
    for (char c : s) {
      CHECK(c != '\0');
      CHECK(static_cast<unsigned char>(c) <= 127);
    }
    seen.insert(s);
  }
  CHECK(seen.size() == 200);
  // A salt that went through the handshake verifies like any other.
  const std::string salt = auth::random_salt();
  CHECK(auth::verify_native(auth::make_credentials("app"), salt, auth::native_scramble("app", salt)));
}

TEST_CASE("check_response: what a client's auth response means") {
  using sluice::auth::Verdict;
  namespace auth = sluice::auth;
  auto c = auth::make_credentials("secret");
  std::string salt = auth::random_salt();
  CHECK(auth::check_response(c, salt, "", auth::native_scramble("secret", salt)) == Verdict::kOk);
  CHECK(auth::check_response(c, salt, auth::kNativePlugin, auth::native_scramble("wrong", salt)) == Verdict::kDenied);
  CHECK(auth::check_response(c, salt, auth::kSha2Plugin, auth::sha2_scramble("secret", salt)) == Verdict::kOkSha2Fast);
  CHECK(auth::check_response(c, salt, "dialog", "x") == Verdict::kSwitch);
  CHECK(auth::check_response(c, salt, auth::kNativePlugin, "") == Verdict::kSwitch);
  CHECK(auth::check_response(auth::make_credentials(""), salt, auth::kNativePlugin, "") == Verdict::kOk);
  // A hash-only user cannot check sha2: switched to native.
  auto hashed = auth::make_credentials("*14E65567ABDB5135D0CFD9A70B3032C179A49EE7");
  CHECK(auth::check_response(hashed, salt, auth::kSha2Plugin, std::string(32, 'x')) == Verdict::kSwitch);
  std::string sw = auth::auth_switch_payload(salt);
  CHECK(sw == std::string("\xfe") + "mysql_native_password" + std::string(1, '\0') + salt + std::string(1, '\0'));
}
