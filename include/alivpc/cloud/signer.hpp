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
#include <utility>
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
  std::size_t size = 0;  // room for the common case, in which few bytes need escapes
  for (const auto& [name, value] : params)
    size += name.size() + value.size() + 2;
  std::string out;
  out.reserve(size + size / 4);
  for (const auto& [name, value] : params) {
    if (!out.empty()) out += '&';
    alivpc::detail::percent_encode_to(out, name);
    out += '=';
    alivpc::detail::percent_encode_to(out, value);
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
  const int year = int(ymd.year());
  if (year < 0 || year > 9999) {  // never a request's; snprintf's %04d, as before
    char buf[40];
    std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02dZ", year, unsigned(ymd.month()),
                  unsigned(ymd.day()), int(hms.hours().count()), int(hms.minutes().count()),
                  int(hms.seconds().count()));
    return buf;
  }
  // By hand: every request signed formats one, and snprintf's parsing of its format was most
  // of that.
  std::string out = "0000-00-00T00:00:00Z";
  const auto put = [&](std::size_t end, unsigned v) {  // right-aligned, zero-padded
    for (std::size_t i = end; v != 0; v /= 10)
      out[--i] = static_cast<char>('0' + v % 10);
  };
  put(4, static_cast<unsigned>(year));
  put(7, unsigned(ymd.month()));
  put(10, unsigned(ymd.day()));
  put(13, static_cast<unsigned>(hms.hours().count()));
  put(16, static_cast<unsigned>(hms.minutes().count()));
  put(19, static_cast<unsigned>(hms.seconds().count()));
  return out;
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

// The payload hash of a request without a body (every RPC-style call): the SHA-256 of no bytes.
inline const std::string& empty_payload_hash() {
  static const std::string hash = sha256_hex("");
  return hash;
}

// A header as signed: its lower-case name and its value (trimmed when signed).
using signed_header = std::pair<std::string_view, std::string_view>;

// The signature of a request given as its parts: the query already encoded, the signed headers
// sorted by name with no name twice. What every V3 signer and verifier here comes down to; it
// builds each string once, in place (a client signs every call, and the emulator checks each).
inline v3_signature sign_v3_parts(std::string_view method, std::string_view path,
                                  std::string_view encoded_query,
                                  const std::vector<signed_header>& headers,
                                  std::string_view payload, std::string_view access_key_id,
                                  std::string_view access_key_secret) {
  constexpr std::string_view blanks = " \t";  // as trim(), which lowered() applies
  const auto trimmed = [&](std::string_view v) {
    const auto b = v.find_first_not_of(blanks);
    if (b == std::string_view::npos) return std::string_view();
    return v.substr(b, v.find_last_not_of(blanks) - b + 1);
  };
  if (path.empty()) path = "/";
  v3_signature out;
  std::size_t size = method.size() + path.size() + encoded_query.size() + payload.size() + 5;
  std::size_t names = 0;
  for (const auto& [name, value] : headers) {
    size += 2 * name.size() + value.size() + 3;
    names += name.size() + 1;
  }
  out.signed_headers.reserve(names);
  for (const auto& h : headers) {
    if (!out.signed_headers.empty()) out.signed_headers += ';';
    out.signed_headers += h.first;
  }
  auto& c = out.canonical_request;
  c.reserve(size);
  c.append(method).append(1, '\n').append(path).append(1, '\n');
  c.append(encoded_query).append(1, '\n');
  for (const auto& [name, value] : headers)
    c.append(name).append(1, ':').append(trimmed(value)).append(1, '\n');
  c.append(1, '\n').append(out.signed_headers).append(1, '\n').append(payload);
  const auto digest = sha256_hex(c);
  out.string_to_sign.reserve(v3_algorithm.size() + 1 + digest.size());
  out.string_to_sign.append(v3_algorithm).append(1, '\n').append(digest);
  out.signature = hmac_sha256_hex(access_key_secret, out.string_to_sign);
  constexpr std::string_view credential = " Credential=", headers_are = ",SignedHeaders=",
                             signature_is = ",Signature=";
  auto& a = out.authorization;
  a.reserve(v3_algorithm.size() + credential.size() + access_key_id.size() + headers_are.size() +
            out.signed_headers.size() + signature_is.size() + out.signature.size());
  a.append(v3_algorithm).append(credential).append(access_key_id);
  a.append(headers_are).append(out.signed_headers).append(signature_is).append(out.signature);
  return out;
}

// The request's own payload hash, else its x-acs-content-sha256 header, else that of no bytes.
inline std::string_view payload_hash(const v3_request& r, const header_map& lowered_headers) {
  if (!r.hashed_payload.empty()) return r.hashed_payload;
  auto it = lowered_headers.find("x-acs-content-sha256");
  return it != lowered_headers.end() ? std::string_view(it->second) : empty_payload_hash();
}

// The headers named (any case, any order, maybe twice; a missing one signs as ""), from the
// lowered ones, ready to sign. `names` is lower-cased, sorted and made unique in place: the
// result views it and `lowered_headers`.
inline std::vector<signed_header> headers_named(const header_map& lowered_headers,
                                                std::vector<std::string>& names) {
  for (auto& n : names)
    n = alivpc::detail::lower(n);
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  std::vector<signed_header> out;
  out.reserve(names.size());
  for (const auto& name : names) {
    auto it = lowered_headers.find(name);
    out.emplace_back(name, it == lowered_headers.end() ? std::string_view() : it->second);
  }
  return out;
}
}  // namespace detail

// Signs exactly the given header names (lower-case, any order; a missing header signs as "").
inline v3_signature sign_v3_with(const v3_request& r, std::string_view access_key_id,
                                 std::string_view access_key_secret,
                                 std::vector<std::string> signed_header_names) {
  const auto headers = detail::lowered(r.headers);
  return detail::sign_v3_parts(r.method, r.path, encode_query(r.query),
                               detail::headers_named(headers, signed_header_names),
                               detail::payload_hash(r, headers), access_key_id, access_key_secret);
}

// Signs every header named host, content-type or x-acs-*.
inline v3_signature sign_v3(const v3_request& r, std::string_view access_key_id,
                            std::string_view access_key_secret) {
  const auto headers = detail::lowered(r.headers);
  std::vector<detail::signed_header> signed_headers;
  for (const auto& [k, v] : headers)
    if (k == "host" || k == "content-type" || k.starts_with("x-acs-"))
      signed_headers.emplace_back(k, v);
  return detail::sign_v3_parts(r.method, r.path, encode_query(r.query), signed_headers,
                               detail::payload_hash(r, headers), access_key_id, access_key_secret);
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
