// RFC 3986 percent-encoding as Alibaba Cloud's signers (V1 and V3) require it, also right for
// etcd's v2 keys API; the matching decoder for query strings and form bodies.
#pragma once

#include <alivpc/detail/strings.hpp>

#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace alivpc::detail {

// RFC 3986 section 2.3: A-Z a-z 0-9 - _ . ~
inline bool is_unreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_' || c == '.' || c == '~';
}

// Unreserved bytes stay; every other byte becomes %XY in upper-case hex: space is %20 and * is
// %2A, so the signer needs no fixing up of '+', '*' or "%7E" afterwards. Appended to `out`.
inline void percent_encode_to(std::string& out, std::string_view in) {
  static constexpr char digits[] = "0123456789ABCDEF";
  for (unsigned char c : in) {
    if (is_unreserved(c)) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += digits[c >> 4];
      out += digits[c & 0xf];
    }
  }
}

inline std::string percent_encode(std::string_view in) {
  std::string out;
  out.reserve(in.size() * 3);
  percent_encode_to(out, in);
  return out;
}

// %XY (either case) and, in form encoding, '+' as a space; nullopt on a malformed escape.
inline std::optional<std::string> percent_decode(std::string_view in, bool plus_is_space = true) {
  std::string out;
  out.reserve(in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '%') {
      if (i + 2 >= in.size()) return std::nullopt;
      int hi = hex_value(in[i + 1]);
      int lo = hex_value(in[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      out += static_cast<char>(hi * 16 + lo);
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out += ' ';
    } else {
      out += c;
    }
  }
  return out;
}

// "a=1&b=x+y" -> {a: "1", b: "x y"}; nullopt on a malformed escape. A repeated name keeps its
// first value; a pair without a name is skipped and one without '=' has the value "".
inline std::optional<std::map<std::string, std::string>> decode_params(std::string_view text) {
  std::map<std::string, std::string> out;
  for (auto pair : split(text, '&')) {
    auto eq = pair.find('=');
    auto name = percent_decode(pair.substr(0, eq));
    auto value =
        percent_decode(eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1));
    if (!name || !value) return std::nullopt;
    if (!name->empty()) out.emplace(std::move(*name), std::move(*value));
  }
  return out;
}

}  // namespace alivpc::detail
