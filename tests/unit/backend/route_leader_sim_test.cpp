// Leader mode (route_leader.hpp, route_follower.hpp) on the simulated cluster: the real backend,
// the etcd model and the VPC model on virtual time.
#include "sim_world.hpp"

#include <gtest/gtest.h>

#include <cstdlib>

using namespace alivpc_backend_test;

namespace {

sim::cluster_options leader_mode(int candidates = 3) {
  sim::cluster_options o;
  o.backend.writer = backend::route_writer::leader;
  o.backend.reconcile_period = 1min;
  o.leader_candidates = candidates;
  o.verbose = std::getenv("ALIVPC_TEST_VERBOSE") != nullptr;  // every node's log, to debug
  return o;
}

// The node that leads now (by its own account), or nullptr.
sim::cluster::node* leader_of(world& w) {
  for (auto& n : w.c->nodes())
    if (n->running && n->backend && n->backend->status().route_leader) return n.get();
  return nullptr;
}

int healthy_nodes(world& w) {
  int ok = 0;
  for (auto& n : w.c->nodes())
    ok += n->running && n->backend && n->backend->status().healthy() ? 1 : 0;
  return ok;
}

// Runs `d` a second at a time, failing on any route write by a node that did not hold the
// leader key when it started it.
void run_fenced(world& w, clock_duration d) {
  const auto end = w.s.now() + d;
  while (w.s.now() < end) {
    w.s.run_for(1s);
    for (auto& what : w.c->take_unfenced_writes())
      ADD_FAILURE() << "unfenced write: " << what;
  }
}

}  // namespace

TEST(RouteLeaderSim, ABurstIsOneBatchAndFollowersWriteNothing) {
  world w(3, leader_mode());
  w.start_nodes(20);
  run_fenced(w, 2min);
  EXPECT_EQ(healthy_nodes(w), 20);
  std::size_t custom = 0;
  for (auto& e : w.model.entries(w.table(), w.s.now()))
    custom += e.system ? 0 : 1;
  EXPECT_EQ(custom, 20u);
  EXPECT_LE(w.model.stats().count("CreateRouteEntries", "Success"), 3u);
  EXPECT_EQ(w.model.stats().count("CreateRouteEntry", "Success"), 0u);
  // Only the candidates asked the cloud anything at startup.
  EXPECT_EQ(w.model.stats().count("DescribeVpcs", "Success"), 3u);
  for (auto& e : w.model.entries(w.table(), w.s.now()))
    if (!e.system) {
      EXPECT_EQ(e.name, "alivpc:" + e.destination.to_string());
    }
}

TEST(RouteLeaderSim, AKilledLeaderIsReplacedWithinOneTTLAndRoutesStay) {
  world w(5, leader_mode());
  w.start_nodes(8);
  run_fenced(w, 2min);
  auto* old = leader_of(w);
  ASSERT_NE(old, nullptr);
  const auto ttl = old->backend->options().leader_ttl;
  w.c->kill(*old);
  const auto killed_at = w.s.now();
  sim::cluster::node* next = nullptr;
  while (!next && w.s.now() - killed_at < 2 * ttl) {
    run_fenced(w, 1s);
    next = leader_of(w);
  }
  ASSERT_NE(next, nullptr);
  EXPECT_LE(w.s.now() - killed_at, ttl);
  EXPECT_NE(next, old);
  run_fenced(w, 2min);
  EXPECT_EQ(healthy_nodes(w), 7);
}

// Someone deletes the leader key (etcdctl del) while nodes are joining: another candidate takes
// it, and the old leader, which still thinks it leads, writes nothing more (it confirms the key
// before every batch).
TEST(RouteLeaderSim, ALeaderWhoseKeyIsGoneStopsWriting) {
  world w(7, leader_mode());
  w.start_nodes(4);
  run_fenced(w, 1min);
  auto* old = leader_of(w);
  ASSERT_NE(old, nullptr);
  ASSERT_TRUE(w.etcd.erase_coordination_key(lease::route_leader_key(w.etcd.prefix())));
  w.start_nodes(12);
  run_fenced(w, 3min);
  EXPECT_EQ(healthy_nodes(w), 16);
  auto* now = leader_of(w);
  ASSERT_NE(now, nullptr);
  ASSERT_TRUE(w.etcd.route_leader());
  EXPECT_TRUE(w.etcd.route_leader()->starts_with(now->instance_id + " "));
}

