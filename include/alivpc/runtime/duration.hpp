// Go-style durations as flanneld's flags take them: "500ms", "90s", "5m", "1h30m". One parser
// for the daemon's flags and the simulator's scenarios; callers word the error for their field.
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string_view>

namespace alivpc {

// nullopt for anything else: empty text, a number without unit, an unknown unit, a part of more
// than 9 digits, or a total above `limit` (so the sum cannot overflow).
inline std::optional<std::chrono::milliseconds> parse_go_duration(
    std::string_view s, std::chrono::milliseconds limit = std::chrono::hours(24 * 400)) {
  if (s.empty()) return std::nullopt;
  long long total_ms = 0;
  std::size_t i = 0;
  while (i < s.size()) {
    std::size_t start = i;
    long long n = 0;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9' && i - start < 10)
      n = n * 10 + (s[i++] - '0');
    if (i == start || i - start > 9) return std::nullopt;
    std::size_t unit_start = i;
    while (i < s.size() && (s[i] < '0' || s[i] > '9'))
      ++i;
    auto unit = s.substr(unit_start, i - unit_start);
    long long factor = unit == "ms"  ? 1
                       : unit == "s" ? 1000
                       : unit == "m" ? 60000
                       : unit == "h" ? 3600000
                                     : 0;
    if (!factor) return std::nullopt;
    total_ms += n * factor;
    if (total_ms > limit.count()) return std::nullopt;
  }
  return std::chrono::milliseconds(total_ms);
}

}  // namespace alivpc
