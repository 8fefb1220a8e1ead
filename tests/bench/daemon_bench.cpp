// flanneld_alivpc from process start to ready (lease taken, route Available, subnet file written)
// against a local etcd and alivpc-emulator (write delay 0, so this is the daemon's own path:
// metadata, DescribeVpcs, route tables, lease, create, one poll). Each round releases its lease
// and route on exit (--release-on-exit) so the next round starts from scratch.
#include <alivpc_test/daemon_process.hpp>
#include <alivpc_test/emulator_process.hpp>
#include <alivpc_test/etcd_process.hpp>

#include <benchmark/benchmark.h>

#include <filesystem>
#include <fstream>
#include <iterator>

namespace {
void BM_DaemonStartToReady(benchmark::State& state) {
  const std::string daemon =
      std::string(ALIVPC_BINARY_DIR) + "/examples/flanneld_alivpc/flanneld_alivpc";
  if (!alivpc_test::etcd_process::available() || !std::filesystem::exists(daemon) ||
      !std::filesystem::exists(alivpc_test::emulator_process::default_binary())) {
    state.SkipWithError("needs etcd, the alivpc-emulator and flanneld_alivpc targets");
    return;
  }
  alivpc_test::etcd_process etcd;
  etcd.etcdctl(
      "set /coreos.com/network/config "
      "'{\"Network\":\"10.24.0.0/16\",\"Backend\":{\"Type\":\"ali-vpc\"}}'",
      2);
  alivpc_test::emulator_process emu({"--access-key", "bench:bench-secret", "--instance",
                                     "i-bench=192.168.0.20", "--write-delay", "0", "--quiet"});
  auto dir =
      std::filesystem::temp_directory_path() / ("alivpc-bench-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  int round = 0;
  for (auto _ : state) {
    auto log = dir / ("daemon-" + std::to_string(round++) + ".log");
    auto start = std::chrono::steady_clock::now();
    alivpc_test::daemon_process d(
        daemon,
        {"--etcd-endpoints=" + etcd.endpoint(),
         "--metadata-endpoint=" + emu.url() + "/metadata/i-bench", "--vpc-endpoint=" + emu.url(),
         "--public-ip=192.168.0.20", "--subnet-file=" + (dir / "subnet.env").string(),
         "--release-on-exit"},
        {{{"ACCESS_KEY_ID", "bench"}, {"ACCESS_KEY_SECRET", "bench-secret"}}, log, "", false});
    if (!d.wait_for_log("ready: lease", std::chrono::seconds(30))) {
      std::ifstream in(log);
      std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      static std::string message;
      message =
          "the daemon did not get ready: " + text.substr(text.size() > 400 ? text.size() - 400 : 0);
      state.SkipWithError(message.c_str());
      break;
    }
    state.SetIterationTime(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    d.stop();
  }
  std::filesystem::remove_all(dir);
}
BENCHMARK(BM_DaemonStartToReady)->UseManualTime()->Unit(benchmark::kMillisecond)->Iterations(10);
}  // namespace
