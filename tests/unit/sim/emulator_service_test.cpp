// The emulator without sockets: the request parser, signature verification (the captured SDK
// requests at their own timestamps), metadata and admin answers.
#include <alivpc/sim/emulator_service.hpp>
#include <alivpc/sim/raw_request.hpp>
#include <alivpc/sim/request_parser.hpp>

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

using namespace std::chrono_literals;
namespace sim = alivpc::sim;
namespace cloud = alivpc::cloud;
using alivpc::net::ipv4_address;
using alivpc::net::ipv4_cidr;
using json = nlohmann::json;

namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}
sim::http_request captured(const std::string& name) {
  auto raw = read_file(std::string(ALIVPC_SOURCE_DIR) + "/fuzz/corpus/emulator_request/" + name);
  auto r = sim::split_raw_request(raw);
  EXPECT_TRUE(r) << name;
  return r.value_or(sim::http_request{});
}
alivpc::wall_time at(const char* ts) {
  return *cloud::parse_timestamp(ts);
}

struct fixture {
  sim::vpc_model model;
  sim::credential_store keys;
  sim::emulator_service service;
  fixture(sim::model_config cfg = {}, sim::emulator_options opts = {})
      : model(std::move(cfg), 1), keys(1), service(model, keys, std::move(opts), 1) {
    auto& v =
        model.add_vpc("cn-hangzhou", ipv4_cidr::parse("192.168.0.0/16"), "vpc-1", "vrt-1", "vtb-1");
    auto& sw =
        model.add_vswitch(v.id, "cn-hangzhou-h", ipv4_cidr::parse("192.168.0.0/24"), "vsw-1");
    model.add_instance("i-1", sw.id, ipv4_address::parse("192.168.0.10"));
    keys.add_key("testid", "testsecret");
  }
  sim::http_answer handle(const sim::http_request& r, alivpc::wall_time wall) {
    return service.handle(r, wall, alivpc::time_point{} + 1h);
  }
};

std::string code_of(const sim::http_answer& a) {
  if (a.status == 200) return "Success";
  return json::parse(a.body).at("Code").get<std::string>();
}

}  // namespace

TEST(EmulatorParser, ParsesTheCapturedRequests) {
  auto v3 = captured("node_sdk_v3_create_route_entry.http");
  auto p = sim::parse_api_request(v3.method, v3.target, v3.headers, v3.body);
  ASSERT_TRUE(std::holds_alternative<sim::api_request>(p));
  auto& r = std::get<sim::api_request>(p);
  EXPECT_EQ(r.scheme, sim::signature_scheme::v3);
  EXPECT_EQ(r.action, "CreateRouteEntry");
  EXPECT_EQ(r.product, sim::api_product::vpc);
  EXPECT_EQ(r.params.at("DestinationCidrBlock"), "10.24.5.0/24");
  EXPECT_EQ(r.access_key_id, "testid");

  auto go = captured("aliyungo_v1_get_create_route_entry.http");
  p = sim::parse_api_request(go.method, go.target, go.headers, go.body);
  ASSERT_TRUE(std::holds_alternative<sim::api_request>(p));
  EXPECT_EQ(std::get<sim::api_request>(p).product, sim::api_product::ecs);
  EXPECT_EQ(std::get<sim::api_request>(p).signature, "BQe8nMdkYw+2ihSKbzxfclJCOR4=");
}

