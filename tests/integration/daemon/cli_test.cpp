// flanneld_alivpc's surface as a user meets it: --help and usage errors, missing credentials,
// /healthz and /metrics, and secrets that never reach its output.
#include "daemon_cluster.hpp"

#include <boost/asio/ip/tcp.hpp>

#include <fstream>
#include <regex>
#include <set>

namespace alivpc_daemon_test {
namespace {

alivpc_test::daemon_process run_alone(const std::vector<std::string>& args,
                                      const std::filesystem::path& log) {
  return alivpc_test::daemon_process(daemon_binary(), args, {{}, log, {}, false});
}

TEST(DaemonCli, HelpListsEveryFlagWithItsDefaultAndExitsZero) {
  alivpc_test::temp_dir dir("alivpc-cli");
  auto d = run_alone({"--help"}, dir.path() / "out");
  EXPECT_EQ(d.wait_exit(10s), 0);
  auto out = d.log();
  for (const char* flag : {"--etcd-endpoints",
                           "--etcd-prefix",
                           "--etcd-keyfile",
                           "--etcd-certfile",
                           "--etcd-cafile",
                           "--etcd-username",
                           "--etcd-password",
                           "--iface",
                           "--iface-regex",
                           "--public-ip",
                           "--subnet-file",
                           "--ip-masq",
                           "--healthz-ip",
                           "--healthz-port",
                           "--subnet-lease-renew-margin",
                           "--etcd-api",
                           "--metadata-endpoint",
                           "--vpc-endpoint",
                           "--vpc-ca-file",
                           "--reconcile-period",
                           "--strategy",
                           "--release-on-exit",
                           "--log-level"})
    EXPECT_TRUE(out.find(std::string("  ") + flag + "=") != std::string::npos ||
                out.find(std::string("  ") + flag + " ") != std::string::npos)
        << flag << "\n"
        << out;
  EXPECT_NE(out.find("(default http://127.0.0.1:4001,http://127.0.0.1:2379)"), std::string::npos);
  EXPECT_NE(out.find("(default /run/flannel/subnet.env)"), std::string::npos);
  EXPECT_NE(out.find("[FLANNELD_ETCD_ENDPOINTS]"), std::string::npos);
}

TEST(DaemonCli, AnUnknownFlagOrABadValueIsAUsageErrorWithExitCodeTwo) {
  alivpc_test::temp_dir dir("alivpc-cli");
  auto d = run_alone({"--no-such-flag"}, dir.path() / "unknown");
  EXPECT_EQ(d.wait_exit(10s), 2);
  EXPECT_NE(d.log().find("unknown flag --no-such-flag"), std::string::npos) << d.log();
  auto bad = run_alone({"--reconcile-period=soon"}, dir.path() / "bad");
  EXPECT_EQ(bad.wait_exit(10s), 2);
  EXPECT_NE(bad.log().find("--reconcile-period: \"soon\" is not a duration"), std::string::npos)
      << bad.log();
}

TEST(DaemonCli, MissingCredentialsFailAtOnceBeforeALeaseListingTheThreeWays) {
  // No key in the config, none in the environment, and no RAM role on the instance.
  daemon_cluster c(with_nodes(1, {"--ram-role", ""}));
  auto& n = c.start(1, {}, {});
  EXPECT_EQ(n.process->wait_exit(15s), 1) << n.process->log();
  auto log = n.process->log();
  EXPECT_NE(log.find("no AliCloud credentials"), std::string::npos) << log;
  EXPECT_NE(log.find("\"AccessKeyID\" and \"AccessKeySecret\""), std::string::npos) << log;
  EXPECT_NE(log.find("ACCESS_KEY_ID and ACCESS_KEY_SECRET"), std::string::npos) << log;
  EXPECT_NE(log.find("RAM role"), std::string::npos) << log;
  EXPECT_TRUE(c.leases().empty()) << "a lease was taken before the credentials were checked";
  EXPECT_EQ(log.find("acquired lease"), std::string::npos);
  EXPECT_EQ(c.count_all("CreateRouteEntry"), 0);
}

// Issue 11: a --subnet-file that cannot be written fails at start, before a lease or a route.
TEST(DaemonCli, AnUnwritableSubnetFileFailsBeforeALease) {
  daemon_cluster c(with_nodes(1));
  auto blocker = c.dir() / "a-file";
  std::ofstream(blocker) << "x";
  auto& n = c.start(1, {"--subnet-file=" + (blocker / "run" / "subnet.env").string()});
  EXPECT_EQ(n.process->wait_exit(15s), 1) << n.process->log();
  auto log = n.process->log();
  EXPECT_NE(log.find("--subnet-file"), std::string::npos) << log;
  EXPECT_NE(log.find("Not a directory"), std::string::npos) << log;
  EXPECT_TRUE(c.leases().empty()) << "a lease was taken before the subnet file was checked";
  EXPECT_EQ(c.count_all("CreateRouteEntry"), 0);
}

unsigned short free_port() {
  boost::asio::io_context io;
  boost::asio::ip::tcp::acceptor a(io, {boost::asio::ip::make_address("127.0.0.1"), 0});
  return a.local_endpoint().port();
}

TEST(DaemonCli, HealthzIsServiceUnavailableUntilReadyThenOkAndMetricsArePrometheusText) {
  // A 2 s write delay keeps the node not ready long enough to see /healthz say so.
  daemon_cluster c(with_nodes(1, {"--write-delay", "2000"}));
  auto port = free_port();
  const std::string url = "http://127.0.0.1:" + std::to_string(port);
  auto& n = c.start(1, {"--healthz-ip=127.0.0.1", "--healthz-port=" + std::to_string(port)});
  std::optional<alivpc_test::http_result> first;
  ASSERT_TRUE(eventually(
      [&] {
        try {
          first = alivpc_test::http_call(url, "GET", "/healthz");
          return true;
        } catch (const std::exception&) {
          return false;
        }
      },
      10s));
  EXPECT_EQ(first->status, 503) << first->body;
  ASSERT_TRUE(daemon_cluster::wait_ready(n));
  auto ok = alivpc_test::http_call(url, "GET", "/healthz");
  EXPECT_EQ(ok.status, 200) << ok.body;

  auto m = alivpc_test::http_call(url, "GET", "/metrics");
  EXPECT_EQ(m.status, 200);
  EXPECT_NE(m.content_type.find("text/plain"), std::string::npos) << m.content_type;
  // Prometheus text format: HELP and TYPE before each family, then "name{labels} value" lines.
  static const std::regex sample(
      R"(^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[a-z_]+="[^"]*"(,[a-z_]+="[^"]*")*\})? -?[0-9][0-9.e+-]*$)");
  static const std::regex help(R"(^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) .+$)");
  std::set<std::string> typed;
  std::istringstream lines(m.body);
  std::string line;
  int samples = 0;
  while (std::getline(lines, line)) {
    std::smatch match;
    if (line.rfind('#', 0) == 0) {
      ASSERT_TRUE(std::regex_match(line, match, help)) << line;
      if (match[1] == "TYPE") typed.insert(match[2]);
      continue;
    }
    ASSERT_TRUE(std::regex_match(line, match, sample)) << line;
    EXPECT_TRUE(typed.count(match[1])) << "no # TYPE before " << line;
    ++samples;
  }
  EXPECT_GT(samples, 10);
  auto table = c.route_tables().at(0);
  for (const std::string& want : std::vector<std::string>{
           "alivpc_ready 1", "alivpc_healthy 1", "alivpc_lease_expiry_seconds ",
           "alivpc_reconciles_total ", "alivpc_route_repairs_total 0",
           "alivpc_route_creates_total 1", "alivpc_lease_renewals_total 0", "alivpc_errors_total 0",
           "alivpc_cloud_retries_total ", "alivpc_cloud_throttles_total 0",
           "alivpc_route_state{table=\"" + table + "\",state=\"available\"} 1",
           "alivpc_route_state{table=\"" + table + "\",state=\"pending\"} 0",
           // NOLINTNEXTLINE(bugprone-suspicious-missing-comma): one literal split over two lines
           "alivpc_api_calls_total{system=\"cloud\",operation=\"CreateRouteEntry\",outcome="
           "\"success\"} 1",
           "alivpc_api_calls_total{system=\"etcd\",operation=\"acquire_lease\",outcome=\"success\"}"
           " "
           "1"})
    EXPECT_NE(m.body.find(want), std::string::npos) << want << "\n" << m.body;
  // The lease's expiry is about 24 h away.
  auto p = m.body.find("\nalivpc_lease_expiry_seconds ");
  ASSERT_NE(p, std::string::npos);
  auto expiry = std::stod(m.body.substr(p + 29));
  EXPECT_GT(expiry, 23 * 3600.0);
  EXPECT_LE(expiry, 24 * 3600.0);

  auto missing = alivpc_test::http_call(url, "GET", "/nope");
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(n.process->stop(), 0);
}

// In both log formats (--log-format=text, json).
void secrets_never_appear(const std::string& log_format) {
  // Keys in the network config (flannel's first way), an etcd password, debug logging, and a
  // failing call whose error is logged.
  const std::string password = "Etcd-Passw0rd-7d31";
  auto options = with_nodes(1, {"--fail", "*=0.3", "--seed", "3"});
  options.network_config = std::string(R"({"Network":"10.24.0.0/16","Backend":{)") +
                           R"("Type":"ali-vpc","AccessKeyID":")" + key_id +
                           R"(","AccessKeySecret":")" + key_secret + R"("}})";
  daemon_cluster c(options);
  c.also_secret(password);
  // etcd here has no auth enabled: the v2 keys API accepts (and ignores) the password.
  auto& n = c.start(1,
                    {"--log-level=debug", "--log-format=" + log_format, "--etcd-api=v2",
                     "--etcd-username=flannel", "--etcd-password=" + password},
                    {});
  ASSERT_TRUE(daemon_cluster::wait_ready(n));
  EXPECT_EQ(n.process->stop(), 0);
  auto log = n.process->log();
  EXPECT_NE(log.find("InternalError"), std::string::npos) << "no failed call was logged";
  // (the cluster scans every log for key_secret and the password when it ends)
  EXPECT_EQ(log.find(password), std::string::npos);
  EXPECT_EQ(log.find(key_secret), std::string::npos);
  // The emulator's log must not have them either.
  auto emu = c.emulator().log();
  EXPECT_EQ(emu.find(key_secret), std::string::npos);
}

TEST(DaemonCli, SecretsNeverAppearInAnyOutputEvenAtDebugLevel) {
  secrets_never_appear("text");
}

// (the cluster also checks that every line is a JSON object)
TEST(DaemonCli, SecretsNeverAppearInJsonLogsEither) {
  secrets_never_appear("json");
}

}  // namespace
}  // namespace alivpc_daemon_test
