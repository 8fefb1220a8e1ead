// Hashes and HMACs through OpenSSL, as the request signers need them.
#pragma once

#include <alivpc/detail/strings.hpp>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include <optional>
#include <string>
#include <string_view>

namespace alivpc::cloud::detail {

// Raw digest bytes as a string.
inline std::string sha256(std::string_view data) {
  unsigned char md[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), md);
  return std::string(reinterpret_cast<const char*>(md), sizeof md);
}

inline std::string sha256_hex(std::string_view data) {
  auto raw = sha256(data);
  return alivpc::detail::to_hex(raw);
}

inline std::string hmac(const EVP_MD* md, std::string_view key, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(md, key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, &len);
  return std::string(reinterpret_cast<const char*>(out), len);
}

inline std::string hmac_sha1(std::string_view key, std::string_view data) {
  return hmac(EVP_sha1(), key, data);
}

inline std::string hmac_sha256_hex(std::string_view key, std::string_view data) {
  auto raw = hmac(EVP_sha256(), key, data);
  return alivpc::detail::to_hex(raw);
}

// Constant-time comparison, so a verifier does not leak how much of a signature matched.
inline bool equal_constant_time(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (std::size_t i = 0; i < a.size(); ++i)
    diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

}  // namespace alivpc::cloud::detail
