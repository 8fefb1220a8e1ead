// --route-writer=leader with real processes: flanneld_alivpc daemons, a real etcd (the v2 key
// space, as the seed's etcdctl set) and alivpc-emulator. One route leader writes every route in
// batches; a node that is never a candidate runs without cloud credentials; a killed leader is
// replaced within its TTL and the routes stay; a removed node's route goes after the grace, and
// not under --collect-dry-run; a cluster mixing self-writing nodes and leader mode converges.
#include "daemon_cluster.hpp"

#include <algorithm>

namespace alivpc_daemon_test {
namespace {

const std::vector<std::string> leader_flags = {"--route-writer=leader", "--leader-ttl=5s",
                                               "--batch-window=200ms", "--stale-route-grace=4s"};

std::vector<std::string> with(std::vector<std::string> a, const std::vector<std::string>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

// The route leader key's holder ("i-nodeN <nonce>"), empty when nobody leads.
std::string leader_holder(daemon_cluster& c) {
  try {
    auto out = c.etcd().etcdctl("get /coreos.com/network/alivpc/route-leader", 2);
    while (!out.empty() && (out.back() == '\n' || out.back() == '\r'))
      out.pop_back();
    return out;
  } catch (const std::exception&) {
    return {};  // no such key
  }
}

int leader_index(daemon_cluster& c) {
  auto h = leader_holder(c);
  if (h.rfind("i-node", 0) != 0) return 0;
  return std::atoi(h.c_str() + 6);
}

bool consistent(const daemon_cluster& c, const std::vector<int>& nodes) {
  auto routes = c.routes();
  auto tables = c.route_tables();
  if (routes.size() != nodes.size() * tables.size()) return false;
  for (int i : nodes) {
    auto l = c.lease_of(i);
    if (!l) return false;
    for (auto& t : tables)
      if (std::none_of(routes.begin(), routes.end(), [&](const route& r) {
            return r.table == t && r.destination == l->subnet &&
                   r.instance == "i-node" + std::to_string(i) && r.status == "Available";
          }))
        return false;
  }
  return true;
}

TEST(LeaderMode, OneLeaderWritesInBatchesAndANonCandidateNeedsNoCredentials) {
  daemon_cluster c(with_nodes(4));
  c.start(1, leader_flags);
  c.start(2, leader_flags);
  // No credentials at all: it never leads, so it makes no cloud call.
  c.start(3, with(leader_flags, {"--leader-candidate=false"}), {});
  for (int i = 1; i <= 3; ++i)
    ASSERT_TRUE(daemon_cluster::wait_ready(c.at(i), 30s)) << "node " << i << " never ready";
  ASSERT_TRUE(eventually([&] { return consistent(c, {1, 2, 3}); }, 10s));
  EXPECT_GE(c.count("CreateRouteEntries"), 1);
  EXPECT_EQ(c.count_all("CreateRouteEntry"), 0) << "a node wrote its own route";
  const int first = leader_index(c);
  ASSERT_TRUE(first == 1 || first == 2) << leader_holder(c);

  // kill -9 the leader: the other candidate takes over within the TTL (5 s), the routes stay,
  // and a node that joins after is programmed by the new leader.
  c.at(first).process->kill9();
  const int other = first == 1 ? 2 : 1;
  ASSERT_TRUE(eventually([&] { return leader_index(c) == other; }, 8s))
      << "no takeover; leader key: " << leader_holder(c);
  c.start(4, with(leader_flags, {"--release-on-exit"}));
  ASSERT_TRUE(daemon_cluster::wait_ready(c.at(4), 30s));
  // Node `first` is dead but holds its lease (24 h): its route stays too.
  EXPECT_TRUE(eventually([&] { return consistent(c, {1, 2, 3, 4}); }, 10s));

  // SIGTERM: a candidate that does not lead (4; --release-on-exit, so the daemon waits for its
  // backend to finish) and the leader both exit at once, and the leader gives its key up on the
  // way out (its successor need not wait out a TTL).
  EXPECT_EQ(c.at(4).process->stop(5s), 0) << "a candidate that does not lead did not exit";
  EXPECT_EQ(c.at(other).process->stop(5s), 0) << "the leader did not exit";
  EXPECT_EQ(leader_holder(c), "") << "the leader kept its key after SIGTERM";
}

TEST(LeaderMode, ARemovedNodesRouteGoesAfterTheGraceButNotUnderDryRun) {
  for (bool dry_run : {false, true}) {
    SCOPED_TRACE(dry_run ? "dry run" : "collect");
    daemon_cluster c(with_nodes(2));
    c.start(1, dry_run ? with(leader_flags, {"--collect-dry-run"}) : leader_flags);
    c.start(2, with(leader_flags, {"--leader-candidate=false", "--release-on-exit"}), {});
    ASSERT_TRUE(daemon_cluster::wait_ready(c.at(1), 30s));
    ASSERT_TRUE(daemon_cluster::wait_ready(c.at(2), 30s));
    ASSERT_TRUE(eventually([&] { return consistent(c, {1, 2}); }, 10s));
    // Node 2 goes for good: it gives its lease back; its route is the leader's to remove.
    EXPECT_EQ(c.at(2).process->stop(), 0);
    EXPECT_FALSE(c.lease_of(2));
    if (dry_run) {
      ASSERT_TRUE(eventually(
          [&] { return c.at(1).process->count_in_log("dry run: would delete the stale route"); },
          20s));
      EXPECT_EQ(c.routes().size(), 2u) << "a dry run deleted a route";
    } else {
      EXPECT_TRUE(eventually([&] { return consistent(c, {1}); }, 20s))
          << "node 2's route is still there";
      EXPECT_GE(c.count("DeleteRouteEntries"), 1);
    }
  }
}

TEST(LeaderMode, AClusterMixingSelfWritersAndLeaderModeConverges) {
  daemon_cluster c(with_nodes(3));
  c.start(1);  // --route-writer=self
  c.start(2, leader_flags);
  c.start(3, with(leader_flags, {"--leader-candidate=false"}), {});
  for (int i = 1; i <= 3; ++i)
    ASSERT_TRUE(daemon_cluster::wait_ready(c.at(i), 30s)) << "node " << i << " never ready";
  EXPECT_TRUE(eventually([&] { return consistent(c, {1, 2, 3}); }, 10s));
  std::this_thread::sleep_for(5s);  // a few reconcile rounds of both kinds: nothing fights
  EXPECT_TRUE(consistent(c, {1, 2, 3}));
  EXPECT_EQ(c.count("DeleteRouteEntry") + c.count("DeleteRouteEntries"), 0)
      << "a route was deleted in a converged cluster";
}

}  // namespace
}  // namespace alivpc_daemon_test
