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

// ---- CreateRouteEntries / DeleteRouteEntries --------------------------------------------------

namespace {
sim::batch_route_entry add(const std::string& table, const std::string& dest,
                           const std::string& hop = "i-1") {
  return {table, dest, "Instance", hop};
}
sim::batch_route_entry del(const std::string& table, const std::string& dest,
                           const std::string& hop = "") {
  return {table, dest, "", hop};
}
sim::batch_route_entry del_id(const std::string& table, const std::string& id) {
  sim::batch_route_entry e{table, "", "", ""};
  e.route_entry_id = id;
  return e;
}
// FailedCode by DstCidrBlock.
std::map<std::string, std::string> failures(const sim::batch_route_result& r) {
  std::map<std::string, std::string> out;
  for (const auto& f : r.failed)
    out[f.destination] = f.code;
  return out;
}
std::string batch_code_of(const std::function<sim::batch_route_result()>& f) {
  try {
    f();
  } catch (const sim::api_failure& e) {
    return e.code();
  }
  return "Success";
}
}  // namespace

TEST(VpcModelBatch, EachEntryIsJudgedOnItsOwnAndTheGoodOnesArePending) {
  sim::model_config cfg;
  cfg.quota_per_table = 3;
  world w(cfg);
  w.model.force_create(w.table, ipv4_cidr::parse("10.24.9.0/24"), "Instance", "i-2");
  auto e1 = add(w.table, "10.24.1.0/24");
  e1.name = "alivpc:10.24.1.0/24";
  e1.description = "lease of node i-1";
  auto r = w.model.create_route_entries(
      {{e1, add(w.table, "10.24.9.0/24"),                                    // taken
        add(w.table, "100.64.1.0/24"),                                       // reserved
        add(w.table, "10.24.3.0/24", "i-9"),                                 // no such hop
        add(w.table, "10.24.1.0/24"),                                        // twice here
        add(w.table, "10.24.4.0/24", "i-2"), add(w.table, "10.24.5.0/24")},  // past the quota of 3
       false},
      t0);
  EXPECT_EQ(r.success_count, 2u);
  ASSERT_EQ(r.route_entry_ids.size(), 2u);
  ASSERT_EQ(r.failed.size(), 5u);
  EXPECT_EQ(r.failed[0].index, 1u);
  EXPECT_EQ(r.failed[0].next_hop_id, "i-1");
  EXPECT_EQ(r.failed[0].code, "VPC_ROUTE_ENTRY_CIDR_BLOCK_DUPLICATE");
  EXPECT_EQ(r.failed[1].code, "OperationDenied");
  EXPECT_EQ(r.failed[2].code, "InvalidInstanceId.NotFound");
  EXPECT_EQ(r.failed[3].code, "VPC_ROUTE_ENTRY_CIDR_BLOCK_DUPLICATE");
  EXPECT_EQ(r.failed[3].index, 4u);
  EXPECT_EQ(r.failed[4].code, "QuotaExceeded");
  EXPECT_EQ(r.failed[4].destination, "10.24.5.0/24");
  auto es = w.model.entries(w.table, t0 + 10ms);
  ASSERT_EQ(es.size(), 2u + 3u);
  for (const auto& e : es) {
    if (e.destination != ipv4_cidr::parse("10.24.1.0/24")) continue;
    EXPECT_EQ(e.id, r.route_entry_ids[0]);
    EXPECT_EQ(e.status(t0 + 10ms), sim::entry_status::pending);
    EXPECT_EQ(e.status(t0 + 1s), sim::entry_status::available);
    EXPECT_EQ(e.name, "alivpc:10.24.1.0/24");
    EXPECT_EQ(e.description, "lease of node i-1");
  }
}

