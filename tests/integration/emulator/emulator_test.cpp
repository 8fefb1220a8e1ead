// alivpc-emulator as a process on 127.0.0.1: real HTTP(S) requests signed with alivpc::cloud's
// signers, both schemes, tampering, paging, every error code, JSON shapes of aliyun-api.md.
#include <alivpc/cloud/signer.hpp>
#include <alivpc_test/emulator_http.hpp>
#include <alivpc_test/emulator_process.hpp>
#include <alivpc_test/temp_dir.hpp>
#include <alivpc_test/tls_certs.hpp>

#include <nlohmann/json.hpp>

#include <gtest/gtest.h>

#include <fstream>
#include <set>
#include <thread>

using namespace std::chrono_literals;
using alivpc_test::emulator_process;
using alivpc_test::outgoing_request;
using alivpc_test::send;
using json = nlohmann::json;
using params = alivpc::cloud::param_map;

namespace {

const std::string id = "testid", secret = "testsecret";

std::string host_of(const emulator_process& e) {
  return e.host() + ":" + std::to_string(e.port());
}

json call_v1(const emulator_process& e, params p, int expect_status = 200,
             const std::string& method = "GET") {
  auto r = send(e.url(), alivpc_test::signed_v1(method, std::move(p), id, secret));
  EXPECT_EQ(r.status, expect_status) << r.body;
  return json::parse(r.body);
}
json call_v3(const emulator_process& e, const std::string& action, params p,
             int expect_status = 200) {
  auto r =
      send(e.url(), alivpc_test::signed_v3(host_of(e), "POST", action, std::move(p), id, secret));
  EXPECT_EQ(r.status, expect_status) << r.body;
  return json::parse(r.body);
}

// The error body: exactly RequestId, HostId, Code, Message (strings).
std::string error_code(const alivpc_test::http_result& r) {
  auto j = json::parse(r.body);
  EXPECT_TRUE(j.at("RequestId").is_string());
  EXPECT_TRUE(j.at("HostId").is_string());
  EXPECT_TRUE(j.at("Message").is_string());
  EXPECT_EQ(j.size(), 4u) << r.body;
  return j.at("Code").get<std::string>();
}

struct ids {
  std::string vpc, vrouter, table;
};
ids discover(const emulator_process& e) {
  auto vpcs = call_v1(e, {{"Action", "DescribeVpcs"}, {"RegionId", "cn-hangzhou"}});
  auto v = vpcs.at("Vpcs").at("Vpc").at(0);
  return {v.at("VpcId"), v.at("VRouterId"), v.at("RouterTableIds").at("RouterTableIds").at(0)};
}

params create_params(const std::string& table, const std::string& dest,
                     const std::string& hop = "i-1") {
  return {{"Action", "CreateRouteEntry"}, {"RegionId", "cn-hangzhou"}, {"RouteTableId", table},
          {"DestinationCidrBlock", dest}, {"NextHopType", "Instance"}, {"NextHopId", hop}};
}

}  // namespace

TEST(Emulator, PrintsItsAddressFirstAndStopsCleanlyOnSigterm) {
  emulator_process e({"--instance", "i-1"});
  EXPECT_EQ(e.url(), "http://127.0.0.1:" + std::to_string(e.port()));
  EXPECT_NE(e.port(), 0);
  EXPECT_EQ(e.stop(), 0);
}

