// The seed sweep: many random fault worlds (sim/fault_world.hpp), each days of virtual time,
// run through the real backend; every safety invariant holds in every world, no node exits,
// and every running node converges after the last fault. `make test` runs a short slice;
// `make soak` runs 1,000 worlds. A failing world prints its seed and its scenario JSON:
//   ALIVPC_SWEEP_FIRST=<seed> ALIVPC_SWEEP_WORLDS=1 <this test>   (or alivpc-simulate --scenario)
// Environment: ALIVPC_SWEEP_FIRST (first seed, 1), ALIVPC_SWEEP_WORLDS (count, 4),
// ALIVPC_SWEEP_HOURS (virtual hours per world, 48), ALIVPC_SWEEP_SHARD=i/n (every n-th seed
// from the i-th, to split a sweep over processes).
#include <alivpc/sim/fault_world.hpp>
#include <alivpc/sim/scenario_runner.hpp>

#include <gtest/gtest.h>

#include <cstdlib>

using namespace alivpc;

namespace {
std::uint64_t env_number(const char* name, std::uint64_t fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::strtoull(v, nullptr, 10) : fallback;
}
}  // namespace

TEST(FaultWorldSweep, EveryWorldIsSafeAndConverges) {
  const auto first = env_number("ALIVPC_SWEEP_FIRST", 1);
  const auto count = env_number("ALIVPC_SWEEP_WORLDS", 4);
  const auto hours = std::chrono::hours(env_number("ALIVPC_SWEEP_HOURS", 48));
  std::uint64_t shard = 0, shards = 1;
  if (const char* s = std::getenv("ALIVPC_SWEEP_SHARD"); s && *s)
    std::sscanf(s, "%lu/%lu", &shard, &shards);
  std::uint64_t ran = 0, violations = 0;
  for (auto seed = first + shard; seed < first + count; seed += shards) {
    auto j = sim::fault_world(seed, hours);
    auto r = sim::run_scenario(sim::parse_scenario_json(j));
    ++ran;
    violations += r.safety_violation_count;
    const bool ok = r.safe() && r.fatal_exits == 0 && r.live && r.misrouted_node_seconds == 0;
    EXPECT_TRUE(ok) << "world " << seed << " (replay: ALIVPC_SWEEP_FIRST=" << seed
                    << " ALIVPC_SWEEP_WORLDS=1)\nscenario: " << j.dump()
                    << "\nreport: " << r.to_json().dump();
  }
  std::printf("sweep: %lu worlds of %ld h from seed %lu (shard %lu/%lu), %lu violations\n", ran,
              static_cast<long>(hours.count()), first, shard, shards, violations);
}