TEST(VpcModelBatch, ABatchIsOneWriteAndWaitsForTheOneBeforeIt) {
  world w;
  w.model.add_custom_table(w.vpc, {}, "vtb-custom");
  // One batch over two tables of the VPC.
  auto r = w.model.create_route_entries(
      {{add(w.table, "10.24.1.0/24"), add("vtb-custom", "10.24.2.0/24")}, false}, t0);
  EXPECT_EQ(r.success_count, 2u);
  auto again = [&](std::vector<sim::batch_route_entry> es, time_point at) {
    return [&w, es, at] { return w.model.create_route_entries({es, false}, at); };
  };
  EXPECT_EQ(batch_code_of(again({add(w.table, "10.24.3.0/24")}, t0 + 10ms)),
            "IncorrectRouteEntryStatus");
  w.model.add_custom_table(w.vpc, {}, "vtb-other");
  EXPECT_EQ(batch_code_of(again({add("vtb-other", "10.24.3.0/24")}, t0 + 10ms)), "TaskConflict");
  EXPECT_EQ(
      batch_code_of([&] {
        return w.model.delete_route_entries({{del(w.table, "192.168.0.0/24")}, false}, t0 + 10ms);
      }),
      "IncorrectRouteEntryStatus");
  // The same batch again while it is in progress (say, resent after a lost answer): not
  // refused, its entries fail on their own; once settled they are duplicates.
  auto resent = w.model.create_route_entries(
      {{add(w.table, "10.24.1.0/24"), add("vtb-custom", "10.24.2.0/24")}, false}, t0 + 10ms);
  EXPECT_EQ(resent.success_count, 0u);
  EXPECT_EQ(failures(resent)["10.24.1.0/24"], "VPC_ROUTE_ENTRY_STATUS_ERROR");
  EXPECT_EQ(failures(resent)["10.24.2.0/24"], "VPC_ROUTE_ENTRY_STATUS_ERROR");
  resent = w.model.create_route_entries({{add(w.table, "10.24.1.0/24")}, false}, t0 + 1s);
  EXPECT_EQ(failures(resent)["10.24.1.0/24"], "VPC_ROUTE_ENTRY_CIDR_BLOCK_DUPLICATE");
  EXPECT_EQ(batch_code_of(again({add(w.table, "10.24.3.0/24")}, t0 + 1s)), "Success");
}

TEST(VpcModelBatch, DryRunJudgesEveryEntryAndChangesNothing) {
  world w;
  auto before = w.model.entries(w.table, t0);
  auto r = w.model.create_route_entries(
      {{add(w.table, "10.24.1.0/24"), add(w.table, "192.168.0.0/24")}, true}, t0);
  EXPECT_EQ(r.success_count, 1u);
  EXPECT_TRUE(r.route_entry_ids.empty());
  ASSERT_EQ(r.failed.size(), 1u);
  EXPECT_EQ(r.failed[0].code, "VPC_ROUTE_ENTRY_CIDR_BLOCK_DUPLICATE");
  EXPECT_EQ(w.model.entries(w.table, t0).size(), before.size());
  // Nothing is in progress after a dry run, and the ids drawn later are the same.
  world other;
  auto id = w.create("10.24.1.0/24", t0);
  EXPECT_EQ(id, other.create("10.24.1.0/24", t0));
  auto d = w.model.delete_route_entries({{del(w.table, "10.24.1.0/24")}, true}, t0 + 1s);
  EXPECT_EQ(d.success_count, 1u);
  EXPECT_EQ(w.model.entries(w.table, t0 + 1s).front().status(t0 + 1s),
            sim::entry_status::available);
}

