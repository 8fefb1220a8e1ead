// Parsing every answer the route API reads: real shapes, unknown fields, and malformed input.
#include <alivpc/cloud/detail/route_entry_list_reader.hpp>
#include <alivpc/cloud/responses.hpp>

#include <gtest/gtest.h>

namespace cloud = alivpc::cloud;
using alivpc::error_kind;

namespace {
// Runs fn and returns the alivpc::error message it threw (fails the test otherwise).
template <class Fn>
std::string parse_error_of(Fn fn) {
  try {
    fn();
  } catch (const alivpc::error& e) {
    EXPECT_EQ(e.kind(), error_kind::parse) << e.what();
    return e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "escaped non-alivpc exception: " << e.what();
    return {};
  }
  ADD_FAILURE() << "no error";
  return {};
}
}  // namespace

TEST(DescribeVpcs, ParsesTheDocumentedShape) {
  auto a = cloud::parse_describe_vpcs(R"({
    "RequestId":"R","TotalCount":1,"PageNumber":1,"PageSize":10,
    "Vpcs":{"Vpc":[{"VpcId":"vpc-1","RegionId":"cn-hangzhou","Status":"Available",
      "CidrBlock":"192.168.0.0/16","VRouterId":"vrt-1","NewField":{"x":1},
      "VSwitchIds":{"VSwitchId":["vsw-1","vsw-2"]},
      "RouterTableIds":{"RouterTableIds":["vtb-1"]}}]}})");
  EXPECT_EQ(a.request_id, "R");
  EXPECT_EQ(a.total_count, 1);
  ASSERT_EQ(a.vpcs.size(), 1u);
  EXPECT_EQ(a.vpcs[0].vpc_id, "vpc-1");
  EXPECT_EQ(a.vpcs[0].vrouter_id, "vrt-1");
  EXPECT_EQ(a.vpcs[0].cidr_block, "192.168.0.0/16");
  EXPECT_EQ(a.vpcs[0].vswitch_ids, (std::vector<std::string>{"vsw-1", "vsw-2"}));
  EXPECT_EQ(a.vpcs[0].route_table_ids, (std::vector<std::string>{"vtb-1"}));
}

TEST(DescribeVpcs, EmptyOrAbsentListIsEmptyNotACrash) {
  EXPECT_TRUE(cloud::parse_describe_vpcs(R"({"RequestId":"R","Vpcs":{"Vpc":[]}})").vpcs.empty());
  EXPECT_TRUE(cloud::parse_describe_vpcs(R"({"RequestId":"R"})").vpcs.empty());
  EXPECT_TRUE(cloud::parse_describe_vpcs(R"({"Vpcs":null})").vpcs.empty());
  EXPECT_TRUE(cloud::parse_describe_vpcs(R"({"Vpcs":{}})").vpcs.empty());
}

TEST(DescribeVpcs, MissingOrMistypedFieldNamesThePath) {
  auto m =
      parse_error_of([] { cloud::parse_describe_vpcs(R"({"Vpcs":{"Vpc":[{"VpcId":"v"}]}})"); });
  EXPECT_NE(m.find("DescribeVpcs"), std::string::npos) << m;
  EXPECT_NE(m.find("Vpcs.Vpc[0].VRouterId"), std::string::npos) << m;
  EXPECT_NE(m.find("missing"), std::string::npos) << m;
  m = parse_error_of(
      [] { cloud::parse_describe_vpcs(R"({"Vpcs":{"Vpc":[{"VpcId":7,"VRouterId":"r"}]}})"); });
  EXPECT_NE(m.find("Vpcs.Vpc[0].VpcId"), std::string::npos) << m;
  EXPECT_NE(m.find("expected a string, got a number"), std::string::npos) << m;
  m = parse_error_of([] { cloud::parse_describe_vpcs(R"({"Vpcs":{"Vpc":{"VpcId":"x"}}})"); });
  EXPECT_NE(m.find("Vpcs.Vpc"), std::string::npos) << m;
  EXPECT_NE(m.find("an array"), std::string::npos) << m;
  m = parse_error_of([] { cloud::parse_describe_vpcs(R"({"TotalCount":"many"})"); });
  EXPECT_NE(m.find("TotalCount"), std::string::npos) << m;
}

TEST(AnyAnswer, NotJsonOrNotAnObjectIsAParseError) {
  auto m = parse_error_of([] { cloud::parse_describe_vpcs("<html>"); });
  EXPECT_NE(m.find("not valid JSON"), std::string::npos) << m;
  m = parse_error_of([] { cloud::parse_describe_route_tables("[1,2]"); });
  EXPECT_NE(m.find("expected a JSON object"), std::string::npos) << m;
  parse_error_of([] { cloud::parse_describe_route_entry_list(""); });
  parse_error_of([] { cloud::parse_create_route_entry("{\"RequestId\":"); });
  parse_error_of([] { cloud::parse_request_id("null", "DeleteRouteEntry"); });
}

