#include <flanneld_alivpc/daemon_flags.hpp>

#include <gtest/gtest.h>

using flanneld_alivpc::parse_flags;
using flanneld_alivpc::usage_error;

namespace {
std::string usage_of(const std::vector<std::string>& args,
                     const std::map<std::string, std::string>& env = {}) {
  try {
    parse_flags(args, env);
  } catch (const usage_error& e) {
    return e.what();
  }
  return "";
}
}  // namespace

TEST(DaemonFlags, DefaultsAreFlanneldsAndOurs) {
  auto f = parse_flags({}, {});
  EXPECT_EQ(f.etcd_endpoints,
            (std::vector<std::string>{"http://127.0.0.1:4001", "http://127.0.0.1:2379"}));
  EXPECT_EQ(f.etcd_prefix, "/coreos.com/network");
  EXPECT_EQ(f.subnet_file, "/run/flannel/subnet.env");
  EXPECT_EQ(f.subnet_lease_renew_margin, 60);
  EXPECT_EQ(f.healthz_port, 0);
  EXPECT_EQ(f.reconcile_period, std::chrono::minutes(5));
  EXPECT_EQ(f.strategy, "robust");
  EXPECT_EQ(f.etcd_api, "auto");
  EXPECT_EQ(f.metadata_endpoint, "http://100.100.100.200");
  EXPECT_FALSE(f.ip_masq);
}

TEST(DaemonFlags, SeedCommandLineWorks) {
  auto f = parse_flags({"--etcd-endpoints=http://127.0.0.1:2379"}, {});
  EXPECT_EQ(f.etcd_endpoints, std::vector<std::string>{"http://127.0.0.1:2379"});
}

TEST(DaemonFlags, BothSpellingsAndRepeatables) {
  auto f =
      parse_flags({"--iface", "eth0", "--iface=10.0.0.5", "-ip-masq", "--reconcile-period=90s",
                   "--healthz-port", "8471", "--public-ip=192.168.0.9", "--release-on-exit=false"},
                  {});
  EXPECT_EQ(f.iface, (std::vector<std::string>{"eth0", "10.0.0.5"}));
  EXPECT_TRUE(f.ip_masq);
  EXPECT_EQ(f.reconcile_period, std::chrono::seconds(90));
  EXPECT_EQ(f.healthz_port, 8471);
  EXPECT_EQ(f.public_ip->to_string(), "192.168.0.9");
  EXPECT_FALSE(f.release_on_exit);
  EXPECT_EQ(parse_flags({"--reconcile-period=1h30m"}, {}).reconcile_period,
            std::chrono::minutes(90));
}

TEST(DaemonFlags, EnvironmentFillsInAndCommandLineWins) {
  std::map<std::string, std::string> env{{"FLANNELD_ETCD_PREFIX", "/x/network"},
                                         {"FLANNELD_IFACE", "eth0,eth1"},
                                         {"FLANNELD_IP_MASQ", "true"},
                                         {"FLANNELD_STRATEGY", "classic"}};
  auto f = parse_flags({"--strategy=robust"}, env);
  EXPECT_EQ(f.etcd_prefix, "/x/network");
  EXPECT_EQ(f.iface, (std::vector<std::string>{"eth0", "eth1"}));
  EXPECT_TRUE(f.ip_masq);
  EXPECT_EQ(f.strategy, "robust");
  EXPECT_EQ(parse_flags({"--iface=eth9"}, env).iface, std::vector<std::string>{"eth9"});
  EXPECT_NE(usage_of({}, {{"FLANNELD_HEALTHZ_PORT", "x"}}).find("(from FLANNELD_HEALTHZ_PORT)"),
            std::string::npos);
}

TEST(DaemonFlags, BadInputNamesTheFlag) {
  EXPECT_EQ(usage_of({"--nope"}), "unknown flag --nope (see --help)");
  EXPECT_EQ(usage_of({"--subnet-lease-renew-margin=0"}),
            "--subnet-lease-renew-margin: \"0\" is not a whole number in 1..1439");
  EXPECT_EQ(usage_of({"--strategy=fast"}), "--strategy: \"fast\" is not one of robust, classic");
  EXPECT_EQ(usage_of({"--healthz-port"}), "--healthz-port needs a value (PORT)");
  EXPECT_EQ(usage_of({"--public-ip=1.2.3"}), "--public-ip: \"1.2.3\" is not an IPv4 address");
  EXPECT_EQ(usage_of({"--reconcile-period=5x"}),
            "--reconcile-period: \"5x\" is not a duration (expected e.g. 30s, 5m, 1h)");
  EXPECT_EQ(usage_of({"--etcd-endpoints=127.0.0.1:2379"}),
            "--etcd-endpoints: \"127.0.0.1:2379\" is not an http:// or https:// URL");
  EXPECT_EQ(usage_of({"positional"}), "unexpected argument \"positional\" (flags start with --)");
  EXPECT_NE(usage_of({"--next-hop-type=NetworkInterface"}).find("--next-hop-id"),
            std::string::npos);
  EXPECT_NE(usage_of({"--iface-regex=("}).find("not a valid regular expression"),
            std::string::npos);
}

TEST(DaemonFlags, HelpListsEveryFlagWithDefaultsAndHidesSecrets) {
  auto help = flanneld_alivpc::help_text();
  for (auto& s : flanneld_alivpc::all_flags())
    EXPECT_NE(help.find(std::string("--") + s.name), std::string::npos) << s.name;
  EXPECT_NE(help.find("(default /run/flannel/subnet.env)"), std::string::npos);
  EXPECT_NE(help.find("[FLANNELD_ETCD_ENDPOINTS]"), std::string::npos);
  auto f = parse_flags({"--etcd-password=hunter2"}, {});
  for (auto& s : flanneld_alivpc::all_flags())
    EXPECT_EQ(s.show(f).find("hunter2"), std::string::npos);
}
