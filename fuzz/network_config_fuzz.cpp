// Fuzzes flannel's network config JSON (the value at <etcd-prefix>/config).
// Properties: parsing either returns a config or throws alivpc::error; a parsed config survives
// to_json and back (as JSON and as text); every invariant the daemon relies on holds.
#include <alivpc/config/network_config.hpp>
#include <alivpc/error.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string_view>

namespace {

[[noreturn]] void bug(const char* what) {
  std::fprintf(stderr, "network_config_fuzz: %s\n", what);
  __builtin_trap();
}

void check_invariants(const alivpc::config::network_config& c) {
  if (!c.enable_ipv4) return;
  if (!c.network) bug("IPv4 enabled without Network");
  if (c.subnet_len < 1 || c.subnet_len > 30) bug("SubnetLen outside 1..30");
  if (c.subnet_len < c.network->prefix_length()) bug("SubnetLen shorter than Network's prefix");
  if (c.subnet_min > c.subnet_max) bug("SubnetMin above SubnetMax");
  if (!c.network->contains(c.subnet_min)) bug("SubnetMin outside Network");
  if (!c.network->contains(c.subnet_max)) bug("SubnetMax outside Network");
  const auto mask = alivpc::net::prefix_mask(c.subnet_len);
  if ((c.subnet_min.value() & mask) != c.subnet_min.value()) bug("SubnetMin not aligned");
  if ((c.subnet_max.value() & mask) != c.subnet_max.value()) bug("SubnetMax not aligned");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  alivpc::config::network_config c;
  try {
    c = alivpc::config::parse_network_config(text);
  } catch (const alivpc::error&) {
    return 0;
  } catch (...) {
    bug("an exception other than alivpc::error escaped parse_network_config");
  }
  check_invariants(c);
  try {
    auto j = alivpc::config::to_json(c);
    if (!(alivpc::config::parse_network_config_json(j) == c)) bug("JSON round trip changed it");
    if (!(alivpc::config::parse_network_config(j.dump()) == c)) bug("text round trip changed it");
  } catch (...) {
    bug("a parsed config's own JSON was refused");
  }
  return 0;
}