TEST(Emulator, AcceptsBothSchemesGetAndPostQueryAndForm) {
  emulator_process e({"--instance", "i-1", "--write-delay", "0"});
  auto w = discover(e);
  // V1 GET, V1 POST with the parameters in a form body, V3 POST and GET, ECS API V1.
  call_v1(e, {{"Action", "DescribeVRouters"}, {"RegionId", "cn-hangzhou"}});
  auto v1post = alivpc_test::signed_v1(
      "POST", {{"Action", "DescribeVpcs"}, {"RegionId", "cn-hangzhou"}}, id, secret);
  v1post.body = v1post.target.substr(2);
  v1post.target = "/";
  v1post.headers.emplace_back("Content-Type", "application/x-www-form-urlencoded");
  EXPECT_EQ(send(e.url(), v1post).status, 200);
  call_v3(e, "CreateRouteEntry", create_params(w.table, "10.24.1.0/24"));
  auto get = alivpc_test::signed_v3(host_of(e), "GET", "DescribeRouteEntryList",
                                    {{"RouteTableId", w.table}}, id, secret);
  auto r = send(e.url(), get);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json::parse(r.body).at("RouteEntrys").at("RouteEntry").size(), 3u);
  call_v1(e, {{"Action", "DeleteRouteEntry"},
              {"Version", "2014-05-26"},
              {"RouteTableId", w.table},
              {"DestinationCidrBlock", "10.24.1.0/24"},
              {"NextHopId", "i-1"}});
  // V3 with a form body (signed through x-acs-content-sha256).
  auto form =
      alivpc_test::signed_v3(host_of(e), "POST", "DescribeVpcs", {}, id, secret, "2016-04-28", {},
                             std::chrono::system_clock::now(), "RegionId=cn-hangzhou");
  form.headers.emplace_back("content-type", "application/x-www-form-urlencoded");
  // content-type is one of the signed headers, so sign again with it present.
  {
    alivpc::cloud::v3_request v;
    v.method = "POST";
    for (auto& [k, val] : form.headers)
      if (k != "Authorization" && k != "accept") v.headers[k] = val;
    auto s = alivpc::cloud::sign_v3(v, id, secret);
    for (auto& [k, val] : form.headers)
      if (k == "Authorization") val = s.authorization;
  }
  r = send(e.url(), form);
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json::parse(r.body).at("Vpcs").at("Vpc").size(), 1u);
}

TEST(Emulator, RefusesTamperedRequests) {
  emulator_process e({"--instance", "i-1"});
  auto w = discover(e);
  auto base = [&] {
    return alivpc_test::signed_v3(host_of(e), "POST", "CreateRouteEntry",
                                  create_params(w.table, "10.24.1.0/24"), id, secret);
  };
  auto code = [&](const outgoing_request& r) { return error_code(send(e.url(), r)); };
  auto changed_param = base();
  changed_param.target.replace(changed_param.target.find("10.24.1.0"), 9, "10.24.9.0");
  EXPECT_EQ(code(changed_param), "SignatureDoesNotMatch");
  auto changed_header = base();
  for (auto& [k, v] : changed_header.headers)
    if (k == "x-acs-version") v = "2014-05-26";
  EXPECT_EQ(code(changed_header), "SignatureDoesNotMatch");
  auto changed_body = base();
  changed_body.body = "x=1";
  EXPECT_EQ(code(changed_body), "SignatureDoesNotMatch");
  auto changed_date = base();
  for (auto& [k, v] : changed_date.headers)
    if (k == "x-acs-date")
      v = alivpc::cloud::format_timestamp(std::chrono::system_clock::now() + 1min);
  EXPECT_EQ(code(changed_date), "SignatureDoesNotMatch");
  auto wrong_secret = alivpc_test::signed_v3(host_of(e), "POST", "DescribeVpcs",
                                             {{"RegionId", "cn-hangzhou"}}, id, "nope");
  auto r = send(e.url(), wrong_secret);
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(error_code(r), "SignatureDoesNotMatch");
  // V1: a changed parameter or timestamp.
  auto v1 = alivpc_test::signed_v1("GET", create_params(w.table, "10.24.1.0/24"), id, secret);
  auto t = v1;
  t.target.replace(t.target.find("10.24.1.0"), 9, "10.24.9.0");
  EXPECT_EQ(code(t), "SignatureDoesNotMatch");
  t = v1;
  auto z = t.target.find('Z', t.target.find("Timestamp=")) - 1;  // last digit of the seconds
  t.target[z] = t.target[z] == '0' ? '1' : '0';
  EXPECT_EQ(code(t), "SignatureDoesNotMatch");
  EXPECT_EQ(send(e.url(), v1).status, 200);
  // Nothing was created by the refused ones.
  auto entries = call_v1(e, {{"Action", "DescribeRouteEntryList"}, {"RouteTableId", w.table}});
  EXPECT_EQ(entries.at("RouteEntrys").at("RouteEntry").size(), 3u);
  EXPECT_EQ(e.log().find(secret), std::string::npos);
}

