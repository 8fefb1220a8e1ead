// Fuzzes the parsers of every OpenAPI answer the cloud client reads (cloud/responses.hpp).
// Properties: only alivpc::error(parse) ever escapes a parser (never a nlohmann exception, never
// a crash); error bodies never throw at all; whatever a parser accepts is well formed (route
// entries carry a valid CIDR; a parsed list is no longer than the input could describe).
#include <alivpc/cloud/api_error.hpp>
#include <alivpc/cloud/detail/route_entry_list_reader.hpp>
#include <alivpc/cloud/responses.hpp>
#include <alivpc/error.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string_view>
#include <utility>
#include <vector>

namespace {

namespace cloud = alivpc::cloud;

[[noreturn]] void bug(const char* what) {
  std::fprintf(stderr, "cloud_responses_fuzz: %s\n", what);
  __builtin_trap();
}

template <class Fn>
void only_parse_errors(Fn fn) {
  try {
    fn();
  } catch (const alivpc::error& e) {
    if (e.kind() != alivpc::error_kind::parse) bug("a parser threw a non-parse alivpc::error");
  } catch (...) {
    bug("an exception other than alivpc::error escaped a parser");
  }
}

void check_entries(const std::vector<cloud::route_entry>& entries, std::size_t input_size) {
  if (entries.size() > input_size) bug("more entries than the input could hold");
  for (const auto& e : entries)
    if (e.destination.prefix_length() > 32) bug("a route entry with an impossible prefix");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view body(reinterpret_cast<const char*>(data), size);
  try {
    auto err = cloud::parse_error_body(body);
    // Whatever the code, classification is total and the error type builds.
    cloud::api_error e("Fuzz", "https://x", 400, err.code, err.message, err.request_id);
    (void)cloud::classify(err.code, 503);
  } catch (...) {
    bug("parse_error_body or api_error threw");
  }
  only_parse_errors([&] { (void)cloud::parse_describe_vpcs(body); });
  only_parse_errors([&] { (void)cloud::parse_describe_vrouters(body); });
  only_parse_errors([&] {
    auto a = cloud::parse_describe_route_tables(body);
    for (const auto& t : a.tables)
      check_entries(t.entries, size);
  });
  only_parse_errors([&] { (void)cloud::parse_describe_route_table_list(body); });
  only_parse_errors([&] {
    auto a = cloud::parse_describe_route_entry_list(body);
    check_entries(a.entries, size);
  });
  only_parse_errors([&] { (void)cloud::parse_create_route_entry(body); });
  only_parse_errors([&] { (void)cloud::parse_request_id(body, "DeleteRouteEntry"); });
  only_parse_errors([&] {
    // A batch answer, put on the routes of a small request: parse errors only, whatever it says.
    std::vector<cloud::route_spec> routes{
        {"vtb-1", alivpc::net::ipv4_cidr::parse("10.24.1.0/24"), "Instance", "i-1"},
        {"vtb-1", alivpc::net::ipv4_cidr::parse("10.24.2.0/24"), "Instance", "", "rte-2"}};
    auto a = cloud::parse_route_entries_batch(body, "CreateRouteEntries");
    (void)cloud::attribute_batch_answer(routes, std::move(a), "CreateRouteEntries");
  });
  return 0;
}
