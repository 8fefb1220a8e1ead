// GCC 12 warns about designated initializers that leave members at their defaults.
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

#include <alivpc/http/endpoint_pool.hpp>
#include <alivpc/http/url.hpp>

#include <gtest/gtest.h>

using namespace alivpc;

TEST(Url, ParsesSchemeHostPortPath) {
  auto u = http::url::parse("https://etcd.example:2379/base/");
  EXPECT_EQ(u.scheme, "https");
  EXPECT_EQ(u.host, "etcd.example");
  EXPECT_EQ(u.port, 2379);
  EXPECT_EQ(u.path, "/base");
  EXPECT_TRUE(u.is_tls());
  EXPECT_EQ(u.to_string(), "https://etcd.example:2379/base");
}

TEST(Url, DefaultsThePortFromTheScheme) {
  EXPECT_EQ(http::url::parse("http://h").port, 80);
  EXPECT_EQ(http::url::parse("HTTPS://h").port, 443);
}

TEST(Url, KeepsUserinfoOutOfTextAndErrors) {
  auto u = http::url::parse("http://root:pw@127.0.0.1:2379");
  EXPECT_EQ(u.username, "root");
  EXPECT_EQ(u.password, "pw");
  EXPECT_EQ(u.to_string(), "http://127.0.0.1:2379");
  try {
    http::url::parse("ftp://root:pw@h");
    FAIL();
  } catch (const error& e) {
    EXPECT_EQ(std::string(e.what()).find("pw"), std::string::npos) << e.what();
  }
}

TEST(Url, Ipv6Literal) {
  auto u = http::url::parse("http://[::1]:2379");
  EXPECT_EQ(u.host, "::1");
  EXPECT_EQ(u.to_string(), "http://[::1]:2379");
}

TEST(Url, RejectsBadInput) {
  for (const char* bad : {"127.0.0.1:2379", "http://", "http://h:0", "http://h:99999", "http://h:x",
                          "http://h:", "http://h/?q", "gopher://h"}) {
    EXPECT_THROW(http::url::parse(bad), error) << bad;
  }
}

TEST(Endpoints, ParsesACommaList) {
  auto e = http::parse_endpoints("http://127.0.0.1:4001, http://127.0.0.1:2379");
  ASSERT_EQ(e.size(), 2u);
  EXPECT_EQ(e[1].port, 2379);
  EXPECT_THROW(http::parse_endpoints(" , "), error);
}

TEST(Backoff, FullJitterStaysUnderTheCap) {
  prng rng(1);
  http::backoff_options b{.initial = std::chrono::milliseconds(100),
                          .max = std::chrono::milliseconds(1000)};
  for (unsigned round = 0; round < 40; ++round) {
    auto d = alivpc::backoff_delay(b.policy(), round, rng);
    EXPECT_GE(d, std::chrono::milliseconds(0));
    EXPECT_LE(d, std::chrono::milliseconds(std::min<long>(1000, 100L << std::min(round, 30u))));
  }
}

// Issue 11: parse() splits userinfo at the last '@', so masking must reach that far too.
TEST(Url, RedactsUpToTheLastAt) {
  EXPECT_EQ(http::url::redact("http://u:p@ss@h:1/x"), "http://***@h:1/x");
  EXPECT_EQ(http::url::redact("http://h:1"), "http://h:1");
  EXPECT_EQ(http::url::redact("u:se@cret@h"), "***@h");
  for (const char* bad : {"ftp://root:PW@S3CRET@h", "http://root:PW@S3CRET@h:99999",
                          "http://root:PW/S3CRET@h:x", "http://root:PW@S3CRET@:1"}) {
    try {
      http::url::parse(bad);
      FAIL() << "accepted";
    } catch (const error& e) {
      EXPECT_EQ(std::string(e.what()).find("PW"), std::string::npos) << e.what();
      EXPECT_EQ(std::string(e.what()).find("S3CRET"), std::string::npos) << e.what();
    }
  }
}

TEST(Url, KnowsLoopbackHosts) {
  for (const char* yes :
       {"http://127.0.0.1:1", "http://127.9.8.7", "http://localhost:80", "http://[::1]:2379"})
    EXPECT_TRUE(http::url::parse(yes).is_loopback()) << yes;
  for (const char* no : {"http://10.0.0.1", "http://127.example.com", "http://1270.0.0.1",
                         "http://100.100.100.200", "http://vpc.cn-hangzhou.aliyuncs.com"})
    EXPECT_FALSE(http::url::parse(no).is_loopback()) << no;
}
