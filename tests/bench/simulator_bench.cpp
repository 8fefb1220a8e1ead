// A simulator scenario end to end: 50 nodes, one virtual hour, the real backend on virtual time.
#include <alivpc/sim/scenario_runner.hpp>

#include <benchmark/benchmark.h>

namespace {
void BM_SimulateSteady50NodesOneHour(benchmark::State& state) {
  auto sc = alivpc::sim::parse_scenario(R"({"nodes":50,"duration":"1h","write_delay":"3s",
    "latency":{"*":{"kind":"lognormal","median":"120ms","sigma":0.5}},"start_spread":"60s"})");
  std::uint64_t events = 0;
  for (auto _ : state) {
    auto r = alivpc::sim::run_scenario(sc);
    events += r.events_executed;
    if (!r.live) state.SkipWithError("did not converge");
  }
  state.counters["events/s"] =
      benchmark::Counter(static_cast<double>(events), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_SimulateSteady50NodesOneHour)->Unit(benchmark::kMillisecond);
}  // namespace
