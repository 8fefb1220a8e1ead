// One OpenAPI endpoint, called the way the official SDKs call it, with retries.
//
// V3 (default): POST /?<action parameters>, empty body, x-acs-* headers, ACS3-HMAC-SHA256 in the
// Authorization header. V1: GET /?<all parameters>&Signature=..., HMAC-SHA1 (as aliyungo and the
// original flannel backend). Each attempt gets a fresh UUID nonce and UTC timestamp (from the
// scheduler's wall clock and PRNG) and is signed anew; the parameters, including a ClientToken,
// stay the same. Success is a 2xx status; anything else becomes an api_error.
#pragma once

#include <alivpc/cloud/api_error.hpp>
#include <alivpc/cloud/credentials.hpp>
#include <alivpc/runtime/log.hpp>
#include <alivpc/cloud/responses.hpp>
#include <alivpc/cloud/retry_policy.hpp>
#include <alivpc/cloud/signer.hpp>
#include <alivpc/cloud/transport.hpp>
#include <alivpc/runtime/scheduler.hpp>

#include <algorithm>
#include <cstdio>
#include <functional>
#include <string>

namespace alivpc::cloud {

enum class signature_version { v3, v1 };

struct rpc_options {
  std::string api_version = "2016-04-28";  // VPC API; "2014-05-26" for the ECS API
  signature_version signature = signature_version::v3;
  retry_options retry;
};

// A random (version 4) UUID, as the SDKs use for SignatureNonce and ClientToken.
inline std::string make_uuid(prng& rng) {
  std::uint64_t hi = rng(), lo = rng();
  hi = (hi & ~0xf000ull) | 0x4000ull;                         // version 4
  lo = (lo & 0x3fffffffffffffffull) | 0x8000000000000000ull;  // variant 10
  char buf[37];
  std::snprintf(buf, sizeof buf, "%08x-%04x-%04x-%04x-%012llx", unsigned(hi >> 32),
                unsigned((hi >> 16) & 0xffff), unsigned(hi & 0xffff), unsigned(lo >> 48),
                static_cast<unsigned long long>(lo & 0xffffffffffffull));
  return buf;
}

// Builds one signed request. Pure: the nonce and time come in, so tests can pin them.
inline http::request build_rpc_request(const http::url& endpoint, signature_version version,
                                       std::string_view api_version, std::string_view action,
                                       const param_map& params, const credentials& creds,
                                       std::string_view nonce, wall_time now) {
  http::request req;
  req.headers.emplace_back("accept", "application/json");
  if (version == signature_version::v3) {
    // The headers of sign_v3 (every one here is signed), sent in the order signed, as before;
    // signed from their parts: every call signs one, and a v3_request (its copy of the
    // parameters, its headers lowered twice, its query encoded twice) was most of the cost.
    const std::string query = encode_query(params);
    req.headers.reserve(9);
    req.headers.emplace_back("host", host_header(endpoint));
    req.headers.emplace_back("x-acs-action", std::string(action));
    req.headers.emplace_back("x-acs-content-sha256", detail::empty_payload_hash());
    req.headers.emplace_back("x-acs-date", format_timestamp(now));
    if (!creds.security_token.empty())
      req.headers.emplace_back("x-acs-security-token", creds.security_token.reveal());
    req.headers.emplace_back("x-acs-signature-nonce", std::string(nonce));
    req.headers.emplace_back("x-acs-version", std::string(api_version));
    std::vector<detail::signed_header> signed_headers(req.headers.begin() + 1, req.headers.end());
    std::sort(signed_headers.begin(), signed_headers.end());  // in order already; kept so
    auto sig =
        detail::sign_v3_parts("POST", "/", query, signed_headers, detail::empty_payload_hash(),
                              creds.access_key_id, creds.access_key_secret.reveal());
    req.method = "POST";
    req.target = "/?" + query;
    req.headers.emplace_back("Authorization", std::move(sig.authorization));
    return req;
  }
  param_map p = params;
  p["Action"] = std::string(action);
  p["Format"] = "JSON";
  p["Version"] = std::string(api_version);
  p["AccessKeyId"] = creds.access_key_id;
  p["SignatureMethod"] = "HMAC-SHA1";
  p["SignatureVersion"] = "1.0";
  p["SignatureNonce"] = std::string(nonce);
  p["Timestamp"] = format_timestamp(now);
  if (!creds.security_token.empty()) p["SecurityToken"] = creds.security_token.reveal();
  p["Signature"] = sign_v1("GET", p, creds.access_key_secret.reveal()).signature;
  req.method = "GET";
  req.target = "/?" + encode_query(p);
  req.headers.emplace_back("host", host_header(endpoint));
  return req;
}

// What one client has done so far, for metrics.
struct client_counters {
  std::uint64_t attempts = 0;   // requests sent
  std::uint64_t retries = 0;    // attempts that failed and were tried again
  std::uint64_t throttled = 0;  // Throttling answers
};

template <scheduler S>
class rpc_client {
 public:
  using credentials_source = std::function<task<credentials>()>;

