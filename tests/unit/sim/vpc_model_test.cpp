#include <alivpc/runtime/virtual_scheduler.hpp>
#include <alivpc/sim/vpc_model.hpp>

#include <gtest/gtest.h>

using namespace std::chrono_literals;
using alivpc::time_point;
using alivpc::net::ipv4_address;
using alivpc::net::ipv4_cidr;
namespace sim = alivpc::sim;

namespace {
struct world {
  sim::vpc_model model;
  std::string vpc, table, instance = "i-1";
  explicit world(sim::model_config cfg = {}) : model(std::move(cfg), 7) {
    auto& v = model.add_vpc("cn-hangzhou", ipv4_cidr::parse("192.168.0.0/16"));
    vpc = v.id;
    table = v.system_table_id;
    auto& vs = model.add_vswitch(vpc, "cn-hangzhou-h", ipv4_cidr::parse("192.168.0.0/24"));
    model.add_instance("i-1", vs.id, ipv4_address::parse("192.168.0.10"));
    model.add_instance("i-2", vs.id, ipv4_address::parse("192.168.0.11"));
  }
  std::string create(const std::string& dest, time_point now, const std::string& hop = "i-1") {
    return model.create_route_entry({table, dest, "Instance", hop, ""}, now);
  }
};
std::string code_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const sim::api_failure& e) {
    return e.code();
  }
  return "Success";
}
const time_point t0{};
}  // namespace

TEST(VpcModel, SystemTableHoldsSystemEntriesForVSwitchesAndTheReservedRange) {
  world w;
  auto es = w.model.entries(w.table, t0);
  ASSERT_EQ(es.size(), 2u);
  for (auto& e : es)
    EXPECT_TRUE(e.system);
  EXPECT_EQ(es[0].status(t0), sim::entry_status::available);
}

TEST(VpcModel, CreatedEntryIsPendingForTheWriteDelayThenAvailable) {
  world w;
  w.create("10.24.5.0/24", t0);
  auto find = [&](time_point now) {
    for (auto& e : w.model.entries(w.table, now))
      if (e.destination == ipv4_cidr::parse("10.24.5.0/24")) return e.status(now);
    return sim::entry_status::gone;
  };
  EXPECT_EQ(find(t0 + 999ms), sim::entry_status::pending);
  EXPECT_EQ(find(t0 + 1s), sim::entry_status::available);
}

TEST(VpcModel, WritesDuringATransitionConflict) {
  world w;
  w.model.add_custom_table(w.vpc, {}, "vtb-custom");
  w.create("10.24.5.0/24", t0);
  EXPECT_EQ(code_of([&] { w.create("10.24.6.0/24", t0 + 10ms); }), "IncorrectRouteEntryStatus");
  EXPECT_EQ(code_of([&] {
              w.model.create_route_entry({"vtb-custom", "10.24.6.0/24", "Instance", "i-1", ""},
                                         t0 + 10ms);
            }),
            "TaskConflict");
  EXPECT_EQ(code_of([&] {
              w.model.delete_route_entry({w.table, "10.24.5.0/24", "", ""}, t0 + 10ms);
            }),
            "IncorrectRouteEntryStatus");
  EXPECT_EQ(code_of([&] { w.create("10.24.6.0/24", t0 + 1s); }), "Success");
}

TEST(VpcModel, DeleteGoesThroughDeletingThenTheEntryIsGone) {
  world w;
  w.create("10.24.5.0/24", t0);
  w.model.delete_route_entry({w.table, "10.24.5.0/24", "i-1", ""}, t0 + 2s);
  auto es = w.model.entries(w.table, t0 + 2500ms);
  ASSERT_EQ(es.size(), 3u);
  EXPECT_EQ(es.front().destination, ipv4_cidr::parse("10.24.5.0/24"));  // destination order
  EXPECT_EQ(es.front().status(t0 + 2500ms), sim::entry_status::deleting);
  EXPECT_EQ(w.model.entries(w.table, t0 + 3s).size(), 2u);
  EXPECT_EQ(code_of([&] {
              w.model.delete_route_entry({w.table, "10.24.5.0/24", "", ""}, t0 + 4s);
            }),
            "InvalidRouteEntry.NotFound");
}

TEST(VpcModel, RefusesBadInput) {
  world w;
  EXPECT_EQ(code_of([&] { w.create("100.64.1.0/24", t0); }), "OperationDenied");
  EXPECT_EQ(code_of([&] { w.create("10.0.0.1/33", t0); }), "InvalidCidrBlock.Malformed");
  EXPECT_EQ(code_of([&] { w.create("192.168.0.0/24", t0); }), "RouterEntryConflict.Duplicated");
  EXPECT_EQ(code_of([&] { w.create("10.1.0.0/24", t0, "i-nope"); }), "InvalidInstanceId.NotFound");
  EXPECT_EQ(code_of([&] {
              w.model.create_route_entry({"vtb-x", "10.1.0.0/24", "Instance", "i-1", ""}, t0);
            }),
            "InvalidRouteTableId.NotFound");
  EXPECT_EQ(code_of([&] {
              w.model.create_route_entry({w.table, "10.1.0.0/24", "Instance", "", ""}, t0);
            }),
            "MissingParameter");
  EXPECT_EQ(
      code_of([&] {
        w.model.create_route_entry({w.table, "10.1.0.0/24", "NetworkInterface", "eni-x", ""}, t0);
      }),
      "InvalidNextHopId.NotFound");
  EXPECT_EQ(code_of([&] {
              w.model.delete_route_entry({w.table, "192.168.0.0/24", "", ""}, t0);
            }),
            "OperationDenied");
}

