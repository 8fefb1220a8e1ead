// The seed sweep's machinery: the --seeds syntax, the same answer on any number of threads,
// the summary, and the worst seeds first. The runner here is a pure function of the seed (the
// real one, run_scenario, is swept in tests/simulation/sweep).
#include <alivpc/error.hpp>
#include <alivpc/sim/seed_sweep.hpp>

#include <gtest/gtest.h>

#include <stdexcept>

using alivpc::sim::parse_seed_range;
using alivpc::sim::run_seed_sweep;
using alivpc::sim::scenario;
using alivpc::sim::scenario_report;
using alivpc::sim::seed_range;

namespace {

// Seeds divisible by 7 violate safety; by 5 do not converge; the p95 grows with the seed.
scenario_report fake_run(const scenario& sc) {
  scenario_report r;
  r.name = sc.name;
  r.strategy = sc.strategy;
  r.seed = sc.seed;
  r.nodes = 3;
  r.ready_seconds = {1.0, static_cast<double>(sc.seed), 2.0};
  r.safety_violation_count = sc.seed % 7 == 0 ? sc.seed / 7 : 0;
  r.live = sc.seed % 5 != 0;
  r.api_calls["CreateRouteEntry"]["Success"] = 3 * sc.seed;
  return r;
}

}  // namespace

TEST(SeedSweep, SeedsAreACountFromTheScenarioSeedOrARange) {
  EXPECT_EQ(parse_seed_range("100", 7), (seed_range{7, 100}));
  EXPECT_EQ(parse_seed_range("5..9", 7), (seed_range{5, 5}));
  EXPECT_EQ(parse_seed_range("3..3", 1), (seed_range{3, 1}));
  for (const char* bad : {"", "0", "x", "5..", "..5", "9..5", "1..2..3", "-3", "2000000"}) {
    try {
      parse_seed_range(bad, 1);
      ADD_FAILURE() << "accepted \"" << bad << "\"";
    } catch (const alivpc::error& e) {
      EXPECT_EQ(e.kind(), alivpc::error_kind::invalid_argument);
      EXPECT_NE(std::string(e.what()).find("--seeds"), std::string::npos) << e.what();
    }
  }
}

TEST(SeedSweep, AnyNumberOfThreadsGivesTheSameAnswer) {
  scenario sc;
  sc.name = "fake";
  const seed_range seeds{1, 40};
  auto one = run_seed_sweep(sc, seeds, 1, fake_run).to_json();
  for (unsigned jobs : {2u, 3u, 8u}) {
    std::size_t calls = 0, last = 0;
    auto many = run_seed_sweep(sc, seeds, jobs, fake_run, [&](std::size_t done, std::size_t total) {
      ++calls;
      EXPECT_EQ(total, 40u);
      EXPECT_EQ(done, last + 1);  // one at a time, counting up
      last = done;
    });
    EXPECT_EQ(many.to_json(), one) << jobs << " threads";
    EXPECT_EQ(calls, 40u);
  }
  ASSERT_EQ(one["per_seed"].size(), 40u);
  EXPECT_EQ(one["per_seed"][9]["seed"], 10);
}

TEST(SeedSweep, SummaryCountsAndTheWorstSeedsComeFirst) {
  scenario sc;
  auto j = run_seed_sweep(sc, {1, 20}, 2, fake_run).to_json(4);
  EXPECT_EQ(j["safety_violations"], 1 + 2);  // seeds 7 and 14
  EXPECT_EQ(j["seeds_with_violations"], 2);
  EXPECT_EQ(j["seeds_not_live"], 4);  // 5, 10, 15, 20
  EXPECT_DOUBLE_EQ(j["api_calls_per_join"]["max"].get<double>(), 20.0);
  EXPECT_DOUBLE_EQ(j["ready_p95_s"]["max"].get<double>(), 20.0);
  ASSERT_EQ(j["worst_seeds"].size(), 4u);
  EXPECT_EQ(j["worst_seeds"][0]["seed"], 14);  // the most violations first
  EXPECT_EQ(j["worst_seeds"][1]["seed"], 7);
  EXPECT_EQ(j["worst_seeds"][2]["seed"], 20);  // then not converged, slowest first
  EXPECT_EQ(j["worst_seeds"][2]["why"], "did not converge");
  EXPECT_EQ(j["worst_seeds"][0]["why"], "2 safety violation(s)");
}

TEST(SeedSweep, AFailingRunEndsTheSweepWithItsError) {
  scenario sc;
  auto throwing = [](const scenario& s) {
    if (s.seed == 13) throw std::runtime_error("seed 13 broke");
    return fake_run(s);
  };
  EXPECT_THROW(run_seed_sweep(sc, {1, 30}, 3, throwing), std::runtime_error);
}
