// The daemon as an operator watches it: Debian's prometheus server scrapes a running
// flanneld_alivpc every second (with our alerting rules loaded), and its HTTP API must show the
// node ready and API calls counted and growing; promtool lints our /metrics output. The daemon
// logs JSON here, so the cluster's end-of-test checks (no secret, every line a JSON object) run
// on that format.
#include "../daemon/daemon_cluster.hpp"

#include <alivpc/detail/percent_encoding.hpp>

#include <boost/asio/ip/tcp.hpp>

#include <cstdio>
#include <fstream>

namespace alivpc_daemon_test {
namespace {

unsigned short free_port() {
  boost::asio::io_context io;
  boost::asio::ip::tcp::acceptor a(io, {boost::asio::ip::make_address("127.0.0.1"), 0});
  return a.local_endpoint().port();
}

std::string which(const std::string& program) {
  for (const char* dir : {"/usr/bin/", "/usr/sbin/", "/bin/", "/sbin/"})
    if (::access((dir + program).c_str(), X_OK) == 0) return dir + program;
  return {};
}

// Runs a shell command; its exit status and its stdout + stderr.
std::pair<int, std::string> run(const std::string& command) {
  std::string out;
  FILE* p = ::popen((command + " 2>&1").c_str(), "r");
  if (!p) return {-1, "popen failed"};
  char buf[4096];
  while (auto n = std::fread(buf, 1, sizeof buf, p))
    out.append(buf, n);
  int status = ::pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

// The samples of an instant query (empty when Prometheus has none yet or does not answer).
json query(const std::string& prometheus_url, const std::string& promql) {
  try {
    auto r = alivpc_test::http_call(
        prometheus_url, "GET", "/api/v1/query?query=" + alivpc::detail::percent_encode(promql));
    if (r.status != 200) return json::array();
    auto j = json::parse(r.body);
    if (j.value("status", "") != "success") return json::array();
    return j["data"]["result"];
  } catch (const std::exception&) {
    return json::array();
  }
}

// The value of a one-sample answer, or -1.
double scalar(const json& result) {
  if (result.size() != 1) return -1;
  return std::stod(result[0]["value"][1].get<std::string>());
}

TEST(PrometheusScrape, PrometheusSeesTheNodeReadyAndApiCallsGrowing) {
  const auto prometheus = which("prometheus"), promtool = which("promtool");
  ASSERT_FALSE(prometheus.empty() || promtool.empty())
      << "prometheus/promtool are not installed: run scripts/install-deps.sh";

  daemon_cluster c(with_nodes(1));
  const auto metrics_port = free_port();
  auto& n = c.start(1, {"--log-format=json", "--healthz-ip=127.0.0.1",
                        "--healthz-port=" + std::to_string(metrics_port)});
  ASSERT_TRUE(daemon_cluster::wait_ready(n));

  // promtool's linter on what we serve (names, units, HELP and TYPE).
  auto m =
      alivpc_test::http_call("http://127.0.0.1:" + std::to_string(metrics_port), "GET", "/metrics");
  ASSERT_EQ(m.status, 200);
  for (const char* family : {"alivpc_build_info{", "alivpc_lease_expiry_timestamp_seconds ",
                             "alivpc_lease_renew_margin_seconds ", "alivpc_route_table_entries{"})
    EXPECT_NE(m.body.find(std::string("\n") + family), std::string::npos) << family << "\n"
                                                                          << m.body;
  auto metrics_file = c.dir() / "metrics.txt";
  std::ofstream(metrics_file) << m.body;
  auto [lint_rc, lint] = run(promtool + " check metrics < " + metrics_file.string());
  EXPECT_EQ(lint_rc, 0) << lint << "\n" << m.body;
  EXPECT_EQ(lint.find_first_not_of(" \n"), std::string::npos) << "promtool says:\n" << lint;

  // Prometheus itself, scraping every second, with our alerting rules loaded.
  const auto web_port = free_port();
  const std::string prometheus_url = "http://127.0.0.1:" + std::to_string(web_port);
  auto config = c.dir() / "prometheus.yml";
  std::ofstream(config) << "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
                        << "rule_files:\n  - " << ALIVPC_SOURCE_DIR
                        << "/deploy/prometheus/alivpc-alerts.yml\n"
                        << "scrape_configs:\n  - job_name: alivpc\n    static_configs:\n"
                        << "      - targets: ['127.0.0.1:" << metrics_port << "']\n";
  alivpc_test::daemon_process server(
      prometheus,
      {"--config.file=" + config.string(), "--storage.tsdb.path=" + (c.dir() / "tsdb").string(),
       "--web.listen-address=127.0.0.1:" + std::to_string(web_port), "--log.level=warn"},
      {{}, c.dir() / "prometheus.log", {}, false});

  // Generous waits: the first scrape comes within a second or two of start.
  EXPECT_TRUE(
      eventually([&] { return scalar(query(prometheus_url, "up{job=\"alivpc\"}")) == 1; }, 60s))
      << "Prometheus did not scrape the daemon successfully:\n"
      << server.log() << "\n"
      << alivpc_test::http_call(prometheus_url, "GET", "/api/v1/targets").body;
  EXPECT_TRUE(eventually([&] { return scalar(query(prometheus_url, "alivpc_ready")) == 1; }, 60s))
      << query(prometheus_url, "alivpc_ready").dump();
  const double first = scalar(query(prometheus_url, "sum(alivpc_api_calls_total)"));
  EXPECT_GT(first, 0);
  // --reconcile-period=2s: every reconcile lists the route tables again.
  EXPECT_TRUE(eventually(
      [&] { return scalar(query(prometheus_url, "sum(alivpc_api_calls_total)")) > first; }, 60s))
      << "alivpc_api_calls_total stayed at " << first;
  auto build = query(prometheus_url, "alivpc_build_info");
  ASSERT_EQ(build.size(), 1u) << build.dump();
  EXPECT_EQ(build[0]["metric"].value("version", ""), ALIVPC_VERSION_FOR_TESTS);
  EXPECT_NE(build[0]["metric"].value("openssl", "").find("OpenSSL"), std::string::npos);
  // The rules loaded and evaluated (none fires on a healthy node).
  auto rules = alivpc_test::http_call(prometheus_url, "GET", "/api/v1/rules");
  EXPECT_NE(rules.body.find("AlivpcNodeNotReady"), std::string::npos) << rules.body;
  EXPECT_EQ(query(prometheus_url, "ALERTS{alertstate=\"firing\"}").size(), 0u);

  EXPECT_EQ(server.stop(), 0) << server.log();
  EXPECT_EQ(n.process->stop(), 0);
}

}  // namespace
}  // namespace alivpc_daemon_test
