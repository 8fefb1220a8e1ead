// The cloud client's CPU costs: signing a request (V3 and V1, as built for the wire), parsing a
// 200-entry DescribeRouteTables answer and a 100-entry DescribeRouteEntryList page (a route
// leader reads 50 of those every reconcile period for a 5,000-node cluster).
#include <alivpc/cloud/detail/route_entry_list_reader.hpp>
#include <alivpc/cloud/responses.hpp>
#include <alivpc/cloud/rpc_client.hpp>

#include <benchmark/benchmark.h>

#include <nlohmann/json.hpp>

namespace {

namespace cloud = alivpc::cloud;

cloud::credentials bench_creds() {
  cloud::credentials c;
  c.access_key_id = "testid";
  c.access_key_secret = cloud::secret("testsecret");
  c.security_token = cloud::secret(std::string(400, 't'));  // STS tokens are long
  return c;
}

const cloud::param_map create_params{{"RegionId", "cn-hangzhou"},
                                     {"RouteTableId", "vtb-bp145q7glnuzdvzu2ctaf"},
                                     {"DestinationCidrBlock", "10.24.5.0/24"},
                                     {"NextHopType", "Instance"},
                                     {"NextHopId", "i-bp1abc"},
                                     {"ClientToken", "3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf"}};

void BM_SignRequestV3(benchmark::State& state) {
  auto url = alivpc::http::url::parse("https://vpc.cn-hangzhou.aliyuncs.com");
  auto creds = bench_creds();
  alivpc::prng rng(1);
  for (auto _ : state) {
    auto r = cloud::build_rpc_request(url, cloud::signature_version::v3, "2016-04-28",
                                      "CreateRouteEntry", create_params, creds,
                                      cloud::make_uuid(rng), alivpc::wall_time{});
    benchmark::DoNotOptimize(r);
  }
}
BENCHMARK(BM_SignRequestV3);

void BM_SignRequestV1(benchmark::State& state) {
  auto url = alivpc::http::url::parse("https://vpc.cn-hangzhou.aliyuncs.com");
  auto creds = bench_creds();
  alivpc::prng rng(1);
  for (auto _ : state) {
    auto r = cloud::build_rpc_request(url, cloud::signature_version::v1, "2014-05-26",
                                      "CreateRouteEntry", create_params, creds,
                                      cloud::make_uuid(rng), alivpc::wall_time{});
    benchmark::DoNotOptimize(r);
  }
}
BENCHMARK(BM_SignRequestV1);

// The shape alivpc-emulator and the service answer with: one table, 200 custom entries.
std::string route_tables_answer(int entries) {
  nlohmann::json list = nlohmann::json::array();
  for (int i = 0; i < entries; ++i)
    list.push_back({{"RouteTableId", "vtb-bp145q7glnuzdvzu2ctaf"},
                    {"DestinationCidrBlock", "10." + std::to_string(24 + i / 256) + "." +
                                                 std::to_string(i % 256) + ".0/24"},
                    {"Type", "Custom"},
                    {"NextHopType", "Instance"},
                    {"InstanceId", "i-bp1abc" + std::to_string(i)},
                    {"Status", "Available"},
                    {"NextHops", {{"NextHop", nlohmann::json::array()}}}});
  nlohmann::json table{{"VRouterId", "vrt-bp1lhl0taikrteen8oj1k"},
                       {"RouteTableId", "vtb-bp145q7glnuzdvzu2ctaf"},
                       {"RouteTableType", "System"},
                       {"CreationTime", "2026-01-01T00:00:00Z"},
                       {"RouteEntrys", {{"RouteEntry", list}}}};
  nlohmann::json body{{"RequestId", "D3C4A6A6-0D57-4F4B-9E5B-6E5B0A2E5C11"},
                      {"TotalCount", 1},
                      {"PageNumber", 1},
                      {"PageSize", 10},
                      {"RouteTables", {{"RouteTable", {table}}}}};
  return body.dump();
}

void BM_ParseDescribeRouteTables200(benchmark::State& state) {
  auto body = route_tables_answer(200);
  for (auto _ : state) {
    auto a = cloud::parse_describe_route_tables(body);
    if (a.tables.at(0).entries.size() != 200) state.SkipWithError("wrong entry count");
    benchmark::DoNotOptimize(a);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) *
                          static_cast<std::int64_t>(body.size()));
}
BENCHMARK(BM_ParseDescribeRouteTables200);

// One DescribeRouteEntryList page as the service (and alivpc-emulator) writes it.
std::string route_entry_list_page(int entries) {
  nlohmann::json list = nlohmann::json::array();
  for (int i = 0; i < entries; ++i) {
    const auto cidr =
        "10." + std::to_string(24 + i / 256) + "." + std::to_string(i % 256) + ".0/24";
    list.push_back({{"RouteEntryId", "rte-bp1mnnr2al0naomnpv" + std::to_string(1000 + i)},
                    {"RouteTableId", "vtb-bp145q7glnuzdvzu2ctaf"},
                    {"DestinationCidrBlock", cidr},
                    {"Status", "Available"},
                    {"Type", "Custom"},
                    {"IpVersion", "ipv4"},
                    {"RouteEntryName", "alivpc:" + cidr},
                    {"Description", "flannel lease " + cidr + " (alivpc route leader)"},
                    {"NextHops",
                     {{"NextHop",
                       {{{"NextHopId", "i-bp1abcdefgh" + std::to_string(100000 + i)},
                         {"NextHopType", "Instance"},
                         {"Enabled", 1},
                         {"Weight", 0}}}}}}});
  }
  nlohmann::json body{{"RequestId", "D3C4A6A6-0D57-4F4B-9E5B-6E5B0A2E5C11"},
                      {"NextToken", "a18000018"},
                      {"RouteEntrys", {{"RouteEntry", list}}}};
  return body.dump();
}

void BM_ParseDescribeRouteEntryList100(benchmark::State& state) {
  auto body = route_entry_list_page(100);
  for (auto _ : state) {
    auto a = cloud::parse_describe_route_entry_list(body);
    if (a.entries.size() != 100) state.SkipWithError("wrong entry count");
    benchmark::DoNotOptimize(a);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) *
                          static_cast<std::int64_t>(body.size()));
}
BENCHMARK(BM_ParseDescribeRouteEntryList100);

}  // namespace
