// Lease and route safety with real processes: SIGTERM ends the daemon promptly in every phase,
// --release-on-exit never gives a lease back while its route is still in a table, /healthz
// follows the route and the lease (not the last poll), and daemons that share an instance or a
// PublicIP do not take each other's lease or delete each other's route.
#include "daemon_cluster.hpp"

#include <alivpc_test/emulator_http.hpp>

#include <boost/asio.hpp>

#include <fstream>
#include <iostream>
#include <set>

namespace alivpc_daemon_test {
namespace {

using clock_type = std::chrono::steady_clock;

unsigned short free_port() {
  boost::asio::io_context io;
  boost::asio::ip::tcp::acceptor a(io, {boost::asio::ip::make_address("127.0.0.1"), 0});
  return a.local_endpoint().port();
}

// Sends SIGTERM once `phase_line` is in the log; returns the exit code and the seconds it took.
std::pair<int, double> sigterm_when(node& n, const std::string& phase_line) {
  EXPECT_TRUE(n.process->wait_for_log(phase_line, 30s)) << "never reached: " << phase_line;
  auto t0 = clock_type::now();
  int rc = n.process->stop(30s);
  return {rc, std::chrono::duration<double>(clock_type::now() - t0).count()};
}

// The old daemon waited up to 30 s here (its shutdown cap) in each of these phases. The bound
// below is generous (the goal, one second, is what the log line reports).
constexpr double prompt_exit_bound_s = 5.0;

TEST(DaemonSafety, SigtermEndsTheDaemonPromptlyWhileEtcdIsUnreachable) {
  daemon_cluster c(with_nodes(1));
  auto& n = c.start(1, {"--etcd-endpoints=http://127.0.0.1:" + std::to_string(free_port())});
  auto [rc, took] = sigterm_when(n, "refused");
  std::cout << "[ figures  ] SIGTERM while etcd is unreachable: exit after " << took << " s\n";
  EXPECT_EQ(rc, 0);
  EXPECT_LT(took, prompt_exit_bound_s);
}

TEST(DaemonSafety, SigtermEndsTheDaemonPromptlyWhileWaitingForTheNetworkConfig) {
  daemon_cluster c(with_nodes(1));
  auto& n = c.start(1, {"--etcd-prefix=/nothing/here"});
  auto [rc, took] = sigterm_when(n, "no network config");
  std::cout << "[ figures  ] SIGTERM while waiting for the config: exit after " << took << " s\n";
  EXPECT_EQ(rc, 0);
  EXPECT_LT(took, prompt_exit_bound_s);
}

TEST(DaemonSafety, SigtermEndsTheDaemonPromptlyWhileTheCloudIsThrottling) {
  daemon_cluster c(with_nodes(1, {"--throttle", "DescribeRouteEntryList=1/60s"}));
  auto& n = c.start(1);
  auto [rc, took] = sigterm_when(n, "hrottl");
  std::cout << "[ figures  ] SIGTERM while throttled: exit after " << took << " s\n";
  EXPECT_EQ(rc, 0);
  EXPECT_LT(took, prompt_exit_bound_s);
}

TEST(DaemonSafety, SigtermEndsTheDaemonPromptlyWhileWaitingForARoute) {
  daemon_cluster c(with_nodes(1, {"--write-delay", "60000"}));
  auto& n = c.start(1);
  auto [rc, took] = sigterm_when(n, "backend: acquired lease");
  std::cout << "[ figures  ] SIGTERM while the route is Pending: exit after " << took << " s\n";
  EXPECT_EQ(rc, 0);
  EXPECT_LT(took, prompt_exit_bound_s);
}

TEST(DaemonSafety, ReleaseOnExitDuringACloudOutageKeepsTheLeaseAndExitsWithOne) {
  daemon_cluster c(with_nodes(1));
  auto& n = c.start(1, {"--release-on-exit"});
  ASSERT_TRUE(daemon_cluster::wait_ready(n));
  c.admin("POST", "/_emulator/outage?Action=*&Milliseconds=120000");
  EXPECT_EQ(n.process->stop(60s), 1) << "a release that could not finish is a failure";
  ASSERT_TRUE(c.lease_of(1)) << "the lease was given back while its route is still in the table";
  EXPECT_EQ(c.routes().size(), 1u);
  EXPECT_GT(n.process->count_in_log("is still in"), 0u);
}

TEST(DaemonSafety, HealthzStaysOkWhenARoutineCheckIsThrottled) {
  daemon_cluster c(with_nodes(1, {"--throttle", "DescribeRouteEntryList=5/60s"}));
  auto port = free_port();
  const std::string url = "http://127.0.0.1:" + std::to_string(port);
  auto& n = c.start(1, {"--healthz-ip=127.0.0.1", "--healthz-port=" + std::to_string(port),
                        "--reconcile-period=1s"});
  ASSERT_TRUE(daemon_cluster::wait_ready(n));
  int not_ok = 0, samples = 0;
  for (; samples < 30; ++samples) {
    if (alivpc_test::http_call(url, "GET", "/healthz").status != 200) ++not_ok;
    std::this_thread::sleep_for(500ms);
  }
  EXPECT_GT(c.count("DescribeRouteEntryList", "Throttling.User"), 0) << "the test did not throttle";
  EXPECT_EQ(not_ok, 0) << not_ok << " of " << samples << " /healthz answers were not 200";
}

TEST(DaemonSafety, TwoDaemonsOnOneInstanceKeepEachOthersRoute) {
  daemon_cluster c(with_nodes(2));
  // Node 2 runs on node 1's instance (same metadata), with its own PublicIP.
  auto& a = c.start(1);
  ASSERT_TRUE(daemon_cluster::wait_ready(a));
  auto& b = c.start(2, {"--metadata-endpoint=" + c.emulator().url() + "/metadata/i-node1"});
  ASSERT_TRUE(daemon_cluster::wait_ready(b));
  std::this_thread::sleep_for(8s);  // several reconcile periods of both
  EXPECT_EQ(c.count("DeleteRouteEntry"), 0) << "one daemon deleted the other's route";
  EXPECT_EQ(c.leases().size(), 2u);
  EXPECT_EQ(c.routes().size(), 2u);
}

TEST(DaemonSafety, InstancesSharingAPublicIpTakeSeparateLeasesAndDoNotFight) {
  daemon_cluster c(with_nodes(3));
  for (int i = 1; i <= 3; ++i)
    c.start(i, {"--public-ip=" + daemon_cluster::public_ip(1)});
  for (int i = 1; i <= 3; ++i)
    ASSERT_TRUE(daemon_cluster::wait_ready(c.at(i))) << "node " << i;
  std::this_thread::sleep_for(8s);
  std::set<std::string> subnets;
  for (auto& l : c.leases())
    subnets.insert(l.subnet);
  EXPECT_EQ(subnets.size(), 3u);
  EXPECT_EQ(c.routes().size(), 3u);
  EXPECT_EQ(c.count("DeleteRouteEntry"), 0);
  EXPECT_EQ(c.count("CreateRouteEntry"), 3);
}

// etcd stopped, its data directory wiped, a new empty etcd on the same port, the config published
// again: the daemons notice (the index went backwards) and put their leases back for the same
// subnets at once, without touching a route.
TEST(DaemonSafety, AnEtcdThatLostItsDataGetsTheLeasesBackWithoutRouteWrites) {
  daemon_cluster c(with_nodes(2));
  for (int i = 1; i <= 2; ++i)
    c.start(i, {"--subnet-lease-ttl=10m", "--subnet-lease-renew-margin=1"});
  for (int i = 1; i <= 2; ++i)
    ASSERT_TRUE(daemon_cluster::wait_ready(c.at(i))) << "node " << i;
  std::map<int, std::string> subnet;
  for (int i = 1; i <= 2; ++i)
    subnet[i] = c.lease_of(i)->subnet;
  const long creates = c.count("CreateRouteEntry"), deletes = c.count("DeleteRouteEntry");

  c.etcd().stop();
  std::filesystem::remove_all(c.etcd().data_dir());
  c.etcd().start();
  c.etcd().etcdctl(
      "set /coreos.com/network/config " + alivpc_test::etcd_process::quote(default_network_config),
      2);
  auto t0 = clock_type::now();
  ASSERT_TRUE(eventually(
      [&] {
        for (int i = 1; i <= 2; ++i) {
          auto l = c.lease_of(i);
          if (!l || l->subnet != subnet[i]) return false;
        }
        return true;
      },
      30s))
      << "the leases did not come back for the same subnets";
  std::cout << "[ figures  ] leases back "
            << std::chrono::duration<double>(clock_type::now() - t0).count()
            << " s after etcd came back empty\n";
  std::this_thread::sleep_for(6s);  // a few reconcile periods
  EXPECT_EQ(c.count("CreateRouteEntry"), creates);
  EXPECT_EQ(c.count("DeleteRouteEntry"), deletes);
  // The first node to reach the new etcd sees its index go back. A later one may not: the v2
  // index only goes up, and the first node's new claim can bring it back to where the later
  // one last saw it (seen in make test on 2026-12-06). That node finds its key missing, as after
  // a deletion, and claims it again all the same.
  std::size_t noticed = 0;
  for (int i = 1; i <= 2; ++i) {
    auto& log = *c.at(i).process;
    noticed += log.count_in_log("lost its data") > 0 ? 1 : 0;
    EXPECT_GT(log.count_in_log("lost its data") + log.count_in_log("missing from the store"), 0u)
        << "node " << i;
    EXPECT_GT(log.count_in_log("again: its routes stay"), 0u) << "node " << i;
  }
  EXPECT_GT(noticed, 0u) << "no node noticed that etcd lost its data";
}

// The subnet file cannot be written in mid-life (its directory gone, as on a read-only or full
// /run): the daemon reports it, stays up and not ready, and writes it once it can.
TEST(DaemonSafety, ASubnetFileThatCannotBeWrittenIsRetriedNotFatal) {
  daemon_cluster c(with_nodes(1));
  const auto dir = c.dir() / "run-flannel";
  std::filesystem::create_directories(dir);
  auto& n = c.start(1, {"--subnet-file=" + (dir / "subnet.env").string()});
  ASSERT_TRUE(daemon_cluster::wait_ready(n));
  const auto first = c.lease_of(1)->subnet;
  // The directory becomes a plain file: every write of dir/subnet.env fails (ENOTDIR).
  std::filesystem::rename(dir, c.dir() / "run-flannel.saved");
  { std::ofstream(dir) << "not a directory"; }
  // Another node takes our subnet: we move to a new one, whose file we cannot write.
  auto key = first;
  key.replace(key.find('/'), 1, "-");
  c.etcd().etcdctl(
      "set /coreos.com/network/subnets/" + key + " " +
          alivpc_test::etcd_process::quote(
              R"({"PublicIP":"192.168.0.99","PublicIPv6":null,"BackendType":"ali-vpc","BackendData":null})"),
      2);
  ASSERT_TRUE(n.process->wait_for_log("(will retry)", 30s));
  ASSERT_TRUE(eventually([&] { return n.process->count_in_log("subnet.env") > 0; }, 10s));
  std::this_thread::sleep_for(3s);
  EXPECT_TRUE(n.process->running()) << "a subnet file write failure ended the daemon";
  EXPECT_EQ(n.process->count_in_log("flanneld: ready: lease"), 1u) << "ready without its file";
  // The directory is back: the file is written and the node is ready on its new subnet.
  std::filesystem::remove(dir);
  std::filesystem::rename(c.dir() / "run-flannel.saved", dir);
  ASSERT_TRUE(daemon_cluster::wait_ready(n, 60s, 1));
  auto moved = c.lease_of(1);
  ASSERT_TRUE(moved);
  EXPECT_NE(moved->subnet, first);
  EXPECT_NE(read_text(dir / "subnet.env").find("FLANNEL_NETWORK=10.24.0.0/16"), std::string::npos);
}

}  // namespace
}  // namespace alivpc_daemon_test