TEST(DescribeRouteTables, OldShapeWithInstanceIdAndNewShapeWithNextHops) {
  auto a = cloud::parse_describe_route_tables(R"({
    "RequestId":"R","TotalCount":1,"PageNumber":1,"PageSize":10,
    "RouteTables":{"RouteTable":[{"VRouterId":"vrt-1","RouteTableId":"vtb-1",
      "RouteTableType":"System","CreationTime":"2026-01-01T00:00:00Z",
      "RouteEntrys":{"RouteEntry":[
        {"RouteTableId":"vtb-1","DestinationCidrBlock":"192.168.0.0/24","Type":"System",
         "NextHopType":"local","InstanceId":"","Status":"Available","NextHops":{"NextHop":[]}},
        {"RouteTableId":"vtb-1","DestinationCidrBlock":"10.24.5.0/24","Type":"Custom",
         "NextHopType":"Instance","InstanceId":"i-1","Status":"Pending"},
        {"DestinationCidrBlock":"10.24.6.0/24","Type":"Custom","Status":"Available",
         "NextHops":{"NextHop":[{"NextHopType":"NetworkInterface","NextHopId":"eni-2","Enabled":1,"Weight":0}]}},
        {"DestinationCidrBlock":"2408:4000::/56","Type":"Custom","Status":"Available"}
      ]}}]}})");
  EXPECT_EQ(a.total_count, 1);
  ASSERT_EQ(a.tables.size(), 1u);
  const auto& t = a.tables[0];
  EXPECT_EQ(t.route_table_id, "vtb-1");
  EXPECT_EQ(t.vrouter_id, "vrt-1");
  ASSERT_EQ(t.entries.size(), 3u);  // the IPv6 entry is skipped
  EXPECT_EQ(t.entries[0].type, cloud::route_entry_type::system);
  EXPECT_EQ(t.entries[1].destination.to_string(), "10.24.5.0/24");
  EXPECT_EQ(t.entries[1].next_hop_type, "Instance");
  EXPECT_EQ(t.entries[1].next_hop_id, "i-1");
  EXPECT_EQ(t.entries[1].status, cloud::route_entry_status::pending);
  EXPECT_EQ(t.entries[2].route_table_id, "vtb-1");  // filled from the table
  EXPECT_EQ(t.entries[2].next_hop_type, "NetworkInterface");
  EXPECT_EQ(t.entries[2].next_hop_id, "eni-2");
}

TEST(DescribeRouteTables, PagingFieldsMayBeStringsAndBadCidrIsNamed) {
  auto a = cloud::parse_describe_route_tables(
      R"({"TotalCount":"51","PageNumber":"2","PageSize":"50","RouteTables":{"RouteTable":[]}})");
  EXPECT_EQ(a.total_count, 51);
  EXPECT_EQ(a.page_number, 2);
  auto m = parse_error_of([] {
    cloud::parse_describe_route_tables(
        R"({"RouteTables":{"RouteTable":[{"RouteTableId":"vtb","RouteEntrys":{"RouteEntry":[{"DestinationCidrBlock":"10.0.0.300/24"}]}}]}})");
  });
  EXPECT_NE(m.find("RouteTables.RouteTable[0].RouteEntrys.RouteEntry[0].DestinationCidrBlock"),
            std::string::npos)
      << m;
  EXPECT_NE(m.find("not an IPv4 CIDR"), std::string::npos) << m;
}

TEST(DescribeRouteEntryList, NextTokenAndEntries) {
  auto a = cloud::parse_describe_route_entry_list(R"({"RequestId":"R","NextToken":"t2",
    "RouteEntrys":{"RouteEntry":[{"RouteEntryId":"rte-1","RouteTableId":"vtb-1",
      "DestinationCidrBlock":"10.24.1.0/24","Status":"Available","Type":"Custom",
      "NextHops":{"NextHop":[{"NextHopId":"i-1","NextHopType":"Instance","Enabled":1,"Weight":100}]}}]}})");
  EXPECT_EQ(a.next_token, "t2");
  ASSERT_EQ(a.entries.size(), 1u);
  EXPECT_EQ(a.entries[0].route_entry_id, "rte-1");
  EXPECT_EQ(a.entries[0].next_hop_id, "i-1");
  EXPECT_EQ(a.entries[0].status, cloud::route_entry_status::available);
  EXPECT_EQ(
      cloud::parse_describe_route_entry_list(R"({"RequestId":"R","NextToken":""})").next_token, "");
}

