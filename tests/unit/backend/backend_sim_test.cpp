// The backend on virtual time: the real basic_backend against the VPC model, the etcd model and
// fake hosts (sim/cluster.hpp).
#include "sim_world.hpp"

#include <gtest/gtest.h>

using namespace std::chrono_literals;
using namespace alivpc;
using alivpc_backend_test::world;

TEST(BackendSim, ThreeNodesConverge) {
  world w;
  w.start_nodes(3);
  w.s.run_for(2min);
  std::set<net::ipv4_cidr> subnets;
  for (auto& n : w.c->nodes()) {
    auto& st = n->backend->status();
    ASSERT_TRUE(st.healthy()) << n->instance_id << ": " << st.last_error << n->fatal;
    subnets.insert(st.current_lease->subnet);
    auto routes = w.routes_of(n->instance_id);
    ASSERT_EQ(routes.size(), 1u);
    EXPECT_EQ(routes[0].destination, st.current_lease->subnet);
    EXPECT_EQ(routes[0].status(w.s.now()), sim::entry_status::available);
  }
  EXPECT_EQ(subnets.size(), 3u);
  EXPECT_EQ(w.etcd.keys().size(), 3u);
}

TEST(BackendSim, RestartWithRouteInPlaceMakesNoWrites) {
  world w;
  auto& n = w.c->add_node();
  w.c->start(n);
  w.s.run_for(1min);
  ASSERT_TRUE(n.backend->status().healthy());
  auto subnet = n.backend->status().current_lease->subnet;
  auto creates = w.model.stats().count("CreateRouteEntry", "Success");
  w.c->kill(n);
  w.s.run_for(10s);
  w.c->start(n);
  w.s.run_for(1min);
  ASSERT_TRUE(n.backend->status().healthy()) << n.backend->status().last_error;
  EXPECT_EQ(n.backend->status().current_lease->subnet, subnet);  // its own live lease again
  EXPECT_EQ(w.model.stats().count("CreateRouteEntry", "Success"), creates);
  EXPECT_EQ(w.model.stats().count("DeleteRouteEntry", "Success"), 0u);
}

TEST(BackendSim, DriftIsRepairedWithinOneReconcilePeriod) {
  sim::cluster_options o;
  o.backend.reconcile_period = 1min;
  world w(2, o);
  auto& n = w.c->add_node();
  w.c->start(n);
  w.s.run_for(1min);
  ASSERT_TRUE(n.backend->status().healthy());
  auto subnet = n.backend->status().current_lease->subnet;
  ASSERT_TRUE(w.model.force_delete(w.table(), subnet));
  EXPECT_TRUE(w.routes_of(n.instance_id).empty());
  w.s.run_for(1min + 30s);
  ASSERT_EQ(w.routes_of(n.instance_id).size(), 1u);
  EXPECT_EQ(n.backend->status().repairs, 1u);
  EXPECT_TRUE(n.backend->status().healthy());
}

// A routine check asks for our subnet's entries only: what the cloud sends a node does not grow
// with the table (the whole table is listed on a lease's first pass and every
// full_listing_period). Same seed, same nodes: listing whole every time sends far more.
namespace {
std::uint64_t routine_answer_bytes(int nodes, std::chrono::seconds full_listing_period,
                                   std::chrono::seconds full_listing_spread) {
  sim::cluster_options o;
  o.backend.reconcile_period = 1min;
  o.backend.full_listing_period = full_listing_period;
  o.backend.full_listing_spread = full_listing_spread;
  world w(3, o);
  w.start_nodes(nodes);
  w.s.run_for(5min);
  for (auto& n : w.c->nodes())
    EXPECT_TRUE(n->backend->status().healthy()) << n->instance_id;
  const auto before = w.c->transport().answer_bytes();
  const auto lists = w.model.stats().count("DescribeRouteEntryList", "Success");
  w.s.run_for(20min);
  EXPECT_GE(w.model.stats().count("DescribeRouteEntryList", "Success") - lists,
            static_cast<std::uint64_t>(nodes) * 18);
  return w.c->transport().answer_bytes() - before;
}
}  // namespace

TEST(BackendSim, RoutineChecksListOnlyOurSubnet) {
  const auto filtered = routine_answer_bytes(10, std::chrono::hours(1), 0s);
  const auto whole = routine_answer_bytes(10, 0s, 0s);
  EXPECT_LT(filtered * 3, whole) << "filtered " << filtered << " B, whole " << whole << " B";
}

// The whole table is listed every full_listing_spread per entry when that is longer than
// full_listing_period: 30 nodes on a table of 30 list it whole every 30 min, not every minute.
TEST(BackendSim, WholeTableListingsSpreadWithTheTableSize) {
  const auto spread = routine_answer_bytes(30, 1min, 1min);
  const auto every_minute = routine_answer_bytes(30, 1min, 0s);
  EXPECT_LT(spread * 3, every_minute)
      << "spread " << spread << " B, every minute " << every_minute << " B";
}

TEST(BackendSim, LostLeaseMovesTheRoute) {
  world w(3);
  auto& n = w.c->add_node();
  w.c->start(n);
  w.s.run_for(1min);
  auto old = n.backend->status().current_lease->subnet;
  // Someone deletes our key (etcdctl del): the watch reports it, the node re-acquires.
  w.etcd.revoke(n.backend->status().current_lease->lease_id);
  w.s.run_for(2min);
  auto& st = n.backend->status();
  ASSERT_TRUE(st.healthy()) << st.last_error;
  EXPECT_EQ(st.lease_losses, 1u);
  auto routes = w.routes_of(n.instance_id);
  ASSERT_EQ(routes.size(), 1u);
  EXPECT_EQ(routes[0].destination, st.current_lease->subnet);
  (void)old;
}

