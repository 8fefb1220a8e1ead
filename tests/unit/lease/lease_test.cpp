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

// A lease is copied in bulk (every listing): its BackendData is shared, not copied, and still
// compares by value.
TEST(LeaseValue, BackendDataIsSharedByCopiesAndComparedByValue) {
  lease_attrs a{ipv4_address::parse("192.168.0.12")};
  a.backend_data = {{"InstanceId", "i-0123456789abcdef0123"}, {"NextHopType", "Instance"}};
  const lease_attrs copy = a;
  EXPECT_EQ(&copy.backend_data.json(), &a.backend_data.json());
  const auto reparsed = parse_lease_value(format_lease_value(a));
  EXPECT_NE(&reparsed.backend_data.json(), &a.backend_data.json());
  EXPECT_EQ(reparsed, a);
  EXPECT_EQ(a.backend_data.instance_id(), "i-0123456789abcdef0123");
  EXPECT_EQ(a.backend_data.next_hop_type(), "Instance");
  EXPECT_EQ(lease_instance_id(a), "i-0123456789abcdef0123");
  // Absent, null, or not a string: no instance.
  for (const char* text :
       {R"({"PublicIP":"1.2.3.4","BackendData":null})",
        R"({"PublicIP":"1.2.3.4","BackendData":{"InstanceId":5}})",
        R"({"PublicIP":"1.2.3.4","BackendData":["InstanceId"]})", R"({"PublicIP":"1.2.3.4"})"}) {
    auto parsed = parse_lease_value(text);
    EXPECT_EQ(parsed.backend_data.instance_id(), "") << text;
    EXPECT_EQ(parsed.backend_data.next_hop_type(), "") << text;
  }
  auto other = a;
  other.backend_data = {{"InstanceId", "i-two"}};
  EXPECT_NE(other, a);
  EXPECT_FALSE(same_owner(other, a));  // the same PublicIP, another instance
  EXPECT_TRUE(same_owner(copy, a));
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