TEST(EmulatorParser, RefusesBadRequestsWithTheApiError) {
  auto code = [](const std::string& method, const std::string& target,
                 const sim::header_list& h = {}, const std::string& body = "") {
    auto p = sim::parse_api_request(method, target, h, body);
    return std::holds_alternative<sim::api_error>(p) ? std::get<sim::api_error>(p).code : "OK";
  };
  EXPECT_EQ(code("DELETE", "/"), "UnsupportedHTTPMethod");
  EXPECT_EQ(code("GET", "/x"), "InvalidAction.NotFound");
  EXPECT_EQ(code("GET", "/?Action=%zz"), "InvalidParameter");
  EXPECT_EQ(code("GET", "/?Action=DescribeVpcs"), "MissingParameter");
  std::string common =
      "AccessKeyId=a&Signature=x&SignatureMethod=HMAC-SHA1&SignatureVersion=1.0&SignatureNonce=n&"
      "Timestamp=2026-11-27T08:00:00Z";
  EXPECT_EQ(code("GET", "/?Action=DescribeVpcs&Version=2016-04-28&" + common), "OK");
  EXPECT_EQ(code("GET", "/?Action=DescribeVpcs&Version=2099-01-01&" + common), "InvalidVersion");
  EXPECT_EQ(code("GET", "/?Action=DescribeRouteEntryList&Version=2014-05-26&" + common),
            "InvalidAction.NotFound");
  EXPECT_EQ(code("GET", "/?Action=Nope&Version=2016-04-28&" + common), "InvalidAction.NotFound");
  EXPECT_EQ(code("POST", "/?Action=DescribeVpcs&Version=2016-04-28&" + common + "x", {}),
            "InvalidTimeStamp.Format");
  EXPECT_EQ(code("POST", "/", {{"Content-Type", "application/x-www-form-urlencoded"}},
                 "Action=DescribeVpcs&Version=2016-04-28&" + common),
            "OK");
  EXPECT_EQ(code("POST", "/", {{"Authorization", "ACS3-HMAC-SHA256 nonsense"}}),
            "IncompleteSignature");
  EXPECT_EQ(
      code("POST", "/",
           {{"Authorization", "ACS3-HMAC-SHA256 Credential=a,SignedHeaders=host,Signature=b"}}),
      "MissingParameter");
}

TEST(EmulatorService, AcceptsEachCapturedSdkRequestAtItsTimestamp) {
  struct cap {
    const char* file;
    const char* ts;
  };
  for (auto c : {cap{"node_sdk_v3_create_route_entry.http", "2026-11-27T08:17:08Z"},
                 cap{"node_sdk_v1_post_create_route_entry.http", "2026-11-27T08:17:08Z"},
                 cap{"aliyungo_v1_get_create_route_entry.http", "2026-11-27T08:17:23Z"}}) {
    fixture f;
    auto a = f.handle(captured(c.file), at(c.ts) + 5min);
    EXPECT_EQ(a.status, 200) << c.file << ": " << a.body;
    EXPECT_EQ(f.model.entries("vtb-1", alivpc::time_point{} + 1h).size(), 3u);
    // The same request again: its nonce is spent.
    EXPECT_EQ(code_of(f.handle(captured(c.file), at(c.ts))), "SignatureNonceUsed") << c.file;
  }
}

TEST(EmulatorService, RefusesCapturedRequestsThatAreTooOldOrTamperedOrUnknown) {
  {
    fixture f;
    EXPECT_EQ(code_of(f.handle(captured("node_sdk_v3_create_route_entry.http"),
                               at("2026-11-27T08:17:08Z") + 16min)),
              "InvalidTimeStamp.Expired");
  }
  {
    fixture f;
    auto r = captured("node_sdk_v3_create_route_entry.http");
    r.target.replace(r.target.find("NextHopId=i-1"), 13, "NextHopId=i-2");
    EXPECT_EQ(code_of(f.handle(r, at("2026-11-27T08:17:08Z"))), "SignatureDoesNotMatch");
  }
  {
    fixture f;
    auto r = captured("node_sdk_v3_create_route_entry.http");
    r.body = "x";
    EXPECT_EQ(code_of(f.handle(r, at("2026-11-27T08:17:08Z"))), "SignatureDoesNotMatch");
  }
  {
    fixture f;
    auto r = captured("aliyungo_v1_get_create_route_entry.http");
    r.target.replace(r.target.find("10.24.5.0"), 9, "10.24.6.0");
    EXPECT_EQ(code_of(f.handle(r, at("2026-11-27T08:17:23Z"))), "SignatureDoesNotMatch");
  }
  {
    sim::vpc_model model;
    sim::credential_store keys;
    keys.add_key("other", "secret");
    sim::emulator_service service(model, keys);
    EXPECT_EQ(code_of(service.handle(captured("aliyungo_v1_get_create_route_entry.http"),
                                     at("2026-11-27T08:17:23Z"), {})),
              "InvalidAccessKeyId.NotFound");
  }
}

