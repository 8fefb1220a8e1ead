// The RPC client on virtual time with a scripted transport: request shape for V3 and V1,
// retries that keep the ClientToken and renew nonce and timestamp, success by HTTP status,
// and the client-wide slow-down after Throttling.
#include "fake_cloud.hpp"

#include <alivpc/cloud/rpc_client.hpp>

#include <gtest/gtest.h>

#include <set>

namespace cloud = alivpc::cloud;
using namespace std::chrono_literals;
using fake_cloud::header;
using fake_cloud::query_param;
using fake_cloud::reply;

namespace {

cloud::credentials static_creds(bool sts = false) {
  cloud::credentials c;
  c.access_key_id = "testid";
  c.access_key_secret = cloud::secret("testsecret");
  if (sts) c.security_token = cloud::secret("sts-token-value");
  return c;
}

alivpc::task<cloud::credentials> give(cloud::credentials c) {
  co_return c;
}

struct fixture {
  alivpc::virtual_scheduler sched{42};
  fake_cloud::transport net;
  std::vector<std::string> logs;
  cloud::rpc_client<alivpc::virtual_scheduler> make(cloud::rpc_options o = {}, bool sts = false) {
    net.sched = &sched;
    return cloud::rpc_client<alivpc::virtual_scheduler>(
        sched, alivpc::http::url::parse("https://vpc.cn-hangzhou.aliyuncs.com"), net.sender(),
        [sts] { return give(static_creds(sts)); }, std::move(o),
        alivpc::logger([this](alivpc::log_level, std::string_view,
                              std::string_view m) { logs.emplace_back(m); },
                       alivpc::log_level::debug));
  }
};

}  // namespace

TEST(BuildRpcRequest, V3MatchesThePublishedVector) {
  // aliyun-api.md 1b: the same request must carry the published Authorization.
  cloud::param_map p{{"RegionId", "cn-hangzhou"},
                     {"RouteTableId", "vtb-bp145q7glnuzd****"},
                     {"DestinationCidrBlock", "10.24.5.0/24"},
                     {"NextHopType", "Instance"},
                     {"NextHopId", "i-bp1abc"},
                     {"ClientToken", "a b"}};
  auto when = cloud::parse_timestamp("2026-11-27T08:00:00Z").value();
  auto r =
      cloud::build_rpc_request(alivpc::http::url::parse("https://vpc.cn-hangzhou.aliyuncs.com"),
                               cloud::signature_version::v3, "2016-04-28", "CreateRouteEntry", p,
                               static_creds(), "3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf", when);
  EXPECT_EQ(r.method, "POST");
  EXPECT_EQ(r.target,
            "/?ClientToken=a%20b&DestinationCidrBlock=10.24.5.0%2F24&NextHopId=i-bp1abc&"
            "NextHopType=Instance&RegionId=cn-hangzhou&RouteTableId=vtb-bp145q7glnuzd%2A%2A%2A%2A");
  EXPECT_EQ(header(r, "host"), "vpc.cn-hangzhou.aliyuncs.com");
  EXPECT_EQ(header(r, "Authorization"),
            "ACS3-HMAC-SHA256 Credential=testid,SignedHeaders=host;x-acs-action;"
            "x-acs-content-sha256;x-acs-date;x-acs-signature-nonce;x-acs-version,"
            "Signature=3468fd3200e5f282740e520487b6c818e078eb918765bb0f43105fe49d69de74");
  EXPECT_TRUE(r.body.empty());
}

TEST(BuildRpcRequest, V3CarriesAndSignsTheSecurityToken) {
  auto r =
      cloud::build_rpc_request(alivpc::http::url::parse("https://127.0.0.1:8443"),
                               cloud::signature_version::v3, "2016-04-28", "DescribeVpcs",
                               {{"RegionId", "r"}}, static_creds(true), "n", alivpc::wall_time{});
  EXPECT_EQ(header(r, "x-acs-security-token"), "sts-token-value");
  EXPECT_NE(header(r, "Authorization").find("x-acs-security-token"), std::string::npos);
  EXPECT_EQ(header(r, "host"), "127.0.0.1:8443");
  // The secret itself never travels.
  for (const auto& [k, v] : r.headers)
    EXPECT_EQ(v.find("testsecret"), std::string::npos) << k;
  EXPECT_EQ(r.target.find("testsecret"), std::string::npos);
}

