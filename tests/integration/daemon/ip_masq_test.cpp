// --ip-masq for real: the daemon runs in a network namespace this test creates (its default
// route goes through a veth to a second namespace, so interface selection finds it), with its
// own etcd and alivpc-emulator on that namespace's loopback; iptables-save inside shows
// flanneld's FLANNEL-POSTRTG rules. The host's own tables are never touched.
#include "daemon_cluster.hpp"

#include <unistd.h>

#include <cstdio>
#include <iostream>

namespace alivpc_daemon_test {
namespace {

int sh(const std::string& cmd) {
  int rc = std::system((cmd + " >/dev/null 2>&1").c_str());
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

std::string capture(const std::string& cmd) {
  std::string out;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) return out;
  char buf[4096];
  while (std::size_t n = std::fread(buf, 1, sizeof buf, p))
    out.append(buf, n);
  ::pclose(p);
  return out;
}

std::string which(const std::string& program) {
  auto out = capture("command -v " + program + " 2>/dev/null");
  while (!out.empty() && (out.back() == '\n' || out.back() == ' '))
    out.pop_back();
  return out;
}

// Two namespaces joined by a veth; removed (with everything in them) at scope end.
struct namespaces {
  std::string node = "alivpc-masq-" + std::to_string(::getpid());
  std::string gateway = "alivpc-gw-" + std::to_string(::getpid());
  bool made = false;
  std::string setup() {
    for (auto& cmd : std::vector<std::string>{
             "ip netns add " + node, "ip netns add " + gateway,
             "ip -n " + node + " link add eth-ext type veth peer name eth-gw netns " + gateway,
             "ip -n " + node + " link set lo up",
             "ip -n " + node + " addr add 198.18.0.2/30 dev eth-ext",
             "ip -n " + node + " link set eth-ext mtu 1450 up",
             "ip -n " + gateway + " addr add 198.18.0.1/30 dev eth-gw",
             "ip -n " + gateway + " link set eth-gw up",
             "ip -n " + node + " route add default via 198.18.0.1 dev eth-ext"}) {
      made = true;
      if (sh(cmd) != 0) return cmd;
    }
    return {};
  }
  ~namespaces() {
    if (!made) return;
    sh("ip netns del " + node);
    sh("ip netns del " + gateway);
  }
};

TEST(DaemonIpMasq, InstallsFlannelPostroutingRulesInsideItsNetworkNamespace) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to create network namespaces";
  if (which("ip").empty()) GTEST_SKIP() << "the ip command (iproute2) is not installed";
  if (which("iptables").empty() || which("iptables-save").empty())
    GTEST_SKIP() << "iptables/iptables-save are not installed: --ip-masq cannot be checked";
  const std::string etcd_bin = which("etcd"), etcdctl = which("etcdctl");
  ASSERT_FALSE(etcd_bin.empty()) << "etcd is not installed";
  ASSERT_FALSE(etcdctl.empty()) << "etcdctl is not installed";
  const bool host_had_chain =
      capture("iptables-save -t nat").find(":FLANNEL-POSTRTG") != std::string::npos;

  namespaces ns;
  auto failed = ns.setup();
  if (!failed.empty()) GTEST_SKIP() << "cannot set up network namespaces (\"" << failed << "\")";
  alivpc_test::temp_dir dir("alivpc-masq");
  auto in_ns = [&](const std::string& cmd) { return "ip netns exec " + ns.node + " " + cmd; };

  // etcd and the emulator on the namespace's own loopback (fixed ports: the namespace is new).
  alivpc_test::daemon_process etcd(
      etcd_bin,
      {"--data-dir", (dir.path() / "etcd").string(), "--listen-client-urls",
       "http://127.0.0.1:2379", "--advertise-client-urls", "http://127.0.0.1:2379",
       "--listen-peer-urls", "http://127.0.0.1:2380", "--initial-advertise-peer-urls",
       "http://127.0.0.1:2380", "--initial-cluster", "default=http://127.0.0.1:2380",
       "--enable-v2=true", "--log-level", "warn"},
      {{}, dir.path() / "etcd.log", ns.node, false});
  const std::string publish =
      in_ns("env ETCDCTL_API=2 " + etcdctl +
            " --endpoints http://127.0.0.1:2379 set /coreos.com/network/config " +
            alivpc_test::etcd_process::quote(default_network_config));
  ASSERT_TRUE(eventually([&] { return sh(publish) == 0; }, 20s)) << etcd.log();
  alivpc_test::daemon_process emu(
      alivpc_test::emulator_process::default_binary(),
      {"--listen", "127.0.0.1:8080", "--access-key", std::string(key_id) + ":" + key_secret,
       "--instance", "i-node1=192.168.0.11", "--write-delay", "200", "--quiet"},
      {{}, dir.path() / "emulator.log", ns.node, false});
  ASSERT_TRUE(emu.wait_for_log("listening on", 20s)) << emu.log();