namespace {
sim::http_request v1_request(const std::string& method, cloud::param_map p, const std::string& id,
                             const std::string& secret, alivpc::wall_time now, int nonce) {
  p["AccessKeyId"] = id;
  p["Format"] = "JSON";
  p["SignatureMethod"] = "HMAC-SHA1";
  p["SignatureVersion"] = "1.0";
  p["SignatureNonce"] = "nonce-" + std::to_string(nonce);
  p["Timestamp"] = cloud::format_timestamp(now);
  if (!p.count("Version")) p["Version"] = "2016-04-28";
  p["Signature"] = cloud::sign_v1(method, p, secret).signature;
  return sim::http_request{method, "/?" + cloud::encode_query(p), {{"Host", "x"}}, ""};
}
}  // namespace

TEST(EmulatorService, MetadataServesIdentityAndStsKeysThatWorkAndExpire) {
  sim::emulator_options opts;
  opts.sts_ttl = 10s;
  fixture f({}, opts);
  auto now = at("2026-11-27T08:00:00Z");
  auto get = [&](const std::string& path, sim::header_list h = {}) {
    return f.handle(
        sim::http_request{"GET", "/metadata/i-1/latest/meta-data/" + path, std::move(h), ""}, now);
  };
  EXPECT_EQ(get("instance-id").body, "i-1");
  EXPECT_EQ(get("private-ipv4").body, "192.168.0.10");
  EXPECT_EQ(get("vpc-id").body, "vpc-1");
  EXPECT_EQ(get("vswitch-id").body, "vsw-1");
  EXPECT_EQ(get("region-id").body, "cn-hangzhou");
  EXPECT_EQ(get("zone-id").body, "cn-hangzhou-h");
  EXPECT_EQ(get("vpc-cidr-block").body, "192.168.0.0/16");
  EXPECT_EQ(get("nope").status, 404);
  EXPECT_EQ(
      f.handle(sim::http_request{"GET", "/metadata/i-9/latest/meta-data/instance-id", {}, ""}, now)
          .status,
      404);
  EXPECT_EQ(get("ram/security-credentials/").body, "alivpc-node");
  auto creds = json::parse(get("ram/security-credentials/alivpc-node").body);
  EXPECT_EQ(creds.at("Code"), "Success");
  EXPECT_EQ(creds.at("Expiration"), "2026-11-27T08:00:10Z");
  auto id = creds.at("AccessKeyId").get<std::string>();
  auto secret = creds.at("AccessKeySecret").get<std::string>();
  auto token = creds.at("SecurityToken").get<std::string>();
  cloud::param_map p{{"Action", "DescribeVpcs"}, {"RegionId", "cn-hangzhou"}};
  EXPECT_EQ(code_of(f.handle(v1_request("GET", p, id, secret, now, 1), now)),
            "MissingSecurityToken");
  p["SecurityToken"] = token;
  EXPECT_EQ(code_of(f.handle(v1_request("GET", p, id, secret, now, 2), now)), "Success");
  p["SecurityToken"] = token + "x";
  EXPECT_EQ(code_of(f.handle(v1_request("GET", p, id, secret, now, 3), now)),
            "InvalidSecurityToken.MismatchWithAccessKey");
  p["SecurityToken"] = token;
  EXPECT_EQ(code_of(f.handle(v1_request("GET", p, id, secret, now + 11s, 4), now + 11s)),
            "InvalidSecurityToken.Expired");
  // Past half its life a fresh key is handed out.
  now += 6s;
  EXPECT_NE(json::parse(get("ram/security-credentials/alivpc-node").body).at("AccessKeyId"), id);
}

TEST(EmulatorService, HardenedMetadataNeedsAToken) {
  sim::emulator_options opts;
  opts.metadata_token_required = true;
  fixture f({}, opts);
  auto now = at("2026-11-27T08:00:00Z");
  sim::http_request get{"GET", "/metadata/i-1/latest/meta-data/instance-id", {}, ""};
  EXPECT_EQ(f.handle(get, now).status, 401);
  sim::http_request put{"PUT", "/metadata/i-1/latest/api/token", {}, ""};
  EXPECT_EQ(f.handle(put, now).status, 400);
  put.headers = {{"X-aliyun-ecs-metadata-token-ttl-seconds", "21601"}};
  EXPECT_EQ(f.handle(put, now).status, 400);
  put.headers = {{"X-aliyun-ecs-metadata-token-ttl-seconds", "60"}};
  auto token = f.handle(put, now);
  ASSERT_EQ(token.status, 200);
  get.headers = {{"X-aliyun-ecs-metadata-token", token.body}};
  EXPECT_EQ(f.handle(get, now).body, "i-1");
  EXPECT_EQ(f.handle(get, now + 61s).status, 401);
  get.headers = {{"X-aliyun-ecs-metadata-token", "forged"}};
  EXPECT_EQ(f.handle(get, now).status, 401);
}

