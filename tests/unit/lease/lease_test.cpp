#include <alivpc/lease/lease.hpp>

#include <gtest/gtest.h>

using namespace alivpc::lease;
using alivpc::net::ipv4_address;
using alivpc::net::ipv4_cidr;

TEST(SubnetKey, MatchesFlannel) {
  EXPECT_EQ(subnet_key(ipv4_cidr::parse("10.24.5.0/24")), "10.24.5.0-24");
  EXPECT_EQ(parse_subnet_key("10.24.5.0-24").subnet.to_string(), "10.24.5.0/24");
  auto dual = parse_subnet_key("10.24.5.0-24&fd00:0:0:5::-64");
  EXPECT_EQ(dual.subnet.to_string(), "10.24.5.0/24");
  EXPECT_EQ(*dual.ipv6_subnet, "fd00:0:0:5::-64");
  for (const char* bad : {"10.24.5.0", "10.24.5.0-33", "10.24.5.1-24", "x-24", "-24", ""}) {
    EXPECT_THROW(parse_subnet_key(bad), alivpc::error) << bad;
  }
}

TEST(LeaseValue, IsByteIdenticalToFlannels) {
  lease_attrs a{ipv4_address::parse("192.168.0.12")};
  EXPECT_EQ(
      format_lease_value(a),
      R"({"PublicIP":"192.168.0.12","PublicIPv6":null,"BackendType":"ali-vpc","BackendData":null})");
  EXPECT_EQ(parse_lease_value(format_lease_value(a)), a);
  a.backend_data = {{"VtepMAC", "aa:bb"}};
  a.public_ipv6 = "fd00::1";
  EXPECT_EQ(parse_lease_value(format_lease_value(a)), a);
}

TEST(LeaseValue, MalformedIsAParseError) {
  for (const char* bad : {"", "{", "[]", R"({"PublicIP":5})", R"({"PublicIP":"1.2.3"})",
                          R"({"BackendType":"x"})", R"({"PublicIP":"1.2.3.4","PublicIPv6":1})"}) {
    try {
      parse_lease_value(bad);
      ADD_FAILURE() << bad;
    } catch (const alivpc::error& e) {
      EXPECT_EQ(e.kind(), alivpc::error_kind::parse);
      EXPECT_NE(std::string(e.what()).find("lease value"), std::string::npos);
    }
  }
}