// The pages of a listing gather in one answer; a page that is refused leaves it as it was, even
// when the refusal comes after some of its entries were read.
TEST(DescribeRouteEntryList, PagesGatherInOneAnswerAndARefusedPageChangesNothing) {
  const auto page = [](std::string token, std::string cidr, std::string tail) {
    return R"({"RequestId":"R-)" + token + R"(","NextToken":")" + token +
           R"(","RouteEntrys":{"RouteEntry":[{"RouteEntryId":"rte-)" + token +
           R"(","RouteTableId":"vtb-1","DestinationCidrBlock":")" + cidr +
           R"(","Status":"Available","Type":"Custom","InstanceId":"i-)" + token + R"("})" + tail +
           "]}}";
  };
  cloud::describe_route_entry_list_answer a;
  cloud::parse_describe_route_entry_list_into(page("t2", "10.24.1.0/24", ""), a);
  cloud::parse_describe_route_entry_list_into(page("t3", "10.24.2.0/24", ""), a);
  ASSERT_EQ(a.entries.size(), 2u);
  EXPECT_EQ(a.entries[0].route_entry_id, "rte-t2");
  EXPECT_EQ(a.entries[1].next_hop_id, "i-t3");
  EXPECT_EQ(a.next_token, "t3");
  EXPECT_EQ(a.request_id, "R-t3");
  // Its first entry is read, then the second is refused.
  auto m = parse_error_of([&] {
    cloud::parse_describe_route_entry_list_into(
        page("t4", "10.24.3.0/24", R"(,{"DestinationCidrBlock":"nonsense"})"), a);
  });
  EXPECT_NE(m.find("RouteEntrys.RouteEntry[1].DestinationCidrBlock"), std::string::npos) << m;
  ASSERT_EQ(a.entries.size(), 2u);
  EXPECT_EQ(a.entries[1].route_entry_id, "rte-t3");
  EXPECT_EQ(a.next_token, "t3");
  parse_error_of([&] { cloud::parse_describe_route_entry_list_into("{", a); });
  EXPECT_EQ(a.entries.size(), 2u);
  EXPECT_EQ(a.request_id, "R-t3");
}

TEST(DescribeVRoutersAndRouteTableList, Parse) {
  auto v = cloud::parse_describe_vrouters(R"({"TotalCount":1,"VRouters":{"VRouter":[
    {"VRouterId":"vrt-1","VpcId":"vpc-1","RouteTableIds":{"RouteTableId":["vtb-1","vtb-2"]}}]}})");
  ASSERT_EQ(v.vrouters.size(), 1u);
  EXPECT_EQ(v.vrouters[0].route_table_ids, (std::vector<std::string>{"vtb-1", "vtb-2"}));
  auto l = cloud::parse_describe_route_table_list(R"({"Code":"200","Success":true,"TotalCount":2,
    "RouterTableList":{"RouterTableListType":[{"RouteTableId":"vtb-1","RouteTableType":"System",
    "RouterId":"vrt-1","VpcId":"vpc-1","VSwitchIds":{"VSwitchId":[]}},{"RouteTableId":"vtb-2"}]}})");
  ASSERT_EQ(l.tables.size(), 2u);
  EXPECT_EQ(l.tables[1].route_table_id, "vtb-2");
  EXPECT_EQ(l.total_count, 2);
}

TEST(CreateRouteEntry, RequestIdAndOptionalEntryId) {
  auto a = cloud::parse_create_route_entry(R"({"RequestId":"R","RouteEntryId":"rte-9"})");
  EXPECT_EQ(a.request_id, "R");
  EXPECT_EQ(a.route_entry_id, "rte-9");
  EXPECT_EQ(cloud::parse_create_route_entry(R"({"RequestId":"R"})").route_entry_id, "");
}

// ---- CreateRouteEntries / DeleteRouteEntries ---------------------------------------------------

namespace {
cloud::route_spec batch_spec(const char* cidr, const char* hop, const char* id = "") {
  cloud::route_spec r{"vtb-1", alivpc::net::ipv4_cidr::parse(cidr), "Instance", hop};
  r.route_entry_id = id;
  return r;
}
}  // namespace

