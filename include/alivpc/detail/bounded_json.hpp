// JSON parsing with a nesting limit, for every JSON the daemon reads from a peer or a file.
// nlohmann's parser does not recurse, but copying, comparing and dump() do: a value nested a few
// hundred thousand levels deep (etcd takes 1.5 MB values) would overflow the stack later.
#pragma once

#include <alivpc/error.hpp>

#include <nlohmann/json.hpp>

#include <string>
#include <string_view>

namespace alivpc::detail {

inline constexpr int max_json_depth = 64;

// Like nlohmann::json::parse(text, nullptr, false): invalid JSON gives a discarded value. JSON
// nested deeper than max_depth throws error(kind, "<what>: JSON nested deeper than N levels").
inline nlohmann::json parse_json_bounded(std::string_view text, error_kind kind,
                                         const std::string& what, int max_depth = max_json_depth) {
  bool too_deep = false;
  nlohmann::json::parser_callback_t limit_depth = [&](int depth, nlohmann::json::parse_event_t,
                                                      nlohmann::json&) {
    too_deep = too_deep || depth > max_depth;
    return !too_deep;  // discarding keeps the parser from building the deep value at all
  };
  auto j = nlohmann::json::parse(text, limit_depth, /*allow_exceptions=*/false);
  if (too_deep)
    fail(kind, what + ": JSON nested deeper than " + std::to_string(max_depth) + " levels");
  return j;
}

}  // namespace alivpc::detail
