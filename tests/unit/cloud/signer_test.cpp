// Every public test vector of aliyun-api.md, plus the three captured SDK requests.
#include <alivpc/cloud/signer.hpp>

#include <gtest/gtest.h>

namespace cloud = alivpc::cloud;
using alivpc::detail::base64_encode;
using cloud::detail::hmac_sha1;

TEST(SignerPercentEncode, KeepsUnreservedAndEncodesTheRestUpperCase) {
  EXPECT_EQ(cloud::percent_encode("AZaz09-_.~"), "AZaz09-_.~");
  EXPECT_EQ(cloud::percent_encode("a b"), "a%20b");
  EXPECT_EQ(cloud::percent_encode("*"), "%2A");
  EXPECT_EQ(cloud::percent_encode("+/=:"), "%2B%2F%3D%3A");
  EXPECT_EQ(cloud::percent_encode("\xe4\xb8\xad"), "%E4%B8%AD");
}

TEST(SignerV1, OfficialExampleStringToSignAndSignature) {
  cloud::param_map p{{"AccessKeyId", "testid"},
                     {"Action", "DescribeRegions"},
                     {"Format", "XML"},
                     {"SignatureMethod", "HMAC-SHA1"},
                     {"SignatureNonce", "3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf"},
                     {"SignatureVersion", "1.0"},
                     {"Timestamp", "2016-02-23T12:46:24Z"},
                     {"Version", "2014-05-26"}};
  auto s = cloud::sign_v1("GET", p, "testsecret");
  EXPECT_EQ(s.string_to_sign,
            "GET&%2F&AccessKeyId%3Dtestid%26Action%3DDescribeRegions%26Format%3DXML%"
            "26SignatureMethod%3DHMAC-SHA1%26SignatureNonce%3D3ee8c1b8-83d3-44af-a94f-"
            "4e0ad82fd6cf%26SignatureVersion%3D1.0%26Timestamp%3D2016-02-23T12%253A46%253A24Z%"
            "26Version%3D2014-05-26");
  EXPECT_EQ(s.signature, "OLeaidS1JvxuMvnyHOwuJ+uX5qY=");
  p["Signature"] = s.signature;
  EXPECT_NE(cloud::encode_query(p).find("Signature=OLeaidS1JvxuMvnyHOwuJ%2BuX5qY%3D"),
            std::string::npos);
  // A Signature already present is not signed.
  EXPECT_EQ(cloud::sign_v1("GET", p, "testsecret").signature, "OLeaidS1JvxuMvnyHOwuJ+uX5qY=");
}

TEST(SignerV1, HmacOnlyVectors) {
  EXPECT_EQ(base64_encode(
                hmac_sha1("testsecret&",
                          "GET&%2F&AccessKeyId%3Dtestid%26Action%3DDescribeRegions%26Format%3DXML%"
                          "26RegionId%3Dregion1%26SignatureMethod%3DHMAC-SHA1%26SignatureNonce%"
                          "3DNwDAxvLU6tFE0DVb%26SignatureVersion%3D1.0%26TimeStamp%3D2012-12-26T10%"
                          "253A33%253A56Z%26Version%3D2013-01-10")),
            "axE3FUHgDyfm9/+Iep0HpZXrRwE=");
  EXPECT_EQ(base64_encode(hmac_sha1("secret", "source")), "Jv4yi8SobFhg5t1C7nWLbhBSFZQ=");
  EXPECT_EQ(base64_encode(hmac_sha1("secret", "\xe4\xb8\xad\xe6\x96\x87unicode")),
            "szlfHs3WVaO/HgY3Cg7/uyXDaRw=");
}

// RFC 4231's HMAC-SHA-256 cases 1, 2 and 6 (a key longer than the block), in an order that
// changes key length and content between calls: each call keys its own copy of one keyless
// context (crypto.hpp), so nothing of one key may carry into the next.
TEST(SignerV3, HmacSha256Rfc4231Vectors) {
  const std::string key1(20, '\x0b'), key6(131, '\xaa');
  const std::string data6 = "Test Using Larger Than Block-Size Key - Hash Key First";
  const std::string want1 = "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7";
  const std::string want2 = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843";
  const std::string want6 = "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54";
  for (int round = 0; round < 2; ++round) {
    EXPECT_EQ(cloud::detail::hmac_sha256_hex(key6, data6), want6);
    EXPECT_EQ(cloud::detail::hmac_sha256_hex(key1, "Hi There"), want1);
    EXPECT_EQ(cloud::detail::hmac_sha256_hex("Jefe", "what do ya want for nothing?"), want2);
  }
  // And SHA-1 between them uses its own context (RFC 2202 case 2).
  EXPECT_EQ(alivpc::detail::to_hex(hmac_sha1("Jefe", "what do ya want for nothing?")),
            "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79");
}

