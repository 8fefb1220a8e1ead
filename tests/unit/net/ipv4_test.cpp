#include <alivpc/net/ipv4.hpp>

#include <gtest/gtest.h>

#include <string>
#include <utility>

using alivpc::net::ipv4_address;
using alivpc::net::ipv4_cidr;

TEST(Ipv4Address, ParsesAndFormats) {
  EXPECT_EQ(ipv4_address::parse("10.24.5.1").to_string(), "10.24.5.1");
  EXPECT_EQ(ipv4_address::parse("255.255.255.255").value(), 0xffffffffu);
  EXPECT_EQ(ipv4_address::parse("0.0.0.0").value(), 0u);
}

TEST(Ipv4Address, RejectsJunk) {
  for (const char* bad : {"", "1.2.3", "1.2.3.4.5", "256.1.1.1", "01.2.3.4", "1.2.3.4 ", "a.b.c.d",
                          "1..2.3", "1.2.3.-4", "1234.1.1.1"}) {
    EXPECT_FALSE(ipv4_address::try_parse(bad).has_value()) << bad;
  }
  try {
    ipv4_address::parse("300.1.1.1");
    FAIL();
  } catch (const alivpc::error& e) {
    EXPECT_NE(std::string(e.what()).find("\"300.1.1.1\""), std::string::npos);
    EXPECT_EQ(e.kind(), alivpc::error_kind::invalid_argument);
  }
}

TEST(Ipv4Cidr, ParseErrorsNameTheValueAndTheRule) {
  try {
    ipv4_cidr::parse("10.0.0.0/33");
    FAIL();
  } catch (const alivpc::error& e) {
    EXPECT_STREQ(e.what(), "\"10.0.0.0/33\": prefix length must be 0..32");
  }
  try {
    ipv4_cidr::parse("10.24.1.0/16");
    FAIL();
  } catch (const alivpc::error& e) {
    EXPECT_NE(std::string(e.what()).find("10.24.0.0/16"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(ipv4_cidr::try_parse("10.0.0.0").has_value());
  EXPECT_FALSE(ipv4_cidr::try_parse("10.0.0.0/").has_value());
  EXPECT_FALSE(ipv4_cidr::try_parse("10.0.0.0/08").has_value());
  EXPECT_FALSE(ipv4_cidr::try_parse("10.0.0.0/-1").has_value());
  EXPECT_EQ(ipv4_cidr::parse("10.24.5.1/24", {.allow_host_bits = true}).to_string(),
            "10.24.5.0/24");
}

// try_parse() and parse() judge alike; parse() names each fault in its own words.
TEST(Ipv4Cidr, TryParseAgreesWithParseAndEachFaultHasItsMessage) {
  const std::pair<const char*, const char*> cases[] = {
      {"10.0.0.0", "\"10.0.0.0\": expected a CIDR block like 10.24.0.0/16"},
      {"10.0.0/8", "\"10.0.0/8\": \"10.0.0\" is not an IPv4 address"},
      {"10.0.0.0/", "\"10.0.0.0/\": prefix length must be 0..32"},
      {"10.0.0.0/123", "\"10.0.0.0/123\": prefix length must be 0..32"},
      {"10.0.0.1/8", "\"10.0.0.1/8\": host bits are set (did you mean 10.0.0.0/8?)"},
      {"10.24.0.0/16", ""},
      {"0.0.0.0/0", ""},
  };
  for (const auto& [text, message] : cases) {
    std::string got;
    try {
      ipv4_cidr::parse(text);
    } catch (const alivpc::error& e) {
      got = e.what();
      EXPECT_EQ(e.kind(), alivpc::error_kind::invalid_argument);
    }
    EXPECT_EQ(got, message) << text;
    EXPECT_EQ(ipv4_cidr::try_parse(text).has_value(), got.empty()) << text;
  }
}

TEST(Ipv4Cidr, Relations) {
  auto net = ipv4_cidr::parse("10.24.0.0/16");
  auto sub = ipv4_cidr::parse("10.24.5.0/24");
  auto other = ipv4_cidr::parse("10.25.0.0/24");
  EXPECT_TRUE(net.contains(sub));
  EXPECT_FALSE(sub.contains(net));
  EXPECT_TRUE(net.overlaps(sub));
  EXPECT_TRUE(sub.overlaps(net));
  EXPECT_FALSE(net.overlaps(other));
  EXPECT_EQ(net.broadcast().to_string(), "10.24.255.255");
  EXPECT_EQ(net.next().to_string(), "10.25.0.0/16");
  EXPECT_EQ(ipv4_cidr::parse("0.0.0.0/0").size(), 1ull << 32);
  EXPECT_TRUE(ipv4_cidr::parse("0.0.0.0/0").contains(ipv4_address::parse("8.8.8.8")));
}

TEST(Ipv4Cidr, IteratesSubnets) {
  auto net = ipv4_cidr::parse("10.24.0.0/22");
  std::vector<std::string> seen;
  net.for_each_subnet(24, [&](ipv4_cidr c) { seen.push_back(c.to_string()); });
  EXPECT_EQ(seen, (std::vector<std::string>{"10.24.0.0/24", "10.24.1.0/24", "10.24.2.0/24",
                                            "10.24.3.0/24"}));
  EXPECT_EQ(net.subnet_count(21), 0u);
  EXPECT_EQ(net.subnet(26, 5).to_string(), "10.24.1.64/26");
}
