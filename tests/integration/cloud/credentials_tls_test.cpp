// RAM role credentials that expire mid-run, TLS verification, a node without credentials, and
// a scan of everything a failing run printed for the secrets.
#include "cloud_env.hpp"

#include <gtest/gtest.h>

using namespace cloud_env;
using alivpc::error;
using alivpc::error_kind;

namespace {
template <class Fn>
error error_of(Fn&& fn) {
  try {
    fn();
  } catch (const error& e) {
    return e;
  }
  ADD_FAILURE() << "no error";
  return error(error_kind::invalid_argument, "none");
}

// Runs a task for real time `d` on the env's io_context.
alivpc::task<void> sleep_real(alivpc::asio_scheduler& s, std::chrono::milliseconds d) {
  co_await alivpc::sleep_for(s, d);
}
}  // namespace

TEST(CloudCredentials, RamRoleKeysExpireMidRunAndAreRefreshedWithoutAFailedCall) {
  // STS keys live 6 s; the emulator hands out a fresh one once less than 3 s are left.
  env e({"--write-delay", "0", "--sts-ttl", "6"});
  auto o = e.options();
  o.credentials.access_key_id.clear();
  o.credentials.access_key_secret = cloud::secret();
  o.credentials.refresh_margin = std::chrono::seconds(2);
  auto api = e.make(o);
  e.run(api->ensure_credentials());
  ASSERT_EQ(api->credential_source().source(), cloud::credential_source::ram_role);
  auto me = e.run(api->identity());
  auto vpc = e.run(api->describe_vpc(me.vpc_id));
  auto table = e.run(api->list_route_table_ids(vpc.vrouter_id)).at(0);
  std::set<std::string> key_ids;
  // 10 s of calls: the first keys expire after 6 s.
  auto start = std::chrono::steady_clock::now();
  int calls = 0;
  while (std::chrono::steady_clock::now() - start < std::chrono::seconds(10)) {
    e.run(api->list_route_entries(table));
    ++calls;
    e.run(sleep_real(e.sched, std::chrono::milliseconds(250)));
  }
  for (auto& s : *e.requests) {
    auto cred = s.header("Authorization");
    auto at = cred.find("Credential="), comma = cred.find(',');
    if (at != std::string::npos) key_ids.insert(cred.substr(at + 11, comma - at - 11));
    if (!cred.empty()) {
      EXPECT_FALSE(s.header("x-acs-security-token").empty());
    }
  }
  EXPECT_GE(api->credential_source().refreshes(), 1u);
  EXPECT_GE(key_ids.size(), 2u);  // signed with more than one STS key over the run
  EXPECT_EQ(e.count("DescribeRouteEntryList", "Success"), calls);
  EXPECT_EQ(e.total("DescribeRouteEntryList"), calls);  // not one failed attempt
}

TEST(CloudCredentials, HardenedMetadataModeIsUsed) {
  env e({"--write-delay", "0", "--metadata-token-required"});
  auto o = e.options();
  o.credentials.access_key_id.clear();
  o.credentials.access_key_secret = cloud::secret();
  auto api = e.make(o);
  e.run(api->ensure_credentials());
  EXPECT_EQ(e.run(api->identity()).instance_id, "i-1");
  bool put = false;
  for (auto& s : *e.requests)
    put |= s.method == "PUT" && s.target == "/latest/api/token";
  EXPECT_TRUE(put);
}

TEST(CloudCredentials, NodeWithoutCredentialsFailsAtOnceSayingHow) {
  env e({"--ram-role", ""});
  auto o = e.options();
  o.credentials.access_key_id.clear();
  o.credentials.access_key_secret = cloud::secret();
  auto api = e.make(o);
  auto err = error_of([&] { e.run(api->ensure_credentials()); });
  std::string m = err.what();
  EXPECT_EQ(err.kind(), error_kind::permanent) << m;
  EXPECT_NE(m.find("AccessKeyID"), std::string::npos) << m;
  EXPECT_NE(m.find("ACCESS_KEY_SECRET"), std::string::npos) << m;
  EXPECT_NE(m.find("RAM role"), std::string::npos) << m;
  // Nothing was asked of the route API.
  for (auto& s : *e.requests)
    EXPECT_TRUE(s.target.starts_with("/latest")) << s.target;
}

