// Lease values: parsing any bytes returns or throws alivpc::error; whatever parses formats back
// to a value that parses to the same attrs (parse(format(x)) == x), and formatting is stable.
#include <alivpc/lease/lease.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace alivpc::lease;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  lease_attrs a;
  try {
    a = parse_lease_value(in);
  } catch (const alivpc::error&) {
    return 0;
  }
  // Values nlohmann cannot print back identically (e.g. NaN never parses; invalid UTF-8 throws).
  std::string text;
  try {
    text = format_lease_value(a);
  } catch (const nlohmann::json::exception&) {
    return 0;
  }
  lease_attrs b = parse_lease_value(text);
  if (!(a == b)) std::abort();
  if (format_lease_value(b) != text) std::abort();
  return 0;
}
