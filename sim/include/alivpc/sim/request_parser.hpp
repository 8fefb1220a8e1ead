// The emulator's request parser: a pure function from (method, target, headers, body) to either a
// parsed OpenAPI RPC request (scheme, action, version, credentials, parameters) or the API error
// the real service gives for it. No I/O, no clock, no keys: signatures are checked later by
// sim::verify_signature. Safe on any input (it is a fuzz target).
#pragma once

#include <alivpc/cloud/signer.hpp>
#include <alivpc/detail/percent_encoding.hpp>
#include <alivpc/detail/strings.hpp>
#include <alivpc/sim/api_error.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace alivpc::sim {

using header_list = std::vector<std::pair<std::string, std::string>>;

enum class signature_scheme { v1, v3 };
enum class api_product { vpc, ecs };

inline constexpr std::string_view vpc_api_version = "2016-04-28";
inline constexpr std::string_view ecs_api_version = "2014-05-26";

struct api_request {
  std::string method;         // GET or POST
  std::string path;           // "/"
  cloud::param_map query;     // decoded query-string parameters
  cloud::param_map form;      // decoded form-body parameters (application/x-www-form-urlencoded)
  cloud::param_map params;    // both: what the action reads (query wins on a clash)
  cloud::header_map headers;  // names lower-cased
  std::string body;
  signature_scheme scheme = signature_scheme::v1;
  api_product product = api_product::vpc;
  std::string action;
  std::string version;
  std::string access_key_id;
  std::string security_token;  // empty when none
  std::string nonce;
  std::string timestamp;                    // as sent: "YYYY-MM-DDThh:mm:ssZ"
  std::string signature;                    // V1: Base64 (decoded from the URL); V3: hex
  std::vector<std::string> signed_headers;  // V3
};

using parse_result = std::variant<api_request, api_error>;

inline api_error missing_parameter(std::string_view name) {
  return {400, "MissingParameter",
          "The input parameter \"" + std::string(name) +
              "\" that is mandatory for processing this request is not supplied."};
}
inline api_error invalid_parameter(std::string_view name, std::string_view why) {
  return {
      400, "InvalidParameter",
      "The specified parameter \"" + std::string(name) + "\" is not valid: " + std::string(why)};
}

// Actions the emulator serves, per API version.
inline bool is_known_action(api_product p, std::string_view action) {
  static constexpr std::string_view common[] = {"DescribeVpcs", "DescribeVRouters",
                                                "DescribeRouteTables", "CreateRouteEntry",
                                                "DeleteRouteEntry"};
  for (auto a : common)
    if (action == a) return true;
  return p == api_product::vpc &&
         (action == "DescribeRouteTableList" || action == "DescribeRouteEntryList" ||
          action == "CreateRouteEntries" || action == "DeleteRouteEntries");
}

namespace detail {

inline const std::string* find(const cloud::param_map& m, const std::string& key) {
  auto it = m.find(key);
  return it == m.end() ? nullptr : &it->second;
}

}  // namespace detail

inline parse_result parse_api_request(std::string_view method, std::string_view target,
                                      const header_list& headers, std::string_view body) {
  api_request r;
  r.method = std::string(method);
  if (method != "GET" && method != "POST")
    return api_error{405, "UnsupportedHTTPMethod",
                     "The HTTP method " + std::string(method).substr(0, 16) +
                         " is not supported; use GET or POST."};
  auto qmark = target.find('?');
  r.path = std::string(target.substr(0, qmark));
  if (r.path != "/")
    return api_error{404, "InvalidAction.NotFound",
                     "Specified api is not found, please check your url and method."};
  auto query = alivpc::detail::decode_params(
      qmark == std::string_view::npos ? std::string_view() : target.substr(qmark + 1));
  if (!query) return api_error{400, "InvalidParameter", "The query string is not well encoded."};
  r.query = std::move(*query);
  for (const auto& [name, value] : headers)
    r.headers[alivpc::detail::lower(name)] = value;
  r.body = std::string(body);
  auto ct = r.headers.find("content-type");
  if (ct != r.headers.end() &&
      alivpc::detail::lower(ct->second).starts_with("application/x-www-form-urlencoded")) {
    auto form = alivpc::detail::decode_params(body);
    if (!form) return api_error{400, "InvalidParameter", "The form body is not well encoded."};
    r.form = std::move(*form);
  }
  r.params = r.query;
  for (const auto& [k, v] : r.form)
    r.params.emplace(k, v);

  auto header = [&](const char* name) -> std::string {
    auto it = r.headers.find(name);
    return it == r.headers.end() ? std::string() : alivpc::detail::trim(it->second);
  };
  auto auth = r.headers.find("authorization");
  if (auth != r.headers.end()) {
    r.scheme = signature_scheme::v3;
    auto parsed = cloud::parse_v3_authorization(alivpc::detail::trim(auth->second));
    if (!parsed)
      return api_error{400, "IncompleteSignature",
                       "The Authorization header is not \"ACS3-HMAC-SHA256 "
                       "Credential=..,SignedHeaders=..,Signature=..\"."};
    r.access_key_id = parsed->access_key_id;
    r.signed_headers = parsed->signed_headers;
    r.signature = parsed->signature;
    r.action = header("x-acs-action");
    r.version = header("x-acs-version");
    r.timestamp = header("x-acs-date");
    r.nonce = header("x-acs-signature-nonce");
    r.security_token = header("x-acs-security-token");
    if (r.action.empty()) return missing_parameter("x-acs-action");
    if (r.version.empty()) return missing_parameter("x-acs-version");
    if (r.timestamp.empty()) return missing_parameter("x-acs-date");
    if (r.nonce.empty()) return missing_parameter("x-acs-signature-nonce");
  } else {
    r.scheme = signature_scheme::v1;
    for (const char* name : {"Action", "Version", "AccessKeyId", "Signature", "SignatureMethod",
                             "SignatureVersion", "SignatureNonce", "Timestamp"})
      if (!detail::find(r.params, name)) return missing_parameter(name);
    r.action = r.params["Action"];
    r.version = r.params["Version"];
    r.access_key_id = r.params["AccessKeyId"];
    r.signature = r.params["Signature"];
    r.nonce = r.params["SignatureNonce"];
    r.timestamp = r.params["Timestamp"];
    if (auto* t = detail::find(r.params, "SecurityToken")) r.security_token = *t;
    if (r.params["SignatureMethod"] != "HMAC-SHA1")
      return invalid_parameter("SignatureMethod", "only HMAC-SHA1 is supported");
    if (r.params["SignatureVersion"] != "1.0")
      return invalid_parameter("SignatureVersion", "only 1.0 is supported");
  }
  if (r.version == vpc_api_version) {
    r.product = api_product::vpc;
  } else if (r.version == ecs_api_version) {
    r.product = api_product::ecs;
  } else {
    return api_error{400, "InvalidVersion",
                     "Specified parameter Version is not valid (this emulator serves " +
                         std::string(vpc_api_version) + " and " + std::string(ecs_api_version) +
                         ")."};
  }
  if (!is_known_action(r.product, r.action))
    return api_error{404, "InvalidAction.NotFound",
                     "Specified api is not found, please check your url and method."};
  if (!cloud::parse_timestamp(r.timestamp))
    return api_error{400, "InvalidTimeStamp.Format",
                     "Specified time stamp or date value is not well formatted."};
  return r;
}

}  // namespace alivpc::sim