TEST(CloudTls, WrongCaIsRefusedRightCaAccepted) {
  env e;
  auto o = e.options();
  o.ca_file = certs().other_ca_cert;
  auto wrong = e.make(o);
  auto me = e.run(wrong->identity());  // metadata still trusts the right CA
  auto err = error_of([&] { e.run(wrong->describe_vpc(me.vpc_id)); });
  EXPECT_EQ(err.kind(), error_kind::permanent) << err.what();
  EXPECT_NE(std::string(err.what()).find("TLS"), std::string::npos) << err.what();
  EXPECT_EQ(e.total("DescribeVpcs"), 0);  // refused before any request was sent
  auto right = e.make();
  EXPECT_EQ(e.run(right->describe_vpc(me.vpc_id)).vpc_id, me.vpc_id);
  // No CA file: the system store does not know the test CA either.
  auto system_store = e.options();
  system_store.ca_file.clear();
  auto sys = e.make(system_store);
  err = error_of([&] { e.run(sys->describe_vpc(me.vpc_id)); });
  EXPECT_EQ(err.kind(), error_kind::permanent) << err.what();
}

TEST(CloudSecrets, AFailingRunNeverPrintsTheSecretOrTheToken) {
  const std::string real_secret = "Real-Secret-0123456789abcdef";
  const std::string wrong_secret = "Wrong-Secret-fedcba9876543210";
  env e({"--write-delay", "0", "--access-key", "nodekey:" + real_secret, "--fail",
         "*=0.3:InternalError", "--throttle", "DescribeVpcs=2/60s"});
  std::vector<std::string> output;
  // 1) Wrong secret: auth failures.
  auto o = e.options();
  o.credentials.access_key_id = "nodekey";
  o.credentials.access_key_secret = cloud::secret(wrong_secret);
  o.retry.max_transient_attempts = 4;
  auto bad = e.make(o);
  auto me = e.run(bad->identity());
  for (int i = 0; i < 3; ++i) {
    try {
      e.run(bad->describe_vpc(me.vpc_id));
    } catch (const std::exception& x) {
      output.emplace_back(x.what());
    }
  }
  // 2) Right secret, but throttled and failing: retries, warnings, quota-free errors.
  o.credentials.access_key_secret = cloud::secret(real_secret);
  auto good = e.make(o);
  for (int i = 0; i < 4; ++i) {
    try {
      e.run(good->describe_vpc(me.vpc_id));
      e.run(good->list_route_entries("vtb-missing"));
    } catch (const std::exception& x) {
      output.emplace_back(x.what());
    }
  }
  // 3) RAM role: STS secret and token.
  auto ram = e.options();
  ram.credentials.access_key_id.clear();
  ram.credentials.access_key_secret = cloud::secret();
  auto sts = e.make(ram);
  e.run(sts->ensure_credentials());
  auto creds = e.run(sts->credential_source().current());
  try {
    e.run(sts->list_route_entries("vtb-missing"));
  } catch (const std::exception& x) {
    output.emplace_back(x.what());
  }
  output.insert(output.end(), e.logs.begin(), e.logs.end());
  output.push_back(e.emu.log());
  ASSERT_GT(output.size(), 5u);
  bool saw_auth_failure = false;
  for (const auto& text : output) {
    saw_auth_failure |= text.find("SignatureDoesNotMatch") != std::string::npos;
    for (const auto& needle : {real_secret, wrong_secret, creds.access_key_secret.reveal(),
                               creds.security_token.reveal()})
      EXPECT_EQ(text.find(needle), std::string::npos) << "secret found in: " << text;
  }
  EXPECT_TRUE(saw_auth_failure);
}
