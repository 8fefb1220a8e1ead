// Go-style durations as flanneld's flags take them: "500ms", "90s", "5m", "1h30m", "1.5h". One
// parser for the daemon's flags and the simulator's scenarios; callers word the error for their
// field.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace alivpc {

// Like Go's time.ParseDuration, for non-negative values: parts of a decimal number (fractions
// allowed: "1.5h", ".5s") and a unit (ns, us, µs, ms, s, m, h); "0" alone is zero. The result is
// truncated to whole milliseconds. nullopt for anything else: empty text, a number without unit
// (other than "0"), an unknown unit, a sign, an integer part of more than 9 digits, or a total
// above `limit` (so the sum cannot overflow).
inline std::optional<std::chrono::milliseconds> parse_go_duration(
    std::string_view s, std::chrono::milliseconds limit = std::chrono::hours(24 * 400)) {
  if (s.empty()) return std::nullopt;
  if (s == "0") return std::chrono::milliseconds(0);
  const auto is_digit = [](char c) { return c >= '0' && c <= '9'; };
  std::int64_t total_ns = 0;
  const std::int64_t limit_ns = limit.count() * 1'000'000;
  std::size_t i = 0;
  while (i < s.size()) {
    std::int64_t whole = 0, frac = 0, frac_scale = 1;
    std::size_t start = i;
    while (i < s.size() && is_digit(s[i]) && i - start < 10)
      whole = whole * 10 + (s[i++] - '0');
    const std::size_t whole_digits = i - start;
    if (whole_digits > 9) return std::nullopt;
    std::size_t frac_digits = 0;
    if (i < s.size() && s[i] == '.') {
      ++i;
      for (; i < s.size() && is_digit(s[i]); ++i, ++frac_digits) {
        if (frac_scale < 1'000'000'000) {  // digits past the ninth do not matter at ms precision
          frac = frac * 10 + (s[i] - '0');
          frac_scale *= 10;
        }
      }
    }
    if (whole_digits == 0 && frac_digits == 0) return std::nullopt;
    std::size_t unit_start = i;
    while (i < s.size() && !is_digit(s[i]) && s[i] != '.')
      ++i;
    auto unit = s.substr(unit_start, i - unit_start);
    std::int64_t unit_ns = unit == "ns"                   ? 1
                           : unit == "us" || unit == "µs" ? 1'000
                           : unit == "ms"                 ? 1'000'000
                           : unit == "s"                  ? 1'000'000'000
                           : unit == "m"                  ? 60'000'000'000
                           : unit == "h"                  ? 3'600'000'000'000
                                                          : 0;
    if (!unit_ns) return std::nullopt;
    // whole < 1e9 and unit_ns <= 3.6e12: the product fits in int64 only up to ~2.5e6 hours, so
    // check against the limit before multiplying.
    if (whole > limit_ns / unit_ns + 1) return std::nullopt;
    total_ns += whole * unit_ns +
                static_cast<std::int64_t>(static_cast<long double>(frac) * unit_ns / frac_scale);
    if (total_ns > limit_ns) return std::nullopt;
  }
  return std::chrono::milliseconds(total_ns / 1'000'000);
}

}  // namespace alivpc
