// Hashes and HMACs through OpenSSL, as the request signers need them.
#pragma once

#include <alivpc/detail/strings.hpp>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace alivpc::cloud::detail {

// OpenSSL 3's one-shot SHA256() and HMAC() look the algorithm up on every call (a locked
// provider search that cost more than the hashing itself); the lookups are done once here.
inline const EVP_MD* sha256_md() {
  static EVP_MD* md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  return md ? md : EVP_sha256();
}
inline const EVP_MD* sha1_md() {
  static EVP_MD* md = EVP_MD_fetch(nullptr, "SHA1", nullptr);
  return md ? md : EVP_sha1();
}

// Raw digest bytes as a string.
inline std::string sha256(std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), md, &len, sha256_md(), nullptr);
  return std::string(reinterpret_cast<const char*>(md), len);
}

inline std::string sha256_hex(std::string_view data) {
  auto raw = sha256(data);
  return alivpc::detail::to_hex(raw);
}

// An HMAC context with its digest set and no key. EVP_MAC_init with the digest named in its
// parameters looks the digest up again on every call (the same provider search as above); each
// call copies this one instead and only sets the key. Never freed, never changed after it is
// made: copying it from several threads at once only reads it.
inline EVP_MAC_CTX* new_hmac_template(const EVP_MD* md) {
  EVP_MAC* mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  EVP_MAC_CTX* ctx = mac ? EVP_MAC_CTX_new(mac) : nullptr;
  EVP_MAC_free(mac);  // the context holds its own reference
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string("digest", const_cast<char*>(EVP_MD_get0_name(md)), 0),
      OSSL_PARAM_construct_end()};
  if (ctx && EVP_MAC_CTX_set_params(ctx, params) != 1) {
    EVP_MAC_CTX_free(ctx);
    ctx = nullptr;
  }
  return ctx;
}

inline std::string hmac(const EVP_MAC_CTX* keyless, std::string_view key, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  std::size_t len = 0;
  EVP_MAC_CTX* ctx = keyless ? EVP_MAC_CTX_dup(keyless) : nullptr;
  const bool ok =
      ctx &&
      EVP_MAC_init(ctx, reinterpret_cast<const unsigned char*>(key.data()), key.size(), nullptr) ==
          1 &&
      EVP_MAC_update(ctx, reinterpret_cast<const unsigned char*>(data.data()), data.size()) == 1 &&
      EVP_MAC_final(ctx, out, &len, sizeof out) == 1;
  EVP_MAC_CTX_free(ctx);
  if (!ok) throw std::runtime_error("HMAC failed in OpenSSL");
  return std::string(reinterpret_cast<const char*>(out), len);
}

inline std::string hmac_sha1(std::string_view key, std::string_view data) {
  static const EVP_MAC_CTX* keyless = new_hmac_template(sha1_md());
  return hmac(keyless, key, data);
}

inline std::string hmac_sha256_hex(std::string_view key, std::string_view data) {
  static const EVP_MAC_CTX* keyless = new_hmac_template(sha256_md());
  return alivpc::detail::to_hex(hmac(keyless, key, data));
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
