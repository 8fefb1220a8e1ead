// Fuzzes IPv4 address and CIDR parsing (net/ipv4.hpp).
// Properties: parse() throws only alivpc::error and agrees with try_parse(); accepted text is
// canonical (to_string(parse(s)) == s); parse(to_string(x)) == x; allow_host_bits only masks.
#include <alivpc/error.hpp>
#include <alivpc/net/ipv4.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <string_view>

namespace {

using alivpc::net::ipv4_address;
using alivpc::net::ipv4_cidr;

[[noreturn]] void bug(const char* what) {
  std::fprintf(stderr, "cidr_fuzz: %s\n", what);
  __builtin_trap();
}

template <class Parse>
auto parse_or_nullopt(Parse parse) -> std::optional<decltype(parse())> {
  try {
    return parse();
  } catch (const alivpc::error&) {
    return std::nullopt;
  } catch (...) {
    bug("an exception other than alivpc::error escaped a parser");
  }
}

void check_address(std::string_view s) {
  auto a = parse_or_nullopt([&] { return ipv4_address::parse(s); });
  if (a != ipv4_address::try_parse(s)) bug("address: parse and try_parse disagree");
  if (!a) return;
  // Leading zeros and other spellings are refused, so accepted text is the canonical text.
  if (a->to_string() != s) bug("address: accepted text is not canonical");
  if (ipv4_address::parse(a->to_string()) != *a) bug("address: round trip changed it");
}

void check_cidr(std::string_view s) {
  auto strict = parse_or_nullopt([&] { return ipv4_cidr::parse(s); });
  if (strict != ipv4_cidr::try_parse(s)) bug("cidr: parse and try_parse disagree");
  auto loose = parse_or_nullopt([&] { return ipv4_cidr::parse(s, {.allow_host_bits = true}); });
  if (loose != ipv4_cidr::try_parse(s, {.allow_host_bits = true}))
    bug("cidr: parse and try_parse disagree (allow_host_bits)");
  if (strict && loose != strict) bug("cidr: allow_host_bits changed a block without host bits");
  if (strict && strict->to_string() != s) bug("cidr: accepted text is not canonical");
  if (loose) {
    // With host bits allowed only the address part may differ from the canonical text.
    if (ipv4_cidr::parse(loose->to_string()) != *loose) bug("cidr: round trip changed it");
    if (loose->network().value() & ~loose->mask()) bug("cidr: host bits kept");
    auto slash = s.find('/');
    auto addr = ipv4_address::try_parse(s.substr(0, slash));
    if (!addr || !loose->contains(*addr)) bug("cidr: block does not contain its address");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  check_address(text);
  check_cidr(text);
  return 0;
}