namespace {
std::string world_with_tables(const alivpc_test::temp_dir& dir, int custom_tables) {
  json tables = json::array();
  for (int i = 0; i < custom_tables; ++i)
    tables.push_back(json{{"id", "vtb-c" + std::to_string(i)}});
  json world{
      {"regions",
       json::array({json{
           {"id", "cn-hangzhou"},
           {"vpcs",
            json::array({json{
                {"id", "vpc-1"},
                {"cidr", "192.168.0.0/16"},
                {"vrouter_id", "vrt-1"},
                {"route_table_id", "vtb-1"},
                {"vswitches",
                 json::array({json{
                     {"id", "vsw-1"},
                     {"cidr", "192.168.0.0/24"},
                     {"instances", json::array({json{{"id", "i-1"}, {"ip", "192.168.0.10"}}})}}})},
                {"custom_route_tables", tables}}})}}})}};
  auto path = (dir.path() / "world.json").string();
  std::ofstream(path) << world.dump();
  return path;
}
}  // namespace

class EmulatorPaging : public ::testing::TestWithParam<int> {};

TEST_P(EmulatorPaging, EveryEntryAndTableExactlyOnce) {
  const int n = GetParam();
  alivpc_test::temp_dir dir("alivpc-emu");
  emulator_process e({"--world", world_with_tables(dir, n), "--write-delay", "0", "--quiet"});
  std::set<std::string> created;
  for (int i = 0; i < n; ++i) {
    auto dest = "10." + std::to_string(i / 256) + "." + std::to_string(i % 256) + ".0/24";
    call_v1(e, create_params("vtb-1", dest));
    created.insert(dest);
  }
  // DescribeRouteEntryList with NextToken, 50 a page.
  std::multiset<std::string> seen;
  std::string token;
  int pages = 0;
  do {
    params p{{"Action", "DescribeRouteEntryList"},
             {"RouteTableId", "vtb-1"},
             {"MaxResult", "50"},
             {"RouteEntryType", "Custom"}};
    if (!token.empty()) p["NextToken"] = token;
    auto page = call_v1(e, p);
    for (auto& entry : page.at("RouteEntrys").at("RouteEntry"))
      seen.insert(entry.at("DestinationCidrBlock"));
    token = page.at("NextToken");
    ASSERT_LT(++pages, 10);
  } while (!token.empty());
  EXPECT_EQ(std::set<std::string>(seen.begin(), seen.end()), created);
  EXPECT_EQ(seen.size(), created.size());
  EXPECT_EQ(pages, std::max(1, (n + 49) / 50));
  // DescribeRouteTableList and DescribeRouteTables with PageNumber/PageSize (max 50).
  for (const char* action : {"DescribeRouteTableList", "DescribeRouteTables"}) {
    std::multiset<std::string> tables;
    for (int page = 1;; ++page) {
      params p{{"Action", action},
               {"RegionId", "cn-hangzhou"},
               {"PageSize", "50"},
               {"PageNumber", std::to_string(page)}};
      if (std::string(action) == "DescribeRouteTables") p["VRouterId"] = "vrt-1";
      auto j = call_v1(e, p);
      EXPECT_EQ(j.at("TotalCount"), n + 1);
      auto& list = std::string(action) == "DescribeRouteTables"
                       ? j.at("RouteTables").at("RouteTable")
                       : j.at("RouterTableList").at("RouterTableListType");
      for (auto& t : list)
        tables.insert(t.at("RouteTableId"));
      if (list.size() < 50) break;
      ASSERT_LT(page, 10);
    }
    EXPECT_EQ(tables.size(), static_cast<std::size_t>(n + 1)) << action;
    EXPECT_EQ(std::set<std::string>(tables.begin(), tables.end()).size(), tables.size()) << action;
  }
}

INSTANTIATE_TEST_SUITE_P(Sizes, EmulatorPaging, ::testing::Values(0, 1, 50, 51, 200));

