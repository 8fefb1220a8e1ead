// Lease and route safety on virtual time (issue: renewal that never waits for route work, lease
// identity, fencing, a watch that cannot miss our loss). Each test failed on the backend that ran
// lease renewal and route work in one loop.
#include "sim_world.hpp"

#include <gtest/gtest.h>

using namespace std::chrono_literals;
using namespace alivpc;
using alivpc_backend_test::world;

namespace {
const char* one_subnet_config =
    R"({"Network":"10.24.0.0/16","SubnetMin":"10.24.5.0","SubnetMax":"10.24.5.0",)"
    R"("Backend":{"Type":"ali-vpc"}})";
}  // namespace

// The cloud fails for five TTLs: the lease is renewed on time all along, and the node, whose
// route was Available when the cloud went away, stays ready (readiness follows the route).
TEST(LeaseSafety, RenewalNeverWaitsForTheCloud) {
  sim::cluster_options o;
  o.backend.lease_ttl = 2min;
  o.backend.renew_margin = 1min;
  o.backend.reconcile_period = 30s;
  world w(11, o);
  auto& n = w.c->add_node();
  w.c->start(n);
  w.s.run_for(1min);
  ASSERT_TRUE(n.backend->status().healthy()) << n.backend->status().last_error;
  auto subnet = n.backend->status().current_lease->subnet;
  w.cloud_outage(10min);
  for (int i = 0; i < 600; ++i) {
    w.s.run_for(1s);
    ASSERT_TRUE(w.leased(subnet)) << "lease gone after " << i << " s of cloud outage";
  }
  auto& st = n.backend->status();
  EXPECT_EQ(st.lease_losses, 0u);
  EXPECT_GE(st.lease_renewals, 8u);
  EXPECT_TRUE(st.ready) << st.last_error;
  EXPECT_GT(st.errors, 0u);  // the failing checks were reported
}

// etcd rebuilt from nothing (data lost, config published again): every node notices at once,
// claims its subnet again and leaves its route alone.
TEST(LeaseSafety, AnEtcdThatLostItsDataGetsOurLeasesBackWithoutRouteWrites) {
  sim::cluster_options o;
  o.verbose = getenv("VERBOSE") != nullptr;
  world w(12, o);
  w.start_nodes(3);
  w.s.run_for(2min);
  std::map<std::string, net::ipv4_cidr> before;
  for (auto& n : w.c->nodes()) {
    ASSERT_TRUE(n->backend->status().healthy()) << n->backend->status().last_error;
    before[n->instance_id] = n->backend->status().current_lease->subnet;
  }
  const auto writes = w.writes();
  const auto config = *w.etcd.config();
  w.etcd.wipe();
  w.etcd.put_config(config);
  w.s.run_for(15s);
  EXPECT_EQ(w.etcd.keys().size(), 3u);
  for (auto& n : w.c->nodes()) {
    auto& st = n->backend->status();
    EXPECT_EQ(st.lease_losses, 1u) << n->instance_id;
    EXPECT_EQ(st.lease_reclaims, 1u) << n->instance_id << ": " << st.last_error;
    ASSERT_TRUE(st.current_lease);
    EXPECT_EQ(st.current_lease->subnet, before[n->instance_id]);
    EXPECT_TRUE(w.leased(before[n->instance_id]));
  }
  w.s.run_for(10min);
  EXPECT_EQ(w.writes(), writes);  // no route was deleted or created
  for (auto& n : w.c->nodes())
    EXPECT_TRUE(n->backend->status().healthy()) << n->backend->status().last_error;
}

// A stale entry for our subnet (a dead previous holder's) is replaced only under a lease etcd
// confirmed moments ago: during an etcd outage the node leaves it alone and is not ready.
TEST(LeaseSafety, AForeignEntryIsNotReplacedWhileOurLeaseIsInDoubt) {
  sim::cluster_options o;
  o.network_config = one_subnet_config;
  world w(13, o);
  auto& a = w.c->add_node();
  w.c->start(a);
  w.s.run_for(1min);
  ASSERT_TRUE(a.backend->status().healthy());
  const auto subnet = a.backend->status().current_lease->subnet;
  w.c->kill(a);  // its route stays behind
  w.etcd.erase(subnet);
  // Listing the table takes 20 s: by then the lease's confirmation is old.
  w.model.config().latency["DescribeRouteEntryList"] = sim::latency_distribution::fixed(20s);
  auto& b = w.c->add_node();
  w.c->start(b);
  while (!b.backend->status().current_lease)
    w.s.run_for(100ms);
  w.etcd.set_outage(true);
  w.s.run_for(3min);
  EXPECT_EQ(w.routes_of(a.instance_id).size(), 1u) << "replaced while the lease was in doubt";
  EXPECT_GT(b.backend->status().fenced_replacements_skipped, 0u);
  EXPECT_FALSE(b.backend->status().ready);
  w.etcd.set_outage(false);
  w.s.run_for(5min);
  EXPECT_TRUE(w.routes_of(a.instance_id).empty());
  ASSERT_EQ(w.routes_of(b.instance_id).size(), 1u);
  EXPECT_EQ(w.routes_of(b.instance_id)[0].destination, subnet);
  EXPECT_TRUE(b.backend->status().healthy()) << b.backend->status().last_error;
}

