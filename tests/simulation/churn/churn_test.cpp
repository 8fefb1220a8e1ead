// Nodes that join and leave (scenario join/leave events and churn), run as alivpc-simulate runs
// them: a leave terminates the instance without cleanup, so its route stays in the table, counts
// against the quota and is reported as stale; a joined node gets its subnet and route. The
// daemon has no one who removes a departed node's route, so churn fills a table to its quota.
#include <alivpc/sim/scenario_runner.hpp>

#include <gtest/gtest.h>

#include <string>

using namespace std::chrono_literals;
using namespace alivpc;

namespace {

sim::scenario parse(const std::string& text) {
  return sim::parse_scenario(text);
}

const char* churn_run = R"({"name":"churn-short","seed":3,"nodes":6,"duration":"3h","quota":50,
  "write_delay":"1s","latency":{"*":{"kind":"fixed","value":"50ms"}},"start_spread":"10s",
  "churn":{"per_hour":4},
  "events":[{"at":"20m","kind":"leave","node":1},{"at":"25m","kind":"join","count":2}]})";

}  // namespace

// Three nodes; node 0 leaves, one joins: its route stays behind (stale), the new node is ready.
TEST(Churn, ALeaveLeavesItsRouteAndAJoinGetsReady) {
  auto sc = parse(R"({"seed":2,"nodes":3,"duration":"1h","write_delay":"1s",
    "latency":{"*":{"kind":"fixed","value":"50ms"}},"start_spread":"5s",
    "events":[{"at":"5m","kind":"leave","node":0},{"at":"6m","kind":"join"}]})");
  auto r = sim::run_scenario(sc);
  EXPECT_EQ(r.joins, 1);
  EXPECT_EQ(r.leaves, 1);
  EXPECT_EQ(r.ready_seconds.size(), 4u);  // the joined node's ready time counts
  EXPECT_EQ(r.never_ready, 0);
  EXPECT_EQ(r.stale_routes, 1);  // node 0's
  EXPECT_EQ(r.table_entries_final, 4);
  EXPECT_EQ(r.table_entries_peak, 4);
  EXPECT_LT(r.table_full_at_s, 0);
  EXPECT_TRUE(r.safe()) << r.to_json().dump();
  EXPECT_TRUE(r.live) << r.liveness_detail;  // node 0 is not judged
}

// The cluster's side: the instance is gone from the VPC, its route entry is not, the node does
// not start again, and its dead process is freed an hour later.
TEST(Churn, TheDepartedInstanceIsGoneFromTheModelButItsRouteStays) {
  virtual_scheduler s(4);
  sim::model_config mc;
  mc.write_delay = 1s;
  sim::vpc_model model(mc, 4);
  sim::memory_etcd<virtual_scheduler> etcd(s);
  auto c = std::make_unique<sim::cluster>(s, model, etcd);
  const std::string table = model.find_vpc(c->vpc_id())->system_table_id;
  auto& a = c->add_node();
  auto& b = c->add_node();
  c->start(a);
  c->start(b);
  s.run_for(2min);
  ASSERT_TRUE(a.backend->status().healthy()) << a.backend->status().last_error;
  const auto subnet = a.backend->status().current_lease->subnet;
  c->leave(a);
  EXPECT_TRUE(a.left);
  EXPECT_FALSE(a.running);
  EXPECT_EQ(model.find_instance(a.instance_id), nullptr);
  EXPECT_NE(model.find_instance(b.instance_id), nullptr);
  c->start(a);  // a terminated instance does not come back
  EXPECT_FALSE(a.running);
  s.run_for(61min);
  int left_behind = 0;
  for (auto& e : model.entries(table, s.now()))
    if (e.next_hop_id == a.instance_id && e.destination == subnet &&
        e.status(s.now()) == sim::entry_status::available)
      ++left_behind;
  EXPECT_EQ(left_behind, 1);
  auto& joined = c->add_node();
  EXPECT_EQ(joined.index, 2);
  EXPECT_EQ(joined.instance_id, "i-sim00002");
  // An hour after it left, its dead process is freed (memory stays flat under churn).
  EXPECT_TRUE(a.graveyard.empty());
  EXPECT_EQ(a.backend, nullptr);
  c->start(joined);
  s.run_for(2min);
  EXPECT_TRUE(joined.backend->status().healthy()) << joined.backend->status().last_error;
  c.reset();
}

// Churn with the self-writing daemon: joins and leaves counted (events and churn), the routes of
// departed nodes stale, joined nodes ready.
TEST(Churn, ShortChurnRunCountsJoinsLeavesAndStaleRoutes) {
  auto r = sim::run_scenario(parse(churn_run));
  EXPECT_GE(r.leaves, 5);            // 1 by event and about 4 an hour for 2 h 35 min by churn
  EXPECT_EQ(r.joins, r.leaves + 1);  // the join event brings 2
  EXPECT_GE(r.stale_routes, r.leaves - r.left_never_ready);  // every departed ready node's
  EXPECT_LE(r.stale_routes, r.leaves);
  EXPECT_EQ(static_cast<int>(r.ready_seconds.size()) + r.never_ready + r.left_never_ready,
            6 + r.joins);
  EXPECT_GT(static_cast<int>(r.ready_seconds.size()), 6);  // joined nodes got ready
  EXPECT_EQ(r.table_entries_final, static_cast<int>(r.ready_seconds.size()));
  EXPECT_TRUE(r.safe()) << r.to_json().dump();
  EXPECT_TRUE(r.live) << r.liveness_detail;
}

// The leak: churn fills a small table, then new nodes fail with QuotaExceeded and never get
// ready.
TEST(Churn, ChurnFillsTheTableAndNewNodesNeverGetReady) {
  auto r = sim::run_scenario(parse(R"({"seed":9,"nodes":4,"duration":"4h","quota":6,
    "write_delay":"1s","latency":{"*":{"kind":"fixed","value":"50ms"}},"start_spread":"10s",
    "churn":{"per_hour":3}})"));
  EXPECT_EQ(r.table_entries_peak, 6);
  EXPECT_EQ(r.table_entries_final, 6);
  EXPECT_GT(r.table_full_at_s, 0);
  EXPECT_GT(r.stale_routes, 0);
  EXPECT_GT(r.never_ready, 0);
  EXPECT_GT(r.api_calls["CreateRouteEntry"]["QuotaExceeded"], 0u);
  EXPECT_FALSE(r.live);
  EXPECT_TRUE(r.safe()) << r.to_json().dump();
}

TEST(Churn, SameSeedSameReport) {
  auto a = sim::run_scenario(parse(churn_run)).to_json();
  auto b = sim::run_scenario(parse(churn_run)).to_json();
  EXPECT_EQ(a.dump(), b.dump());
}
