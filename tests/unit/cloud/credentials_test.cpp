// The credentials chain (config, then environment, then RAM role), its refresh before
// Expiration, the message of a node without credentials, and secret redaction.
#include "fake_cloud.hpp"

#include <alivpc/cloud/aliyun_route_api.hpp>
#include <alivpc/cloud/credentials.hpp>

#include <gtest/gtest.h>

#include <map>
#include <sstream>

namespace cloud = alivpc::cloud;
using namespace std::chrono_literals;
using fake_cloud::reply;
using vsched = alivpc::virtual_scheduler;

namespace {

// A metadata service with one RAM role whose keys last `ttl` from the moment they are issued.
struct fake_metadata {
  vsched& sched;
  fake_cloud::transport net;
  bool has_role = true;
  bool tokens = true;
  std::chrono::seconds ttl{3600};
  int issued = 0;
  int fail_next = 0;

  explicit fake_metadata(vsched& s) : sched(s) {
    net.sched = &s;
    net.handler = [this](const alivpc::http::request& r) { return answer(r); };
  }
  alivpc::http::response answer(const alivpc::http::request& r) {
    if (fail_next > 0) {
      --fail_next;
      return reply(500, "busy");
    }
    if (r.target == "/latest/api/token")
      return tokens && r.method == "PUT" ? reply(200, "tok") : reply(404, "no");
    if (tokens && fake_cloud::header(r, "X-aliyun-ecs-metadata-token") != "tok")
      return reply(401, "Unauthorized");
    const std::string base = "/latest/meta-data/";
    auto key = r.target.substr(base.size());
    std::map<std::string, std::string> plain{{"instance-id", "i-1"},
                                             {"region-id", "cn-hangzhou"},
                                             {"zone-id", "cn-hangzhou-h"},
                                             {"vpc-id", "vpc-1"},
                                             {"vswitch-id", "vsw-1"},
                                             {"private-ipv4", "192.168.0.10\n"},
                                             {"vpc-cidr-block", "192.168.0.0/16"}};
    if (auto it = plain.find(key); it != plain.end()) return reply(200, it->second);
    if (key == "ram/security-credentials/")
      return has_role ? reply(200, "node-role") : reply(404, "");
    if (key == "ram/security-credentials/node-role" && has_role) {
      ++issued;
      auto exp = cloud::format_timestamp(sched.wall_now() + ttl);
      return reply(200, R"({"AccessKeyId":"STS.id)" + std::to_string(issued) +
                            R"(","AccessKeySecret":"sts-secret-)" + std::to_string(issued) +
                            R"(","SecurityToken":"sts-token","Expiration":")" + exp +
                            R"(","LastUpdated":"x","Code":"Success"})");
    }
    return reply(404, "404 - Not Found");
  }
};

struct env_map {
  std::map<std::string, std::string> vars;
  cloud::getenv_function fn() {
    return [this](const char* name) -> std::optional<std::string> {
      auto it = vars.find(name);
      return it == vars.end() ? std::nullopt : std::optional(it->second);
    };
  }
};

struct chain_fixture {
  vsched sched{5};
  fake_metadata md{sched};
  env_map env;
  std::vector<std::string> logs;
  cloud::metadata_client<vsched> metadata{sched, md.net.factory(), {}, log_fn()};

  alivpc::logger log_fn() {
    return alivpc::logger(
        [this](alivpc::log_level, std::string_view, std::string_view m) { logs.emplace_back(m); },
        alivpc::log_level::debug);
  }
  cloud::credential_chain<vsched> chain(cloud::credentials_options o) {
    o.getenv = env.fn();
    return cloud::credential_chain<vsched>(sched, metadata, std::move(o), log_fn());
  }
};

std::string failure_of(vsched& s, alivpc::task<void> t, alivpc::error_kind kind) {
  try {
    fake_cloud::run(s, std::move(t));
  } catch (const alivpc::error& e) {
    EXPECT_EQ(e.kind(), kind) << e.what();
    return e.what();
  }
  ADD_FAILURE() << "no error";
  return {};
}

}  // namespace

TEST(Secret, PrintsRedactedEverywhere) {
  cloud::secret s("hunter2-secret");
  std::ostringstream os;
  os << s;
  EXPECT_EQ(os.str(), "<redacted>");
  EXPECT_EQ(cloud::to_string(s), "<redacted>");
  EXPECT_EQ(s.reveal(), "hunter2-secret");
  cloud::secret moved(std::move(s));
  EXPECT_TRUE(s.empty());  // NOLINT: the moved-from value is wiped on purpose
  EXPECT_EQ(moved.reveal(), "hunter2-secret");
  cloud::credentials c{"id", cloud::secret("k"), cloud::secret("t"), std::nullopt,
                       cloud::credential_source::config};
  std::ostringstream cs;
  cs << c.access_key_secret << c.security_token;
  EXPECT_EQ(cs.str(), "<redacted><redacted>");
}

