// aliyun_route_api against alivpc-emulator over HTTPS: every route action, both signature
// schemes and both API flavours, paging, and each error class.
#include "cloud_env.hpp"

#include <gtest/gtest.h>

#include <set>

using namespace cloud_env;
using alivpc::error;
using alivpc::error_kind;

namespace {

struct flavour_case {
  cloud::signature_version sig;
  cloud::api_flavour flavour;
  const char* name;
};

class RoundTrip : public ::testing::TestWithParam<flavour_case> {};

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

}  // namespace

TEST_P(RoundTrip, EveryRouteAction) {
  env e;
  auto o = e.options();
  o.signature = GetParam().sig;
  o.flavour = GetParam().flavour;
  auto api = e.make(o);
  e.run(api->ensure_credentials());
  auto me = e.run(api->identity());
  EXPECT_EQ(me.instance_id, "i-1");
  EXPECT_EQ(me.region_id, "cn-hangzhou");
  auto vpc = e.run(api->describe_vpc(me.vpc_id));
  EXPECT_EQ(vpc.vpc_id, me.vpc_id);
  EXPECT_EQ(vpc.cidr.to_string(), "192.168.0.0/16");
  ASSERT_FALSE(vpc.vrouter_id.empty());
  auto tables = e.run(api->list_route_table_ids(vpc.vrouter_id));
  ASSERT_EQ(tables.size(), 1u);
  const auto table = tables[0];
  auto custom = [&] {
    std::vector<cloud::route_entry> out;
    for (auto& r : e.run(api->list_route_entries(table)))
      if (r.type == cloud::route_entry_type::custom) out.push_back(r);
    return out;
  };
  EXPECT_TRUE(custom().empty());

  e.run(api->create_route_entry(route(table, "10.24.5.0/24")));
  auto entries = custom();
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0].destination.to_string(), "10.24.5.0/24");
  EXPECT_EQ(entries[0].next_hop_id, "i-1");
  EXPECT_EQ(entries[0].next_hop_type, "Instance");
  EXPECT_EQ(entries[0].route_table_id, table);

  // Creating it again is success (ours); another node's next hop is a clear conflict.
  e.run(api->create_route_entry(route(table, "10.24.5.0/24")));
  auto c = error_of([&] { e.run(api->create_route_entry(route(table, "10.24.5.0/24", "i-2"))); });
  EXPECT_EQ(c.kind(), error_kind::conflict) << c.what();
  EXPECT_NE(std::string(c.what()).find("i-1"), std::string::npos) << c.what();
  EXPECT_NE(std::string(c.what()).find("i-2"), std::string::npos) << c.what();
  EXPECT_NE(std::string(c.what()).find(table), std::string::npos) << c.what();
  EXPECT_EQ(custom().size(), 1u);

  // Delete; deleting what is gone is success.
  e.run(api->delete_route_entry(route(table, "10.24.5.0/24")));
  EXPECT_TRUE(custom().empty());
  e.run(api->delete_route_entry(route(table, "10.24.5.0/24")));

  // What went out: V3 is a POST with x-acs-* headers, V1 a GET with the signature in the query.
  ASSERT_FALSE(e.requests->empty());
  for (const auto& s : *e.requests) {
    if (s.target.starts_with("/latest")) continue;  // metadata
    if (GetParam().sig == cloud::signature_version::v3) {
      EXPECT_EQ(s.method, "POST");
      EXPECT_TRUE(s.header("Authorization").starts_with("ACS3-HMAC-SHA256 "));
      EXPECT_EQ(s.header("x-acs-version"),
                GetParam().flavour == cloud::api_flavour::ecs ? "2014-05-26" : "2016-04-28");
    } else {
      EXPECT_EQ(s.method, "GET");
      EXPECT_FALSE(query_param(s.target, "Signature").empty());
      EXPECT_EQ(query_param(s.target, "SignatureMethod"), "HMAC-SHA1");
    }
  }
  // The ECS flavour reads entries through DescribeRouteTables, the VPC one through
  // DescribeRouteEntryList.
  std::set<std::string> actions;
  for (const auto& s : *e.requests)
    actions.insert(action_of(s));
  if (GetParam().flavour == cloud::api_flavour::ecs) {
    EXPECT_TRUE(actions.count("DescribeRouteTables"));
    EXPECT_FALSE(actions.count("DescribeRouteEntryList"));
    EXPECT_TRUE(actions.count("DescribeVRouters"));
  } else {
    EXPECT_TRUE(actions.count("DescribeRouteEntryList"));
    EXPECT_TRUE(actions.count("DescribeRouteTableList"));
  }
}

