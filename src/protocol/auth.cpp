// Password scramble checks (see auth.h). Uses OpenSSL's SHA1/SHA256 and RAND_bytes.
#include "sluice/auth.h"

#include <openssl/rand.h>
#include <openssl/evp.h>
#include <openssl/sha.h>

#include <cctype>
#include <cstdlib>

namespace sluice::auth {
namespace {

std::string digest(const EVP_MD* md, std::string_view a, std::string_view b) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_DigestInit_ex(ctx, md, nullptr);
  EVP_DigestUpdate(ctx, a.data(), a.size());
  EVP_DigestUpdate(ctx, b.data(), b.size());
  EVP_DigestFinal_ex(ctx, out, &n);
  EVP_MD_CTX_free(ctx);
  return std::string(reinterpret_cast<char*>(out), n);
}

std::string sha1(std::string_view a, std::string_view b = {}) { return digest(EVP_sha1(), a, b); }
std::string sha256(std::string_view a, std::string_view b = {}) { return digest(EVP_sha256(), a, b); }

std::string xor_bytes(std::string_view a, std::string_view b) {
  std::string out(a);
  for (size_t i = 0; i < out.size() && i < b.size(); ++i) out[i] = static_cast<char>(out[i] ^ b[i]);
  return out;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

// Constant-time comparison so that a timing side channel does not leak the verifier.
bool equal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  unsigned char d = 0;
  for (size_t i = 0; i < a.size(); ++i) d |= static_cast<unsigned char>(a[i] ^ b[i]);
  return d == 0;
}

}  // namespace

bool is_native_hash(std::string_view password) {
  if (password.size() != 41 || password[0] != '*') return false;
  for (char c : password.substr(1))
    if (hex_value(c) < 0) return false;
  return true;
}

Credentials make_credentials(std::string_view password) {
  Credentials c;
  if (password.empty()) {
    c.empty_password = true;
    return c;
  }
  if (is_native_hash(password)) {
    for (size_t i = 1; i < password.size(); i += 2)
      c.native_hash2.push_back(static_cast<char>(hex_value(password[i]) * 16 + hex_value(password[i + 1])));
    return c;
  }
  c.native_hash2 = sha1(sha1(password));
  c.sha2_digest2 = sha256(sha256(password));
  return c;
}

std::string random_salt() {
  unsigned char raw[20];
  if (RAND_bytes(raw, sizeof raw) != 1) {
    for (auto& b : raw) b = static_cast<unsigned char>(std::rand());
  }
  std::string salt(sizeof raw, '\0');
  for (size_t i = 0; i < sizeof raw; ++i) salt[i] = static_cast<char>((raw[i] % 127) + 1);
  return salt;
}

bool verify_native(const Credentials& c, std::string_view salt, std::string_view token) {
  if (c.empty_password) return token.empty();
  if (token.size() != SHA_DIGEST_LENGTH || c.native_hash2.empty()) return false;
  std::string stage1 = xor_bytes(token, sha1(salt.substr(0, 20), c.native_hash2));
  return equal(sha1(stage1), c.native_hash2);
}

bool verify_sha2(const Credentials& c, std::string_view salt, std::string_view token) {
  if (c.empty_password) return token.empty() || token == std::string_view("\0", 1);
  if (token.size() != SHA256_DIGEST_LENGTH || c.sha2_digest2.empty()) return false;
  std::string stage1 = xor_bytes(token, sha256(c.sha2_digest2, salt.substr(0, 20)));
  return equal(sha256(stage1), c.sha2_digest2);
}

std::string native_scramble(std::string_view password, std::string_view salt) {
  if (password.empty()) return {};
  std::string stage1 = sha1(password);
  return xor_bytes(stage1, sha1(salt.substr(0, 20), sha1(stage1)));
}

std::string sha2_scramble(std::string_view password, std::string_view salt) {
  if (password.empty()) return {};
  std::string stage1 = sha256(password);
  return xor_bytes(stage1, sha256(sha256(stage1), salt.substr(0, 20)));
}

Verdict check_response(const Credentials& c, std::string_view salt, std::string_view plugin,
                       std::string_view response) {
  if (plugin.empty()) plugin = kNativePlugin;
  if (plugin == kNativePlugin && !response.empty()) {
    return verify_native(c, salt, response) ? Verdict::kOk : Verdict::kDenied;
  }
  if (plugin == kSha2Plugin && !c.sha2_digest2.empty() && response.size() == 32) {
    return verify_sha2(c, salt, response) ? Verdict::kOkSha2Fast : Verdict::kDenied;
  }
  if (plugin == kNativePlugin && c.empty_password) return Verdict::kOk;
  return Verdict::kSwitch;
}

std::string auth_switch_payload(std::string_view salt) {
  std::string sw(1, static_cast<char>(0xfe));
  sw.append(kNativePlugin);
  sw.push_back('\0');
  sw.append(salt);
  sw.push_back('\0');
  return sw;
}

}  // namespace sluice::auth
