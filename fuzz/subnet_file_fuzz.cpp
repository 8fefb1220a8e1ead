// Fuzzes flannel's subnet file (/run/flannel/subnet.env, lease/subnet_file.hpp).
// Properties: parsing either returns a value or throws alivpc::error; parse(format(x)) == x for
// every parsed x (FLANNEL_SUBNET is written as lease address + 1 and read with host bits
// allowed, so the lease itself must survive); format is a fixed point after one round.
#include <alivpc/error.hpp>
#include <alivpc/lease/subnet_file.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string_view>

namespace {

[[noreturn]] void bug(const char* what) {
  std::fprintf(stderr, "subnet_file_fuzz: %s\n", what);
  __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  alivpc::lease::subnet_file f;
  try {
    f = alivpc::lease::parse_subnet_file(text);
  } catch (const alivpc::error&) {
    return 0;
  } catch (...) {
    bug("an exception other than alivpc::error escaped parse_subnet_file");
  }
  if (f.subnet.network().value() & ~f.subnet.mask()) bug("lease kept host bits");
  auto formatted = alivpc::lease::format_subnet_file(f);
  try {
    auto again = alivpc::lease::parse_subnet_file(formatted);
    if (!(again == f)) bug("parse(format(x)) != x");
    if (alivpc::lease::format_subnet_file(again) != formatted) bug("format is not stable");
  } catch (const alivpc::error&) {
    bug("our own subnet file was refused");
  }
  return 0;
}