INSTANTIATE_TEST_SUITE_P(
    Cloud, RoundTrip,
    ::testing::Values(flavour_case{cloud::signature_version::v3, cloud::api_flavour::vpc, "V3Vpc"},
                      flavour_case{cloud::signature_version::v1, cloud::api_flavour::vpc, "V1Vpc"},
                      flavour_case{cloud::signature_version::v1, cloud::api_flavour::ecs, "V1Ecs"},
                      flavour_case{cloud::signature_version::v3, cloud::api_flavour::ecs, "V3Ecs"}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(Cloud, NetworkInterfaceNextHop) {
  env e;
  auto api = e.make();
  auto me = e.run(api->identity());
  auto vpc = e.run(api->describe_vpc(me.vpc_id));
  auto table = e.run(api->list_route_table_ids(vpc.vrouter_id)).at(0);
  auto world = e.admin("GET", "world");
  // The ENI of i-1 in the emulator's world.
  std::string eni;
  for (auto& inst : world.value("Instances", nlohmann::json::array()))
    if (inst.value("InstanceId", "") == "i-1") eni = inst.value("NetworkInterfaceId", "");
  ASSERT_FALSE(eni.empty()) << world.dump();
  cloud::route_spec r{table, alivpc::net::ipv4_cidr::parse("10.24.9.0/24"), "NetworkInterface",
                      eni};
  e.run(api->create_route_entry(r));
  auto entries = e.run(api->list_route_entries(table));
  bool found = false;
  for (auto& x : entries)
    found |= x.destination == r.destination && x.next_hop_type == "NetworkInterface";
  EXPECT_TRUE(found);
}

class Paging : public ::testing::TestWithParam<int> {};

TEST_P(Paging, ListsEveryEntryWithBothActions) {
  const int n = GetParam();
  env e({"--write-delay", "0", "--quiet"});
  auto o = e.options();
  o.entry_page_size = 50;
  auto api = e.make(o);
  auto me = e.run(api->identity());
  auto vpc = e.run(api->describe_vpc(me.vpc_id));
  auto table = e.run(api->list_route_table_ids(vpc.vrouter_id)).at(0);
  std::set<std::string> want;
  for (int i = 0; i < n; ++i) {
    auto cidr = "10." + std::to_string(24 + i / 256) + "." + std::to_string(i % 256) + ".0/24";
    want.insert(cidr);
    e.admin("POST", "create-route?RouteTableId=" + table + "&DestinationCidrBlock=" +
                        alivpc::cloud::percent_encode(cidr) + "&NextHopId=i-1");
  }
  auto custom_of = [&](const std::vector<cloud::route_entry>& all) {
    std::set<std::string> got;
    for (auto& r : all)
      if (r.type == cloud::route_entry_type::custom) got.insert(r.destination.to_string());
    return got;
  };
  auto before = e.total("DescribeRouteEntryList");
  EXPECT_EQ(custom_of(e.run(api->list_route_entries(table))), want);
  // Pages of 50 entries, system entries included: at least ceil(n / 50) requests.
  EXPECT_GE(e.total("DescribeRouteEntryList") - before, std::max(1, (n + 49) / 50));

  auto ecs_options = e.options();
  ecs_options.flavour = cloud::api_flavour::ecs;
  ecs_options.signature = cloud::signature_version::v1;
  auto ecs = e.make(ecs_options);
  EXPECT_EQ(custom_of(e.run(ecs->list_route_entries(table))), want);
}

INSTANTIATE_TEST_SUITE_P(Cloud, Paging, ::testing::Values(0, 1, 50, 51, 200));

TEST(Cloud, TransientFaultsAreRetriedUntilSuccess) {
  env e({"--write-delay", "0", "--fail", "*=0.4:InternalError", "--fail",
         "DescribeRouteEntryList=0.3:ServiceUnavailable", "--seed", "3"});
  auto o = e.options();
  o.retry.max_transient_attempts = 12;
  auto api = e.make(o);
  auto me = e.run(api->identity());
  auto vpc = e.run(api->describe_vpc(me.vpc_id));
  auto table = e.run(api->list_route_table_ids(vpc.vrouter_id)).at(0);
  for (int i = 0; i < 5; ++i) {
    auto cidr = "10.30." + std::to_string(i) + ".0/24";
    e.run(api->create_route_entry(route(table, cidr.c_str())));
  }
  std::size_t custom = 0;
  for (auto& r : e.run(api->list_route_entries(table)))
    custom += r.type == cloud::route_entry_type::custom;
  EXPECT_EQ(custom, 5u);
  EXPECT_GT(e.count("CreateRouteEntry", "InternalError") +
                e.count("DescribeVpcs", "InternalError") +
                e.count("DescribeRouteEntryList", "ServiceUnavailable"),
            0);
  EXPECT_GT(api->counters().retries, 0u);
}

TEST(Cloud, ExhaustedTransientBudgetIsATransientErrorNamingTheAction) {
  env e({"--write-delay", "0", "--fail", "DescribeVpcs=1.0:ServiceUnavailable"});
  auto o = e.options();
  o.retry.max_transient_attempts = 3;
  auto api = e.make(o);
  auto me = e.run(api->identity());
  auto err = error_of([&] { e.run(api->describe_vpc(me.vpc_id)); });
  EXPECT_EQ(err.kind(), error_kind::transient);
  EXPECT_NE(std::string(err.what()).find("DescribeVpcs"), std::string::npos) << err.what();
  EXPECT_EQ(e.total("DescribeVpcs"), 3);
}

TEST(Cloud, ThrottlingSlowsTheClientDownAndEverythingStillSucceeds) {
  env e({"--write-delay", "0", "--quiet", "--throttle", "DescribeRouteEntryList=600/60s"});
  auto o = e.options();
  o.retry.max_transient_attempts = 30;
  o.retry.throttle_min_interval = std::chrono::milliseconds(50);
  auto api = e.make(o);
  auto me = e.run(api->identity());
  auto vpc = e.run(api->describe_vpc(me.vpc_id));
  auto table = e.run(api->list_route_table_ids(vpc.vrouter_id)).at(0);
  auto many = [&]() -> alivpc::task<void> {
    for (int i = 0; i < 640; ++i)
      co_await api->list_route_entries(table);
  };
  e.run(many());
  EXPECT_GT(e.count("DescribeRouteEntryList", "Throttling.User"), 0);
  EXPECT_EQ(e.count("DescribeRouteEntryList", "Success"), 640);
  EXPECT_GT(api->counters().throttled, 0u);
  // Slowed down for real: far fewer throttled answers than calls past the bucket.
  EXPECT_LT(e.count("DescribeRouteEntryList", "Throttling.User"), 40);
}

TEST(Cloud, QuotaExceededIsPermanentAndSaysWhatToDo) {
  env e({"--write-delay", "0", "--quota", "3"});
  auto o = e.options();
  o.route_table_quota = 3;
  auto api = e.make(o);
  auto me = e.run(api->identity());
  auto vpc = e.run(api->describe_vpc(me.vpc_id));
  auto table = e.run(api->list_route_table_ids(vpc.vrouter_id)).at(0);
  for (auto cidr : {"10.24.1.0/24", "10.24.2.0/24", "10.24.3.0/24"})
    e.run(api->create_route_entry(route(table, cidr)));
  auto before = e.total("CreateRouteEntry");
  auto err = error_of([&] { e.run(api->create_route_entry(route(table, "10.24.4.0/24"))); });
  std::string m = err.what();
  EXPECT_EQ(err.kind(), error_kind::exhausted) << m;
  EXPECT_NE(m.find(table), std::string::npos) << m;
  EXPECT_NE(m.find("3 custom entries"), std::string::npos) << m;
  EXPECT_NE(m.find("quota 3"), std::string::npos) << m;
  EXPECT_NE(m.find("QuotaExceeded"), std::string::npos) << m;
  EXPECT_NE(m.find("request a quota increase or use the vxlan backend"), std::string::npos) << m;
  EXPECT_EQ(e.total("CreateRouteEntry") - before, 1);  // not retried
}

TEST(Cloud, ConcurrentWritesWaitAndRetryKeepingTheClientToken) {
  env e({"--write-delay", "1200"});
  auto api = e.make();
  auto me = e.run(api->identity());
  auto vpc = e.run(api->describe_vpc(me.vpc_id));
  auto table = e.run(api->list_route_table_ids(vpc.vrouter_id)).at(0);
  e.run(api->create_route_entry(route(table, "10.24.1.0/24")));
  e.requests->clear();
  // The first entry is still Pending: this create meets IncorrectRouteEntryStatus and waits.
  e.run(api->create_route_entry(route(table, "10.24.2.0/24")));
  std::vector<sent> creates;
  for (auto& s : *e.requests)
    if (action_of(s) == "CreateRouteEntry") creates.push_back(s);
  ASSERT_GE(creates.size(), 2u);
  std::set<std::string> tokens, nonces, dates;
  for (auto& s : creates) {
    tokens.insert(query_param(s.target, "ClientToken"));
    nonces.insert(s.header("x-acs-signature-nonce"));
    dates.insert(s.header("x-acs-date"));
  }
  EXPECT_EQ(tokens.size(), 1u);
  EXPECT_FALSE(tokens.begin()->empty());
  EXPECT_EQ(nonces.size(), creates.size());
  EXPECT_GE(dates.size(), 2u);  // the retries span more than a second: new timestamps
  EXPECT_GT(e.count("CreateRouteEntry", "IncorrectRouteEntryStatus") +
                e.count("CreateRouteEntry", "TaskConflict"),
            0);
  // Deleting a Pending entry also waits until it can.
  e.run(api->delete_route_entry(route(table, "10.24.2.0/24")));
  EXPECT_GT(e.count("CreateRouteEntry", "Success"), 1);
}

TEST(Cloud, BadRequestsAndAuthFailuresArePermanentAndNotRetried) {
  env e;
  auto api = e.make();
  auto me = e.run(api->identity());
  auto err = error_of([&] { e.run(api->list_route_entries("vtb-does-not-exist")); });
  EXPECT_EQ(err.kind(), error_kind::permanent) << err.what();
  EXPECT_NE(std::string(err.what()).find("InvalidRouteTableId.NotFound"), std::string::npos);
  EXPECT_EQ(e.total("DescribeRouteEntryList"), 1);

  auto o = e.options();
  o.credentials.access_key_secret = cloud::secret("wrong-secret");
  auto bad = e.make(o);
  err = error_of([&] { e.run(bad->describe_vpc(me.vpc_id)); });
  EXPECT_EQ(err.kind(), error_kind::permanent) << err.what();
  EXPECT_NE(std::string(err.what()).find("SignatureDoesNotMatch"), std::string::npos) << err.what();
  EXPECT_EQ(e.count("DescribeVpcs", "SignatureDoesNotMatch"), 1);
}

TEST(Cloud, EndpointOverrideAndRegionFromMetadata) {
  env e;
  auto api = e.make();
  EXPECT_EQ(e.run(api->endpoint()), alivpc::http::url::parse(e.emu.url()).to_string());
  EXPECT_EQ(e.run(api->identity()).region_id, "cn-hangzhou");
}
