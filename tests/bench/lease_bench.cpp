// Acquire and renew latency of the etcd stores against a local etcd this benchmark starts
// itself (skipped with a message when the `etcd` binary is missing), and of the memory model.
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

#include "../support/alivpc_test/etcd_process.hpp"
#include "../support/alivpc_test/run_task.hpp"

#include <alivpc/lease/etcd_v2_store.hpp>
#include <alivpc/lease/etcd_v3_store.hpp>
#include <alivpc/sim/memory_etcd.hpp>

#include <benchmark/benchmark.h>

#include <memory>

namespace {

using namespace alivpc;
using namespace std::chrono_literals;

alivpc_test::etcd_process* shared_etcd(benchmark::State& state) {
  static std::unique_ptr<alivpc_test::etcd_process> etcd;
  static bool tried = false;
  if (!tried) {
    tried = true;
    if (alivpc_test::etcd_process::available()) {
      etcd = std::make_unique<alivpc_test::etcd_process>();
      const std::string cfg =
          R"({"Network":"10.0.0.0/8","SubnetLen":24,"Backend":{"Type":"ali-vpc"}})";
      etcd->etcdctl("put /coreos.com/network/config " + etcd->quote(cfg));
      etcd->etcdctl("set /coreos.com/network/config " + etcd->quote(cfg), 2);
    }
  }
  if (!etcd) state.SkipWithError("etcd binary not installed: skipping the etcd benchmarks");
  return etcd.get();
}

template <class Store>
void acquire_latency(benchmark::State& state) {
  auto* etcd = shared_etcd(state);
  if (!etcd) return;
  boost::asio::io_context io;
  asio_scheduler sched(io, 1);
  lease::etcd_options o;
  o.endpoints = {http::url::parse(etcd->endpoint())};
  Store store(sched, o);
  auto cfg = alivpc_test::run_task(io, store.get_network_config());
  std::uint32_t n = 0;
  std::vector<lease::lease> taken;
  for (auto _ : state) {
    lease::lease_attrs a;
    a.public_ip = net::ipv4_address(0xC0A80000u + (++n % 60000));  // a new node each time
    taken.push_back(alivpc_test::run_task(io, store.acquire_lease(cfg, a, std::nullopt, 1h)));
  }
  for (auto& l : taken)
    alivpc_test::run_task(io, store.revoke_lease(l));  // after timing ended
}

template <class Store>
void renew_latency(benchmark::State& state) {
  auto* etcd = shared_etcd(state);
  if (!etcd) return;
  boost::asio::io_context io;
  asio_scheduler sched(io, 1);
  lease::etcd_options o;
  o.endpoints = {http::url::parse(etcd->endpoint())};
  Store store(sched, o);
  auto cfg = alivpc_test::run_task(io, store.get_network_config());
  lease::lease_attrs a;
  a.public_ip = net::ipv4_address::parse("10.255.0.1");
  auto l = alivpc_test::run_task(io, store.acquire_lease(cfg, a, std::nullopt, 1h));
  for (auto _ : state)
    l = alivpc_test::run_task(io, store.renew_lease(l, 1h));
  alivpc_test::run_task(io, store.revoke_lease(l));
}

void BM_EtcdV3Acquire(benchmark::State& s) {
  acquire_latency<lease::etcd_v3_store>(s);
}
void BM_EtcdV3Renew(benchmark::State& s) {
  renew_latency<lease::etcd_v3_store>(s);
}
void BM_EtcdV2Acquire(benchmark::State& s) {
  acquire_latency<lease::etcd_v2_store>(s);
}
void BM_EtcdV2Renew(benchmark::State& s) {
  renew_latency<lease::etcd_v2_store>(s);
}
BENCHMARK(BM_EtcdV3Acquire)->Unit(benchmark::kMicrosecond)->Iterations(200);
BENCHMARK(BM_EtcdV3Renew)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_EtcdV2Acquire)->Unit(benchmark::kMicrosecond)->Iterations(200);
BENCHMARK(BM_EtcdV2Renew)->Unit(benchmark::kMicrosecond);

// The model's own cost per acquire (zero latency) with 1000 leases already held.
void BM_MemoryAcquireWith1000Leases(benchmark::State& state) {
  virtual_scheduler s(1);
  sim::memory_etcd<virtual_scheduler> etcd(s);
  etcd.set_latency(clock_duration::zero());
  etcd.put_config(R"({"Network":"10.0.0.0/8","SubnetLen":24,"Backend":{"Type":"ali-vpc"}})");
  auto cfg = config::parse_network_config(*etcd.config());
  sim::memory_store<virtual_scheduler> store(etcd);
  std::uint32_t n = 0;
  for (int i = 0; i < 1000; ++i) {
    lease::lease_attrs a;
    a.public_ip = net::ipv4_address(0xC0A80000u + ++n);
    alivpc_test::run_task(s, store.acquire_lease(cfg, a, std::nullopt, 24h));
  }
  for (auto _ : state) {
    lease::lease_attrs a;
    a.public_ip = net::ipv4_address(0xC0A80000u + ++n);
    auto l = alivpc_test::run_task(s, store.acquire_lease(cfg, a, std::nullopt, 24h));
    alivpc_test::run_task(s, store.revoke_lease(l));
  }
}
BENCHMARK(BM_MemoryAcquireWith1000Leases)->Unit(benchmark::kMicrosecond);

}  // namespace
