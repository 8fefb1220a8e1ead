// Every scenario shipped in sim/scenarios/, run as alivpc-simulate runs it (optimised, the
// production client and lease code on virtual time), for both strategies.
//
// The lease-safety scenarios: the cloud failing past the renewal time, a full table for two days
// with a 24 h TTL, compaction during etcd outages, leases released and claimed again, an etcd
// rebuilt from nothing (twice, once during an outage). The others: 50 nodes at once, faults and
// outages, a table quota smaller than the cluster, 50 nodes within 2 s (burst-50). churn-week
// (a week) is run by make bench: see the README.
//
// For every strategy every safety invariant holds and nothing is misrouted. The robust strategy,
// self-writing and in leader mode, never exits and converges, except where a full table leaves
// nodes waiting by design. Then the README's comparisons of self and leader on burst-50 and on
// half a day of churn-week.
#include <alivpc/sim/scenario_runner.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <string>

using namespace alivpc;

namespace {

struct shipped {
  const char* name;
  bool converges;  // false: the table's quota is smaller than the cluster
};

sim::scenario load(const std::string& name) {
  std::ifstream in(std::string(ALIVPC_SOURCE_DIR) + "/sim/scenarios/" + name + ".json");
  std::stringstream text;
  text << in.rdbuf();
  return sim::parse_scenario(text.str());
}

class ShippedScenario : public ::testing::TestWithParam<shipped> {};

}  // namespace

TEST_P(ShippedScenario, RobustAndLeaderModeHoldEveryInvariantAndConverge) {
  for (const char* strategy : {"robust", "leader"}) {
    SCOPED_TRACE(strategy);
    auto sc = load(GetParam().name);
    sc.strategy = strategy;
    auto r = sim::run_scenario(sc);
    EXPECT_TRUE(r.safe()) << r.to_json().dump();
    EXPECT_EQ(r.misrouted_node_seconds, 0u);
    EXPECT_EQ(r.fatal_exits, 0) << r.to_json().dump();
    if (GetParam().converges) {
      EXPECT_TRUE(r.live) << r.liveness_detail;
    }
  }
}

namespace {
double p95(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[static_cast<std::size_t>(0.95 * static_cast<double>(v.size() - 1))];
}
}  // namespace

// The README's burst-50 row: with one route leader writing batches, the slowest nodes are ready
// at least ten times sooner and a join costs at least ten times fewer API calls.
TEST(ShippedScenarioComparison, Burst50LeaderIsTenTimesFasterAndCheaperThanSelf) {
  auto self = load("burst-50"), leader = load("burst-50");
  self.strategy = "robust";
  leader.strategy = "leader";
  auto a = sim::run_scenario(self), b = sim::run_scenario(leader);
  ASSERT_EQ(b.never_ready, 0);
  EXPECT_LE(p95(b.ready_seconds) * 10, p95(a.ready_seconds));
  EXPECT_LE(b.api_calls_per_join() * 10, a.api_calls_per_join());
}

// churn-week's half day: self-writing nodes leave their routes behind and the table fills;
// the route leader collects them, and ends with the live nodes' routes only.
TEST(ShippedScenarioComparison, ChurnLeaksWithSelfAndNotWithTheLeader) {
  auto sc = load("churn-week");
  sc.duration = std::chrono::hours(12);
  sc.churn.until = std::chrono::hours(10);
  sc.strategy = "robust";
  auto self = sim::run_scenario(sc);
  sc.strategy = "leader";
  auto leader = sim::run_scenario(sc);
  EXPECT_GT(self.stale_routes, 0);
  EXPECT_FALSE(self.live);
  EXPECT_EQ(leader.stale_routes, 0) << leader.to_json().dump();
  EXPECT_TRUE(leader.live) << leader.liveness_detail;
  EXPECT_TRUE(leader.safe());
}

// A liveness failure says what is missing and the daemon's last error: quota.json leaves two
// nodes not ready on a full table; classic on faults.json never puts back its deleted route.
TEST(ShippedScenarioComparison, ALivenessFailureSaysWhatIsMissing) {
  auto quota = load("quota");
  quota.strategy = "robust";
  const auto full = sim::run_scenario(quota);
  ASSERT_FALSE(full.live);
  EXPECT_NE(full.liveness_detail.find("not converged: not ready; last error: "), std::string::npos)
      << full.liveness_detail;
  EXPECT_NE(full.liveness_detail.find("QuotaExceeded"), std::string::npos) << full.liveness_detail;
  auto faults = load("faults");
  faults.strategy = "classic";
  const auto classic = sim::run_scenario(faults);
  ASSERT_FALSE(classic.live);
  EXPECT_NE(classic.liveness_detail.find("not converged: 0 route(s) to it in 1 table(s)"),
            std::string::npos)
      << classic.liveness_detail;
}

TEST_P(ShippedScenario, ClassicIsSafeEvenWhenItDies) {
  auto sc = load(GetParam().name);
  sc.strategy = "classic";
  auto r = sim::run_scenario(sc);
  EXPECT_TRUE(r.safe()) << r.to_json().dump();
}

INSTANTIATE_TEST_SUITE_P(
    Shipped, ShippedScenario,
    ::testing::Values(shipped{"cloud-outage-past-renewal", true}, shipped{"full-table-day", false},
                      shipped{"compaction-during-outage", true}, shipped{"release-reacquire", true},
                      shipped{"etcd-wipe", true}, shipped{"steady", true}, shipped{"faults", true},
                      shipped{"quota", false}, shipped{"burst-50", true}),
    [](const auto& info) {
      std::string n = info.param.name;
      for (auto& c : n)
        if (c == '-') c = '_';
      return n;
    });
