// A failed Alibaba Cloud OpenAPI call as a typed error, and what a route manager does about it.
//
// Success is decided by the HTTP status; an error answer carries {"RequestId","HostId","Code",
// "Message"} (aliyun-api.md section 2). classify() maps the code (and, for codes we do not know,
// the HTTP status) to one of a few classes; to_kind() maps a class to the alivpc::error kind.
#pragma once

#include <alivpc/detail/strings.hpp>
#include <alivpc/error.hpp>

#include <array>
#include <string>
#include <string_view>

namespace alivpc::cloud {

enum class api_error_class {
  transient,    // throttling, 5xx, system busy: back off with jitter, then retry
  conflict,     // another write to the VPC is in progress: wait, then retry
  duplicate,    // the route entry is already there: verify its next hop
  not_found,    // the thing does not exist (on delete: already gone)
  quota,        // the route table is full: permanent
  auth,         // credentials, permissions or clock: permanent
  bad_request,  // wrong parameter or id: permanent
};

constexpr std::string_view to_string(api_error_class c) {
  switch (c) {
    case api_error_class::transient:
      return "transient";
    case api_error_class::conflict:
      return "conflict";
    case api_error_class::duplicate:
      return "duplicate";
    case api_error_class::not_found:
      return "not found";
    case api_error_class::quota:
      return "quota";
    case api_error_class::auth:
      return "auth";
    case api_error_class::bad_request:
      return "bad request";
  }
  return "unknown";
}

namespace detail {
inline constexpr std::array<std::string_view, 7> transient_codes{
    "Throttling",    "Throttling.User", "Throttling.Api", "ServiceUnavailable",
    "InternalError", "SystemBusy",      "UnknownError"};
// IncorrcetRouteEntryStatus is how the service really spells it in some answers.
// VPC_ROUTE_ENTRY_STATUS_ERROR: one entry of a batch is Pending or Deleting (batch answers).
inline constexpr std::array<std::string_view, 9> conflict_codes{"TaskConflict",
                                                                "OperationConflict",
                                                                "IncorrectRouteEntryStatus",
                                                                "IncorrcetRouteEntryStatus",
                                                                "IncorrectStatus.RouteTableStatus",
                                                                "IncorrectVpcStatus",
                                                                "LastTokenProcessing",
                                                                "OperationFailed.DistibuteLock",
                                                                "VPC_ROUTE_ENTRY_STATUS_ERROR"};
inline constexpr std::array<std::string_view, 4> duplicate_codes{
    "InvalidCIDRBlock.Duplicate", "InvalidRouteEntry.Duplicate", "RouterEntryConflict.Duplicated",
    "VPC_ROUTE_ENTRY_CIDR_BLOCK_DUPLICATE"};
inline constexpr std::array<std::string_view, 5> auth_codes{
    "SignatureDoesNotMatch", "InvalidAccessKeyId.NotFound", "SignatureNonceUsed", "Forbidden.RAM",
    "InvalidTimeStamp.Expired"};

template <std::size_t N>
constexpr bool one_of(std::string_view code, const std::array<std::string_view, N>& codes) {
  for (auto c : codes)
    if (c == code) return true;
  return false;
}
}  // namespace detail

// The class of an error answer. Known codes win; otherwise families by prefix, then the status.
constexpr api_error_class classify(std::string_view code, unsigned http_status) {
  using enum api_error_class;
  if (detail::one_of(code, detail::transient_codes) || code.starts_with("Throttling"))
    return transient;
  if (detail::one_of(code, detail::conflict_codes)) return conflict;
  if (detail::one_of(code, detail::duplicate_codes) || code.ends_with(".Duplicate") ||
      code.ends_with(".Duplicated"))
    return duplicate;
  if (code == "QuotaExceeded" || code.starts_with("QuotaExceeded.")) return quota;
  // A wrong, disabled or unauthorised AccessKey, a bad signature or a skewed clock: retrying
  // fast only spends the key's request budget and floods the log (issue 11).
  if (detail::one_of(code, detail::auth_codes) || code.starts_with("Forbidden") ||
      code.starts_with("InvalidAccessKey") || code.starts_with("InvalidSecurityToken") ||
      code.starts_with("Signature") || code == "IncompleteSignature" ||
      code.starts_with("InvalidTimeStamp") || code == "NoPermission" ||
      code.starts_with("Unauthorized"))
    return auth;
  // Only a missing route entry is "not found" (on delete: already gone); a missing table, VPC or
  // next hop is a wrong id in the request.
  if (code == "InvalidRouteEntry.NotFound" || code == "VPC_ROUTER_ENTRY_NOT_EXIST")
    return not_found;
  if (!code.empty()) {
    // An unknown code: trust the status for the server's own failures.
    if (http_status >= 500 || http_status == 429) return transient;
    if (http_status == 401 || http_status == 403) return auth;
    return bad_request;
  }
  if (http_status >= 500 || http_status == 429 || http_status == 0) return transient;
  if (http_status == 401 || http_status == 403) return auth;
  if (http_status == 404) return not_found;
  return bad_request;
}

constexpr error_kind to_kind(api_error_class c) {
  switch (c) {
    case api_error_class::transient:
      return error_kind::transient;
    case api_error_class::conflict:
    case api_error_class::duplicate:
      return error_kind::conflict;
    case api_error_class::not_found:
      return error_kind::not_found;
    case api_error_class::quota:
      return error_kind::exhausted;
    case api_error_class::auth:
    case api_error_class::bad_request:
      return error_kind::permanent;
  }
  return error_kind::permanent;
}

// One error answer. what() reads like
//   "CreateRouteEntry on https://vpc.cn-hangzhou.aliyuncs.com failed: HTTP 400 TaskConflict:
//    <message> (request id 1A2B...)"
// and never carries credentials (the caller passes only the action and the endpoint).
class api_error : public error {
 public:
  api_error(std::string action, const std::string& endpoint, unsigned http_status, std::string code,
            std::string message, std::string request_id)
      : error(to_kind(classify(code, http_status)),
              describe(action, endpoint, http_status, code, sanitize(message), request_id)),
        action_(std::move(action)),
        http_status_(http_status),
        code_(std::move(code)),
        message_(sanitize(std::move(message))),
        request_id_(std::move(request_id)),
        class_(classify(code_, http_status)) {}