TEST(EmulatorService, AdminEndpointsChangeTheWorldAndCount) {
  sim::model_config cfg;
  cfg.write_delay = 0ms;
  fixture f(cfg);
  auto now = at("2026-11-27T08:00:00Z");
  auto post = [&](const std::string& t) {
    return f.handle(sim::http_request{"POST", "/_emulator/" + t, {}, ""}, now);
  };
  EXPECT_EQ(
      post("create-route?RouteTableId=vtb-1&DestinationCidrBlock=10.0.0.0/24&NextHopId=i-1").status,
      200);
  EXPECT_EQ(f.model.entries("vtb-1", {}).size(), 3u);
  EXPECT_EQ(post("delete-route?RouteTableId=vtb-1&DestinationCidrBlock=10.0.0.0/24").status, 200);
  EXPECT_EQ(f.model.entries("vtb-1", {}).size(), 2u);
  EXPECT_EQ(post("delete-route?RouteTableId=vtb-1&DestinationCidrBlock=10.0.0.0/24").status, 404);
  EXPECT_EQ(post("quota?Value=7").status, 200);
  EXPECT_EQ(f.model.config().quota_per_table, 7u);
  EXPECT_EQ(post("quota?Value=x").status, 400);
  EXPECT_EQ(post("fail?Action=DescribeVpcs&Rate=1&Kind=ServiceUnavailable").status, 200);
  cloud::param_map p{{"Action", "DescribeVpcs"}, {"RegionId", "cn-hangzhou"}};
  auto a = f.handle(v1_request("GET", p, "testid", "testsecret", now, 1), now);
  EXPECT_EQ(a.status, 503);
  EXPECT_EQ(code_of(a), "ServiceUnavailable");
  auto stats =
      json::parse(f.handle(sim::http_request{"GET", "/_emulator/stats", {}, ""}, now).body);
  EXPECT_EQ(stats["Actions"]["DescribeVpcs"]["ServiceUnavailable"], 1);
  EXPECT_EQ(post("nope").status, 404);
}

// ---- CreateRouteEntries / DeleteRouteEntries ---------------------------------------------------

namespace {
// The world of the captured batch requests: table vtb-abc, instances i-node1 and i-node2.
struct batch_fixture {
  sim::vpc_model model;
  sim::credential_store keys{1};
  sim::emulator_service service{model, keys, {}, 1};
  explicit batch_fixture(sim::model_config cfg = {}) : model(std::move(cfg), 1) {
    auto& v = model.add_vpc("cn-hangzhou", ipv4_cidr::parse("192.168.0.0/16"), "vpc-1", "vrt-1",
                            "vtb-abc");
    auto& sw =
        model.add_vswitch(v.id, "cn-hangzhou-h", ipv4_cidr::parse("192.168.0.0/24"), "vsw-1");
    model.add_instance("i-node1", sw.id, ipv4_address::parse("192.168.0.10"));
    model.add_instance("i-node2", sw.id, ipv4_address::parse("192.168.0.11"));
    keys.add_key("testid", "testsecret");
  }
  alivpc::time_point mono = alivpc::time_point{} + 1h;
  alivpc::wall_time wall = at("2026-12-02T03:00:00Z");
  int nonce = 0;
  sim::http_answer handle(const sim::http_request& r, alivpc::wall_time w) {
    return service.handle(r, w, mono);
  }
  sim::http_answer call(cloud::param_map p) {
    p["RegionId"] = "cn-hangzhou";
    return handle(v1_request("GET", std::move(p), "testid", "testsecret", wall, ++nonce), wall);
  }
};
}  // namespace