TEST(RouteEntriesBatch, ParsesTheAnswerTheSdkAccepted) {
  // The answer in captures/batch-requests.txt, and the same with the list wrappers of
  // Describe* answers and a failure.
  auto a = cloud::parse_route_entries_batch(
      R"({"RequestId":"X","SuccessCount":2,"FailedCount":0,"RouteEntryIds":["rte-1","rte-2"],"FailedRouteEntries":[]})",
      "CreateRouteEntries");
  EXPECT_EQ(a.request_id, "X");
  EXPECT_EQ(a.success_count, 2);
  EXPECT_EQ(a.failed_count, 0);
  EXPECT_EQ(a.route_entry_ids, (std::vector<std::string>{"rte-1", "rte-2"}));
  EXPECT_TRUE(a.failed.empty());
  a = cloud::parse_route_entries_batch(
      R"({"RouteEntryIds":{"RouteEntryId":["rte-1"]},"FailedRouteEntries":{"FailedRouteEntry":[
        {"DstCidrBlock":"10.24.2.0/24","NextHop":"i-2","FailedCode":"VPC_ROUTE_ENTRY_CIDR_BLOCK_DUPLICATE",
         "FailedMessage":"dup","Extra":1}]}})",
      "CreateRouteEntries");
  EXPECT_EQ(a.route_entry_ids.size(), 1u);
  ASSERT_EQ(a.failed.size(), 1u);
  EXPECT_EQ(a.failed[0].destination, "10.24.2.0/24");
  EXPECT_EQ(a.failed[0].next_hop, "i-2");
  EXPECT_EQ(a.failed[0].code, "VPC_ROUTE_ENTRY_CIDR_BLOCK_DUPLICATE");
  auto m = parse_error_of([] {
    cloud::parse_route_entries_batch(R"({"FailedRouteEntries":[{"DstCidrBlock":"10.0.0.0/8"}]})",
                                     "DeleteRouteEntries");
  });
  EXPECT_NE(m.find("DeleteRouteEntries answer: field FailedRouteEntries[0].FailedCode is missing"),
            std::string::npos)
      << m;
}

TEST(RouteEntriesBatch, FailuresGoToTheRoutesTheyAreAbout) {
  std::vector<cloud::route_spec> routes{
      batch_spec("10.24.1.0/24", "i-1"), batch_spec("10.24.2.0/24", "i-2"),
      batch_spec("10.24.2.0/24", "i-3"),  // same destination, another table's: by next hop
      batch_spec("10.24.4.0/24", "", "rte-4"), batch_spec("10.24.5.0/24", "i-5", "rte-5")};
  routes[2].route_table_id = "vtb-2";
  cloud::route_entries_batch_answer a;
  a.request_id = "R";
  a.failed = {{"10.24.2.0/24", "i-3", "VPC_ROUTE_ENTRY_CIDR_BLOCK_DUPLICATE", "dup"},
              {"10.24.4.0/24", "", "VPC_ROUTE_ENTRY_STATUS_ERROR", "pending"},
              {"", "", "VPC_ROUTER_ENTRY_NOT_EXIST", "gone"}};  // a delete by id: no destination
  auto r = cloud::attribute_batch_answer(routes, a, "DeleteRouteEntries");
  EXPECT_EQ(r.request_id, "R");
  ASSERT_EQ(r.items.size(), 5u);
  EXPECT_TRUE(r.items[0].accepted());
  EXPECT_TRUE(r.items[1].accepted());
  EXPECT_EQ(r.items[2].route, routes[2]);
  EXPECT_EQ(r.items[2].failure_class(), cloud::api_error_class::duplicate);
  EXPECT_EQ(r.items[2].failure_message, "dup");
  EXPECT_EQ(r.items[3].failure_class(), cloud::api_error_class::conflict);
  EXPECT_EQ(r.items[4].failure_class(), cloud::api_error_class::not_found);
  EXPECT_EQ(r.accepted_count(), 2u);
  // A failure naming no destination: on the one route sent by id that the answer does not
  // list as done; with several such routes it would be a guess.
  std::vector<cloud::route_spec> by_id{batch_spec("10.24.1.0/24", "", "rte-1"),
                                       batch_spec("10.24.2.0/24", "", "rte-2")};
  cloud::route_entries_batch_answer gone;
  gone.route_entry_ids = {"rte-1"};
  gone.failed = {{"", "", "VPC_ROUTER_ENTRY_NOT_EXIST", "gone"}};
  r = cloud::attribute_batch_answer(by_id, gone, "DeleteRouteEntries");
  EXPECT_TRUE(r.items[0].accepted());
  EXPECT_EQ(r.items[1].failure_code, "VPC_ROUTER_ENTRY_NOT_EXIST");
  gone.route_entry_ids.clear();
  auto m =
      parse_error_of([&] { cloud::attribute_batch_answer(by_id, gone, "DeleteRouteEntries"); });
  EXPECT_NE(m.find("one of several routes sent by RouteEntryId"), std::string::npos) << m;
  // A failure about no route sent is not silently dropped.
  a.failed = {{"10.24.9.0/24", "i-9", "VPC_ROUTE_ENTRY_CIDR_BLOCK_DUPLICATE", "dup"}};
  m = parse_error_of([&] { cloud::attribute_batch_answer(routes, a, "CreateRouteEntries"); });
  EXPECT_NE(m.find("10.24.9.0/24"), std::string::npos) << m;
  EXPECT_NE(m.find("no route of the request"), std::string::npos) << m;
}
