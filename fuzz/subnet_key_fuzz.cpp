// Fuzzes the subnet lease key's last segment ("10.24.5.0-24", dual stack "10.24.5.0-24&fd00::-64").
// Properties: parse_subnet_key returns or throws alivpc::error; accepted keys are canonical
// (subnet_key + "&" + the IPv6 half gives the key back); parse(subnet_key(c)) == c.
#include <alivpc/error.hpp>
#include <alivpc/lease/lease.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <string_view>

namespace {

[[noreturn]] void bug(const char* what) {
  std::fprintf(stderr, "subnet_key_fuzz: %s\n", what);
  __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view key(reinterpret_cast<const char*>(data), size);
  std::optional<alivpc::lease::parsed_subnet_key> k;
  try {
    k = alivpc::lease::parse_subnet_key(key);
  } catch (const alivpc::error&) {
    return 0;
  } catch (...) {
    bug("an exception other than alivpc::error escaped parse_subnet_key");
  }
  std::string text = alivpc::lease::subnet_key(k->subnet);
  if (k->ipv6_subnet) text += "&" + *k->ipv6_subnet;
  if (text != key) bug("accepted key is not canonical");
  try {
    auto again = alivpc::lease::parse_subnet_key(alivpc::lease::subnet_key(k->subnet));
    if (again.subnet != k->subnet || again.ipv6_subnet) bug("parse(subnet_key(c)) != c");
  } catch (const alivpc::error&) {
    bug("our own subnet key was refused");
  }
  return 0;
}
