// aliyun_route_api's decisions on virtual time with a scripted service: fallbacks when an
// action is unknown, duplicate verification, quota explanation, delete of a missing entry.
#include "fake_cloud.hpp"

#include <alivpc/cloud/aliyun_route_api.hpp>

#include <gtest/gtest.h>

namespace cloud = alivpc::cloud;
using fake_cloud::header;
using fake_cloud::query_param;
using fake_cloud::reply;
using vsched = alivpc::virtual_scheduler;

namespace {

// One VPC, one table; entries as (destination, next hop).
struct fake_service {
  std::map<std::string, std::string> entries;  // cidr -> instance
  bool has_entry_list = true;
  bool has_table_list = true;
  std::size_t quota = 100;
  std::vector<std::string> actions;
  std::string last_target;  // of the last OpenAPI request

  alivpc::http::response operator()(const alivpc::http::request& r) {
    if (r.target.starts_with("/latest/api/token")) return reply(404, "");
    if (r.target.starts_with("/latest/meta-data/")) {
      auto key = r.target.substr(18);
      std::map<std::string, std::string> md{{"instance-id", "i-me"},
                                            {"region-id", "cn-test"},
                                            {"vpc-id", "vpc-1"},
                                            {"private-ipv4", "192.168.0.5"}};
      auto it = md.find(key);
      return it == md.end() ? reply(404, "") : reply(200, it->second);
    }
    auto action = header(r, "x-acs-action");
    actions.push_back(action);
    last_target = r.target;
    auto p = [&](const char* n) { return query_param(r.target, n); };
    auto unknown = [] {
      return reply(404, R"({"Code":"InvalidAction.NotFound","Message":"no such action"})");
    };
    auto entry_json = [](const std::string& cidr, const std::string& hop) {
      return R"({"DestinationCidrBlock":")" + cidr +
             R"(","Type":"Custom","Status":"Available","NextHopType":"Instance","InstanceId":")" +
             hop + R"("})";
    };
    auto all_entries = [&] {
      std::string list = R"({"DestinationCidrBlock":"192.168.0.0/24","Type":"System"})";
      for (auto& [c, h] : entries)
        list += "," + entry_json(c, h);
      return list;
    };
    if (action == "DescribeRouteEntryList") {
      if (!has_entry_list) return unknown();
      return reply(200, R"({"NextToken":"","RouteEntrys":{"RouteEntry":[)" + all_entries() + "]}}");
    }
    if (action == "DescribeRouteTables")
      return reply(200, R"({"TotalCount":1,"RouteTables":{"RouteTable":[{"RouteTableId":"vtb-1",
        "RouteEntrys":{"RouteEntry":[)" +
                            all_entries() + "]}}]}}");
    if (action == "DescribeRouteTableList") {
      if (!has_table_list) return unknown();
      return reply(
          200,
          R"({"TotalCount":1,"RouterTableList":{"RouterTableListType":[{"RouteTableId":"vtb-1"}]}})");
    }
    if (action == "DescribeVRouters")
      return reply(200, R"({"TotalCount":1,"VRouters":{"VRouter":[{"VRouterId":"vrt-1",
        "RouteTableIds":{"RouteTableId":["vtb-1","vtb-2"]}}]}})");
    if (action == "CreateRouteEntry") {
      auto cidr = p("DestinationCidrBlock");
      if (entries.count(cidr))
        return reply(400, R"({"Code":"InvalidCIDRBlock.Duplicate","Message":"dup"})");
      if (entries.size() >= quota)
        return reply(
            400,
            R"({"Code":"QuotaExceeded","Message":"Route entry quota exceeded in this route table."})");
      entries[cidr] = p("NextHopId");
      return reply(200, R"({"RequestId":"r"})");
    }
    if (action == "DeleteRouteEntry") {
      if (!entries.erase(p("DestinationCidrBlock")))
        return reply(404, R"({"Code":"InvalidRouteEntry.NotFound","Message":"gone"})");
      return reply(200, R"({"RequestId":"r"})");
    }
    return unknown();
  }
};

struct fixture {
  vsched sched{9};
  fake_service svc;
  fake_cloud::transport net;
  std::unique_ptr<cloud::basic_aliyun_route_api<vsched>> api;
  explicit fixture(cloud::aliyun_options o = {}) {
    net.sched = &sched;
    net.handler = [this](const alivpc::http::request& r) { return svc(r); };
    o.credentials.access_key_id = "id";
    o.credentials.access_key_secret = cloud::secret("s");
    o.credentials.getenv = [](const char*) { return std::optional<std::string>(); };
    api = std::make_unique<cloud::basic_aliyun_route_api<vsched>>(sched, net.factory(), o);
  }
  template <class T>
  T run(alivpc::task<T> t) {
    return fake_cloud::run(sched, std::move(t));
  }
  void run(alivpc::task<void> t) { fake_cloud::run(sched, std::move(t)); }
};

cloud::route_spec spec(const char* cidr, const char* hop = "i-me") {
  return {"vtb-1", alivpc::net::ipv4_cidr::parse(cidr), "Instance", hop};
}

}  // namespace

static_assert(cloud::cloud_route_api<cloud::basic_aliyun_route_api<vsched>>);

TEST(AliyunRouteApi, RegionAndEndpointFromMetadata) {
  fixture f;
  EXPECT_EQ(f.run(f.api->endpoint()), "https://vpc.cn-test.aliyuncs.com:443");
  cloud::aliyun_options ecs;
  ecs.flavour = cloud::api_flavour::ecs;
  fixture g(ecs);
  EXPECT_EQ(g.run(g.api->endpoint()), "https://ecs.cn-test.aliyuncs.com:443");
}

