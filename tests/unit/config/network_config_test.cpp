#include <alivpc/config/network_config.hpp>

#include <gtest/gtest.h>

using alivpc::config::parse_network_config;

namespace {
std::string error_of(std::string_view json) {
  try {
    parse_network_config(json);
  } catch (const alivpc::error& e) {
    EXPECT_EQ(e.kind(), alivpc::error_kind::invalid_argument);
    return e.what();
  }
  return "";
}
}  // namespace

TEST(NetworkConfig, SeedConfigGetsFlannelDefaults) {
  auto c = parse_network_config(R"({"Network":"10.24.0.0/16", "Backend": {"Type": "ali-vpc"}})");
  EXPECT_EQ(c.network->to_string(), "10.24.0.0/16");
  EXPECT_EQ(c.subnet_len, 24);
  EXPECT_EQ(c.subnet_min.to_string(), "10.24.1.0");
  EXPECT_EQ(c.subnet_max.to_string(), "10.24.255.0");
  EXPECT_TRUE(c.enable_ipv4);
  EXPECT_FALSE(c.enable_ipv6);
  EXPECT_EQ(c.backend.type, "ali-vpc");
  EXPECT_NO_THROW(alivpc::config::require_ali_vpc(c));
}

TEST(NetworkConfig, SmallNetworksSplitIntoFour) {
  auto c = parse_network_config(R"({"Network":"10.24.0.0/26"})");
  EXPECT_EQ(c.subnet_len, 28);
  EXPECT_EQ(c.subnet_min.to_string(), "10.24.0.16");
  EXPECT_EQ(c.subnet_max.to_string(), "10.24.0.48");
  EXPECT_EQ(parse_network_config(R"({"Network":"10.0.0.0/22"})").subnet_len, 24);
  EXPECT_EQ(parse_network_config(R"({"Network":"10.0.0.0/23"})").subnet_len, 25);
  EXPECT_EQ(c.backend.type, "udp");
}

TEST(NetworkConfig, BackendKeysAreKept) {
  auto c = parse_network_config(
      R"({"Network":"10.24.0.0/16","Backend":{"Type":"ali-vpc","AccessKeyID":"id","RouteTableIDs":["vtb-1"]}})");
  EXPECT_EQ(c.backend.settings["AccessKeyID"], "id");
  EXPECT_EQ(c.backend.settings["RouteTableIDs"][0], "vtb-1");
  EXPECT_FALSE(c.backend.settings.contains("Type"));
}

TEST(NetworkConfig, ErrorsNameTheField) {
  EXPECT_EQ(error_of(R"({"Backend":{"Type":"ali-vpc"}})"),
            "network config: Network: missing: set it to an IPv4 CIDR block, e.g. "
            "\"Network\":\"10.24.0.0/16\"");
  EXPECT_NE(error_of(R"({"Network":"10.24.0.0/33"})").find("Network: \"10.24.0.0/33\""),
            std::string::npos);
  EXPECT_NE(
      error_of(R"({"Network":"10.24.0.0/16","SubnetLen":31})").find("SubnetLen: 31 is too long"),
      std::string::npos);
  EXPECT_NE(
      error_of(R"({"Network":"10.24.0.0/16","SubnetLen":17})").find("SubnetLen: 17 is too short"),
      std::string::npos);
  EXPECT_NE(error_of(R"({"Network":"10.24.0.0/29"})").find("Network: 10.24.0.0/29 is too small"),
            std::string::npos);
  EXPECT_NE(error_of(R"({"Network":"10.24.0.0/16","SubnetMin":"10.25.0.0"})")
                .find("SubnetMin: 10.25.0.0 is not inside"),
            std::string::npos);
  EXPECT_NE(error_of(R"({"Network":"10.24.0.0/16","SubnetMax":"10.24.3.4"})")
                .find("SubnetMax: 10.24.3.4 is not on a /24 boundary"),
            std::string::npos);
  EXPECT_NE(error_of(R"({"Network":"10.24.0.0/16","SubnetLen":"24"})")
                .find("SubnetLen: expected an integer"),
            std::string::npos);
  EXPECT_NE(error_of(R"({"Network":"10.24.0.0/16","EnableIPv4":"yes"})")
                .find("EnableIPv4: expected true or false"),
            std::string::npos);
  EXPECT_NE(error_of(R"({"Network":"10.24.0.0/16","Backend":"ali-vpc"})")
                .find("Backend: expected an object"),
            std::string::npos);
  EXPECT_NE(error_of(R"({"Network":"10.24.0.0/16","EnableIPv6":true,"IPv6Network":"nope"})")
                .find("IPv6Network"),
            std::string::npos);
  EXPECT_NE(error_of(R"([1,2])").find("expected a JSON object"), std::string::npos);
  EXPECT_NE(error_of(R"({"Network":)").find("not valid JSON"), std::string::npos);
}

