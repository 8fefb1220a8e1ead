// One query parameter of a recorded request target, for tests that check what a client sent.
#pragma once

#include <alivpc/detail/percent_encoding.hpp>

#include <string>
#include <string_view>

namespace alivpc_test {

// The decoded value of `name` in the target's query string; "" when absent or not well encoded.
inline std::string query_param(std::string_view target, const std::string& name) {
  auto q = target.find('?');
  if (q == std::string_view::npos) return {};
  auto params = alivpc::detail::decode_params(target.substr(q + 1));
  if (!params) return {};
  auto it = params->find(name);
  return it == params->end() ? std::string() : it->second;
}

}  // namespace alivpc_test
