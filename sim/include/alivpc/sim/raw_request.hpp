// Splits the text of one HTTP/1.1 request ("METHOD target HTTP/1.1\r\nName: value\r\n...\r\n\r\n
// body") into an http_request. Pure and total: for tests, the fuzz target and captured requests.
// Accepts "\n" as well as "\r\n" line ends. The body is whatever follows the blank line.
#pragma once

#include <alivpc/sim/http_exchange.hpp>

#include <optional>
#include <string_view>

namespace alivpc::sim {

inline std::optional<http_request> split_raw_request(std::string_view raw) {
  auto next_line = [&](std::string_view& line) {
    if (raw.empty()) return false;
    auto nl = raw.find('\n');
    line = raw.substr(0, nl);
    raw = nl == std::string_view::npos ? std::string_view() : raw.substr(nl + 1);
    if (line.ends_with('\r')) line.remove_suffix(1);
    return true;
  };
  std::string_view line;
  if (!next_line(line)) return std::nullopt;
  auto sp1 = line.find(' ');
  if (sp1 == std::string_view::npos) return std::nullopt;
  auto sp2 = line.find(' ', sp1 + 1);
  http_request r;
  r.method = std::string(line.substr(0, sp1));
  r.target = std::string(
      line.substr(sp1 + 1, sp2 == std::string_view::npos ? std::string_view::npos : sp2 - sp1 - 1));
  while (next_line(line) && !line.empty()) {
    auto colon = line.find(':');
    if (colon == std::string_view::npos) return std::nullopt;
    auto value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t'))
      value.remove_prefix(1);
    r.headers.emplace_back(std::string(line.substr(0, colon)), std::string(value));
  }
  r.body = std::string(raw);
  return r;
}

}  // namespace alivpc::sim