TEST(CredentialChain, ConfigWinsOverEnvironmentAndRole) {
  chain_fixture f;
  f.env.vars = {{"ACCESS_KEY_ID", "env-id"}, {"ACCESS_KEY_SECRET", "env-secret"}};
  cloud::credentials_options o;
  o.access_key_id = "cfg-id";
  o.access_key_secret = cloud::secret("cfg-secret");
  auto chain = f.chain(o);
  auto c = fake_cloud::run(f.sched, chain.current());
  EXPECT_EQ(c.access_key_id, "cfg-id");
  EXPECT_EQ(c.access_key_secret.reveal(), "cfg-secret");
  EXPECT_EQ(c.source, cloud::credential_source::config);
  EXPECT_EQ(f.md.net.log.size(), 0u);  // the metadata service was not asked
}

TEST(CredentialChain, EnvironmentWinsOverRole) {
  chain_fixture f;
  f.env.vars = {{"ACCESS_KEY_ID", "env-id"}, {"ACCESS_KEY_SECRET", "env-secret"}};
  auto chain = f.chain({});
  auto c = fake_cloud::run(f.sched, chain.current());
  EXPECT_EQ(c.access_key_id, "env-id");
  EXPECT_EQ(c.source, cloud::credential_source::environment);
  EXPECT_TRUE(c.security_token.empty());
}

TEST(CredentialChain, RamRoleLastWithTokenAndRefreshBeforeExpiration) {
  chain_fixture f;
  auto chain = f.chain({});
  auto c = fake_cloud::run(f.sched, chain.current());
  EXPECT_EQ(c.source, cloud::credential_source::ram_role);
  EXPECT_EQ(c.access_key_id, "STS.id1");
  EXPECT_EQ(c.security_token.reveal(), "sts-token");
  // Still valid: the same keys, no new request.
  f.sched.run_until(f.sched.now() + 3000s);
  EXPECT_EQ(fake_cloud::run(f.sched, chain.current()).access_key_id, "STS.id1");
  // Within the refresh margin (180 s) of Expiration: fresh keys.
  f.sched.run_until(f.sched.now() + 500s);
  EXPECT_EQ(fake_cloud::run(f.sched, chain.current()).access_key_id, "STS.id2");
  EXPECT_EQ(chain.refreshes(), 1u);
  // A failed refresh while the old keys still work keeps them (and says so in the log).
  f.sched.run_until(f.sched.now() + 3500s);
  f.md.fail_next = 100;
  EXPECT_EQ(fake_cloud::run(f.sched, chain.current()).access_key_id, "STS.id2");
  EXPECT_NE(f.logs.back().find("still valid"), std::string::npos);
  // Once they expired, a failed refresh is an error.
  f.sched.run_until(f.sched.now() + 200s);
  EXPECT_THROW(fake_cloud::run(f.sched, chain.current()), alivpc::error);
  f.md.fail_next = 0;
  EXPECT_EQ(fake_cloud::run(f.sched, chain.current()).access_key_id, "STS.id3");
}

TEST(CredentialChain, NoCredentialsFailsAtOnceListingTheThreeWays) {
  chain_fixture f;
  f.md.has_role = false;
  auto chain = f.chain({});
  auto m = failure_of(f.sched, chain.ensure(), alivpc::error_kind::permanent);
  EXPECT_NE(m.find("AccessKeyID"), std::string::npos) << m;
  EXPECT_NE(m.find("ACCESS_KEY_ID"), std::string::npos) << m;
  EXPECT_NE(m.find("RAM role"), std::string::npos) << m;
  EXPECT_NE(m.find("no RAM role is attached"), std::string::npos) << m;
  // "At once": no retries of a definite answer, only a handful of short requests.
  EXPECT_LE(f.md.net.log.size(), 3u);
  EXPECT_LT(f.sched.now().time_since_epoch(), 1s);
}

TEST(CredentialChain, HalfGivenKeysAreRefusedWithoutShowingTheSecret) {
  chain_fixture f;
  cloud::credentials_options o;
  o.access_key_secret = cloud::secret("only-the-secret");
  auto chain = f.chain(o);
  auto m = failure_of(f.sched, chain.ensure(), alivpc::error_kind::invalid_argument);
  EXPECT_EQ(m.find("only-the-secret"), std::string::npos);
  chain_fixture g;
  g.env.vars = {{"ACCESS_KEY_SECRET", "env-only-secret"}};
  auto chain2 = g.chain({});
  m = failure_of(g.sched, chain2.ensure(), alivpc::error_kind::invalid_argument);
  EXPECT_NE(m.find("ACCESS_KEY_ID"), std::string::npos);
  EXPECT_EQ(m.find("env-only-secret"), std::string::npos);
}

TEST(MetadataClient, HardenedModeFirstThenCachedAnswers) {
  chain_fixture f;
  auto id = fake_cloud::run(f.sched, f.metadata.identity());
  EXPECT_EQ(id.instance_id, "i-1");
  EXPECT_EQ(id.region_id, "cn-hangzhou");
  EXPECT_EQ(id.private_ip.to_string(), "192.168.0.10");
  ASSERT_TRUE(id.vpc_cidr);
  EXPECT_EQ(id.vpc_cidr->to_string(), "192.168.0.0/16");
  EXPECT_EQ(f.md.net.log.front().request.method, "PUT");
  auto sent = f.metadata.requests_sent();
  fake_cloud::run(f.sched, f.metadata.identity());
  EXPECT_EQ(fake_cloud::run(f.sched, f.metadata.get("region-id")), "cn-hangzhou");
  EXPECT_EQ(f.metadata.requests_sent(), sent);  // all cached
}