// A node gone for good (its lease deleted, the process dead): its route goes after the grace,
// not before; a dry run only says so.
TEST(RouteLeaderSim, StaleRoutesAreCollectedAfterTheGraceUnlessDryRun) {
  for (bool dry_run : {false, true}) {
    auto o = leader_mode();
    o.backend.stale_route_grace = 5min;
    o.backend.collect_dry_run = dry_run;
    world w(9, o);
    w.start_nodes(5);
    run_fenced(w, 2min);
    auto& gone = *w.c->nodes()[4];
    auto subnet = gone.backend->status().current_lease->subnet;
    w.c->kill(gone);
    w.etcd.erase(subnet);
    run_fenced(w, 4min);
    EXPECT_EQ(w.routes_of(gone.instance_id).size(), 1u) << "collected before the grace";
    run_fenced(w, 5min);
    EXPECT_EQ(w.routes_of(gone.instance_id).size(), dry_run ? 1u : 0u) << dry_run;
    EXPECT_EQ(healthy_nodes(w), 4);
  }
}

// A leader that loses its key keeps what it saw; elected again later, it must not count a stale
// route's grace from its earlier term: the subnet may have been held again and let go since.
TEST(RouteLeaderSim, ALeaderElectedAgainStartsEveryGraceAfresh) {
  auto o = leader_mode(1);
  o.backend.stale_route_grace = 5min;
  world w(17, o);
  w.start_nodes(2);
  run_fenced(w, 2min);
  auto* leader = leader_of(w);
  ASSERT_EQ(leader, w.c->nodes()[0].get());
  auto& node = *w.c->nodes()[1];
  ASSERT_TRUE(node.backend->status().current_lease);
  const auto held = *node.backend->status().current_lease;
  // The leader sees the node's route without a lease...
  w.c->kill(node);
  w.etcd.erase(held.subnet);
  run_fenced(w, 1min);
  ASSERT_EQ(w.routes_of(node.instance_id).size(), 1u);
  // ...then someone else holds the leader key while the subnet is held again (a reservation for
  // the same instance)...
  const auto key = lease::route_leader_key(w.etcd.prefix());
  w.etcd.erase_coordination_key(key);
  w.etcd.put_coordination_key(key, "i-elsewhere 1", 0);
  w.etcd.reserve(held.subnet, held.attrs);
  run_fenced(w, 8min);
  ASSERT_EQ(leader_of(w), nullptr);
  // ...and let go just as the old leader is elected again (the grace it started in its first
  // term would be long over by now).
  w.etcd.erase(held.subnet);
  w.etcd.erase_coordination_key(key);
  run_fenced(w, 2min);
  ASSERT_EQ(leader_of(w), leader);
  EXPECT_EQ(w.routes_of(node.instance_id).size(), 1u) << "collected without a grace of its own";
  run_fenced(w, 5min);
  EXPECT_EQ(w.routes_of(node.instance_id).size(), 0u) << "not collected after the grace";
}

// A ready node watches its route state: what the leader publishes reaches it at once, both ways,
// not at its next read a reconcile period (here an hour) later.
TEST(RouteLeaderSim, AReadyNodeHearsItsRouteStateChangeAtOnce) {
  auto o = leader_mode(1);
  o.backend.reconcile_period = 1h;
  world w(19, o);
  w.start_nodes(3);
  run_fenced(w, 2min);
  ASSERT_EQ(healthy_nodes(w), 3);
  auto& node = *w.c->nodes()[2];
  ASSERT_NE(leader_of(w), &node);
  const auto subnet = node.backend->status().current_lease->subnet;
  const auto key = lease::route_state_key(w.etcd.prefix(), subnet);
  const auto published = w.etcd.route_state(subnet);
  ASSERT_TRUE(published);
  auto missing = backend::published_route::parse(*published).value();
  for (auto& [table, state] : missing.tables)
    state = "Missing";
  run_fenced(w, 10min);  // long after its last read: only a watch can hear what follows
  w.etcd.put_coordination_key(key, missing.to_json(), 0);
  run_fenced(w, 2s);
  EXPECT_FALSE(node.backend->status().ready) << "a changed route state went unheard";
  w.etcd.put_coordination_key(key, *published, 0);
  run_fenced(w, 15s);  // not ready, it reads again within route_poll_max
  EXPECT_TRUE(node.backend->status().ready);
  // Once ready again it watches again.
  run_fenced(w, 10min);
  w.etcd.erase_coordination_key(key);
  run_fenced(w, 2s);
  EXPECT_FALSE(node.backend->status().ready) << "a deleted route state went unheard";
  EXPECT_EQ(healthy_nodes(w), 2);
}

