// The simulator's scenario JSON: a scenario parses or is refused with alivpc::error naming the
// field, never anything else; a parsed scenario respects its documented bounds.
#include <alivpc/sim/scenario.hpp>

#include <cstddef>
#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    auto s = alivpc::sim::parse_scenario(text);
    if (s.nodes < 1 || s.nodes > 5000 || s.quota < 0) __builtin_trap();
    if (s.renew_margin >= s.lease_ttl) __builtin_trap();
    for (auto& e : s.events)
      if (e.node >= s.nodes) __builtin_trap();
    if (!s.network.network || s.network.subnet_min > s.network.subnet_max) __builtin_trap();
  } catch (const alivpc::error&) {
  } catch (...) {
    __builtin_trap();
  }
  return 0;
}