  std::vector<std::string> args = {"--etcd-endpoints=http://127.0.0.1:2379",
                                   "--metadata-endpoint=http://127.0.0.1:8080/metadata/i-node1",
                                   "--vpc-endpoint=http://127.0.0.1:8080",
                                   "--public-ip=192.168.0.11",
                                   "--subnet-file=" + (dir.path() / "subnet.env").string(),
                                   "--ip-masq"};
  alivpc_test::daemon_process d(daemon_binary(), args,
                                {{{"ACCESS_KEY_ID", key_id}, {"ACCESS_KEY_SECRET", key_secret}},
                                 dir.path() / "daemon.log",
                                 ns.node,
                                 false});
  ASSERT_TRUE(d.wait_for_log("masquerade rules in place", 30s)) << d.log();
  auto log = d.log();
  EXPECT_NE(log.find("using interface eth-ext address 198.18.0.2"), std::string::npos) << log;
  auto subnet_file = read_text(dir.path() / "subnet.env");
  EXPECT_NE(subnet_file.find("FLANNEL_IPMASQ=true\n"), std::string::npos) << subnet_file;
  EXPECT_NE(subnet_file.find("FLANNEL_MTU=1450\n"), std::string::npos) << subnet_file;
  auto line = log.substr(log.find("ready: lease ") + 13);
  const std::string subnet = line.substr(0, line.find('\n'));

  auto rules = capture(in_ns("iptables-save -t nat"));
  std::cout << "[ ip-masq  ] iptables-save -t nat in " << ns.node << ":\n" << rules;
  const std::string c = "-m comment --comment \"flanneld masq\"";
  const std::vector<std::string> wanted{
      ":FLANNEL-POSTRTG - [0:0]",
      "-A POSTROUTING " + c + " -j FLANNEL-POSTRTG",
      "-A FLANNEL-POSTRTG -m mark --mark 0x4000/0x4000 " + c + " -j RETURN",
      "-A FLANNEL-POSTRTG -s " + subnet + " -d 10.24.0.0/16 " + c + " -j RETURN",
      "-A FLANNEL-POSTRTG -s 10.24.0.0/16 -d " + subnet + " " + c + " -j RETURN",
      "-A FLANNEL-POSTRTG ! -s 10.24.0.0/16 -d " + subnet + " " + c + " -j RETURN",
      "-A FLANNEL-POSTRTG -s 10.24.0.0/16 ! -d 224.0.0.0/4 " + c + " -j MASQUERADE --random-fully",
      "-A FLANNEL-POSTRTG ! -s 10.24.0.0/16 -d 10.24.0.0/16 " + c +
          " -j MASQUERADE --random-fully"};
  for (const std::string& want : wanted)
    EXPECT_NE(rules.find(want + "\n"), std::string::npos) << "missing: " << want;

  // A restart adds nothing twice.
  EXPECT_EQ(d.stop(), 0);
  d.start();
  ASSERT_TRUE(eventually([&] { return d.count_in_log("masquerade rules in place") == 2; }, 30s))
      << d.log();
  auto again = capture(in_ns("iptables-save -t nat"));
  EXPECT_EQ(again.find("-A FLANNEL-POSTRTG -s 10.24.0.0/16 ! -d"),
            again.rfind("-A FLANNEL-POSTRTG -s 10.24.0.0/16 ! -d"))
      << "a rule was added twice:\n"
      << again;

  // Another node takes our subnet (an operator's reservation for another PublicIP): the daemon
  // moves to a new subnet, and the rules follow it (the old subnet's rules go).
  auto key = subnet;
  key.replace(key.find('/'), 1, "-");
  const std::string take = in_ns(
      "env ETCDCTL_API=2 " + etcdctl +
      " --endpoints http://127.0.0.1:2379 set /coreos.com/network/subnets/" + key + " " +
      alivpc_test::etcd_process::quote(
          R"({"PublicIP":"192.168.0.99","PublicIPv6":null,"BackendType":"ali-vpc","BackendData":null})"));
  ASSERT_EQ(sh(take), 0);
  ASSERT_TRUE(eventually([&] { return d.count_in_log("masquerade rules in place") == 3; }, 30s))
      << d.log();
  auto moved_log = d.log();
  auto moved_line = moved_log.substr(moved_log.rfind("ready: lease ") + 13);
  const std::string moved = moved_line.substr(0, moved_line.find('\n'));
  EXPECT_NE(moved, subnet);
  auto after = capture(in_ns("iptables-save -t nat"));
  EXPECT_EQ(after.find(subnet), std::string::npos) << "rules of the old subnet remain:\n" << after;
  EXPECT_NE(after.find("-A FLANNEL-POSTRTG -s " + moved + " -d 10.24.0.0/16 " + c + " -j RETURN"),
            std::string::npos)
      << after;
  EXPECT_EQ(d.stop(), 0);
  EXPECT_EQ(capture("iptables-save -t nat").find(":FLANNEL-POSTRTG") != std::string::npos,
            host_had_chain)
      << "the host's nat table changed";
  EXPECT_EQ(d.log().find(key_secret), std::string::npos);
}

}  // namespace
}  // namespace alivpc_daemon_test
