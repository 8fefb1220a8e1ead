// Every scenario shipped in sim/scenarios/, run as alivpc-simulate runs it (optimised, the
// production client and lease code on virtual time), for both strategies.
//
// The lease-safety scenarios: the cloud failing past the renewal time, a full table for two days
// with a 24 h TTL, compaction during etcd outages, leases released and claimed again, an etcd
// rebuilt from nothing (twice, once during an outage). The others: 50 nodes at once, faults and
// outages, a table quota smaller than the cluster, 50 nodes within 2 s (burst-50). churn-week
// (a week, minutes of CPU) is run by hand: see the README.
//
// For both strategies every safety invariant holds and nothing is misrouted. The robust strategy
// never exits and converges, except where a full table leaves nodes waiting by design.
#include <alivpc/sim/scenario_runner.hpp>

#include <gtest/gtest.h>

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

TEST_P(ShippedScenario, RobustHoldsEveryInvariantAndConverges) {
  auto sc = load(GetParam().name);
  sc.strategy = "robust";
  auto r = sim::run_scenario(sc);
  EXPECT_TRUE(r.safe()) << r.to_json().dump();
  EXPECT_EQ(r.misrouted_node_seconds, 0u);
  EXPECT_EQ(r.fatal_exits, 0) << r.to_json().dump();
  if (GetParam().converges) {
    EXPECT_TRUE(r.live) << r.liveness_detail;
  }
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