TEST(AliyunRouteApi, FallsBackWhenTheListActionsAreUnknown) {
  fixture f;
  f.svc.has_entry_list = false;
  f.svc.has_table_list = false;
  f.svc.entries = {{"10.24.1.0/24", "i-me"}};
  EXPECT_EQ(f.run(f.api->list_route_table_ids("vrt-1")),
            (std::vector<std::string>{"vtb-1", "vtb-2"}));
  auto entries = f.run(f.api->list_route_entries("vtb-1"));
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_EQ(entries[1].next_hop_id, "i-me");
  // The fallback is remembered: the unknown actions are not asked again.
  f.svc.actions.clear();
  f.run(f.api->list_route_entries("vtb-1"));
  EXPECT_EQ(f.svc.actions, (std::vector<std::string>{"DescribeRouteTables"}));
}

// The filter goes to the server, and every entry is checked again here: this fake server
// ignores filters, as DescribeRouteTables (the fallback) cannot filter at all.
TEST(AliyunRouteApi, AFilteredListingAsksTheServerAndChecksEachEntry) {
  fixture f;
  f.svc.entries = {{"10.24.1.0/24", "i-me"}, {"10.24.2.0/24", "i-other"}, {"10.24.3.0/24", "i-me"}};
  const auto subnet = alivpc::net::ipv4_cidr::parse("10.24.1.0/24");
  auto mine = f.run(f.api->list_route_entries("vtb-1", {subnet, {}}));
  ASSERT_EQ(mine.size(), 1u);
  EXPECT_EQ(mine[0].destination, subnet);
  EXPECT_EQ(query_param(f.svc.last_target, "DestinationCidrBlock"), "10.24.1.0/24");
  EXPECT_EQ(query_param(f.svc.last_target, "NextHopId"), "");
  auto via_me = f.run(f.api->list_route_entries("vtb-1", {std::nullopt, "i-me"}));
  EXPECT_EQ(via_me.size(), 2u);
  EXPECT_EQ(query_param(f.svc.last_target, "NextHopId"), "i-me");
  EXPECT_EQ(f.run(f.api->list_route_entries("vtb-1")).size(), 4u);  // with the System entry
  f.svc.has_entry_list = false;
  EXPECT_EQ(f.run(f.api->list_route_entries("vtb-1", {subnet, "i-other"})).size(), 0u);
  EXPECT_EQ(f.run(f.api->list_route_entries("vtb-1", {std::nullopt, "i-other"})).size(), 1u);
  EXPECT_EQ(f.svc.actions.back(), "DescribeRouteTables");
}

TEST(AliyunRouteApi, DuplicateIsSuccessWhenOursAndAConflictOtherwise) {
  fixture f;
  f.svc.entries = {{"10.24.1.0/24", "i-me"}, {"10.24.2.0/24", "i-other"}};
  f.run(f.api->create_route_entry(spec("10.24.1.0/24")));
  try {
    f.run(f.api->create_route_entry(spec("10.24.2.0/24")));
    FAIL() << "no error";
  } catch (const alivpc::error& e) {
    EXPECT_EQ(e.kind(), alivpc::error_kind::conflict);
    std::string m = e.what();
    EXPECT_NE(m.find("i-other"), std::string::npos) << m;
    EXPECT_NE(m.find("i-me"), std::string::npos) << m;
    EXPECT_NE(m.find("vtb-1"), std::string::npos) << m;
  }
}

TEST(AliyunRouteApi, QuotaExceededNamesTableCountQuotaAndWhatToDo) {
  cloud::aliyun_options o;
  o.route_table_quota = 2;
  fixture f(o);
  f.svc.quota = 2;
  f.svc.entries = {{"10.24.1.0/24", "i-a"}, {"10.24.2.0/24", "i-b"}};
  try {
    f.run(f.api->create_route_entry(spec("10.24.3.0/24")));
    FAIL() << "no error";
  } catch (const alivpc::error& e) {
    std::string m = e.what();
    EXPECT_EQ(e.kind(), alivpc::error_kind::exhausted) << m;
    EXPECT_NE(m.find("route table vtb-1 is full"), std::string::npos) << m;
    EXPECT_NE(m.find("2 custom entries, quota 2"), std::string::npos) << m;
    EXPECT_NE(m.find("request a quota increase or use the vxlan backend"), std::string::npos) << m;
  }
}

TEST(AliyunRouteApi, QuotaExceededWithAnUnknownQuotaDoesNotInventOne) {
  fixture f;  // route_table_quota left at 0: the service's limit is not known to the client
  f.svc.quota = 2;
  f.svc.entries = {{"10.24.1.0/24", "i-a"}, {"10.24.2.0/24", "i-b"}};
  try {
    f.run(f.api->create_route_entry(spec("10.24.3.0/24")));
    FAIL() << "no error";
  } catch (const alivpc::error& e) {
    std::string m = e.what();
    EXPECT_NE(m.find("2 custom entries, the table's quota"), std::string::npos) << m;
    EXPECT_EQ(m.find("quota 200"), std::string::npos) << m;
  }
}

TEST(AliyunRouteApi, DeleteOfAMissingEntryIsSuccess) {
  fixture f;
  f.run(f.api->delete_route_entry(spec("10.24.9.0/24")));
  EXPECT_EQ(f.svc.actions.back(), "DeleteRouteEntry");
}
