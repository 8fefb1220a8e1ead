// alivpc-simulate --html, looked at in a real headless browser (Debian's chromium): the page
// renders (a screenshot with content), every chart's series was drawn with a real size (the
// report's own script writes each series' rendered box into the DOM, which --dump-dom shows),
// the file is self-contained, and a liveness failure is on the timeline with its replay command.
#include <alivpc_test/file_text.hpp>
#include <alivpc_test/temp_dir.hpp>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>

namespace {

const std::string simulate = std::string(ALIVPC_BINARY_DIR) + "/sim/alivpc-simulate";

std::string run(const std::string& command, int* rc = nullptr) {
  std::string out;
  if (FILE* p = ::popen((command + " 2>/dev/null").c_str(), "r")) {
    char buf[4096];
    for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;)
      out.append(buf, n);
    int status = ::pclose(p);
    if (rc) *rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }
  return out;
}

// Six nodes for a table of four: two never get a route, a liveness failure.
const char* scenario = R"({"name": "report-test", "seed": 3, "nodes": 6, "duration": "30m",
  "quota": 4, "write_delay": "3s", "start_spread": "20s",
  "faults": [{"action": "CreateRouteEntry", "rate": 0.2, "code": "InternalError"}],
  "throttle_per_minute": {"DescribeRouteEntryList": 30}})";

std::string chromium(const std::string& args, const std::filesystem::path& html) {
  return run("timeout 120 chromium --headless=new --no-sandbox --disable-gpu --hide-scrollbars " +
             args + " file://" + html.string());
}

}  // namespace

TEST(HtmlReport, RendersEveryChartInABrowser) {
  ASSERT_EQ(std::system("command -v chromium >/dev/null"), 0)
      << "chromium is missing: scripts/install-deps.sh installs it";
  alivpc_test::temp_dir dir("alivpc-report");
  const auto scenario_path = dir.path() / "scenario.json";
  std::ofstream(scenario_path) << scenario;
  const auto html = dir.path() / "report.html";
  int rc = 0;
  run(simulate + " --scenario " + scenario_path.string() + " --strategy all --html " +
          html.string(),
      &rc);
  EXPECT_EQ(rc, 1) << "robust did not converge (the table is full): exit code 1";
  const auto text = alivpc_test::file_text(html);
  ASSERT_GT(text.size(), 5000u);

  // Self-contained: nothing is fetched (the only URL is the SVG namespace).
  EXPECT_EQ(text.find(" src="), std::string::npos);
  EXPECT_EQ(text.find(" href="), std::string::npos);
  EXPECT_EQ(std::regex_replace(text, std::regex("http://www.w3.org/2000/svg"), "").find("://"),
            std::string::npos);

  // What the browser drew.
  const auto dom = chromium("--dump-dom", html);
  std::smatch m;
  ASSERT_TRUE(std::regex_search(dom, m, std::regex("data-rendered=\"([^\"]*)\"")))
      << dom.substr(0, 500);
  auto drawn = nlohmann::json::parse(std::regex_replace(m[1].str(), std::regex("&quot;"), "\""));
  for (const char* series :
       {"ready-cdf/robust", "ready-cdf/classic", "occupancy/robust", "occupancy/classic",
        "occupancy/quota", "leases/robust", "leases/robust ready", "leases/classic",
        "calls-robust/success", "calls-robust/conflict", "calls-robust/throttled",
        "calls-robust/error", "calls-classic/success", "calls-classic/error"}) {
    ASSERT_TRUE(drawn.contains(series)) << series << " not drawn: " << drawn.dump();
    EXPECT_GT(drawn[series]["width"].get<double>(), 100) << series;
    EXPECT_GE(drawn[series]["points"].get<int>(), 2) << series;
  }
  // A minute sample per virtual minute of the run (30 min and the settling time).
  EXPECT_GE(drawn["occupancy/robust"]["points"].get<int>(), 30);
  // Two of six nodes never became ready: the CDF stops at 4/6 of the chart's height (188 px).
  EXPECT_NEAR(drawn["ready-cdf/robust"]["height"].get<double>(), 188.0 * 4 / 6, 1.0);
  // The table fills up: the top of the occupancy line is the dashed quota line.
  EXPECT_NEAR(drawn["occupancy/robust"]["y"].get<double>(),
              drawn["occupancy/quota"]["y"].get<double>(), 1.0);

  // The liveness failure, on the timeline and in the table, with the command that replays it.
  EXPECT_NE(dom.find("data-event=\"liveness\""), std::string::npos);
  EXPECT_NE(dom.find("--strategy robust --seed 3"), std::string::npos);

  // A screenshot renders with content (a blank page compresses to a few kB).
  const auto png = dir.path() / "report.png";
  chromium("--screenshot=" + png.string() + " --window-size=950,2600", html);
  ASSERT_TRUE(std::filesystem::exists(png));
  EXPECT_GT(std::filesystem::file_size(png), 40000u);
  const auto bytes = alivpc_test::file_text(png);
  ASSERT_GT(bytes.size(), 24u);
  EXPECT_EQ(bytes.substr(1, 3), "PNG");
  auto be32 = [&](std::size_t at) {
    return (static_cast<unsigned>(static_cast<unsigned char>(bytes[at])) << 24) |
           (static_cast<unsigned>(static_cast<unsigned char>(bytes[at + 1])) << 16) |
           (static_cast<unsigned>(static_cast<unsigned char>(bytes[at + 2])) << 8) |
           static_cast<unsigned>(static_cast<unsigned char>(bytes[at + 3]));
  };
  EXPECT_EQ(be32(16), 950u);  // IHDR width
  EXPECT_EQ(be32(20), 2600u);
}

TEST(HtmlReport, ASeedSweepPoolsTheReadyTimesAndNamesEverySeed) {
  alivpc_test::temp_dir dir("alivpc-report");
  const auto scenario_path = dir.path() / "scenario.json";
  std::ofstream(scenario_path) << scenario;
  const auto html = dir.path() / "sweep.html";
  run(simulate + " --scenario " + scenario_path.string() + " --seeds 1..4 --jobs 2 --html " +
      html.string());
  const auto text = alivpc_test::file_text(html);
  EXPECT_NE(text.find("6 nodes x 4 seeds"), std::string::npos);
  for (int seed = 1; seed <= 4; ++seed)
    EXPECT_NE(text.find("--strategy robust --seed " + std::to_string(seed)), std::string::npos)
        << "seed " << seed << " did not converge either: its row replays it";
  const auto dom = chromium("--dump-dom", html);
  EXPECT_NE(dom.find("ready-cdf/robust"), std::string::npos);
}