TEST(EmulatorBatch, AcceptsTheCapturedSdkBatchRequestsAtTheirTimestamps) {
  struct cap {
    const char* file;
    const char* ts;
  };
  for (auto c : {cap{"node_sdk_v3_create_route_entries.http", "2026-12-02T02:57:17Z"},
                 cap{"node_sdk_v1_post_create_route_entries.http", "2026-12-02T02:57:18Z"}}) {
    batch_fixture f;
    auto req = captured(c.file);
    auto p = sim::parse_api_request(req.method, req.target, req.headers, req.body);
    ASSERT_TRUE(std::holds_alternative<sim::api_request>(p)) << c.file;
    EXPECT_EQ(std::get<sim::api_request>(p).action, "CreateRouteEntries");
    auto a = f.handle(req, at(c.ts) + 5min);
    ASSERT_EQ(a.status, 200) << c.file << ": " << a.body;
    auto j = json::parse(a.body);
    EXPECT_EQ(j.at("SuccessCount"), 2) << a.body;
    EXPECT_EQ(j.at("FailedCount"), 0) << a.body;
    EXPECT_EQ(j.at("RouteEntryIds").size(), 2u) << a.body;
    EXPECT_EQ(j.at("FailedRouteEntries"), json::array()) << a.body;
    EXPECT_TRUE(j.at("RequestId").is_string());
    EXPECT_EQ(f.model.stats().count("CreateRouteEntries", "Success"), 1u);
    // Name and Description are on the entry, for an operator to see.
    f.mono += 2s;
    auto list = json::parse(f.call({{"Action", "DescribeRouteEntryList"},
                                    {"RouteTableId", "vtb-abc"},
                                    {"DestinationCidrBlock", "10.24.1.0/24"}})
                                .body);
    auto& e = list.at("RouteEntrys").at("RouteEntry").at(0);
    EXPECT_EQ(e.at("RouteEntryName"), "alivpc");
    EXPECT_EQ(e.at("Description"), "lease 10.24.1.0/24");
    EXPECT_EQ(e.at("NextHops").at("NextHop").at(0).at("NextHopId"), "i-node1");
    // Replayed: the nonce is spent; tampered: the signature no longer matches.
    EXPECT_EQ(code_of(f.handle(captured(c.file), at(c.ts))), "SignatureNonceUsed") << c.file;
    batch_fixture g;
    req.target.replace(req.target.find("i-node2"), 7, "i-node1");
    EXPECT_EQ(code_of(g.handle(req, at(c.ts))), "SignatureDoesNotMatch") << c.file;
  }
}

TEST(EmulatorBatch, AnswersPerEntryFailuresAndDeletesByIdOrDestination) {
  batch_fixture f;
  auto a = f.call({{"Action", "CreateRouteEntries"},
                   {"RouteEntries.1.RouteTableId", "vtb-abc"},
                   {"RouteEntries.1.DstCidrBlock", "10.24.1.0/24"},
                   {"RouteEntries.1.NextHop", "i-node1"},
                   {"RouteEntries.2.RouteTableId", "vtb-abc"},
                   {"RouteEntries.2.DstCidrBlock", "192.168.0.0/24"},
                   {"RouteEntries.2.NextHop", "i-node2"},
                   {"RouteEntries.2.NextHopType", "Instance"}});
  ASSERT_EQ(a.status, 200) << a.body;
  auto j = json::parse(a.body);
  EXPECT_EQ(j.at("SuccessCount"), 1);
  EXPECT_EQ(j.at("FailedCount"), 1);
  auto id = j.at("RouteEntryIds").at(0).get<std::string>();
  auto& failed = j.at("FailedRouteEntries").at(0);
  EXPECT_EQ(failed.at("DstCidrBlock"), "192.168.0.0/24");
  EXPECT_EQ(failed.at("NextHop"), "i-node2");
  EXPECT_EQ(failed.at("FailedCode"), "VPC_ROUTE_ENTRY_CIDR_BLOCK_DUPLICATE");
  EXPECT_TRUE(failed.at("FailedMessage").is_string());
  // While it is Pending another batch is refused whole.
  EXPECT_EQ(code_of(f.call({{"Action", "DeleteRouteEntries"},
                            {"RouteEntries.1.RouteTableId", "vtb-abc"},
                            {"RouteEntries.1.DstCidrBlock", "10.24.9.0/24"}})),
            "IncorrectRouteEntryStatus");
  f.mono += 2s;
  a = f.call({{"Action", "DeleteRouteEntries"},
              {"RouteEntries.1.RouteTableId", "vtb-abc"},
              {"RouteEntries.1.RouteEntryId", id},
              {"RouteEntries.2.RouteTableId", "vtb-abc"},
              {"RouteEntries.2.DstCidrBlock", "10.24.9.0/24"},
              {"RouteEntries.2.NextHop", "i-node2"}});
  ASSERT_EQ(a.status, 200) << a.body;
  j = json::parse(a.body);
  EXPECT_EQ(j.at("SuccessCount"), 1);
  EXPECT_EQ(j.at("RouteEntryIds"), json::array({id}));
  EXPECT_EQ(j.at("FailedRouteEntries").at(0).at("FailedCode"), "VPC_ROUTER_ENTRY_NOT_EXIST");
  EXPECT_EQ(j.at("FailedRouteEntries").at(0).at("DstCidrBlock"), "10.24.9.0/24");
  EXPECT_EQ(f.model.stats().count("DeleteRouteEntries", "Success"), 1u);
  EXPECT_EQ(f.model.stats().count("DeleteRouteEntries", "IncorrectRouteEntryStatus"), 1u);
}