// A full table: the leader never sends a create that must fail, and says which subnets wait;
// when a node leaves, its slot goes to a waiting one.
TEST(RouteLeaderSim, AFullTableIsNeverWrittenBeyondItsQuota) {
  auto o = leader_mode();
  o.backend.route_table_quota = 3;
  o.backend.stale_route_grace = 2min;
  world w(11, o);
  w.model.config().quota_per_table = 3;
  w.start_nodes(4);
  run_fenced(w, 3min);
  EXPECT_EQ(healthy_nodes(w), 3);
  EXPECT_EQ(w.model.stats().count("CreateRouteEntries", "QuotaExceeded"), 0u);
  auto* l = leader_of(w);
  ASSERT_NE(l, nullptr);
  EXPECT_NE(l->backend->status().last_error.find("wait for a free entry"), std::string::npos)
      << l->backend->status().last_error;
  EXPECT_EQ(l->backend->status().tables.begin()->second.quota, 3u);
  // One of the ready ones leaves: after the grace its slot goes to the waiting node.
  for (auto& n : w.c->nodes())
    if (n.get() != l && n->backend->status().healthy()) {
      auto subnet = n->backend->status().current_lease->subnet;
      w.c->kill(*n);
      w.etcd.erase(subnet);
      break;
    }
  run_fenced(w, 6min);
  EXPECT_EQ(healthy_nodes(w), 3);
}

// SIGTERM ends every candidate's daemon at once, the leader's and the others' (a candidate that
// does not lead returns from its campaign loop normally; the backend must see that too), and the
// leader gives its key up on the way out so that another takes over without waiting a TTL.
TEST(RouteLeaderSim, StoppedCandidatesExitAndTheLeaderResigns) {
  world w(13, leader_mode());
  w.start_nodes(5);
  run_fenced(w, 1min);
  auto* old = leader_of(w);
  ASSERT_NE(old, nullptr);
  std::vector<sim::cluster::node*> stopped{old};
  for (auto& n : w.c->nodes())
    if (n->candidate && n.get() != old && stopped.size() < 2) stopped.push_back(n.get());
  ASSERT_EQ(stopped.size(), 2u);
  for (auto* n : stopped)
    w.c->stop(*n);
  run_fenced(w, 5s);
  for (auto* n : stopped)
    EXPECT_TRUE(n->finished) << n->instance_id << " did not exit";
  // The others campaign every TTL/3: one leads within half a TTL, not after the old key's TTL.
  run_fenced(w, old->backend->options().leader_ttl / 2 - 5s);
  auto* next = leader_of(w);
  ASSERT_NE(next, nullptr) << "no leader half a TTL after the old one resigned";
  EXPECT_NE(next, old);
}

