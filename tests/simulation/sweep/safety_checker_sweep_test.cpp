// The safety checker's periodic sweep: however quiet the world, it looks at it at least once per
// full_look_period, so a change that slipped past the change counters is still judged within
// the hour. (That skipping gives the verdicts of looking every second is shown by
// FaultWorldSweep.CheckingOnChangesGivesTheVerdictsOfCheckingEverySecond.)
#include <alivpc/sim/safety_checker.hpp>

#include <gtest/gtest.h>

using namespace alivpc;
using namespace std::chrono_literals;

namespace {

// A cluster of no running node for `hours`: nothing changes after the first second.
std::uint64_t looks_in_a_quiet_world(std::chrono::hours hours, bool look_every_second) {
  sim::scenario sc;
  virtual_scheduler s(1);
  sim::vpc_model model;
  sim::memory_etcd<virtual_scheduler> etcd(s);
  sim::cluster c(s, model, etcd);
  c.add_node();  // added, never started
  sim::scenario_report r;
  sim::safety_checker checker(sc, s, model, etcd, c, model.find_vpc(c.vpc_id())->system_table_id, r,
                              look_every_second);
  for (auto t = 0s; t < hours; t += 1s) {
    s.run_for(1s);
    checker.second();
  }
  EXPECT_TRUE(r.safe());
  return checker.looks();
}

}  // namespace

TEST(SafetyCheckerSweep, AQuietWorldIsLookedAtOnceAnHourAndNotEverySecond) {
  const auto looks = looks_in_a_quiet_world(6h, false);
  EXPECT_GE(looks, 6u);  // the first second, then at least one an hour
  EXPECT_LE(looks, 8u);
  EXPECT_EQ(looks_in_a_quiet_world(6h, true), 6u * 3600);
}
