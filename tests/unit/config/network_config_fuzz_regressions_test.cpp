// Inputs found by fuzz/network_config_fuzz.cpp (and by reading what it reached) that once
// misbehaved.
#include <alivpc/config/network_config.hpp>
#include <alivpc/error.hpp>

#include <gtest/gtest.h>

#include <string>

using namespace alivpc::config;

namespace {

std::string nested(const std::string& key, int depth) {
  return R"({"Network":"10.0.0.0/8",")" + key + "\":" + std::string(depth, '[') +
         std::string(depth, ']') + "}";
}

}  // namespace

// A deeply nested value (an unknown key is copied into `extra`; a bad field's value is dumped
// into the message) overflowed the stack in nlohmann's recursive copy/dump. Refused now.
TEST(NetworkConfigFuzzRegressions, DeepNestingIsRefusedNotAStackOverflow) {
  EXPECT_THROW(parse_network_config(nested("Extra", 1'000'000)), alivpc::error);
  EXPECT_THROW(parse_network_config(nested("EnableIPv4", 1'000'000)), alivpc::error);
  try {
    parse_network_config(nested("Extra", 65));
    FAIL() << "65 levels accepted";
  } catch (const alivpc::error& e) {
    EXPECT_NE(std::string(e.what()).find("nested deeper than 64"), std::string::npos) << e.what();
  }
  // Modest nesting inside Backend or unknown keys is still kept.
  auto c = parse_network_config(nested("Extra", 8));
  EXPECT_EQ(c.extra["Extra"].dump(), std::string(8, '[') + std::string(8, ']'));
}

// Numbers too long for a prefix length must not overflow while being read (UBSan).
TEST(NetworkConfigFuzzRegressions, LongNetworkPrefixIsAnError) {
  EXPECT_THROW(parse_network_config(R"({"Network":"10.0.0.0/14000000000"})"), alivpc::error);
}

// JSON strings may hold NUL (\u0000); inet_pton stopped there, so "fd00::<NUL>junk" passed as an
// IPv6 address (found reading what the fuzzer reached). Refused now.
TEST(NetworkConfigFuzzRegressions, NulInsideAnIpv6FieldIsRefused) {
  EXPECT_THROW(parse_network_config(R"({"EnableIPv4":false,"EnableIPv6":true,)"
                                    R"("IPv6Network":"fd00::\u0000junk/56"})"),
               alivpc::error);
  EXPECT_THROW(
      parse_network_config(R"({"EnableIPv4":false,"EnableIPv6":true,)"
                           R"("IPv6Network":"fd00::/56","IPv6SubnetMin":"fd00::\u0000x"})"),
      alivpc::error);
  EXPECT_NO_THROW(
      parse_network_config(R"({"EnableIPv4":false,"EnableIPv6":true,"IPv6Network":"fd00::/56"})"));
}