TEST(Emulator, ProducesEveryListedErrorCode) {
  emulator_process e({"--instance", "i-1", "--write-delay", "3000", "--quota", "2", "--throttle",
                      "DescribeVRouters=2/60s", "--fail", "DescribeVSwitches=1", "--quiet"});
  auto w = discover(e);
  auto expect = [&](const outgoing_request& r, int status, const std::string& code) {
    auto res = send(e.url(), r);
    EXPECT_EQ(res.status, status) << code << ": " << res.body;
    EXPECT_EQ(error_code(res), code);
  };
  auto v1 = [&](params p) { return alivpc_test::signed_v1("GET", std::move(p), id, secret); };
  expect(v1({{"Action", "DescribeVpcs"}}), 400, "MissingParameter");
  expect(v1({{"Action", "DescribeRouteEntryList"}, {"RouteTableId", w.table}, {"MaxResult", "0"}}),
         400, "InvalidParameter");
  expect(v1({{"Action", "DescribeVpcs"}, {"RegionId", "cn-hangzhou"}, {"PageSize", "51"}}), 400,
         "InvalidParameter");
  expect(v1({{"Action", "DescribeRouteEntryList"}, {"RouteTableId", "vtb-nope"}}), 404,
         "InvalidRouteTableId.NotFound");
  expect(v1({{"Action", "DescribeRouteTableList"},
             {"RegionId", "cn-hangzhou"},
             {"VpcId", "vpc-nope"}}),
         404, "InvalidVpcId.NotFound");
  expect(v1(create_params(w.table, "10.1.0.0/24", "i-nope")), 404, "InvalidInstanceId.NotFound");
  auto eni = create_params(w.table, "10.1.0.0/24", "eni-nope");
  eni["NextHopType"] = "NetworkInterface";
  expect(v1(eni), 404, "InvalidNextHopId.NotFound");
  expect(v1(create_params(w.table, "10.1.0.0/33")), 400, "InvalidCidrBlock.Malformed");
  expect(v1(create_params(w.table, "100.64.0.0/24")), 400, "OperationDenied");
  expect(v1(create_params(w.table, "192.168.0.0/24")), 400, "RouterEntryConflict.Duplicated");
  auto ecs = create_params(w.table, "192.168.0.0/24");
  ecs["Version"] = "2014-05-26";
  expect(v1(ecs), 400, "InvalidCIDRBlock.Duplicate");
  expect(v1({{"Action", "DeleteRouteEntry"},
             {"RouteTableId", w.table},
             {"DestinationCidrBlock", "10.9.0.0/24"}}),
         404, "InvalidRouteEntry.NotFound");
  // A pending write blocks the table (and, through the VPC, every other table).
  EXPECT_EQ(send(e.url(), v1(create_params(w.table, "10.1.0.0/24"))).status, 200);
  expect(v1(create_params(w.table, "10.2.0.0/24")), 400, "IncorrectRouteEntryStatus");
  // TaskConflict: a second table of the same VPC, via the admin endpoint? The default world has
  // one table, so a custom one comes from --world in EmulatorWorld below; here the admin path:
  EXPECT_EQ(alivpc_test::http_call(e.url(), "POST", "/_emulator/write-delay?Milliseconds=0").status,
            200);
  EXPECT_EQ(alivpc_test::http_call(e.url(), "POST",
                                   "/_emulator/delete-route?RouteTableId=" + w.table +
                                       "&DestinationCidrBlock=10.1.0.0/24")
                .status,
            200);
  EXPECT_EQ(send(e.url(), v1(create_params(w.table, "10.1.0.0/24"))).status, 200);
  EXPECT_EQ(send(e.url(), v1(create_params(w.table, "10.2.0.0/24"))).status, 200);
  expect(v1(create_params(w.table, "10.3.0.0/24")), 400, "QuotaExceeded");
  // Credentials and clock.
  expect(alivpc_test::signed_v1("GET", {{"Action", "DescribeVpcs"}, {"RegionId", "cn-hangzhou"}},
                                "nobody", secret),
         404, "InvalidAccessKeyId.NotFound");
  expect(alivpc_test::signed_v1("GET", {{"Action", "DescribeVpcs"}, {"RegionId", "cn-hangzhou"}},
                                id, "wrong"),
         403, "SignatureDoesNotMatch");
  auto once = v1({{"Action", "DescribeVpcs"}, {"RegionId", "cn-hangzhou"}});
  EXPECT_EQ(send(e.url(), once).status, 200);
  expect(once, 400, "SignatureNonceUsed");
  expect(alivpc_test::signed_v1("GET", {{"Action", "DescribeVpcs"}, {"RegionId", "cn-hangzhou"}},
                                id, secret, std::chrono::system_clock::now() - 16min),
         400, "InvalidTimeStamp.Expired");
  expect(v1({{"Action", "DescribeVpcs"}, {"Version", "2000-01-01"}}), 400, "InvalidVersion");
  expect(v1({{"Action", "RunInstances"}}), 404, "InvalidAction.NotFound");
  // Throttling: 2 per 60 s.
  EXPECT_EQ(send(e.url(), v1({{"Action", "DescribeVRouters"}, {"RegionId", "cn-hangzhou"}})).status,
            200);
  EXPECT_EQ(send(e.url(), v1({{"Action", "DescribeVRouters"}, {"RegionId", "cn-hangzhou"}})).status,
            200);
  expect(v1({{"Action", "DescribeVRouters"}, {"RegionId", "cn-hangzhou"}}), 400, "Throttling.User");
  // Injected faults.
  alivpc_test::http_call(e.url(), "POST",
                         "/_emulator/fail?Action=DescribeVpcs&Rate=1&Kind=InternalError");
  expect(v1({{"Action", "DescribeVpcs"}, {"RegionId", "cn-hangzhou"}}), 500, "InternalError");
  alivpc_test::http_call(e.url(), "POST",
                         "/_emulator/fail?Action=DescribeVpcs&Rate=1&Kind=ServiceUnavailable");
  expect(v1({{"Action", "DescribeVpcs"}, {"RegionId", "cn-hangzhou"}}), 503, "ServiceUnavailable");
  alivpc_test::http_call(e.url(), "POST", "/_emulator/fail?Action=DescribeVpcs&Rate=1&Kind=Drop");
  EXPECT_ANY_THROW(send(e.url(), v1({{"Action", "DescribeVpcs"}, {"RegionId", "cn-hangzhou"}})));
  alivpc_test::http_call(e.url(), "POST",
                         "/_emulator/fail?Action=DescribeVpcs&Rate=1&Kind=Timeout");
  EXPECT_ANY_THROW(
      send(e.url(), v1({{"Action", "DescribeVpcs"}, {"RegionId", "cn-hangzhou"}}), {}, 300ms));
  alivpc_test::http_call(e.url(), "POST", "/_emulator/fail?Action=DescribeVpcs&Rate=0");
  alivpc_test::http_call(e.url(), "POST",
                         "/_emulator/outage?Milliseconds=60000&Kind=ServiceUnavailable");
  expect(v1({{"Action", "DescribeVpcs"}, {"RegionId", "cn-hangzhou"}}), 503, "ServiceUnavailable");
  // Counters by action and outcome.
  auto stats = json::parse(alivpc_test::http_call(e.url(), "GET", "/_emulator/stats").body);
  EXPECT_EQ(stats["Actions"]["DescribeVRouters"]["Throttling.User"], 1);
  EXPECT_EQ(stats["Actions"]["CreateRouteEntry"]["QuotaExceeded"], 1);
  EXPECT_EQ(stats["Actions"]["DescribeVpcs"]["Dropped"], 1);
  EXPECT_EQ(stats["Actions"]["DescribeVpcs"]["TimedOut"], 1);
}

