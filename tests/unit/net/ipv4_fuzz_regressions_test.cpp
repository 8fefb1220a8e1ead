// Inputs found by fuzz/cidr_fuzz.cpp and fuzz/network_config_fuzz.cpp that once misbehaved.
#include <alivpc/error.hpp>
#include <alivpc/net/ipv4.hpp>

#include <gtest/gtest.h>

using alivpc::net::ipv4_cidr;

// A prefix length of many digits was accumulated into an int before its length was checked:
// signed overflow (UBSan) for "10.0.0.0/14000000000". It is a plain parse error now.
TEST(Ipv4FuzzRegressions, LongPrefixDigitsAreRefusedWithoutOverflow) {
  EXPECT_THROW(ipv4_cidr::parse("10.0.0.0/14000000000"), alivpc::error);
  EXPECT_THROW(ipv4_cidr::parse("10.0.0.0/99999999999999999999", {.allow_host_bits = true}),
               alivpc::error);
  EXPECT_FALSE(ipv4_cidr::try_parse("10.0.0.0/1400000000000000000000000000").has_value());
  EXPECT_EQ(ipv4_cidr::parse("10.0.0.0/14").prefix_length(), 14);
}