TEST(NetworkConfig, OnlyAliVpcRunsHere) {
  auto vx = parse_network_config(R"({"Network":"10.24.0.0/16","Backend":{"Type":"vxlan"}})");
  try {
    alivpc::config::require_ali_vpc(vx);
    FAIL();
  } catch (const alivpc::error& e) {
    EXPECT_NE(std::string(e.what()).find("Backend.Type: \"vxlan\" is not supported"),
              std::string::npos);
  }
  auto v6 = parse_network_config(
      R"({"Network":"10.24.0.0/16","EnableIPv6":true,"IPv6Network":"fd00::/48","Backend":{"Type":"ali-vpc"}})");
  EXPECT_EQ(*v6.ipv6_network, "fd00::/48");
  EXPECT_THROW(alivpc::config::require_ali_vpc(v6), alivpc::error);
}

TEST(NetworkConfig, RoundTripsThroughJson) {
  auto c = parse_network_config(
      R"({"Network":"10.24.0.0/16","SubnetLen":26,"Custom":1,"Backend":{"Type":"ali-vpc","X":[1]}})");
  EXPECT_EQ(alivpc::config::parse_network_config_json(alivpc::config::to_json(c)), c);
}

// Issue 11: the config may hold AccessKeySecret; a syntax error must say where, never echo it.
TEST(NetworkConfig, InvalidJsonNeverEchoesTheTextButSaysWhere) {
  const std::string secret = "Zx9SECRETvalue0123456789abcdef";
  for (const std::string& text :
       {R"({"Network":"10.24.0.0/16","Backend":{"Type":"ali-vpc","AccessKeySecret":")" + secret +
            R"(",}})",
        R"({"Network":"10.24.0.0/16","Backend":{"AccessKeySecret":")" + secret + R"(")",
        "{\"Network\":\"10.24.0.0/16\",\n \"Backend\":{\"AccessKeySecret\" \"" + secret + "\"}}",
        R"({"Backend":{"AccessKeySecret":"x", ")" + secret + R"("}})",
        R"({"Backend":{"AccessKeySecret":)" + secret + "}}"}) {
    auto e = error_of(text);
    EXPECT_NE(e.find("not valid JSON"), std::string::npos) << e;
    EXPECT_EQ(e.find(secret.substr(0, 8)), std::string::npos) << e;
    EXPECT_NE(e.find("line "), std::string::npos) << e;
    EXPECT_NE(e.find("byte "), std::string::npos) << e;
  }
  auto e = error_of("{\"Network\":\"10.24.0.0/16\",\n \"Backend\":{\"AccessKeySecret\" \"x\"}}");
  EXPECT_NE(e.find("line 2, column "), std::string::npos) << e;
  EXPECT_NE(e.find("after the key \"AccessKeySecret\""), std::string::npos) << e;
  EXPECT_NE(error_of(R"({"Network":)").find("ends too early"), std::string::npos);
}

TEST(NetworkConfig, WrongValuesAreShownOnlyWhenSmallScalars) {
  const std::string secret = "Zx9SECRETvalue0123456789abcdef";
  for (const std::string& text :
       {R"({"Network":{"AccessKeySecret":")" + secret + R"("}})",
        R"({"Network":"10.24.0.0/16","Backend":")" + secret + R"("})",
        R"({"Network":"10.24.0.0/16","Backend":{"Type":{"k":")" + secret + R"("}}})",
        R"({"Network":"10.24.0.0/16","SubnetLen":[")" + secret + R"("]})",
        R"({"Network":"10.24.0.0/16","EnableIPv6":")" + secret + R"("})",
        R"([")" + secret + R"("])"}) {
    auto e = error_of(text);
    EXPECT_FALSE(e.empty()) << text;
    EXPECT_EQ(e.find(secret.substr(0, 8)), std::string::npos) << e;
  }
  EXPECT_NE(error_of(R"({"Network":"10.24.0.0/16","SubnetLen":33})").find("33"), std::string::npos);
}

// Issue 11: the VPC refuses route destinations in 100.64.0.0/10.
TEST(NetworkConfig, AliVpcRefusesANetworkInTheVpcsReservedRange) {
  for (const char* net : {"100.64.0.0/16", "100.127.0.0/16", "100.64.0.0/10", "100.0.0.0/8"}) {
    auto e = error_of(std::string(R"({"Network":")") + net + R"(","Backend":{"Type":"ali-vpc"}})");
    EXPECT_NE(e.find("network config: Network:"), std::string::npos) << net << ": " << e;
    EXPECT_NE(e.find("100.64.0.0/10"), std::string::npos) << e;
  }
  EXPECT_EQ(error_of(R"({"Network":"100.128.0.0/16","Backend":{"Type":"ali-vpc"}})"), "");
  EXPECT_EQ(error_of(R"({"Network":"100.63.0.0/16","Backend":{"Type":"ali-vpc"}})"), "");
  // Other backends (vxlan, host-gw) do not route through the VPC.
  EXPECT_EQ(error_of(R"({"Network":"100.64.0.0/16","Backend":{"Type":"vxlan"}})"), "");
}