// At rest the leader lists the leases again only when its watch has heard a change, has missed
// some (an etcd outage breaks it), or the last listing is an hour old, not every pass; and what
// changes after that listing is still programmed at once.
TEST(RouteLeaderSim, ALeaderAtRestListsTheLeasesOnlyAfterAChange) {
  world w(23, leader_mode(1));  // a pass every minute
  w.start_nodes(3);
  run_fenced(w, 3min);
  ASSERT_EQ(healthy_nodes(w), 3);
  auto* l = leader_of(w);
  ASSERT_NE(l, nullptr);
  int lists = 0;
  l->current->alive.on_call = [&lists, fenced = l->current->alive.on_call](std::string_view call) {
    lists += call == "list_leases" ? 1 : 0;
    fenced(call);
  };
  run_fenced(w, 2h);
  EXPECT_LE(lists, 3) << "120 passes listed the leases " << lists << " times";
  // A join: heard by the watch, listed, programmed within the batch window and a write.
  const int before_join = lists;
  w.start_nodes(1);
  run_fenced(w, 1min);
  EXPECT_EQ(healthy_nodes(w), 4);
  EXPECT_GT(lists, before_join);
  // An etcd outage breaks the watch: passes list until it is current again, and a lease given
  // up just after is seen (its route collected once the grace has passed).
  w.etcd.set_outage(true);
  run_fenced(w, 1min);
  w.etcd.set_outage(false);
  auto& leaving = *w.c->nodes()[3];
  const auto subnet = leaving.backend->status().current_lease->subnet;
  w.c->kill(leaving);
  w.etcd.erase(subnet);
  run_fenced(w, 15min);
  EXPECT_TRUE(w.routes_of(leaving.instance_id).empty()) << "a lease gone after an outage unseen";
  EXPECT_EQ(healthy_nodes(w), 3);
}

// A node whose instance is released before the leader made its route leaves a lease that lives
// until its TTL. The cloud refuses that route (InvalidInstanceId.NotFound): the leader sets it
// aside for the error backoff rather than sending it every busy pass, and while it waits it
// does not hold a full table's last free entry from a node that joins. With batches, and with
// single calls from a cloud without the batch actions.
TEST(RouteLeaderSim, ARouteToAReleasedInstanceWaitsAndLeavesTheFreeEntryToOthers) {
  for (const bool batches : {true, false}) {
    SCOPED_TRACE(batches ? "batch calls" : "single calls");
    auto o = leader_mode(1);
    o.backend.route_table_quota = 2;
    world w(29, o);
    w.model.config().quota_per_table = 2;
    if (!batches) w.model.config().missing_actions = {"CreateRouteEntries", "DeleteRouteEntries"};
    // Creates tried, whatever their outcome.
    const auto creates_so_far = [&] {
      std::uint64_t n = 0;
      for (const char* action : {"CreateRouteEntries", "CreateRouteEntry"})
        if (auto a = w.model.stats().by_action.find(action); a != w.model.stats().by_action.end())
          for (auto& [outcome, count] : a->second)
            n += outcome == "InvalidAction.NotFound" ? 0 : count;
      return n;
    };
    w.start_nodes(1);
    run_fenced(w, 2min);
    ASSERT_EQ(healthy_nodes(w), 1);
    auto* l = leader_of(w);
    ASSERT_NE(l, nullptr);
    // The node joins while the cloud is down and is gone before it is back.
    w.cloud_outage(3min);
    w.start_nodes(1);
    auto& released = *w.c->nodes()[1];
    run_fenced(w, 1min);
    ASSERT_TRUE(released.backend->status().current_lease.has_value());
    const auto subnet = released.backend->status().current_lease->subnet;
    w.c->leave(released);
    const auto creates_before = creates_so_far();
    run_fenced(w, 2min + 1h);
    ASSERT_TRUE(w.leased(subnet)) << "the released node's lease should live on for this test";
    EXPECT_TRUE(w.routes_of(released.instance_id).empty());
    // The error backoff doubles from 1 s up to error_backoff_max (2 min), with equal jitter: an
    // hour is 30 to 60 tries. One per busy pass would be thousands.
    const auto creates = creates_so_far() - creates_before;
    EXPECT_LE(creates, 60u);
    EXPECT_GE(creates, 20u) << "the refused route should still be tried now and then";
    EXPECT_NE(l->backend->status().last_error.find("InvalidInstanceId.NotFound"), std::string::npos)
        << l->backend->status().last_error;
    // A node joins: the one free entry is its own.
    w.start_nodes(1);
    run_fenced(w, 2min);
    EXPECT_EQ(healthy_nodes(w), 2) << "the node that joined got no route";
    EXPECT_EQ(w.model.stats().count("CreateRouteEntry", "Success"), batches ? 0u : 2u);
  }
}