TEST(MetadataClient, FallsBackToPlainRequestsWhenTokensAreNotServed) {
  chain_fixture f;
  f.md.tokens = false;
  EXPECT_EQ(fake_cloud::run(f.sched, f.metadata.get("vpc-id")), "vpc-1");
  EXPECT_EQ(fake_cloud::run(f.sched, f.metadata.get("zone-id")), "cn-hangzhou-h");
  int puts = 0;
  for (const auto& r : f.md.net.log)
    puts += r.request.method == "PUT";
  EXPECT_EQ(puts, 1);  // tried once, then remembered
}

TEST(MetadataClient, BoundedRetriesOnServerErrors) {
  chain_fixture f;
  f.md.fail_next = 2;
  EXPECT_EQ(fake_cloud::run(f.sched, f.metadata.get("vpc-id")), "vpc-1");
  chain_fixture g;
  g.md.fail_next = 1000;
  EXPECT_THROW(fake_cloud::run(g.sched, g.metadata.get("vpc-id")), alivpc::error);
  EXPECT_EQ(g.md.net.log.size(), 3u);  // max_attempts
}

TEST(RamCredentials, MalformedAnswersAreParseErrors) {
  EXPECT_THROW(cloud::parse_ram_credentials("{}"), alivpc::error);
  EXPECT_THROW(cloud::parse_ram_credentials(R"({"AccessKeyId":"a","AccessKeySecret":"b",
      "SecurityToken":"t","Expiration":"tomorrow"})"),
               alivpc::error);
  try {
    cloud::parse_ram_credentials(R"({"AccessKeyId":"a","AccessKeySecret":"the-secret",
      "SecurityToken":"t","Expiration":"yesterday-ish"})");
  } catch (const alivpc::error& e) {
    EXPECT_EQ(std::string(e.what()).find("the-secret"), std::string::npos);
  }
  // Found by fuzzing: a far-future Expiration overflowed the clock instead of being refused.
  EXPECT_THROW(cloud::parse_ram_credentials(R"({"AccessKeyId":"a","AccessKeySecret":"b",
      "SecurityToken":"t","Expiration":"3398-11-27T10:22:54Z"})"),
               alivpc::error);
  auto ok = cloud::parse_ram_credentials(R"({"AccessKeyId":"a","AccessKeySecret":"b",
      "SecurityToken":"t","Expiration":"2017-12-05T13:30:01Z","Code":"Success"})");
  EXPECT_EQ(cloud::format_timestamp(ok.expiration), "2017-12-05T13:30:01Z");
}

TEST(AliyunRouteApi, DefaultEndpointsAndOptionChecks) {
  EXPECT_EQ(cloud::default_endpoint(cloud::api_flavour::vpc, "cn-beijing"),
            "https://vpc.cn-beijing.aliyuncs.com");
  EXPECT_EQ(cloud::default_endpoint(cloud::api_flavour::ecs, "cn-beijing"),
            "https://ecs.cn-beijing.aliyuncs.com");
  vsched s;
  fake_cloud::transport net;
  net.sched = &s;
  cloud::aliyun_options o;
  o.page_size = 51;
  EXPECT_THROW((cloud::basic_aliyun_route_api<vsched>(s, net.factory(), o)), alivpc::error);
  o.page_size = 50;
  o.vpc_endpoint = "ftp://x";
  EXPECT_THROW((cloud::basic_aliyun_route_api<vsched>(s, net.factory(), o)), alivpc::error);
}

TEST(MetadataIdentity, RefusesImplausibleIdsAndAddresses) {
  std::map<std::string, std::string> items{{"instance-id", "i-1\n"},
                                           {"region-id", "cn-hangzhou"},
                                           {"vpc-id", "vpc-1"},
                                           {"private-ipv4", "192.168.0.10"}};
  auto id = cloud::parse_identity(items, "http://md");
  EXPECT_EQ(id.instance_id, "i-1");
  EXPECT_FALSE(id.vpc_cidr);
  auto bad = items;
  bad["vpc-id"] = "vpc-1&Action=DeleteRouteEntry";
  EXPECT_THROW(cloud::parse_identity(bad, "http://md"), alivpc::error);
  bad = items;
  bad["private-ipv4"] = "<html>";
  EXPECT_THROW(cloud::parse_identity(bad, "http://md"), alivpc::error);
  bad = items;
  bad.erase("region-id");
  EXPECT_THROW(cloud::parse_identity(bad, "http://md"), alivpc::error);
  EXPECT_EQ(cloud::first_role_name("node-role\nother\n"), "node-role");
  EXPECT_EQ(cloud::first_role_name("<html>404</html>"), "");
}