TEST(BuildRpcRequest, V1IsAGetWithTheOfficialCommonParameters) {
  auto when = cloud::parse_timestamp("2016-02-23T12:46:24Z").value();
  auto r =
      cloud::build_rpc_request(alivpc::http::url::parse("https://ecs.cn-hangzhou.aliyuncs.com"),
                               cloud::signature_version::v1, "2014-05-26", "DescribeRegions", {},
                               static_creds(true), "3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf", when);
  EXPECT_EQ(r.method, "GET");
  EXPECT_EQ(query_param(r.target, "Action"), "DescribeRegions");
  EXPECT_EQ(query_param(r.target, "Format"), "JSON");
  EXPECT_EQ(query_param(r.target, "Version"), "2014-05-26");
  EXPECT_EQ(query_param(r.target, "SignatureMethod"), "HMAC-SHA1");
  EXPECT_EQ(query_param(r.target, "SignatureVersion"), "1.0");
  EXPECT_EQ(query_param(r.target, "Timestamp"), "2016-02-23T12:46:24Z");
  EXPECT_EQ(query_param(r.target, "SecurityToken"), "sts-token-value");
  // The signature verifies with the V1 signer over every other parameter.
  cloud::param_map p;
  for (auto name : {"Action", "Format", "Version", "AccessKeyId", "SignatureMethod",
                    "SignatureVersion", "SignatureNonce", "Timestamp", "SecurityToken"})
    p[name] = query_param(r.target, name);
  EXPECT_EQ(query_param(r.target, "Signature"), cloud::sign_v1("GET", p, "testsecret").signature);
}

TEST(MakeUuid, IsVersion4AndDiffersEachTime) {
  alivpc::prng rng(1);
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) {
    auto u = cloud::make_uuid(rng);
    ASSERT_EQ(u.size(), 36u);
    EXPECT_EQ(u[14], '4');
    EXPECT_TRUE(u[19] == '8' || u[19] == '9' || u[19] == 'a' || u[19] == 'b') << u;
    seen.insert(u);
  }
  EXPECT_EQ(seen.size(), 100u);
}

TEST(RpcClient, RetriesKeepParametersAndRenewNonceAndTimestamp) {
  fixture f;
  int calls = 0;
  f.net.handler = [&](const alivpc::http::request&) {
    ++calls;
    if (calls == 1) return reply(503, R"({"Code":"ServiceUnavailable","RequestId":"a"})");
    if (calls == 2) return reply(400, R"({"Code":"TaskConflict","RequestId":"b"})");
    return reply(200, R"({"RequestId":"c"})");
  };
  auto rpc = f.make();
  auto body = fake_cloud::run(
      f.sched, rpc.call("CreateRouteEntry", {{"RegionId", "r"}, {"ClientToken", "tok-1"}}));
  EXPECT_EQ(body, R"({"RequestId":"c"})");
  ASSERT_EQ(f.net.log.size(), 3u);
  std::set<std::string> nonces, dates;
  for (const auto& rec : f.net.log) {
    EXPECT_EQ(query_param(rec.request.target, "ClientToken"), "tok-1");
    nonces.insert(header(rec.request, "x-acs-signature-nonce"));
    // The timestamp is taken at each attempt, not once per call.
    auto wall = alivpc::wall_time(std::chrono::duration_cast<alivpc::wall_time::duration>(
                    alivpc::virtual_scheduler::wall_epoch)) +
                std::chrono::duration_cast<alivpc::wall_time::duration>(rec.at.time_since_epoch());
    EXPECT_EQ(header(rec.request, "x-acs-date"), cloud::format_timestamp(wall));
    dates.insert(header(rec.request, "x-acs-date"));
  }
  EXPECT_EQ(nonces.size(), 3u);
  // The conflict wait is at least a second, so the last timestamp differs from the others.
  EXPECT_GE(dates.size(), 2u);
  EXPECT_GE(f.net.log[2].at - f.net.log[1].at, 1s);
  EXPECT_EQ(rpc.counters().retries, 2u);
  EXPECT_EQ(f.logs.size(), 2u);
}

TEST(RpcClient, SuccessIsDecidedByStatusNotByACodeField) {
  fixture f;
  f.net.handler = [](const alivpc::http::request&) {
    return reply(200, R"({"Code":"200","Success":true,"RequestId":"x"})");
  };
  auto rpc = f.make();
  EXPECT_NO_THROW(fake_cloud::run(f.sched, rpc.call("DescribeRouteTableList", {})));
  f.net.handler = [](const alivpc::http::request&) { return reply(404, "not json at all"); };
  try {
    fake_cloud::run(f.sched, rpc.call("DescribeVpcs", {}));
    FAIL() << "no error";
  } catch (const cloud::api_error& e) {
    EXPECT_EQ(e.http_status(), 404u);
    EXPECT_EQ(e.kind(), alivpc::error_kind::not_found);
  }
}