// Instances that share one PublicIP are different nodes: each takes its own subnet and no one
// replaces another's route.
TEST(LeaseSafety, InstancesSharingAPublicIpTakeSeparateLeases) {
  sim::cluster_options o;
  o.backend.iface.public_ip = net::ipv4_address::parse("192.168.200.1");
  world w(14, o);
  w.start_nodes(3);
  w.s.run_for(3min);
  std::set<net::ipv4_cidr> subnets;
  for (auto& n : w.c->nodes()) {
    ASSERT_TRUE(n->backend->status().healthy()) << n->backend->status().last_error;
    subnets.insert(n->backend->status().current_lease->subnet);
  }
  EXPECT_EQ(subnets.size(), 3u);
  EXPECT_EQ(w.etcd.keys().size(), 3u);
  EXPECT_EQ(w.model.stats().count("DeleteRouteEntry", "Success"), 0u);
}

// Our old entries: one whose subnet a live lease of this instance holds (another daemon here)
// stays; one whose subnet no lease holds goes.
TEST(LeaseSafety, OldEntriesGoOnlyWhenNoDaemonOfThisInstanceHoldsTheirSubnet) {
  world w(15);
  auto& n = w.c->add_node();
  const auto held = net::ipv4_cidr::parse("10.24.200.0/24");
  const auto orphan = net::ipv4_cidr::parse("10.24.201.0/24");
  lease::lease_attrs other_daemon{net::ipv4_address::parse("192.168.77.7")};
  other_daemon.backend_data = {{"InstanceId", n.instance_id}};
  w.etcd.reserve(held, other_daemon);
  ASSERT_TRUE(w.model.force_create(w.table(), held, "Instance", n.instance_id));
  ASSERT_TRUE(w.model.force_create(w.table(), orphan, "Instance", n.instance_id));
  w.c->start(n);
  w.s.run_for(2min);
  ASSERT_TRUE(n.backend->status().healthy()) << n.backend->status().last_error;
  std::set<net::ipv4_cidr> dests;
  for (auto& e : w.routes_of(n.instance_id))
    dests.insert(e.destination);
  EXPECT_TRUE(dests.count(held));
  EXPECT_FALSE(dests.count(orphan));
  EXPECT_TRUE(dests.count(n.backend->status().current_lease->subnet));
}

// --release-on-exit during a cloud outage keeps the lease (the route is still in the table)
// and says so; once the cloud answers, a stop removes the route first, then the lease.
TEST(LeaseSafety, ReleaseNeverGivesTheLeaseBackWhileTheRouteIsInATable) {
  sim::cluster_options o;
  o.backend.release_on_exit = true;
  world w(16, o);
  auto& n = w.c->add_node();
  w.c->start(n);
  w.s.run_for(1min);
  ASSERT_TRUE(n.backend->status().healthy());
  const auto subnet = n.backend->status().current_lease->subnet;
  w.cloud_outage(5min);
  w.c->stop(n);
  w.s.run_for(2min);
  EXPECT_TRUE(n.finished);
  EXPECT_FALSE(n.backend->status().released);
  EXPECT_TRUE(w.leased(subnet));
  EXPECT_EQ(w.routes_of(n.instance_id).size(), 1u);
  EXPECT_NE(n.backend->status().last_error.find("still in"), std::string::npos)
      << n.backend->status().last_error;

  w.s.run_for(5min);  // the outage is over
  w.c->kill(n);       // (the stopped process is gone; a new one starts)
  w.c->start(n);
  w.s.run_for(1min);
  ASSERT_TRUE(n.backend->status().healthy()) << n.backend->status().last_error;
  w.c->stop(n);
  w.s.run_for(1min);
  EXPECT_TRUE(n.backend->status().released) << n.backend->status().last_error;
  EXPECT_FALSE(w.leased(subnet));
  EXPECT_TRUE(w.routes_of(n.instance_id).empty());
}

// A Network moved while running: the node gives its old subnet's route and lease back and ends
// with an error that says a restart applies the new config.
TEST(LeaseSafety, AChangedNetworkGivesTheOldRouteBackAndAsksForARestart) {
  sim::cluster_options o;
  o.backend.reconcile_period = 1min;
  world w(17, o);
  auto& n = w.c->add_node();
  w.c->start(n);
  w.s.run_for(1min);
  ASSERT_TRUE(n.backend->status().healthy());
  const auto subnet = n.backend->status().current_lease->subnet;
  w.etcd.put_config(R"({"Network":"10.30.0.0/16","Backend":{"Type":"ali-vpc"}})");
  w.s.run_for(3min);
  EXPECT_TRUE(n.finished);
  EXPECT_NE(n.fatal.find("network config changed"), std::string::npos) << n.fatal;
  EXPECT_FALSE(w.leased(subnet));
  EXPECT_TRUE(w.routes_of(n.instance_id).empty());
}

// A renew margin that is not shorter than the TTL would renew in a loop: refused before a lease.
TEST(LeaseSafety, AMarginNotShorterThanTheTtlIsRefusedBeforeALease) {
  sim::cluster_options o;
  o.backend.lease_ttl = 1h;
  o.backend.renew_margin = 60min;
  world w(18, o);
  auto& n = w.c->add_node();
  w.c->start(n);
  w.s.run_for(1min);
  EXPECT_TRUE(n.finished);
  EXPECT_NE(n.fatal.find("--subnet-lease-renew-margin"), std::string::npos) << n.fatal;
  EXPECT_TRUE(w.etcd.keys().empty());
}