TEST(EmulatorBatch, DryRunAnswersDryRunOperationOrTheFirstFailureAndChangesNothing) {
  batch_fixture f;
  cloud::param_map p{{"Action", "CreateRouteEntries"},
                     {"DryRun", "true"},
                     {"RouteEntries.1.RouteTableId", "vtb-abc"},
                     {"RouteEntries.1.DstCidrBlock", "10.24.1.0/24"},
                     {"RouteEntries.1.NextHop", "i-node1"}};
  auto a = f.call(p);
  EXPECT_EQ(a.status, 400);
  EXPECT_EQ(code_of(a), "DryRunOperation");
  p["RouteEntries.2.RouteTableId"] = "vtb-abc";
  p["RouteEntries.2.DstCidrBlock"] = "10.24.2.0/24";
  p["RouteEntries.2.NextHop"] = "i-nope";
  a = f.call(p);
  EXPECT_EQ(code_of(a), "InvalidInstanceId.NotFound");
  auto m = json::parse(a.body).at("Message").get<std::string>();
  EXPECT_NE(m.find("RouteEntries.2 (DstCidrBlock 10.24.2.0/24, NextHop i-nope)"), std::string::npos)
      << m;
  p["DryRun"] = "maybe";
  EXPECT_EQ(code_of(f.call(p)), "InvalidParameter");
  EXPECT_EQ(f.model.entries("vtb-abc", f.mono).size(), 2u);  // the system entries only
}

TEST(EmulatorBatch, RefusesMalformedRouteEntriesNamingTheParameter) {
  batch_fixture f;
  auto message = [&](cloud::param_map p) {
    p["Action"] = "CreateRouteEntries";
    auto a = f.call(std::move(p));
    auto j = json::parse(a.body);
    return j.value("Code", std::string("Success")) + ": " + j.value("Message", std::string());
  };
  auto has = [](const std::string& m, const char* part) {
    return m.find(part) != std::string::npos;
  };
  auto m = message({{"RouteEntries.1.RouteTableId", "vtb-abc"},
                    {"RouteEntries.1.DstCidrBlock", "10.24.1.0/24"},
                    {"RouteEntries.1.NextHop", "i-node1"},
                    {"RouteEntries.3.RouteTableId", "vtb-abc"}});
  EXPECT_TRUE(has(m, "InvalidParameter") && has(m, "RouteEntries.2 is missing")) << m;
  m = message({{"RouteEntries.0.RouteTableId", "vtb-abc"}});
  EXPECT_TRUE(has(m, "\"RouteEntries.0.RouteTableId\"")) << m;
  m = message({{"RouteEntries.1.Destination", "10.24.1.0/24"}});
  EXPECT_TRUE(has(m, "RouteEntries.1.Destination") && has(m, "unknown field")) << m;
  m = message({{"RouteEntries.1.RouteTableId", "vtb-abc"}, {"RouteEntries.1.NextHop", "i-node1"}});
  EXPECT_TRUE(has(m, "MissingParameter") && has(m, "RouteEntries.1.DstCidrBlock")) << m;
  m = message({});
  EXPECT_TRUE(has(m, "MissingParameter") && has(m, "RouteEntries.1.RouteTableId")) << m;
  cloud::param_map many;
  for (int i = 1; i <= 51; ++i) {
    auto n = "RouteEntries." + std::to_string(i) + ".";
    many[n + "RouteTableId"] = "vtb-abc";
    many[n + "DstCidrBlock"] = "10.24." + std::to_string(i) + ".0/24";
    many[n + "NextHop"] = "i-node1";
  }
  m = message(many);
  EXPECT_TRUE(has(m, "InvalidParameter") && has(m, "51 entries, at most 50 per call")) << m;
  // The ECS API has no batch actions.
  cloud::param_map ecs{{"Action", "CreateRouteEntries"}, {"Version", "2014-05-26"}};
  EXPECT_EQ(code_of(f.call(ecs)), "InvalidAction.NotFound");
  EXPECT_EQ(f.model.entries("vtb-abc", f.mono).size(), 2u);
}

