// Byte-string helpers the parsers and signers share: ASCII lower-casing, trimming, splitting on
// one separator, hex digits, whole numbers. ASCII only on purpose: header names, API parameters and
// etcd keys are bytes, and no locale may change what gets signed.
#pragma once

#include <charconv>
#include <cstddef>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace alivpc::detail {

// s == literal, for a string literal: its length is known here, so the bytes are compared
// inline (string_view's == hands memcmp a length it cannot see, a call per compare; the listing
// reader compares each member name it meets). An empty literal never reaches memcmp (an empty
// view may have no data pointer).
template <std::size_t N>
inline bool is(std::string_view s, const char (&literal)[N]) noexcept {
  return s.size() == N - 1 && (N == 1 || std::memcmp(s.data(), literal, N - 1) == 0);
}

// A-Z become a-z; every other byte stays as it is.
inline std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

// `s` without leading and trailing bytes from `blanks` (by default the blanks an HTTP header
// value may be padded with).
inline std::string trim(std::string_view s, std::string_view blanks = " \t") {
  auto b = s.find_first_not_of(blanks);
  if (b == std::string_view::npos) return {};
  auto e = s.find_last_not_of(blanks);
  return std::string(s.substr(b, e - b + 1));
}

// The pieces between separators, empty ones included, except that "" has no pieces and a
// trailing separator adds none: "a,,b," -> {"a", "", "b"}. The views point into `s`.
inline std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  while (!s.empty()) {
    auto at = s.find(sep);
    out.push_back(s.substr(0, at));
    s = at == std::string_view::npos ? std::string_view() : s.substr(at + 1);
  }
  return out;
}

// A list as people type one: " a, b,,c " -> {"a", "b", "c"} (trimmed, empty items dropped).
inline std::vector<std::string> split_list(std::string_view s, char sep = ',') {
  std::vector<std::string> out;
  for (auto piece : split(s, sep))
    if (auto item = trim(piece); !item.empty()) out.push_back(std::move(item));
  return out;
}

// 0..15 for a hex digit of either case, -1 for any other byte.
inline int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Two lower-case hex digits per byte.
inline std::string to_hex(std::string_view bytes) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char b : bytes) {
    out += digits[b >> 4];
    out += digits[b & 0xf];
  }
  return out;
}

// `s` as a T when all of it is one number: "12" -> 12; "", " 1", "+1", "1x", "-1" for an
// unsigned T, and values out of T's range -> nullopt.
template <class T>
std::optional<T> whole_number(std::string_view s) {
  T v{};
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || end != s.data() + s.size()) return std::nullopt;
  return v;
}

}  // namespace alivpc::detail