TEST(VpcModelBatch, RefusesMoreThanFiftyEntriesAndMalformedOnesWhole) {
  world w;
  std::vector<sim::batch_route_entry> es;
  for (int i = 0; i < 51; ++i)
    es.push_back(add(w.table, "10.24." + std::to_string(i) + ".0/24"));
  try {
    w.model.create_route_entries({es, false}, t0);
    FAIL() << "51 entries accepted";
  } catch (const sim::api_failure& e) {
    EXPECT_EQ(e.code(), "InvalidParameter");
    std::string m = e.what();
    EXPECT_NE(m.find("51 entries, at most 50 per call"), std::string::npos) << m;
  }
  EXPECT_EQ(w.model.entries(w.table, t0).size(), 2u);
  es.pop_back();
  EXPECT_EQ(w.model.create_route_entries({es, true}, t0).success_count, 50u);
  auto code_and_message = [&](std::vector<sim::batch_route_entry> es) -> std::string {
    try {
      w.model.create_route_entries({es, false}, t0);
    } catch (const sim::api_failure& e) {
      return e.what();
    }
    return "Success";
  };
  EXPECT_EQ(code_and_message({}).substr(0, 16), "MissingParameter");
  auto m = code_and_message({add(w.table, "10.24.1.0/24"), add(w.table, "10.24.300.0/24")});
  EXPECT_NE(m.find("InvalidCidrBlock.Malformed"), std::string::npos) << m;
  EXPECT_NE(m.find("RouteEntries.2.DstCidrBlock"), std::string::npos) << m;
  m = code_and_message({add(w.table, "10.24.1.0/24", "")});
  EXPECT_NE(m.find("RouteEntries.1.NextHop"), std::string::npos) << m;
  m = code_and_message({add("vtb-nope", "10.24.1.0/24")});
  EXPECT_NE(m.find("InvalidRouteTableId.NotFound"), std::string::npos) << m;
  EXPECT_EQ(w.model.entries(w.table, t0).size(), 2u);
}

TEST(VpcModelBatch, DeletesByIdOrByDestinationAndNextHopOnlyAvailableEntries) {
  world w;
  auto r = w.model.create_route_entries(
      {{add(w.table, "10.24.1.0/24"), add(w.table, "10.24.2.0/24", "i-2"),
        add(w.table, "10.24.3.0/24")},
       false},
      t0);
  ASSERT_EQ(r.success_count, 3u);
  // Pending entries are not deleted (named by the batch, they do not block it: they fail).
  auto d = w.model.delete_route_entries(
      {{del_id(w.table, r.route_entry_ids[0]), del(w.table, "10.24.2.0/24", "i-2"),
        del(w.table, "10.24.3.0/24")},
       false},
      t0);
  EXPECT_EQ(d.success_count, 0u);
  EXPECT_EQ(failures(d)["10.24.1.0/24"], "VPC_ROUTE_ENTRY_STATUS_ERROR");
  EXPECT_EQ(failures(d)["10.24.2.0/24"], "VPC_ROUTE_ENTRY_STATUS_ERROR");
  EXPECT_EQ(failures(d)["10.24.3.0/24"], "VPC_ROUTE_ENTRY_STATUS_ERROR");
  d = w.model.delete_route_entries(
      {{del_id(w.table, r.route_entry_ids[0]), del(w.table, "10.24.2.0/24", "i-2"),
        del(w.table, "10.24.3.0/24", "i-2"),  // not its next hop
        del(w.table, "10.24.7.0/24"), del_id(w.table, "rte-nope"), del(w.table, "192.168.0.0/24")},
       false},
      t0 + 1s);
  EXPECT_EQ(d.success_count, 2u);
  EXPECT_EQ(d.route_entry_ids,
            (std::vector<std::string>{r.route_entry_ids[0], r.route_entry_ids[1]}));
  ASSERT_EQ(d.failed.size(), 4u);
  EXPECT_EQ(d.failed[0].code, "VPC_ROUTER_ENTRY_NOT_EXIST");
  EXPECT_EQ(d.failed[0].destination, "10.24.3.0/24");
  EXPECT_EQ(d.failed[0].next_hop_id, "i-2");
  EXPECT_EQ(d.failed[1].code, "VPC_ROUTER_ENTRY_NOT_EXIST");
  EXPECT_EQ(d.failed[2].code, "VPC_ROUTER_ENTRY_NOT_EXIST");
  EXPECT_EQ(d.failed[2].index, 4u);
  EXPECT_EQ(d.failed[3].code, "OperationDenied");
  auto es = w.model.entries(w.table, t0 + 1500ms);
  EXPECT_EQ(es.size(), 2u + 3u);
  EXPECT_EQ(es.front().status(t0 + 1500ms), sim::entry_status::deleting);
  EXPECT_EQ(w.model.entries(w.table, t0 + 2s).size(), 2u + 1u);
}