// DescribeRouteEntryList walks from the token's entry, or the filtered destination's, and stops
// after the page: the same entries and tokens as a walk of the whole table.
TEST(EmulatorListing, PagesAndFiltersMatchTheWholeTable) {
  batch_fixture f;
  cloud::param_map batch{{"Action", "CreateRouteEntries"}};
  for (int i = 1; i <= 25; ++i) {
    const auto n = "RouteEntries." + std::to_string(i) + ".";
    batch[n + "RouteTableId"] = "vtb-abc";
    batch[n + "DstCidrBlock"] = "10.24." + std::to_string(i * 7) + ".0/24";
    batch[n + "NextHop"] = i % 2 ? "i-node1" : "i-node2";
  }
  ASSERT_EQ(f.call(batch).status, 200);
  f.mono += 2s;
  auto list = [&](cloud::param_map p) {
    p["Action"] = "DescribeRouteEntryList";
    p["RouteTableId"] = "vtb-abc";
    auto a = f.call(p);
    EXPECT_EQ(a.status, 200) << a.body;
    return json::parse(a.body);
  };
  auto destinations = [](const json& page) {
    std::vector<std::string> out;
    for (auto& e : page.at("RouteEntrys").at("RouteEntry"))
      out.push_back(e.at("DestinationCidrBlock"));
    return out;
  };
  std::vector<std::string> whole, custom;  // the table in its order (the system entry among them)
  for (auto& e : f.model.entries("vtb-abc", f.mono)) {
    whole.push_back(e.destination.to_string());
    if (!e.system) custom.push_back(e.destination.to_string());
  }
  ASSERT_EQ(custom.size(), 25u);
  ASSERT_GT(whole.size(), custom.size());
  for (const char* type : {"", "Custom"}) {
    std::vector<std::string> seen;
    std::string token;
    int pages = 0;
    do {
      cloud::param_map p{{"MaxResult", "10"}};
      if (*type) p["RouteEntryType"] = type;
      if (!token.empty()) p["NextToken"] = token;
      auto page = list(p);
      for (auto& d : destinations(page))
        seen.push_back(d);
      token = page.at("NextToken");
      ASSERT_LT(++pages, 10);
    } while (!token.empty());
    EXPECT_EQ(seen, *type ? custom : whole) << type;
  }
  for (auto& d : custom) {
    EXPECT_EQ(destinations(list({{"DestinationCidrBlock", d}})), std::vector<std::string>{d});
    // A token past the destination, or before it, with the filter.
    EXPECT_EQ(destinations(list({{"DestinationCidrBlock", d}, {"NextToken", "ffffffffff"}})),
              std::vector<std::string>{});
    EXPECT_EQ(destinations(list({{"DestinationCidrBlock", d}, {"NextToken", "1"}})),
              std::vector<std::string>{d});
  }
  EXPECT_TRUE(destinations(list({{"DestinationCidrBlock", "10.24.8.0/24"}})).empty());
  // Tokens past every key, of up to 16 hex digits, list nothing and end the listing.
  for (const char* token : {"ffffffffff", "10000000000", "ffffffffffffffff"}) {
    auto page = list({{"NextToken", token}});
    EXPECT_TRUE(destinations(page).empty()) << token;
    EXPECT_EQ(page.at("NextToken"), "") << token;
  }
}