TEST(BackendSim, QuotaFullNodeWaitsAndSucceedsWhenASlotFrees) {
  world w(4);
  w.model.config().quota_per_table = 2;
  w.start_nodes(3);
  w.s.run_for(3min);
  int healthy = 0;
  sim::cluster::node* stuck = nullptr;
  for (auto& n : w.c->nodes()) {
    if (n->backend->status().healthy())
      ++healthy;
    else
      stuck = n.get();
  }
  ASSERT_EQ(healthy, 2);
  ASSERT_NE(stuck, nullptr);
  EXPECT_NE(stuck->backend->status().last_error.find("uota"), std::string::npos)
      << stuck->backend->status().last_error;
  w.model.config().quota_per_table = 3;  // a quota increase (or a slot freed)
  w.s.run_for(5min);
  EXPECT_TRUE(stuck->backend->status().healthy()) << stuck->backend->status().last_error;
}

TEST(BackendSim, OverlapWithTheVpcIsFatalBeforeAnyLease) {
  sim::cluster_options o;
  o.network_config = R"({"Network":"192.168.0.0/16","Backend":{"Type":"ali-vpc"}})";
  world w(5, o);
  auto& n = w.c->add_node();
  w.c->start(n);
  w.s.run_for(1min);
  EXPECT_TRUE(n.finished);
  EXPECT_NE(n.fatal.find("overlaps the VPC CIDR"), std::string::npos) << n.fatal;
  EXPECT_TRUE(w.etcd.keys().empty());
}

TEST(BackendSim, ClassicStrategyDiesOnTheFirstApiError) {
  sim::cluster_options o;
  o.backend.mode = backend::strategy::classic;
  world w(6, o);
  w.model.config().faults.push_back({"CreateRouteEntry", 1.0, sim::fault_kind::internal_error});
  auto& n = w.c->add_node();
  w.c->start(n);
  w.s.run_for(2min);
  EXPECT_TRUE(n.finished);
  EXPECT_NE(n.fatal.find("InternalError"), std::string::npos) << n.fatal;
}

// As users ran it: the DaemonSet restarts the dead daemon with CrashLoopBackOff (10 s, 20 s,
// 40 s, ...), and once the VPC answers again the node gets ready. The exited incarnation leaves
// nothing running behind it.
TEST(BackendSim, ClassicIsRestartedWithCrashLoopBackOffUntilItGetsThrough) {
  sim::cluster_options o;
  o.backend.mode = backend::strategy::classic;
  o.supervisor = sim::crash_loop_policy{};
  world w(6, o);
  w.model.config().faults.push_back({"CreateRouteEntry", 1.0, sim::fault_kind::internal_error});
  auto& n = w.c->add_node();
  w.c->start(n);
  std::vector<time_point> starts;  // when each incarnation began
  for (int i = 0; i < 200 && w.s.now() < time_point{} + 3min; ++i) {
    if (starts.empty() || n.incarnation_started != starts.back())
      starts.push_back(n.incarnation_started);
    w.s.run_for(1s);
  }
  ASSERT_GE(starts.size(), 4u);
  // Each wait is the exit-to-start gap: about 10 s, then 20 s, then 40 s (plus the run itself).
  EXPECT_GE(starts[2] - starts[1], starts[1] - starts[0] + 9s);
  EXPECT_GE(starts[3] - starts[2], starts[2] - starts[1] + 19s);
  EXPECT_EQ(n.restarts, static_cast<int>(starts.size()) - 1);
  w.model.config().faults.clear();
  w.s.run_for(10min);
  ASSERT_TRUE(n.backend->status().healthy()) << n.backend->status().last_error;
  EXPECT_EQ(w.routes_of(n.instance_id).size(), 1u);
  EXPECT_EQ(w.etcd.keys().size(), 1u);  // no zombie incarnation holding a second lease
}

// Found by the simulated-cluster property: a kill and a restart in the same instant. The killed
// incarnation unwinds after the new one started and must not mark the node as exited.
TEST(BackendSim, KillAndRestartInTheSameInstant) {
  world w(8);
  auto& n = w.c->add_node();
  w.c->start(n);
  w.s.run_for(1min);
  ASSERT_TRUE(n.backend->status().healthy());
  w.c->kill(n);
  w.c->start(n);
  w.s.run_for(2min);
  EXPECT_FALSE(n.finished) << n.fatal;
  EXPECT_TRUE(n.backend->status().healthy()) << n.backend->status().last_error;
  ASSERT_TRUE(n.first_ready_at && n.started_at);
  EXPECT_LT(*n.started_at, *n.first_ready_at);
}

// Found by the simulated-cluster property: a node that starts while etcd is down waits for it
// (as flanneld does) instead of exiting.
TEST(BackendSim, NodeStartedDuringAnEtcdOutageWaitsForEtcd) {
  world w(9);
  w.etcd.set_outage(true);
  auto& n = w.c->add_node();
  w.c->start(n);
  w.s.run_for(3min);
  EXPECT_FALSE(n.finished) << n.fatal;
  w.etcd.set_outage(false);
  w.s.run_for(2min);
  EXPECT_FALSE(n.finished) << n.fatal;
  EXPECT_TRUE(n.backend->status().healthy()) << n.backend->status().last_error;
}
