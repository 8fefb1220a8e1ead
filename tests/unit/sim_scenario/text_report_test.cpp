// alivpc-simulate's text output fits an 80-column terminal whatever the run carries: long
// liveness details, daemons' errors, safety violations, large counts, a long scenario path.
#include <alivpc/sim/seed_sweep.hpp>
#include <alivpc/sim/text_report.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <sstream>
#include <string>
#include <vector>

namespace sim = alivpc::sim;

namespace {

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    lines.push_back(line);
  return lines;
}

void expect_fits(const std::string& text) {
  for (auto& line : lines_of(text))
    EXPECT_LE(line.size(), sim::text_width) << "\"" << line << "\"";
}

const std::string long_error =
    "route table vtb-158ezjbla1b7nyujtcub is full: cannot add 10.24.234.0/24 (48 custom entries, "
    "the table's quota; the service answered QuotaExceeded: Route entry quota exceeded in this "
    "route table.); request a quota increase or use the vxlan backend";

sim::scenario_report long_report() {
  sim::scenario_report r;
  r.name = "quota";
  r.strategy = "classic";
  r.seed = 3;
  r.nodes = 5000;
  r.ready_seconds = {52.4, 137.4, 123456.7};
  r.never_ready = 4999;
  r.fatal_exits = 4999;
  r.restarts = {99999, 99999};
  r.api_calls["CreateRouteEntry"]["Success"] = 123456789012;
  r.api_calls["CreateRouteEntry"]["QuotaExceeded"] = 987654321;
  r.events_executed = 987654321012;
  r.virtual_seconds = 7 * 86400;
  r.quota = 5000;
  r.table_entries_peak = 5000;
  r.table_full_at_s = 3600;
  r.joins = 12345;
  r.leaves = 12345;
  r.live = false;
  r.liveness_detail = "2 node(s) not converged; first: i-sim00027 not converged: " + long_error;
  r.fatal_messages = {"i-sim00001: CreateRouteEntry failed: HTTP 400 " + long_error,
                      std::string(300, '#')};
  r.safety_violations = {"fencing: " + long_error};
  r.safety_violation_count = 1;
  return r;
}

}  // namespace

TEST(TextReport, ARunWithLongMessagesFitsEightyColumnsAndKeepsEveryWord) {
  const auto r = long_report();
  const auto text = sim::run_text(r, 123.45);
  expect_fits(text);
  // Each message is there whole: its words, in order, under its label.
  std::string words;
  for (auto& line : lines_of(text))
    words += line + " ";
  std::istringstream in(words);
  std::string flat, w;
  while (in >> w)
    flat += w + " ";
  EXPECT_NE(flat.find("liveness: " + r.liveness_detail), std::string::npos) << text;
  EXPECT_NE(flat.find("fatal: " + r.fatal_messages[0]), std::string::npos) << text;
  EXPECT_NE(flat.find("safety: " + r.safety_violations[0]), std::string::npos) << text;
  EXPECT_NE(text.find("VIOLATED"), std::string::npos);
  EXPECT_NE(text.find("12345 joins"), std::string::npos);
  // The 300-character word is cut, not dropped.
  EXPECT_EQ(std::count(text.begin(), text.end(), '#'), 300);
}

TEST(TextReport, ASweepFitsEightyColumnsWithItsReplayCommand) {
  sim::scenario sc;
  sc.name = "faults";
  sc.strategy = "leader";
  auto run = [](const sim::scenario& s) {
    auto r = long_report();
    r.seed = s.seed;
    r.strategy = s.strategy;
    return r;
  };
  const auto sweep = sim::run_seed_sweep(sc, {999990, 5}, 1, run);
  const std::string path = "/a/rather/long/path/to/where/the/scenarios/of/this/cluster/live/" +
                           std::string("faults-with-a-long-name.json");
  const auto text = sim::sweep_text(sweep, sweep.to_json(), path, 12.3);
  expect_fits(text);
  EXPECT_NE(text.find("999990..999994"), std::string::npos) << text;
  EXPECT_NE(text.find("--seed"), std::string::npos) << text;
  // The path, longer than a line, is cut but whole.
  std::string joined;
  for (char c : text)
    if (c != ' ' && c != '\n') joined += c;
  EXPECT_NE(
      joined.find("replayone:alivpc-simulate--scenario" + path + "--strategyleader--seed999990"),
      std::string::npos)
      << text;
}

TEST(TextReport, StrategiesSideBySideFitEightyColumns) {
  auto slow = long_report(), fast = long_report();
  fast.strategy = "leader";
  fast.ready_seconds = {1.5};
  fast.live = true;
  const auto runs = sim::comparison_text({slow.to_json(), fast.to_json()});
  expect_fits(runs);
  const auto rows = lines_of(runs);
  ASSERT_EQ(rows.size(), 4u) << runs;  // two header lines, a row per strategy
  EXPECT_EQ(rows[2].rfind("classic ", 0), 0u) << runs;
  EXPECT_NE(rows[2].find(" 123457 "), std::string::npos) << runs;  // 123456.7 s in 7 columns
  EXPECT_EQ(rows[3].substr(rows[3].size() - 3), "yes") << runs;

  sim::scenario sc;
  sc.name = "faults";
  auto run = [](const sim::scenario&) { return long_report(); };
  const auto sweep = sim::run_seed_sweep(sc, {1, 3}, 1, run).to_json();
  const auto sweeps = sim::comparison_text({sweep, sweep});
  expect_fits(sweeps);
  EXPECT_EQ(lines_of(sweeps).size(), 4u) << sweeps;
}

TEST(TextReport, WrapsUnderItsPrefixesAndTreatsLineBreaksAsSpaces) {
  EXPECT_EQ(sim::wrap_text("aaa bbb ccc", "> ", "  ", 9), "> aaa bbb\n  ccc\n");
  EXPECT_EQ(sim::wrap_text("one\ntwo", "", "", 80), "one two\n");
  EXPECT_EQ(sim::wrap_text("abcdefghij", "", "", 4), "abcd\nefgh\nij\n");
  EXPECT_EQ(sim::wrap_text("", "label: ", "", 80), "label: \n");
}