TEST(Emulator, TaskConflictAcrossTablesOfOneVpc) {
  alivpc_test::temp_dir dir("alivpc-emu");
  emulator_process e({"--world", world_with_tables(dir, 1), "--write-delay", "60000", "--quiet"});
  EXPECT_EQ(send(e.url(),
                 alivpc_test::signed_v1("GET", create_params("vtb-1", "10.1.0.0/24"), id, secret))
                .status,
            200);
  auto r = send(e.url(),
                alivpc_test::signed_v1("GET", create_params("vtb-c0", "10.2.0.0/24"), id, secret));
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(error_code(r), "TaskConflict");
  auto list = call_v1(e, {{"Action", "DescribeRouteEntryList"},
                          {"RouteTableId", "vtb-1"},
                          {"RouteEntryType", "Custom"}});
  EXPECT_EQ(list.at("RouteEntrys").at("RouteEntry").at(0).at("Status"), "Pending");
}

// Field-by-field shapes of aliyun-api.md section 2.
TEST(Emulator, JsonAnswersHaveTheDocumentedShapes) {
  emulator_process e({"--instance", "i-1", "--write-delay", "0", "--quiet"});
  auto w = discover(e);
  auto is_str = [](const json& j, const char* k) { return j.contains(k) && j.at(k).is_string(); };

  auto vpcs = call_v1(e, {{"Action", "DescribeVpcs"}, {"RegionId", "cn-hangzhou"}});
  for (auto k : {"RequestId"})
    EXPECT_TRUE(is_str(vpcs, k));
  EXPECT_TRUE(vpcs.at("TotalCount").is_number());
  EXPECT_TRUE(vpcs.at("PageNumber").is_number());
  EXPECT_TRUE(vpcs.at("PageSize").is_number());
  auto vpc = vpcs.at("Vpcs").at("Vpc").at(0);
  for (auto k : {"VpcId", "RegionId", "Status", "CidrBlock", "VRouterId"})
    EXPECT_TRUE(is_str(vpc, k)) << k;
  EXPECT_EQ(vpc.at("CidrBlock"), "192.168.0.0/16");
  EXPECT_EQ(vpc.at("Status"), "Available");
  EXPECT_TRUE(vpc.at("VSwitchIds").at("VSwitchId").is_array());
  EXPECT_TRUE(vpc.at("RouterTableIds").at("RouterTableIds").is_array());

  auto vr = call_v1(e, {{"Action", "DescribeVRouters"}, {"RegionId", "cn-hangzhou"}})
                .at("VRouters")
                .at("VRouter")
                .at(0);
  EXPECT_EQ(vr.at("VRouterId"), w.vrouter);
  EXPECT_EQ(vr.at("VpcId"), w.vpc);
  EXPECT_EQ(vr.at("RouteTableIds").at("RouteTableId").at(0), w.table);

  call_v3(e, "CreateRouteEntry", create_params(w.table, "10.24.5.0/24"));
  auto rt = call_v1(
      e, {{"Action", "DescribeRouteTables"}, {"VRouterId", w.vrouter}, {"Version", "2014-05-26"}});
  EXPECT_EQ(rt.at("TotalCount"), 1);
  EXPECT_EQ(rt.at("PageNumber"), 1);
  EXPECT_EQ(rt.at("PageSize"), 10);
  auto table = rt.at("RouteTables").at("RouteTable").at(0);
  EXPECT_EQ(table.at("VRouterId"), w.vrouter);
  EXPECT_EQ(table.at("RouteTableId"), w.table);
  EXPECT_EQ(table.at("RouteTableType"), "System");
  bool found = false;
  for (auto& entry : table.at("RouteEntrys").at("RouteEntry")) {
    for (auto k :
         {"RouteTableId", "DestinationCidrBlock", "Type", "NextHopType", "InstanceId", "Status"})
      EXPECT_TRUE(is_str(entry, k)) << k;
    EXPECT_TRUE(entry.at("NextHops").at("NextHop").is_array());
    if (entry.at("DestinationCidrBlock") == "10.24.5.0/24") {
      found = true;
      EXPECT_EQ(entry.at("Type"), "Custom");
      EXPECT_EQ(entry.at("NextHopType"), "Instance");
      EXPECT_EQ(entry.at("InstanceId"), "i-1");
      EXPECT_EQ(entry.at("Status"), "Available");
    }
  }
  EXPECT_TRUE(found);

  auto list = call_v1(
      e, {{"Action", "DescribeRouteTableList"}, {"RegionId", "cn-hangzhou"}, {"VpcId", w.vpc}});
  EXPECT_EQ(list.at("Code"), "200");
  EXPECT_EQ(list.at("Success"), true);
  auto t = list.at("RouterTableList").at("RouterTableListType").at(0);
  EXPECT_EQ(t.at("RouteTableId"), w.table);
  EXPECT_EQ(t.at("RouteTableType"), "System");
  EXPECT_EQ(t.at("RouterId"), w.vrouter);
  EXPECT_EQ(t.at("VpcId"), w.vpc);
  EXPECT_TRUE(t.at("VSwitchIds").at("VSwitchId").is_array());

  auto entries = call_v1(e, {{"Action", "DescribeRouteEntryList"},
                             {"RouteTableId", w.table},
                             {"DestinationCidrBlock", "10.24.5.0/24"},
                             {"MaxResult", "20"}});
  EXPECT_EQ(entries.at("NextToken"), "");
  auto entry = entries.at("RouteEntrys").at("RouteEntry").at(0);
  for (auto k : {"RouteEntryId", "RouteTableId", "DestinationCidrBlock", "Status", "Type"})
    EXPECT_TRUE(is_str(entry, k)) << k;
  auto hop = entry.at("NextHops").at("NextHop").at(0);
  EXPECT_EQ(hop.at("NextHopId"), "i-1");
  EXPECT_EQ(hop.at("NextHopType"), "Instance");
  EXPECT_TRUE(hop.at("Enabled").is_number());
  EXPECT_TRUE(hop.at("Weight").is_number());

  auto created = call_v1(e, create_params(w.table, "10.24.6.0/24"));
  EXPECT_TRUE(is_str(created, "RequestId"));
  EXPECT_TRUE(is_str(created, "RouteEntryId"));
  auto ecs_params = create_params(w.table, "10.24.7.0/24");
  ecs_params["Version"] = "2014-05-26";
  auto ecs_created = call_v1(e, ecs_params);
  EXPECT_EQ(ecs_created.size(), 1u);
  auto deleted = call_v1(e, {{"Action", "DeleteRouteEntry"},
                             {"RouteTableId", w.table},
                             {"DestinationCidrBlock", "10.24.6.0/24"},
                             {"NextHopId", "i-1"}});
  EXPECT_EQ(deleted.size(), 1u);
  EXPECT_TRUE(is_str(deleted, "RequestId"));
}

