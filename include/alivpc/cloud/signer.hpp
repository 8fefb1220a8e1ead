// Alibaba Cloud OpenAPI request signing, both schemes. Pure functions: no clock, no I/O.
//
// V1 (SignatureVersion 1.0, HMAC-SHA1; RPC style, signature in the query):
//   cloud::param_map p{{"Action","DescribeVpcs"}, {"AccessKeyId", id}, {"Format","JSON"},
//                      {"SignatureMethod","HMAC-SHA1"}, {"SignatureVersion","1.0"},
//                      {"SignatureNonce", nonce}, {"Timestamp", cloud::format_timestamp(now)},
//                      {"Version","2016-04-28"}, {"RegionId","cn-hangzhou"}};
//   auto s = cloud::sign_v1("GET", p, secret);      // s.string_to_sign, s.signature (Base64)
//   p["Signature"] = s.signature;
//   std::string query = cloud::encode_query(p);     // "AccessKeyId=...&...&Signature=..."
//   (a "Signature" entry already in the map is ignored by sign_v1)
//
// V3 (ACS3-HMAC-SHA256; signature in the Authorization header):
//   cloud::v3_request r;
//   r.method = "POST"; r.path = "/";
//   r.query = {{"RegionId","cn-hangzhou"}, {"RouteTableId", id}, ...};   // action's own params
//   r.headers = {{"host", "vpc.cn-hangzhou.aliyuncs.com"}, {"x-acs-action","CreateRouteEntry"},
//                {"x-acs-version","2016-04-28"}, {"x-acs-date", cloud::format_timestamp(now)},
//                {"x-acs-signature-nonce", nonce},
//                {"x-acs-content-sha256", cloud::sha256_hex(body)}};      // + x-acs-security-token
//   auto s = cloud::sign_v3(r, key_id, secret);
//   send the headers, plus "Authorization: " + s.authorization; the query is encode_query(r.query).
//   sign_v3 signs every header named host, content-type or x-acs-* (names are lower-cased and
//   values trimmed for signing; send them as given). A verifier that received a SignedHeaders
//   list calls sign_v3_with(r, key_id, secret, parsed.signed_headers) instead.
//
// Both: name=value pairs sorted by byte order, RFC 3986 encoding (upper-case hex, space %20,
// '*' %2A, '~' kept). Timestamps are "YYYY-MM-DDThh:mm:ssZ" in UTC.
#pragma once

#include <alivpc/cloud/detail/crypto.hpp>
#include <alivpc/detail/base64.hpp>
#include <alivpc/detail/percent_encoding.hpp>
#include <alivpc/detail/strings.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace alivpc::cloud {

// Parameters sorted by name in byte order: exactly the order both schemes sign in.
using param_map = std::map<std::string, std::string>;
using header_map = std::map<std::string, std::string>;

using alivpc::detail::percent_encode;
inline std::string sha256_hex(std::string_view data) {
  return detail::sha256_hex(data);
}

// "a=1&b=x%20y": every pair percent-encoded, in map (byte) order; an empty value stays "k=".
inline std::string encode_query(const param_map& params) {
  std::string out;
  for (const auto& [name, value] : params) {
    if (!out.empty()) out += '&';
    out += percent_encode(name);
    out += '=';
    out += percent_encode(value);
  }
  return out;
}

// ---- timestamps ------------------------------------------------------------------------------

inline std::string format_timestamp(std::chrono::system_clock::time_point t) {
  using namespace std::chrono;
  auto secs = floor<seconds>(t);
  auto days = floor<std::chrono::days>(secs);
  year_month_day ymd{days};
  hh_mm_ss hms{secs - days};
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02dZ", int(ymd.year()),
                unsigned(ymd.month()), unsigned(ymd.day()), int(hms.hours().count()),
                int(hms.minutes().count()), int(hms.seconds().count()));
  return buf;
}

// Parses "YYYY-MM-DDThh:mm:ssZ" exactly; nullopt otherwise.
inline std::optional<std::chrono::system_clock::time_point> parse_timestamp(std::string_view s) {
  using namespace std::chrono;
  if (s.size() != 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' ||
      s[16] != ':' || s[19] != 'Z')
    return std::nullopt;
  auto num = [&](std::size_t pos, std::size_t len) -> int {
    int v = 0;
    for (std::size_t i = pos; i < pos + len; ++i) {
      if (s[i] < '0' || s[i] > '9') return -1;
      v = v * 10 + (s[i] - '0');
    }
    return v;
  };
  int y = num(0, 4), mo = num(5, 2), d = num(8, 2), h = num(11, 2), mi = num(14, 2),
      sec = num(17, 2);
  if (y < 0 || mo < 0 || d < 0 || h < 0 || mi < 0 || sec < 0 || h > 23 || mi > 59 || sec > 60)
    return std::nullopt;
  // system_clock counts nanoseconds in 64 bits on libstdc++: years past 2262 would overflow.
  if (y < 1970 || y > 2200) return std::nullopt;
  year_month_day ymd{year{y}, month{unsigned(mo)}, day{unsigned(d)}};
  if (!ymd.ok()) return std::nullopt;
  return sys_days{ymd} + hours{h} + minutes{mi} + seconds{sec};
}

// ---- V1: HMAC-SHA1 ---------------------------------------------------------------------------

