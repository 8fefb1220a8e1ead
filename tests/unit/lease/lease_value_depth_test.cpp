// parse_lease_value copies BackendData as given; nlohmann copies recursively, so a value nested
// a million levels deep overflowed the stack (same class as the network config fuzz finding).
#include <alivpc/error.hpp>
#include <alivpc/lease/lease.hpp>

#include <gtest/gtest.h>

#include <string>

using alivpc::lease::parse_lease_value;

namespace {

std::string value_with_backend_data_depth(int depth) {
  return R"({"PublicIP":"192.168.0.12","PublicIPv6":null,"BackendType":"ali-vpc","BackendData":)" +
         std::string(depth, '[') + std::string(depth, ']') + "}";
}

}  // namespace

TEST(LeaseValueDepth, DeeplyNestedBackendDataIsAParseErrorNotAStackOverflow) {
  try {
    parse_lease_value(value_with_backend_data_depth(1'000'000));
    FAIL() << "a million levels accepted";
  } catch (const alivpc::error& e) {
    EXPECT_EQ(e.kind(), alivpc::error_kind::parse);
    EXPECT_NE(std::string(e.what()).find("nested deeper than 64"), std::string::npos) << e.what();
  }
  // Ordinary nesting is kept as given.
  auto a = parse_lease_value(value_with_backend_data_depth(5));
  EXPECT_EQ(a.backend_data.dump(), "[[[[[]]]]]");
}