TEST(VpcModel, NetworkInterfaceNextHopUsesTheInstancesEni) {
  world w;
  auto eni = w.model.find_instance("i-2")->eni_id;
  EXPECT_EQ(code_of([&] {
              w.model.create_route_entry({w.table, "10.1.0.0/24", "NetworkInterface", eni, ""}, t0);
            }),
            "Success");
}

TEST(VpcModel, QuotaIsASetting) {
  sim::model_config cfg;
  cfg.quota_per_table = 2;
  cfg.write_delay = 0ms;
  world w(cfg);
  w.create("10.0.1.0/24", t0);
  w.create("10.0.2.0/24", t0);
  EXPECT_EQ(code_of([&] { w.create("10.0.3.0/24", t0); }), "QuotaExceeded");
  w.model.config().quota_per_table = 3;
  EXPECT_EQ(code_of([&] { w.create("10.0.3.0/24", t0); }), "Success");
}

// A released instance's routes stay (Available, counted against the quota) until deleted; no
// new route can name it.
TEST(VpcModel, ReleasedInstanceLeavesItsRoutesBehind) {
  sim::model_config cfg;
  cfg.quota_per_table = 2;
  cfg.write_delay = 0ms;
  world w(cfg);
  w.create("10.0.1.0/24", t0, "i-1");
  w.create("10.0.2.0/24", t0, "i-2");
  ASSERT_TRUE(w.model.remove_instance("i-1"));
  EXPECT_FALSE(w.model.remove_instance("i-1"));
  EXPECT_EQ(w.model.find_instance("i-1"), nullptr);
  int left_behind = 0;
  for (auto& e : w.model.entries(w.table, t0 + 1h))
    if (e.next_hop_id == "i-1" && e.status(t0 + 1h) == sim::entry_status::available) ++left_behind;
  EXPECT_EQ(left_behind, 1);
  EXPECT_EQ(code_of([&] { w.create("10.0.3.0/24", t0 + 1h, "i-2"); }), "QuotaExceeded");
  w.model.config().quota_per_table = 3;
  EXPECT_EQ(code_of([&] { w.create("10.0.3.0/24", t0 + 1h, "i-1"); }),
            "InvalidInstanceId.NotFound");
  EXPECT_EQ(code_of([&] {
              w.model.delete_route_entry({w.table, "10.0.1.0/24", "i-1", ""}, t0 + 1h);
            }),
            "Success");
}

TEST(VpcModel, ClientTokenMakesCreateIdempotent) {
  world w;
  auto a = w.model.create_route_entry({w.table, "10.0.1.0/24", "Instance", "i-1", "tok"}, t0);
  auto b = w.model.create_route_entry({w.table, "10.0.1.0/24", "Instance", "i-1", "tok"}, t0 + 1ms);
  EXPECT_EQ(a, b);
  EXPECT_EQ(
      code_of([&] {
        w.model.create_route_entry({w.table, "10.0.2.0/24", "Instance", "i-1", "tok"}, t0 + 2s);
      }),
      "IdempotentParameterMismatch");
}

TEST(VpcModel, TokenBucketThrottlesPerActionAndRefills) {
  sim::model_config cfg;
  cfg.throttle_per_minute["DescribeVpcs"] = 2;
  world w(cfg);
  EXPECT_EQ(code_of([&] { w.model.admit("DescribeVpcs", "a", t0); }), "Success");
  EXPECT_EQ(code_of([&] { w.model.admit("DescribeVpcs", "a", t0); }), "Success");
  EXPECT_EQ(code_of([&] { w.model.admit("DescribeVpcs", "a", t0); }), "Throttling.User");
  EXPECT_EQ(code_of([&] { w.model.admit("DescribeVpcs", "b", t0); }), "Success");
  EXPECT_EQ(code_of([&] { w.model.admit("CreateRouteEntry", "a", t0); }), "Success");
  EXPECT_EQ(code_of([&] { w.model.admit("DescribeVpcs", "a", t0 + 30s); }), "Success");
}

TEST(VpcModel, FaultsAndOutages) {
  sim::model_config cfg;
  cfg.faults.push_back({"CreateRouteEntry", 1.0, sim::fault_kind::service_unavailable});
  cfg.outages.push_back({t0 + 10s, t0 + 20s, "*", sim::fault_kind::internal_error});
  cfg.faults.push_back({"DeleteRouteEntry", 1.0, sim::fault_kind::drop});
  world w(cfg);
  EXPECT_EQ(code_of([&] { w.model.admit("CreateRouteEntry", "a", t0); }), "ServiceUnavailable");
  EXPECT_EQ(code_of([&] { w.model.admit("DescribeVpcs", "a", t0 + 15s); }), "InternalError");
  EXPECT_EQ(code_of([&] { w.model.admit("DescribeVpcs", "a", t0 + 20s); }), "Success");
  EXPECT_EQ(w.model.admit("DeleteRouteEntry", "a", t0), sim::admission::drop);
  w.model.config().faults.push_back({"DescribeVRouters", 1.0, sim::fault_kind::timeout});
  EXPECT_EQ(w.model.admit("DescribeVRouters", "a", t0), sim::admission::timeout);
}

TEST(VpcModel, LatencyDistributionsAreSeededAndInRange) {
  alivpc::prng rng(3);
  auto u = sim::latency_distribution::uniform(10ms, 20ms);
  for (int i = 0; i < 100; ++i) {
    auto d = u.draw(rng);
    EXPECT_GE(d, 10ms);
    EXPECT_LE(d, 20ms);
  }
  EXPECT_EQ(sim::latency_distribution::fixed(7ms).draw(rng), 7ms);
  auto ln = sim::latency_distribution::log_normal(50ms, 0.5);
  alivpc::prng a(9), b(9);
  EXPECT_EQ(ln.draw(a), ln.draw(b));
  EXPECT_GT(ln.draw(a), 0ms);
}