struct v1_signature {
  std::string string_to_sign;
  std::string signature;  // Base64; percent-encode it (encode_query does) when put in a URL
};

// Signs every parameter except "Signature". method is "GET" or "POST" as sent.
inline v1_signature sign_v1(std::string_view method, const param_map& params,
                            std::string_view access_key_secret) {
  param_map signed_params = params;
  signed_params.erase("Signature");
  v1_signature out;
  out.string_to_sign = std::string(method) + "&%2F&" + percent_encode(encode_query(signed_params));
  std::string key = std::string(access_key_secret) + "&";
  out.signature = alivpc::detail::base64_encode(detail::hmac_sha1(key, out.string_to_sign));
  return out;
}

// ---- V3: ACS3-HMAC-SHA256 --------------------------------------------------------------------

inline constexpr std::string_view v3_algorithm = "ACS3-HMAC-SHA256";

struct v3_request {
  std::string method = "POST";
  std::string path = "/";
  param_map query;     // decoded names and values
  header_map headers;  // any case; signing lower-cases names and trims values
  // Lower-case hex SHA-256 of the body; empty means "take x-acs-content-sha256, else hash of ''".
  std::string hashed_payload;
};

struct v3_signature {
  std::string canonical_request;
  std::string string_to_sign;
  std::string signed_headers;  // "host;x-acs-action;..."
  std::string signature;       // lower-case hex
  std::string authorization;   // the whole Authorization header value
};

namespace detail {
inline header_map lowered(const header_map& headers) {
  header_map out;
  for (const auto& [k, v] : headers)
    out[alivpc::detail::lower(k)] = alivpc::detail::trim(v);
  return out;
}
}  // namespace detail

// Signs exactly the given header names (lower-case, any order; a missing header signs as "").
inline v3_signature sign_v3_with(const v3_request& r, std::string_view access_key_id,
                                 std::string_view access_key_secret,
                                 std::vector<std::string> signed_header_names) {
  auto headers = detail::lowered(r.headers);
  for (auto& n : signed_header_names)
    n = alivpc::detail::lower(n);
  std::sort(signed_header_names.begin(), signed_header_names.end());
  signed_header_names.erase(std::unique(signed_header_names.begin(), signed_header_names.end()),
                            signed_header_names.end());
  std::string canonical_headers, signed_list;
  for (const auto& name : signed_header_names) {
    auto it = headers.find(name);
    canonical_headers += name + ":" + (it == headers.end() ? std::string() : it->second) + "\n";
    if (!signed_list.empty()) signed_list += ';';
    signed_list += name;
  }
  std::string payload = r.hashed_payload;
  if (payload.empty()) {
    auto it = headers.find("x-acs-content-sha256");
    payload = it != headers.end() ? it->second : detail::sha256_hex("");
  }
  v3_signature out;
  out.canonical_request = r.method + "\n" + (r.path.empty() ? "/" : r.path) + "\n" +
                          encode_query(r.query) + "\n" + canonical_headers + "\n" + signed_list +
                          "\n" + payload;
  out.string_to_sign = std::string(v3_algorithm) + "\n" + detail::sha256_hex(out.canonical_request);
  out.signed_headers = signed_list;
  out.signature = detail::hmac_sha256_hex(access_key_secret, out.string_to_sign);
  out.authorization = std::string(v3_algorithm) + " Credential=" + std::string(access_key_id) +
                      ",SignedHeaders=" + signed_list + ",Signature=" + out.signature;
  return out;
}

// Signs every header named host, content-type or x-acs-*.
inline v3_signature sign_v3(const v3_request& r, std::string_view access_key_id,
                            std::string_view access_key_secret) {
  std::vector<std::string> names;
  for (const auto& [k, v] : detail::lowered(r.headers))
    if (k == "host" || k == "content-type" || k.starts_with("x-acs-")) names.push_back(k);
  return sign_v3_with(r, access_key_id, access_key_secret, std::move(names));
}

// The parts of an "ACS3-HMAC-SHA256 Credential=..,SignedHeaders=..,Signature=.." header.
struct v3_authorization {
  std::string access_key_id;
  std::vector<std::string> signed_headers;
  std::string signature;
};

inline std::optional<v3_authorization> parse_v3_authorization(std::string_view value) {
  std::string prefix = std::string(v3_algorithm) + " ";
  if (!value.starts_with(prefix)) return std::nullopt;
  value.remove_prefix(prefix.size());
  v3_authorization out;
  bool have_cred = false, have_headers = false, have_sig = false;
  for (auto piece : alivpc::detail::split(value, ',')) {
    auto part = alivpc::detail::trim(piece);
    auto eq = part.find('=');
    if (eq == std::string::npos) return std::nullopt;
    auto key = part.substr(0, eq);
    auto val = part.substr(eq + 1);
    if (key == "Credential") {
      out.access_key_id = val;
      have_cred = true;
    } else if (key == "SignedHeaders") {
      for (auto name : alivpc::detail::split(val, ';'))
        out.signed_headers.emplace_back(name);
      have_headers = true;
    } else if (key == "Signature") {
      out.signature = val;
      have_sig = true;
    }
  }
  if (!have_cred || !have_headers || !have_sig || out.access_key_id.empty()) return std::nullopt;
  return out;
}

}  // namespace alivpc::cloud
