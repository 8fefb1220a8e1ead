// alivpc-simulate's progress line: on stderr when it is a terminal (here a pseudo-terminal from
// script(1)) and the run takes over a second; never in --json output, never when stderr is not
// a terminal.
#include <alivpc_test/file_text.hpp>
#include <alivpc_test/temp_dir.hpp>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

namespace {

// 30 nodes for two virtual days: about a second of work, several progress updates.
const char* scenario = R"({"name": "progress", "seed": 1, "nodes": 30, "duration": "48h",
  "quota": 200, "write_delay": "3s", "start_spread": "60s"})";

}  // namespace

TEST(Progress, OnATerminalOnlyAndNeverInTheJson) {
  alivpc_test::temp_dir dir("alivpc-progress");
  const auto sc = dir.path() / "scenario.json";
  std::ofstream(sc) << scenario;
  // The line shows from the start (not after a second): a fast machine would otherwise finish
  // before it, and the test would depend on timing.
  const std::string run = "ALIVPC_PROGRESS_AFTER_S=0 " + std::string(ALIVPC_BINARY_DIR) +
                          "/sim/alivpc-simulate --scenario " + sc.string() + " --json";
  const auto json_out = dir.path() / "out.json", tty = dir.path() / "tty.log",
             piped = dir.path() / "piped.log";
  ASSERT_EQ(std::system(("script -qefc '" + run + " > " + json_out.string() + "' " + tty.string() +
                         " > /dev/null")
                            .c_str()),
            0);
  const auto terminal = alivpc_test::file_text(tty);
  EXPECT_NE(terminal.find("virtual, "), std::string::npos) << terminal;
  EXPECT_NE(terminal.find("ETA"), std::string::npos) << terminal;
  const auto out = alivpc_test::file_text(json_out);
  EXPECT_EQ(out.find("ETA"), std::string::npos);
  EXPECT_EQ(out.find('\r'), std::string::npos);
  auto j = nlohmann::json::parse(out);
  EXPECT_EQ(j[0]["virtual_seconds"], 48 * 3600.0);

  // The same run with stderr to a file: no progress line.
  ASSERT_EQ(std::system((run + " > /dev/null 2> " + piped.string()).c_str()), 0);
  const auto quiet = alivpc_test::file_text(piped);
  EXPECT_EQ(quiet.find("ETA"), std::string::npos) << quiet;
  EXPECT_NE(quiet.find("replay with --seed 1"), std::string::npos) << quiet;
}

// With --seeds the line counts seeds and says the events per second of those done.
TEST(Progress, ASweepCountsSeedsAndEventsPerSecond) {
  alivpc_test::temp_dir dir("alivpc-progress");
  const auto sc = dir.path() / "scenario.json";
  std::ofstream(sc) << scenario;
  const auto tty = dir.path() / "tty.log";
  const std::string run = "ALIVPC_PROGRESS_AFTER_S=0 " + std::string(ALIVPC_BINARY_DIR) +
                          "/sim/alivpc-simulate --scenario " + sc.string() +
                          " --seeds 3 --jobs 1 --nodes 5 > /dev/null";
  ASSERT_EQ(std::system(("script -qefc '" + run + "' " + tty.string() + " > /dev/null").c_str()),
            0);
  const auto terminal = alivpc_test::file_text(tty);
  EXPECT_NE(terminal.find("1 of 3 seeds, "), std::string::npos) << terminal;
  EXPECT_NE(terminal.find("k events/s"), std::string::npos) << terminal;
  EXPECT_NE(terminal.find("ETA"), std::string::npos) << terminal;
}
