// The emulator's credential side: configured AccessKeys, STS keys it issues (for the metadata
// service's RAM role), used signature nonces, and the signature check of both schemes.
// Takes wall time as an argument; owns no clock.
#pragma once

#include <alivpc/cloud/signer.hpp>
#include <alivpc/detail/strings.hpp>
#include <alivpc/runtime/prng.hpp>
#include <alivpc/runtime/scheduler.hpp>
#include <alivpc/sim/request_parser.hpp>

#include <map>
#include <optional>
#include <string>

namespace alivpc::sim {

struct access_key {
  std::string id;
  std::string secret;
  std::string security_token;           // STS keys only
  std::optional<wall_time> expiration;  // STS keys only
};

// Real gateways refuse timestamps more than 15 minutes off.
inline constexpr std::chrono::minutes timestamp_tolerance{15};

class credential_store {
 public:
  explicit credential_store(std::uint64_t seed = 0) : rng_(seed ^ 0x5757u) {}

  void add_key(const std::string& id, std::string secret) {
    keys_[id] = access_key{id, std::move(secret), {}, std::nullopt};
  }
  const access_key* find(const std::string& id) const {
    auto it = keys_.find(id);
    return it == keys_.end() ? nullptr : &it->second;
  }

  // A fresh STS key valid for ttl from now.
  const access_key& issue_sts(wall_time now, std::chrono::seconds ttl) {
    access_key k{"STS." + random_text(24), random_text(40), random_text(120), now + ttl};
    return keys_.emplace(k.id, k).first->second;
  }

  // Checks key, token, timestamp window, signature and nonce, in that order (a nonce is only
  // spent by a request whose signature is right). nullopt = accepted.
  std::optional<api_error> verify(const api_request& r, wall_time now) {
    const access_key* key = find(r.access_key_id);
    if (!key)
      return api_error{404, "InvalidAccessKeyId.NotFound", "Specified access key is not found."};
    if (key->expiration) {
      if (r.security_token.empty())
        return api_error{400, "MissingSecurityToken",
                         "The SecurityToken is mandatory for an STS access key."};
      if (!cloud::detail::equal_constant_time(r.security_token, key->security_token))
        return api_error{400, "InvalidSecurityToken.MismatchWithAccessKey",
                         "The SecurityToken does not belong to this access key."};
      if (now >= *key->expiration)
        return api_error{400, "InvalidSecurityToken.Expired",
                         "Specified SecurityToken is expired."};
    }
    auto ts = cloud::parse_timestamp(r.timestamp);
    if (!ts)
      return api_error{400, "InvalidTimeStamp.Format",
                       "Specified time stamp or date value is not well formatted."};
    if (*ts > now + timestamp_tolerance || *ts < now - timestamp_tolerance)
      return api_error{400, "InvalidTimeStamp.Expired",
                       "Specified time stamp or date value is expired."};
    if (!signature_matches(r, *key))
      return api_error{403, "SignatureDoesNotMatch",
                       "Specified signature is not matched with our calculation."};
    purge_nonces(now);
    if (!nonces_.emplace(r.access_key_id + "\n" + r.nonce, now).second)
      return api_error{400, "SignatureNonceUsed", "Specified signature nonce was used already."};
    return std::nullopt;
  }

  static bool signature_matches(const api_request& r, const access_key& key) {
    if (r.scheme == signature_scheme::v1)
      return cloud::detail::equal_constant_time(
          cloud::sign_v1(r.method, r.params, key.secret).signature, r.signature);
    // The date and the nonce must be signed, or a request could be replayed with new ones.
    bool date = false, nonce = false;
    for (const auto& h : r.signed_headers) {
      date |= alivpc::detail::lower(h) == "x-acs-date";
      nonce |= alivpc::detail::lower(h) == "x-acs-signature-nonce";
    }
    if (!date || !nonce) return false;
    // sign_v3_with's steps on the request's own parts, not on a copy of them as a v3_request.
    const auto headers = cloud::detail::lowered(r.headers);
    auto names = r.signed_headers;
    const std::string payload = r.body.empty() ? cloud::detail::empty_payload_hash()
                                               : cloud::sha256_hex(r.body);  // as received
    const auto expected = cloud::detail::sign_v3_parts(
        r.method, r.path, cloud::encode_query(r.query),
        cloud::detail::headers_named(headers, names), payload, r.access_key_id, key.secret);
    return cloud::detail::equal_constant_time(expected.signature, r.signature);
  }

 private:
  std::string random_text(int n) {
    static constexpr char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    std::string out;
    for (int i = 0; i < n; ++i)
      out += alphabet[rng_.below(62)];
    return out;
  }
  // At most once per tolerance: a nonce kept a little longer is still refused, as it should be,
  // and a scan of every nonce on every request made busy runs quadratic.
  void purge_nonces(wall_time now) {
    if (now < next_nonce_purge_) return;
    next_nonce_purge_ = now + timestamp_tolerance;
    std::erase_if(nonces_,
                  [&](const auto& kv) { return kv.second < now - 2 * timestamp_tolerance; });
  }

  prng rng_;
  std::map<std::string, access_key> keys_;
  std::map<std::string, wall_time> nonces_;
  wall_time next_nonce_purge_{};
};

}  // namespace alivpc::sim
