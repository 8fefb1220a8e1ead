// The subnet allocator on a 10.0.0.0/8 network with /24 subnets and 60,000 taken (issue 2's goal).
#include <alivpc/lease/subnet_allocator.hpp>
#include <alivpc/runtime/virtual_scheduler.hpp>

#include <benchmark/benchmark.h>

namespace {
void BM_AllocateIn8With60kTaken(benchmark::State& state) {
  auto cfg = alivpc::config::parse_network_config(R"({"Network":"10.0.0.0/8","SubnetLen":24})");
  alivpc::prng rng(1);
  std::vector<alivpc::net::ipv4_cidr> taken;
  std::vector<alivpc::net::ipv4_cidr> all;
  cfg.network->for_each_subnet(24, [&](auto s) { all.push_back(s); });
  for (std::size_t i = all.size() - 1; i > 0; --i)
    std::swap(all[i], all[rng.below(i + 1)]);
  taken.assign(all.begin(), all.begin() + state.range(0));
  for (auto _ : state) {
    auto got = alivpc::lease::choose_subnet(cfg, taken, std::nullopt, rng);
    benchmark::DoNotOptimize(got);
  }
  state.SetLabel(std::to_string(state.range(0)) + " taken");
}
BENCHMARK(BM_AllocateIn8With60kTaken)->Arg(60000)->Arg(1000)->Unit(benchmark::kMicrosecond);

void BM_VirtualSchedulerEvents(benchmark::State& state) {
  for (auto _ : state) {
    alivpc::virtual_scheduler s(1);
    auto worker = [](alivpc::virtual_scheduler& s) -> alivpc::task<void> {
      for (int i = 0; i < 100; ++i)
        co_await alivpc::sleep_for(s, std::chrono::milliseconds(s.random().between(1, 100)));
    };
    for (int i = 0; i < 1000; ++i)
      alivpc::spawn(s, worker(s));
    s.run();
    state.counters["events"] = benchmark::Counter(static_cast<double>(s.executed()),
                                                  benchmark::Counter::kIsIterationInvariantRate);
  }
}
BENCHMARK(BM_VirtualSchedulerEvents)->Unit(benchmark::kMillisecond);
}  // namespace