TEST(SignerV1, SameParametersThroughSignV1GiveTheSecondHmacVector) {
  cloud::param_map p{{"AccessKeyId", "testid"},
                     {"Action", "DescribeRegions"},
                     {"Format", "XML"},
                     {"RegionId", "region1"},
                     {"SignatureMethod", "HMAC-SHA1"},
                     {"SignatureNonce", "NwDAxvLU6tFE0DVb"},
                     {"SignatureVersion", "1.0"},
                     {"TimeStamp", "2012-12-26T10:33:56Z"},
                     {"Version", "2013-01-10"}};
  EXPECT_EQ(cloud::sign_v1("GET", p, "testsecret").signature, "axE3FUHgDyfm9/+Iep0HpZXrRwE=");
}

namespace {
cloud::v3_request doc_v3_request() {
  cloud::v3_request r;
  r.method = "POST";
  r.query = {{"RegionId", "cn-hangzhou"},
             {"RouteTableId", "vtb-bp145q7glnuzd****"},
             {"DestinationCidrBlock", "10.24.5.0/24"},
             {"NextHopType", "Instance"},
             {"NextHopId", "i-bp1abc"},
             {"ClientToken", "a b"}};
  r.headers = {{"host", "vpc.cn-hangzhou.aliyuncs.com"},
               {"x-acs-version", "2016-04-28"},
               {"x-acs-action", "CreateRouteEntry"},
               {"x-acs-date", "2026-11-27T08:00:00Z"},
               {"x-acs-signature-nonce", "3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf"},
               {"x-acs-content-sha256", cloud::sha256_hex("")},
               {"accept", "application/json"},
               {"user-agent", "AlibabaCloud"}};
  return r;
}
}  // namespace

