// flanneld_alivpc as processes against a real etcd and alivpc-emulator: convergence, restarts,
// a kill -9 in the middle of a create, drift repair, faults and throttling, a full route table,
// and an etcd outage.
#include "daemon_cluster.hpp"

#include <algorithm>
#include <iostream>
#include <set>

namespace alivpc_daemon_test {
namespace {

using clock_type = std::chrono::steady_clock;

double seconds_since(clock_type::time_point t) {
  return std::chrono::duration<double>(clock_type::now() - t).count();
}

// Every node holds one lease, has exactly one Available route for it with its own instance as
// next hop in every table, and a subnet file that says the same; no two nodes share a subnet.
void expect_consistent(const daemon_cluster& c, const std::vector<int>& nodes) {
  auto leases = c.leases();
  auto routes = c.routes();
  auto tables = c.route_tables();
  std::set<std::string> subnets;
  for (int i : nodes) {
    SCOPED_TRACE("node " + std::to_string(i));
    auto l = c.lease_of(i);
    ASSERT_TRUE(l) << "no lease with PublicIP " << daemon_cluster::public_ip(i);
    EXPECT_TRUE(subnets.insert(l->subnet).second) << l->subnet << " held twice";
    EXPECT_EQ(c.subnet_in_file(i), l->subnet);
    for (auto& t : tables) {
      auto n = std::count_if(routes.begin(), routes.end(), [&](const route& r) {
        return r.table == t && r.destination == l->subnet;
      });
      EXPECT_EQ(n, 1) << "entries for " << l->subnet << " in " << t;
      auto it = std::find_if(routes.begin(), routes.end(), [&](const route& r) {
        return r.table == t && r.destination == l->subnet;
      });
      if (it == routes.end()) continue;
      EXPECT_EQ(it->instance, "i-node" + std::to_string(i));
      EXPECT_EQ(it->status, "Available");
    }
  }
  EXPECT_EQ(leases.size(), nodes.size());
  EXPECT_EQ(routes.size(), nodes.size() * tables.size()) << "stray or duplicate entries";
}

TEST(DaemonCluster, ThreeDaemonsConvergeWithConsistentLeasesRoutesAndSubnetFiles) {
  daemon_cluster c(with_nodes(3));
  auto t0 = clock_type::now();
  for (int i = 1; i <= 3; ++i)
    c.start(i);
  for (int i = 1; i <= 3; ++i)
    ASSERT_TRUE(daemon_cluster::wait_ready(c.at(i))) << "node " << i << " never became ready";
  auto converged = seconds_since(t0);
  expect_consistent(c, {1, 2, 3});
  auto file = read_text(c.at(1).subnet_file());
  EXPECT_NE(file.find("FLANNEL_NETWORK=10.24.0.0/16\n"), std::string::npos) << file;
  EXPECT_NE(file.find("FLANNEL_IPMASQ=false\n"), std::string::npos) << file;
  EXPECT_NE(file.find("FLANNEL_MTU="), std::string::npos) << file;
  for (auto& l : c.leases())
    EXPECT_GT(l.ttl, 23 * 3600) << "a lease lives 24 h by default";

  // Peak RSS after a few reconcile rounds (2 s period): the README's memory figure.
  std::this_thread::sleep_for(5s);
  long peak = 0;
  for (int i = 1; i <= 3; ++i) {
    ASSERT_TRUE(c.at(i).process->running());
    peak = std::max(peak, c.at(i).process->peak_rss_kib());
  }
  EXPECT_GT(peak, 0) << "VmHWM not readable";
  std::cout << "[ figures  ] three daemons ready after " << converged
            << " s; daemon peak RSS (VmHWM) " << peak
            << " KiB = " << static_cast<double>(peak) / 1024.0 << " MiB\n";
  expect_consistent(c, {1, 2, 3});  // still true after reconcile rounds
}

TEST(DaemonCluster, SigtermLeavesLeaseAndRouteAndARestartMakesNoRouteWrites) {
  daemon_cluster c(with_nodes(1));
  auto& n = c.start(1);
  ASSERT_TRUE(daemon_cluster::wait_ready(n));
  auto lease = c.lease_of(1);
  ASSERT_TRUE(lease);
  EXPECT_EQ(n.process->stop(), 0) << "SIGTERM is a clean shutdown";
  EXPECT_EQ(n.process->count_in_log("received SIGTERM"), 1u);
  // flannel behaviour: lease and route stay for a quick restart.
  auto kept = c.lease_of(1);
  ASSERT_TRUE(kept);
  EXPECT_EQ(kept->subnet, lease->subnet);
  expect_consistent(c, {1});

  auto creates = c.count_all("CreateRouteEntry"), deletes = c.count_all("DeleteRouteEntry");
  EXPECT_EQ(creates, 1);
  c.start(1);
  ASSERT_TRUE(daemon_cluster::wait_ready(n, 20s, 1));
  EXPECT_EQ(c.count_all("CreateRouteEntry"), creates) << "the restart created a route";
  EXPECT_EQ(c.count_all("DeleteRouteEntry"), deletes) << "the restart deleted a route";
  EXPECT_EQ(c.lease_of(1)->subnet, lease->subnet) << "the restart took another subnet";
  expect_consistent(c, {1});
}

TEST(DaemonCluster, ReleaseOnExitRemovesLeaseAndRoute) {
  daemon_cluster c(with_nodes(2));
  c.start(1, {"--release-on-exit"});
  c.start(2);
  ASSERT_TRUE(daemon_cluster::wait_ready(c.at(1)));
  ASSERT_TRUE(daemon_cluster::wait_ready(c.at(2)));
  expect_consistent(c, {1, 2});
  EXPECT_EQ(c.at(1).process->stop(), 0);
  EXPECT_FALSE(c.lease_of(1)) << "the lease is still in etcd";
  ASSERT_TRUE(eventually([&] { return c.routes().size() == 1; }, 5s))
      << "node 1's route is still there";
  expect_consistent(c, {2});  // and node 2 untouched
}

TEST(DaemonCluster, KilledInTheMiddleOfACreateConvergesToOneEntryAfterRestart) {
  // The create's answer takes 1.5 s and the entry stays Pending for 3 s: a kill right after the
  // entry appears lands while the daemon waits for CreateRouteEntry's answer.
  daemon_cluster c(with_nodes(1, {"--write-delay", "3000", "--latency", "CreateRouteEntry=1500"}));
  auto& n = c.start(1);
  ASSERT_TRUE(eventually([&] { return !c.routes().empty(); }, 20s)) << "no create seen";
  n.process->kill9();
  EXPECT_EQ(n.process->exit_code(), 128 + SIGKILL);
  EXPECT_EQ(n.process->count_in_log("ready: lease"), 0u) << "it was not mid-create";
  auto routes = c.routes();
  ASSERT_EQ(routes.size(), 1u);
  EXPECT_EQ(routes[0].status, "Pending");

  c.start(1);
  ASSERT_TRUE(daemon_cluster::wait_ready(n, 30s));
  expect_consistent(c, {1});  // one entry, no duplicate, same subnet in etcd, file and route
  EXPECT_EQ(c.count("CreateRouteEntry", "Success"), 1)
      << "the restarted daemon created a second entry";
}

TEST(DaemonCluster, ADeletedRouteIsBackWithinOneReconcilePeriod) {
  daemon_cluster c(with_nodes(2));
  c.start(1);
  c.start(2);
  ASSERT_TRUE(daemon_cluster::wait_ready(c.at(1)));
  ASSERT_TRUE(daemon_cluster::wait_ready(c.at(2)));
  auto subnet = c.lease_of(1)->subnet;
  auto table = c.route_tables().at(0);
  c.admin("POST",
          "/_emulator/delete-route?RouteTableId=" + table + "&DestinationCidrBlock=" + subnet);
  auto t0 = clock_type::now();
  // The reconcile period is 2 s; the slack covers one DescribeRouteEntryList + one create.
  bool back = eventually(
      [&] {
        auto r = c.routes();
        return std::any_of(r.begin(), r.end(), [&](auto& e) { return e.destination == subnet; });
      },
      3500ms);
  auto repaired_after = seconds_since(t0);
  ASSERT_TRUE(back) << "the route was not recreated within one reconcile period (2 s)";
  ASSERT_TRUE(eventually(
      [&] {
        auto r = c.routes();
        return std::any_of(r.begin(), r.end(), [&](auto& e) {
          return e.destination == subnet && e.status == "Available";
        });
      },
      10s));
  std::cout << "[ figures  ] drift: route recreated " << repaired_after
            << " s after it was deleted (reconcile period 2 s)\n";
  EXPECT_TRUE(c.at(1).process->wait_for_log("is missing: repairing", 1s));
  expect_consistent(c, {1, 2});
  EXPECT_EQ(c.at(2).process->count_in_log("repairing"), 0u);
}

TEST(DaemonCluster, AllNodesConvergeUnderTwentyPercentErrorsAndThrottling) {
  daemon_cluster c(with_nodes(
      3, {"--fail", "*=0.2", "--throttle", "DescribeRouteEntryList=5/60s", "--seed", "7"}));
  auto t0 = clock_type::now();
  for (int i = 1; i <= 3; ++i)
    c.start(i, {"--reconcile-period=60s"});
  for (int i = 1; i <= 3; ++i)
    ASSERT_TRUE(daemon_cluster::wait_ready(c.at(i), 60s)) << "node " << i;
  auto converged = seconds_since(t0);
  expect_consistent(c, {1, 2, 3});
  long injected = 0, throttled = 0;
  auto stats = c.stats();
  for (auto& [action, outcomes] : stats["Actions"].items()) {
    injected += outcomes.value("InternalError", 0L);
    throttled += outcomes.value("Throttling.User", 0L);
  }
  std::cout << "[ figures  ] 20% errors + throttle: three daemons ready after " << converged
            << " s (" << injected << " injected errors, " << throttled << " throttled)\n";
  EXPECT_GT(injected, 0) << "the fault injection did not bite: the test shows nothing";
  EXPECT_GT(throttled, 0) << "the throttle did not bite: the test shows nothing";
  for (int i = 1; i <= 3; ++i)
    EXPECT_TRUE(c.at(i).process->running());
}

TEST(DaemonCluster, AFullRouteTableIsReportedRetriedSlowlyAndRecoversWhenASlotFrees) {
  daemon_cluster c(with_nodes(3, {"--quota", "2"}));
  c.start(1, {"--release-on-exit"});
  c.start(2);
  ASSERT_TRUE(daemon_cluster::wait_ready(c.at(1)));
  ASSERT_TRUE(daemon_cluster::wait_ready(c.at(2)));
  auto& third = c.start(3, {"--error-backoff-max=3s"});
  ASSERT_TRUE(third.process->wait_for_log("QuotaExceeded", 20s)) << "no quota error reported";
  // It keeps trying, slowly: about one create per 1.5..3 s, not a tight loop.
  auto first = c.count("CreateRouteEntry", "QuotaExceeded");
  std::this_thread::sleep_for(7s);
  auto tries = c.count("CreateRouteEntry", "QuotaExceeded") - first;
  std::cout << "[ figures  ] quota: " << tries << " retries in 7 s (--error-backoff-max=3s)\n";
  EXPECT_GE(tries, 1) << "it gave up";
  EXPECT_LE(tries, 6) << "it is not retrying slowly";
  EXPECT_TRUE(third.process->running());
  EXPECT_EQ(third.process->count_in_log("ready: lease"), 0u);
  // The error line says what is wrong and what to do.
  auto log = third.process->log();
  auto line_start = log.rfind('\n', log.find("QuotaExceeded")) + 1;
  auto line = log.substr(line_start, log.find('\n', line_start) - line_start);
  std::cout << "[ quota    ] " << line << "\n";
  EXPECT_NE(line.find("error"), std::string::npos);
  EXPECT_NE(line.find("quota"), std::string::npos);

  // A slot frees: node 1 leaves with --release-on-exit; node 3 gets in.
  EXPECT_EQ(c.at(1).process->stop(), 0);
  ASSERT_TRUE(daemon_cluster::wait_ready(third, 20s)) << "no recovery after a slot freed";
  expect_consistent(c, {2, 3});
}

TEST(DaemonCluster, EtcdDownForThirtySecondsRoutesStayAndLeasesRenew) {
  daemon_cluster c(with_nodes(2));
  for (int i = 1; i <= 2; ++i)
    c.start(i, {"--subnet-lease-ttl=2m", "--subnet-lease-renew-margin=1"});
  for (int i = 1; i <= 2; ++i)
    ASSERT_TRUE(daemon_cluster::wait_ready(c.at(i)));
  auto t_leased = clock_type::now();
  std::map<int, long> ttl_before;
  for (int i = 1; i <= 2; ++i) {
    ttl_before[i] = c.lease_of(i)->ttl;
    EXPECT_GT(ttl_before[i], 100);
    EXPECT_LE(ttl_before[i], 120);
  }
  auto lease_subnets = c.leases();

  c.etcd().stop();
  std::this_thread::sleep_for(30s);
  for (int i = 1; i <= 2; ++i)
    EXPECT_TRUE(c.at(i).process->running()) << "node " << i << " died while etcd was down";
  auto routes = c.routes();
  EXPECT_EQ(routes.size(), 2u);
  for (auto& r : routes)
    EXPECT_EQ(r.status, "Available");
  c.etcd().start();  // same data dir and ports

  // The renewal is due 1 min (the margin) before the 2 min TTL ends: about 60 s after the lease.
  bool renewed = eventually(
      [&] {
        for (int i = 1; i <= 2; ++i) {
          auto l = c.lease_of(i);
          if (!l || l->ttl <= 100 || seconds_since(t_leased) < 55) return false;
        }
        return true;
      },
      60s);
  ASSERT_TRUE(renewed) << "the leases were not renewed after etcd came back";
  std::cout << "[ figures  ] leases renewed " << seconds_since(t_leased)
            << " s after they were taken (TTL 2 min, margin 1 min, etcd down 30 s)\n";
  expect_consistent(c, {1, 2});
  for (int i = 1; i <= 2; ++i) {
    EXPECT_EQ(c.lease_of(i)->subnet, c.subnet_in_file(i));
    EXPECT_TRUE(c.at(i).process->running());
  }
}

}  // namespace
}  // namespace alivpc_daemon_test