TEST(RpcClient, PermanentErrorsAreNotRetried) {
  fixture f;
  f.net.handler = [](const alivpc::http::request&) {
    return reply(403, R"({"Code":"SignatureDoesNotMatch","Message":"bad sig","RequestId":"r"})");
  };
  auto rpc = f.make();
  EXPECT_THROW(fake_cloud::run(f.sched, rpc.call("DescribeVpcs", {})), cloud::api_error);
  EXPECT_EQ(f.net.log.size(), 1u);
}

TEST(RpcClient, TransientBudgetIsBounded) {
  fixture f;
  f.net.handler = [](const alivpc::http::request&) {
    return reply(500, R"({"Code":"InternalError"})");
  };
  cloud::rpc_options o;
  o.retry.max_transient_attempts = 4;
  auto rpc = f.make(o);
  EXPECT_THROW(fake_cloud::run(f.sched, rpc.call("DescribeVpcs", {})), cloud::api_error);
  EXPECT_EQ(f.net.log.size(), 4u);
}

TEST(RpcClient, ThrottlingSlowsTheWholeClientAndRecoversGradually) {
  fixture f;
  int throttles_left = 3;
  f.net.handler = [&](const alivpc::http::request&) {
    if (throttles_left > 0) {
      --throttles_left;
      return reply(
          400,
          R"({"Code":"Throttling","Message":"Request was denied due to request throttling."})");
    }
    return reply(200, R"({"RequestId":"ok"})");
  };
  cloud::rpc_options o;
  o.retry.throttle_min_interval = 500ms;
  o.retry.initial_backoff = 1ms;  // so the spacing seen below is the limiter's, not the backoff
  o.retry.max_backoff = 1ms;
  auto rpc = f.make(o);
  fake_cloud::run(f.sched, rpc.call("DescribeVpcs", {}));
  EXPECT_EQ(rpc.limiter().gap(), 2000ms * 8 / 10);  // 500 -> 1000 -> 2000, then one success
  // Later calls (other actions too) are spaced by the limiter, and the gap shrinks with each.
  auto before = f.net.log.size();
  auto burst = [](cloud::rpc_client<alivpc::virtual_scheduler>& c) -> alivpc::task<void> {
    for (int i = 0; i < 5; ++i)
      co_await c.call("DescribeRouteTables", {});
  };
  fake_cloud::run(f.sched, burst(rpc));
  ASSERT_EQ(f.net.log.size(), before + 5);
  for (std::size_t i = before + 1; i < f.net.log.size(); ++i) {
    auto spacing = f.net.log[i].at - f.net.log[i - 1].at;
    EXPECT_GT(spacing, 100ms) << i;
  }
  EXPECT_LT(rpc.limiter().gap(), 2000ms * 8 / 10);
  EXPECT_GT(rpc.limiter().gap(), 0ms);
}

TEST(RpcClient, TransportErrorsAreRetriedAsTransient) {
  fixture f;
  int calls = 0;
  f.net.handler = [&](const alivpc::http::request&) -> alivpc::http::response {
    if (++calls < 3) alivpc::fail(alivpc::error_kind::transient, "connection reset");
    return reply(200, "{}");
  };
  auto rpc = f.make();
  EXPECT_EQ(fake_cloud::run(f.sched, rpc.call("DescribeVpcs", {})), "{}");
  EXPECT_EQ(calls, 3);
}

// Issue 11: a wrong or disabled AccessKey is an auth error: one attempt, no fast retries (the
// backend waits --error-backoff-max between its own attempts).
TEST(RpcClient, AuthErrorsAreNotRetriedByTheClient) {
  struct answer {
    unsigned status;
    const char* code;
  };
  for (auto [status, code] :
       {answer{404, "InvalidAccessKeyId.NotFound"}, answer{400, "InvalidAccessKeyId.Inactive"},
        answer{400, "SignatureDoesNotMatch"}, answer{403, "Forbidden.RAM"},
        answer{403, "Forbidden.NoPermission"}, answer{400, "IncompleteSignature"},
        answer{400, "InvalidTimeStamp.Format"}, answer{400, "InvalidSecurityToken.Expired"},
        answer{500, "InvalidAccessKeyId.NotFound"}}) {
    fixture f;
    std::string body = std::string(R"({"Code":")") + code + R"(","Message":"m","RequestId":"r"})";
    f.net.handler = [&](const alivpc::http::request&) { return reply(status, body); };
    auto rpc = f.make();
    try {
      fake_cloud::run(f.sched, rpc.call("DescribeVpcs", {}));
      ADD_FAILURE() << code << ": no error";
    } catch (const cloud::api_error& e) {
      EXPECT_EQ(e.error_class(), cloud::api_error_class::auth) << code;
      EXPECT_EQ(e.kind(), alivpc::error_kind::permanent) << code;
    }
    EXPECT_EQ(f.net.log.size(), 1u) << code << " was retried";
    EXPECT_EQ(rpc.counters().retries, 0u) << code;
  }
}