TEST(SignerV3, DocumentedVector) {
  auto r = doc_v3_request();
  EXPECT_EQ(cloud::sha256_hex(""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(cloud::encode_query(r.query),
            "ClientToken=a%20b&DestinationCidrBlock=10.24.5.0%2F24&NextHopId=i-bp1abc&"
            "NextHopType=Instance&RegionId=cn-hangzhou&RouteTableId=vtb-bp145q7glnuzd%2A%2A%2A%2A");
  auto s = cloud::sign_v3(r, "testid", "testsecret");
  EXPECT_EQ(s.authorization,
            "ACS3-HMAC-SHA256 Credential=testid,SignedHeaders=host;x-acs-action;x-acs-content-"
            "sha256;x-acs-date;x-acs-signature-nonce;x-acs-version,Signature="
            "3468fd3200e5f282740e520487b6c818e078eb918765bb0f43105fe49d69de74");
  // The canonical request has a blank line after the headers.
  EXPECT_NE(s.canonical_request.find("x-acs-version:2016-04-28\n\nhost;"), std::string::npos);
}

TEST(SignerV3, HeaderNameCaseAndValueSpacesDoNotChangeTheSignature) {
  auto r = doc_v3_request();
  r.headers.erase("host");
  r.headers["Host"] = "  vpc.cn-hangzhou.aliyuncs.com ";
  EXPECT_EQ(cloud::sign_v3(r, "testid", "testsecret").signature,
            "3468fd3200e5f282740e520487b6c818e078eb918765bb0f43105fe49d69de74");
}

TEST(SignerV3, EveryPartIsCovered) {
  auto base = cloud::sign_v3(doc_v3_request(), "testid", "testsecret").signature;
  auto r = doc_v3_request();
  r.query["NextHopId"] = "i-other";
  EXPECT_NE(cloud::sign_v3(r, "testid", "testsecret").signature, base);
  r = doc_v3_request();
  r.headers["x-acs-date"] = "2026-11-27T08:00:01Z";
  EXPECT_NE(cloud::sign_v3(r, "testid", "testsecret").signature, base);
  r = doc_v3_request();
  r.method = "GET";
  EXPECT_NE(cloud::sign_v3(r, "testid", "testsecret").signature, base);
  r = doc_v3_request();
  r.hashed_payload = cloud::sha256_hex("x");
  EXPECT_NE(cloud::sign_v3(r, "testid", "testsecret").signature, base);
  EXPECT_NE(cloud::sign_v3(doc_v3_request(), "testid", "other").signature, base);
  // Unsigned headers do not matter.
  r = doc_v3_request();
  r.headers["user-agent"] = "something else";
  EXPECT_EQ(cloud::sign_v3(r, "testid", "testsecret").signature, base);
}

TEST(SignerV3, ParsesAuthorizationHeader) {
  auto a = cloud::parse_v3_authorization(
      "ACS3-HMAC-SHA256 Credential=testid,SignedHeaders=host;x-acs-date,Signature=abc");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->access_key_id, "testid");
  EXPECT_EQ(a->signed_headers, (std::vector<std::string>{"host", "x-acs-date"}));
  EXPECT_EQ(a->signature, "abc");
  EXPECT_FALSE(cloud::parse_v3_authorization("ACS3-HMAC-SHA256 Credential=testid"));
  EXPECT_FALSE(cloud::parse_v3_authorization("HMAC Credential=a,SignedHeaders=b,Signature=c"));
  EXPECT_FALSE(cloud::parse_v3_authorization(""));
}

TEST(SignerTimestamp, FormatsAndParsesUtc) {
  auto t = cloud::parse_timestamp("2026-11-27T08:17:08Z");
  ASSERT_TRUE(t);
  EXPECT_EQ(cloud::format_timestamp(*t), "2026-11-27T08:17:08Z");
  EXPECT_EQ(std::chrono::duration_cast<std::chrono::seconds>(t->time_since_epoch()).count(),
            1795767428);
  EXPECT_FALSE(cloud::parse_timestamp("2026-11-27 08:17:08Z"));
  EXPECT_FALSE(cloud::parse_timestamp("2026-02-30T08:17:08Z"));
  EXPECT_FALSE(cloud::parse_timestamp("2026-11-27T08:17:08"));
}

// captures/sdk-requests.txt: key id testid, secret testsecret.
TEST(SignerCaptured, OfficialNodeSdkV3) {
  cloud::v3_request r;
  r.method = "POST";
  r.query = {{"ClientToken", "tok-1"},    {"DestinationCidrBlock", "10.24.5.0/24"},
             {"NextHopId", "i-1"},        {"NextHopType", "Instance"},
             {"RegionId", "cn-hangzhou"}, {"RouteTableId", "vtb-1"}};
  r.headers = {
      {"host", "127.0.0.1:18555"},
      {"x-acs-version", "2016-04-28"},
      {"x-acs-action", "CreateRouteEntry"},
      {"user-agent", "AlibabaCloud (linux; x64) Node.js/v20.20.2 Core/1.0.1 TeaDSL/2"},
      {"x-acs-date", "2026-11-27T08:17:08Z"},
      {"x-acs-signature-nonce", "158fec7aa9b367fa533e7ea979fc9daeeb763289e2e3035ae3d51eb171bc00bd"},
      {"accept", "application/json"},
      {"x-acs-content-sha256", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
      {"x-acs-credentials-provider", "static_ak"}};
  auto expected =
      "ACS3-HMAC-SHA256 Credential=testid,SignedHeaders=host;x-acs-action;x-acs-content-sha256;"
      "x-acs-credentials-provider;x-acs-date;x-acs-signature-nonce;x-acs-version,Signature="
      "db429ad4cfc47dc4b419598737314a483e37519f3a1725165b7f48888b09382d";
  EXPECT_EQ(cloud::sign_v3(r, "testid", "testsecret").authorization, expected);
  auto parsed = cloud::parse_v3_authorization(expected);
  ASSERT_TRUE(parsed);
  EXPECT_EQ(cloud::sign_v3_with(r, "testid", "testsecret", parsed->signed_headers).authorization,
            expected);
}

TEST(SignerCaptured, OfficialNodeSdkV1Post) {
  cloud::param_map p{
      {"Action", "CreateRouteEntry"},
      {"Format", "json"},
      {"Version", "2016-04-28"},
      {"Timestamp", "2026-11-27T08:17:08Z"},
      {"SignatureNonce", "0884716ac8706ee794080c9d392d00b36314fde6af4db158da8351bad0c54ab1"},
      {"ClientToken", "tok-1"},
      {"DestinationCidrBlock", "10.24.5.0/24"},
      {"NextHopId", "i-1"},
      {"NextHopType", "Instance"},
      {"RegionId", "cn-hangzhou"},
      {"RouteTableId", "vtb-1"},
      {"SignatureMethod", "HMAC-SHA1"},
      {"SignatureVersion", "1.0"},
      {"AccessKeyId", "testid"}};
  EXPECT_EQ(cloud::sign_v1("POST", p, "testsecret").signature, "3sBheCVZrlwYKcmfbAa0o2Cyb6g=");
}

TEST(SignerCaptured, AliyungoV1Get) {
  cloud::param_map p{{"AccessKeyId", "testid"},
                     {"Action", "CreateRouteEntry"},
                     {"DestinationCidrBlock", "10.24.5.0/24"},
                     {"Format", "JSON"},
                     {"NextHopId", "i-1"},
                     {"NextHopType", "Instance"},
                     {"RouteTableId", "vtb-1"},
                     {"SignatureMethod", "HMAC-SHA1"},
                     {"SignatureNonce", "A6NVGdNOXqU0y48ftyTzJ_fCE711Q1im"},
                     {"SignatureVersion", "1.0"},
                     {"Timestamp", "2026-11-27T08:17:23Z"},
                     {"Version", "2014-05-26"}};
  EXPECT_EQ(cloud::sign_v1("GET", p, "testsecret").signature, "BQe8nMdkYw+2ihSKbzxfclJCOR4=");
}