TEST(Emulator, MetadataStsKeysSignRequestsUntilTheyExpire) {
  emulator_process e(
      {"--instance", "i-1=192.168.7.9", "--sts-ttl", "2", "--ram-role", "flannel", "--quiet"});
  auto base = e.metadata_base("i-1");
  auto path = base.substr(e.url().size());
  EXPECT_EQ(alivpc_test::http_call(e.url(), "GET", path + "private-ipv4").body, "192.168.7.9");
  EXPECT_EQ(alivpc_test::http_call(e.url(), "GET", path + "ram/security-credentials/").body,
            "flannel");
  auto creds = json::parse(
      alivpc_test::http_call(e.url(), "GET", path + "ram/security-credentials/flannel").body);
  auto sts_id = creds.at("AccessKeyId").get<std::string>();
  auto sts_secret = creds.at("AccessKeySecret").get<std::string>();
  auto token = creds.at("SecurityToken").get<std::string>();
  auto req = [&] {
    return alivpc_test::signed_v3(host_of(e), "POST", "DescribeVpcs", {{"RegionId", "cn-hangzhou"}},
                                  sts_id, sts_secret, "2016-04-28", token);
  };
  auto r = send(e.url(), req());
  EXPECT_EQ(r.status, 200) << r.body;
  auto expiry = alivpc::cloud::parse_timestamp(creds.at("Expiration").get<std::string>());
  ASSERT_TRUE(expiry);
  std::this_thread::sleep_until(*expiry + 1100ms);
  r = send(e.url(), req());
  EXPECT_EQ(error_code(r), "InvalidSecurityToken.Expired");
  EXPECT_EQ(e.log().find(sts_secret), std::string::npos);
  // Hardened mode token over HTTP.
  auto tok = alivpc_test::http_call(e.url(), "PUT", "/metadata/i-1/latest/api/token",
                                    {{"X-aliyun-ecs-metadata-token-ttl-seconds", "30"}});
  ASSERT_EQ(tok.status, 200);
  EXPECT_EQ(alivpc_test::http_call(e.url(), "GET", path + "instance-id",
                                   {{"X-aliyun-ecs-metadata-token", tok.body}})
                .body,
            "i-1");
}

TEST(Emulator, ServesHttpsWithTheGivenCertificate) {
  alivpc_test::temp_dir dir("alivpc-emu-tls");
  auto certs = alivpc_test::tls_certs::make(dir.path());
  emulator_process e({"--instance", "i-1", "--tls-cert", certs.server_cert, "--tls-key",
                      certs.server_key, "--quiet"});
  ASSERT_TRUE(e.tls());
  auto r = send(e.url(),
                alivpc_test::signed_v3(host_of(e), "POST", "DescribeVpcs",
                                       {{"RegionId", "cn-hangzhou"}}, id, secret),
                certs.ca_cert);
  EXPECT_EQ(r.status, 200) << r.body;
  // A client that trusts another CA refuses the server.
  EXPECT_ANY_THROW(
      send(e.url(),
           alivpc_test::signed_v1("GET", {{"Action", "DescribeVpcs"}, {"RegionId", "cn-hangzhou"}},
                                  id, secret),
           certs.other_ca_cert));
}
