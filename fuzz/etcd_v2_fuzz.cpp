// Any bytes as an etcd v2 keys API answer: parse_v2_answer returns or throws alivpc::error, and
// every node it returns can be turned into a lease (or skipped) without crashing.
#include <alivpc/lease/detail/etcd_json.hpp>

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace {
void walk(const alivpc::lease::detail::v2_node& n) {
  (void)alivpc::lease::detail::lease_from_entry(n.key, "/coreos.com/network/subnets/", n.value);
  for (const auto& c : n.nodes)
    walk(c);
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  try {
    auto a = alivpc::lease::detail::parse_v2_answer(
        in, "etcd v2 GET /v2/keys/fuzz on http://127.0.0.1:2379");
    if (a.node) walk(*a.node);
    if (a.prev_node) walk(*a.prev_node);
  } catch (const alivpc::error&) {
  }
  return 0;
}