  rpc_client(S& s, http::url endpoint, send_function send, credentials_source creds,
             rpc_options o = {}, logger log = {})
      : s_(s),
        endpoint_(std::move(endpoint)),
        send_(std::move(send)),
        creds_(std::move(creds)),
        o_(std::move(o)),
        log_(std::move(log)),
        limiter_(o_.retry) {}

  const http::url& endpoint() const noexcept { return endpoint_; }
  const rpc_options& options() const noexcept { return o_; }

  // One logical call: attempts until success, a permanent answer, or the retry budget is spent.
  // Returns the body of the 2xx answer; throws api_error or alivpc::error otherwise.
  task<std::string> call(std::string action, param_map params) {
    for (int attempt = 1;; ++attempt) {
      std::optional<retry_decision> retry;
      std::string failure;
      alivpc::log_fields fields{{"action", action}, {"attempt", std::to_string(attempt)}};
      try {
        auto body = co_await attempt_once(action, params);
        limiter_.on_success();
        co_return body;
      } catch (const api_error& e) {
        fields.push_back({"error_code", e.code()});
        if (!e.request_id().empty()) fields.push_back({"request_id", e.request_id()});
        if (e.is_throttling()) {
          limiter_.on_throttled();
          log_.log(log_level::warning,
                   action + " throttled: slowing this client to one request every " +
                       std::to_string(
                           std::chrono::duration_cast<std::chrono::milliseconds>(limiter_.gap())
                               .count()) +
                       " ms",
                   fields);
        }
        retry = decide_retry(o_.retry, e, attempt, s_.random());
        if (!retry) throw;
        failure = e.what();
      } catch (const error& e) {
        retry = decide_retry(o_.retry, e, attempt, s_.random());
        if (!retry) throw;
        failure = e.what();
      }
      ++retries_;
      std::string note = action;
      note += " attempt ";
      note += std::to_string(attempt);
      note += " failed (";
      note += failure;
      note += "); retrying in ";
      note += std::to_string(
          std::chrono::duration_cast<std::chrono::milliseconds>(retry->wait).count());
      note += " ms";
      log_.log(log_level::info, note, fields);
      co_await sleep_for(s_, retry->wait);
    }
  }

  // A single signed attempt, after waiting for the rate limiter's slot.
  task<std::string> attempt_once(const std::string& action, const param_map& params) {
    auto slot = limiter_.reserve(s_.now());
    if (slot > s_.now()) co_await sleep_until(s_, slot);
    auto creds = co_await creds_();
    auto req = build_rpc_request(endpoint_, o_.signature, o_.api_version, action, params, creds,
                                 make_uuid(s_.random()), s_.wall_now());
    ++attempts_;
    auto res = co_await send_(std::move(req));
    if (res.status >= 200 && res.status < 300) co_return std::move(res.body);
    auto body = parse_error_body(res.body);
    if (body.request_id.empty()) body.request_id = res.header("x-acs-request-id");
    throw api_error(action, endpoint_.to_string(), res.status, std::move(body.code),
                    std::move(body.message), std::move(body.request_id));
  }

  const rate_limiter& limiter() const noexcept { return limiter_; }
  client_counters counters() const noexcept {
    return {attempts_, retries_, limiter_.throttled_count()};
  }

 private:
  S& s_;
  http::url endpoint_;
  send_function send_;
  credentials_source creds_;
  rpc_options o_;
  logger log_;
  rate_limiter limiter_;
  std::uint64_t attempts_ = 0, retries_ = 0;
};

}  // namespace alivpc::cloud
