// JSON parsing with a nesting limit, for every JSON the daemon reads from a peer or a file.
// nlohmann's parser does not recurse, but copying, comparing and dump() do: a value nested a few
// hundred thousand levels deep (etcd takes 1.5 MB values) would overflow the stack later.
#pragma once

#include <alivpc/error.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <string>
#include <string_view>

namespace alivpc::detail {

inline constexpr int max_json_depth = 64;

// How deeply `text` nests arrays and objects, stopping once past `limit` (strings skipped, with
// their escapes). A plain scan: several times cheaper than nlohmann's parser callback, which
// the simulator felt on every route listing.
inline int json_depth(std::string_view text, int limit) {
  int depth = 0, deepest = 0;
  bool in_string = false;
  for (std::size_t i = 0; i < text.size() && deepest <= limit; ++i) {
    char c = text[i];
    if (in_string) {
      if (c == '\\')
        ++i;
      else if (c == '"')
        in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      deepest = std::max(deepest, ++depth);
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return deepest;
}

// Like nlohmann::json::parse(text, nullptr, false): invalid JSON gives a discarded value. JSON
// nested deeper than max_depth throws error(kind, "<what>: JSON nested deeper than N levels"),
// before the parser builds any of it.
inline nlohmann::json parse_json_bounded(std::string_view text, error_kind kind,
                                         const std::string& what, int max_depth = max_json_depth) {
  if (json_depth(text, max_depth) > max_depth)
    fail(kind, what + ": JSON nested deeper than " + std::to_string(max_depth) + " levels");
  return nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
}

}  // namespace alivpc::detail