// Names and descriptions come back as they were written: quotes, backslashes and control
// characters escaped in the listing's hand-written JSON, the rest as is.
TEST(EmulatorListing, EscapesWhatJsonNeedsInNamesAndDescriptions) {
  batch_fixture f;
  const std::string description = "say \"hi\" \\ to\ttab and \x01 then \xc3\xa9t\xc3\xa9 end";
  const std::string name = "\"quoted\"\\";
  ASSERT_EQ(f.call({{"Action", "CreateRouteEntries"},
                    {"RouteEntries.1.RouteTableId", "vtb-abc"},
                    {"RouteEntries.1.DstCidrBlock", "10.24.9.0/24"},
                    {"RouteEntries.1.NextHop", "i-node1"},
                    {"RouteEntries.1.Name", name},
                    {"RouteEntries.1.Description", description}})
                .status,
            200);
  f.mono += 2s;
  auto a = f.call({{"Action", "DescribeRouteEntryList"},
                   {"RouteTableId", "vtb-abc"},
                   {"DestinationCidrBlock", "10.24.9.0/24"}});
  ASSERT_EQ(a.status, 200) << a.body;
  const auto listing = json::parse(a.body);
  const auto& e = listing.at("RouteEntrys").at("RouteEntry").at(0);
  EXPECT_EQ(e.at("Description"), description);
  EXPECT_EQ(e.at("RouteEntryName"), name);
}

// The emulator keeps each entry's listing text, and each page of a whole-table listing, while
// nothing changes: a listing, filtered or of the whole table, still shows every change since the
// last one (a status that moved on with time, an entry replaced in the console at the same
// destination, a delete and its end).
TEST(EmulatorListing, AListingShowsEveryChangeSinceTheLastOne) {
  batch_fixture f;
  const auto dest = ipv4_cidr::parse("10.24.9.0/24");
  // The entry for dest, as a filtered listing and as a page of the whole table show it (the
  // same), or null.
  auto entry = [&] {
    auto a = f.call({{"Action", "DescribeRouteEntryList"},
                     {"RouteTableId", "vtb-abc"},
                     {"DestinationCidrBlock", dest.to_string()}});
    EXPECT_EQ(a.status, 200) << a.body;
    const auto listed = json::parse(a.body).at("RouteEntrys").at("RouteEntry");
    auto filtered = listed.empty() ? json() : listed.at(0);
    auto w = f.call(
        {{"Action", "DescribeRouteEntryList"}, {"RouteTableId", "vtb-abc"}, {"MaxResult", "100"}});
    EXPECT_EQ(w.status, 200) << w.body;
    const auto whole = json::parse(w.body);
    json in_whole;
    for (auto& e : whole.at("RouteEntrys").at("RouteEntry"))
      if (e.at("DestinationCidrBlock") == dest.to_string()) in_whole = e;
    EXPECT_EQ(in_whole, filtered);
    return filtered;
  };
  EXPECT_TRUE(entry().is_null());
  // One route of dest -> hop created or deleted through the API (a batch of one).
  auto batch_of_one = [&](const char* action, const char* hop) {
    return f
        .call({{"Action", action},
               {"RouteEntries.1.RouteTableId", "vtb-abc"},
               {"RouteEntries.1.DstCidrBlock", dest.to_string()},
               {"RouteEntries.1.NextHop", hop}})
        .status;
  };
  ASSERT_EQ(batch_of_one("CreateRouteEntries", "i-node1"), 200);
  EXPECT_EQ(entry().at("Status"), "Pending");
  EXPECT_EQ(entry().at("Status"), "Pending");  // the kept texts
  f.mono += 2s;
  EXPECT_EQ(entry().at("Status"), "Available");
  EXPECT_EQ(entry().at("Status"), "Available");  // the kept texts
  ASSERT_TRUE(f.model.force_delete("vtb-abc", dest));
  ASSERT_TRUE(f.model.force_create("vtb-abc", dest, "Instance", "i-node2"));
  const auto replaced = entry();
  EXPECT_EQ(replaced.at("NextHops").at("NextHop").at(0).at("NextHopId"), "i-node2");
  EXPECT_EQ(replaced.at("Status"), "Available");
  ASSERT_EQ(batch_of_one("DeleteRouteEntries", "i-node2"), 200);
  EXPECT_EQ(entry().at("Status"), "Deleting");
  EXPECT_EQ(entry().at("Status"), "Deleting");
  f.mono += 10s;
  EXPECT_TRUE(entry().is_null());
  ASSERT_TRUE(f.model.force_create("vtb-abc", dest, "Instance", "i-node1"));
  EXPECT_EQ(entry().at("NextHops").at("NextHop").at(0).at("NextHopId"), "i-node1");
  ASSERT_TRUE(f.model.force_delete("vtb-abc", dest));
  EXPECT_TRUE(entry().is_null());
}