  const std::string& action() const noexcept { return action_; }
  unsigned http_status() const noexcept { return http_status_; }
  const std::string& code() const noexcept { return code_; }
  const std::string& api_message() const noexcept { return message_; }
  const std::string& request_id() const noexcept { return request_id_; }
  api_error_class error_class() const noexcept { return class_; }
  bool is_throttling() const noexcept {
    return code_.starts_with("Throttling") || (code_.empty() && http_status_ == 429);
  }

 private:
  // The service may echo its string-to-sign (with the key id and STS token) in the message of a
  // signature error: keep only what comes before it, and keep messages short.
  static std::string sanitize(std::string message) {
    std::string lower = alivpc::detail::lower(message);
    for (std::string_view marker :
         {"string to sign", "stringtosign", "accesskeyid", "securitytoken"})
      if (auto pos = lower.find(marker); pos != std::string::npos) {
        message.resize(pos);
        message += "[rest removed]";
        lower.resize(pos);
      }
    if (message.size() > 512) message = message.substr(0, 512) + "...";
    return message;
  }

  static std::string describe(const std::string& action, const std::string& endpoint,
                              unsigned status, const std::string& code, const std::string& message,
                              const std::string& request_id) {
    std::string out = action + " on " + endpoint + " failed: HTTP " + std::to_string(status);
    if (!code.empty()) out += " " + code;
    if (!message.empty()) out += ": " + message;
    if (!request_id.empty()) out += " (request id " + request_id + ")";
    return out;
  }

  std::string action_;
  unsigned http_status_;
  std::string code_, message_, request_id_;
  api_error_class class_;
};

}  // namespace alivpc::cloud
