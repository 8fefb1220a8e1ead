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
            "--reconcile-period: \"5x\" is not a duration (expected e.g. 30s, 5m, 1h, 1.5h)");
  EXPECT_EQ(usage_of({"--etcd-endpoints=127.0.0.1:2379"}),
            "--etcd-endpoints: URL \"127.0.0.1:2379\": no scheme (expected e.g. "
            "http://127.0.0.1:2379)");
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

// Issue 11: Go durations take fractions and refuse a unitless number (other than "0").
TEST(DaemonFlags, DurationsAreGoDurations) {
  EXPECT_EQ(parse_flags({"--subnet-lease-ttl=1.5h"}, {}).lease_ttl, std::chrono::minutes(90));
  EXPECT_EQ(parse_flags({"--reconcile-period=1h30m"}, {}).reconcile_period,
            std::chrono::minutes(90));
  EXPECT_EQ(parse_flags({"--reconcile-period=2.5s"}, {}).reconcile_period,
            std::chrono::seconds(2));  // whole seconds, like the other duration flags
  EXPECT_EQ(usage_of({"--reconcile-period=5"}),
            "--reconcile-period: \"5\" has no unit (expected e.g. 5s or 5m)");
  EXPECT_EQ(usage_of({"--subnet-lease-ttl=24"}),
            "--subnet-lease-ttl: \"24\" has no unit (expected e.g. 24s or 24m)");
  EXPECT_NE(usage_of({}, {{"FLANNELD_RECONCILE_PERIOD", "300"}}).find("has no unit"),
            std::string::npos);
}

TEST(DaemonFlags, EndpointUrlsAreCheckedAtParsing) {
  EXPECT_EQ(usage_of({"--etcd-endpoints=http://127.0.0.1:99999"}),
            "--etcd-endpoints: URL \"http://127.0.0.1:99999\": port must be 1..65535 (expected "
            "e.g. http://127.0.0.1:2379)");
  EXPECT_NE(usage_of({"--etcd-endpoints=http://127.0.0.1:2379,ftp://h:1"}).find("ftp://h:1"),
            std::string::npos);
  EXPECT_NE(usage_of({"--etcd-endpoints=https://h:0"}).find("--etcd-endpoints:"),
            std::string::npos);
  // A password in the URL is masked up to the last '@'.
  auto u = usage_of({"--etcd-endpoints=http://root:se@cret@h:99999"});
  EXPECT_EQ(u.find("cret"), std::string::npos) << u;
  EXPECT_NE(u.find("--etcd-endpoints"), std::string::npos) << u;
  EXPECT_NE(usage_of({"--vpc-endpoint=https://h:70000"}).find("--vpc-endpoint:"),
            std::string::npos);
  EXPECT_EQ(parse_flags({"--etcd-endpoints=https://10.0.0.1:2379,http://[::1]:2379"}, {})
                .etcd_endpoints.size(),
            2u);
}

TEST(DaemonFlags, RenewMarginMustBeShorterThanTheTtl) {
  auto u = usage_of({"--subnet-lease-ttl=30m", "--subnet-lease-renew-margin=30"});
  EXPECT_NE(u.find("--subnet-lease-renew-margin=30"), std::string::npos) << u;
  EXPECT_NE(u.find("--subnet-lease-ttl=30m"), std::string::npos) << u;
  EXPECT_NO_THROW(parse_flags({"--subnet-lease-ttl=2m", "--subnet-lease-renew-margin=1"}, {}));
  EXPECT_NO_THROW(parse_flags({}, {}));  // the defaults: 24h and 60 minutes
}

TEST(DaemonFlags, PlainHttpCloudEndpointsOnlyOnLoopbackUnlessAllowed) {
  EXPECT_NO_THROW(parse_flags({"--vpc-endpoint=http://127.0.0.1:8080",
                               "--metadata-endpoint=http://127.0.0.1:8080/metadata/i-1"},
                              {}));
  EXPECT_NO_THROW(parse_flags({"--vpc-endpoint=https://vpc.example.com"}, {}));
  EXPECT_NO_THROW(parse_flags({}, {}));  // the ECS metadata default, http://100.100.100.200
  auto u = usage_of({"--vpc-endpoint=http://vpc.cn-hangzhou.aliyuncs.com"});
  EXPECT_NE(u.find("--vpc-endpoint"), std::string::npos) << u;
  EXPECT_NE(u.find("--allow-insecure-http-endpoints"), std::string::npos) << u;
  EXPECT_NE(usage_of({"--metadata-endpoint=http://10.1.2.3"}).find("--metadata-endpoint"),
            std::string::npos);
  EXPECT_NO_THROW(
      parse_flags({"--vpc-endpoint=http://10.0.0.1:8080", "--allow-insecure-http-endpoints"}, {}));
  auto secret = usage_of({"--vpc-endpoint=http://user:hunter2@10.0.0.1"});
  EXPECT_EQ(secret.find("hunter2"), std::string::npos) << secret;
}
