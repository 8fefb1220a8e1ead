// alivpc-simulate as a user meets it: --help, a bad flag or value named with what was expected
// (exit code 2), and output that fits an 80-column terminal even when runs carry long messages.
#include <alivpc_test/file_text.hpp>
#include <alivpc_test/temp_dir.hpp>

#include <gtest/gtest.h>

#include <sys/wait.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

namespace {

struct outcome {
  int code = -1;
  std::string out, err;
};

outcome simulate(const std::string& args) {
  alivpc_test::temp_dir dir("alivpc-simulate-cli");
  const auto out = dir.path() / "out", err = dir.path() / "err";
  const std::string command = "cd " + std::string(ALIVPC_SOURCE_DIR) + " && " +
                              std::string(ALIVPC_BINARY_DIR) + "/sim/alivpc-simulate " + args +
                              " > " + out.string() + " 2> " + err.string();
  const int status = std::system(command.c_str());
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, alivpc_test::file_text(out),
          alivpc_test::file_text(err)};
}

void expect_fits_80_columns(const std::string& text) {
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    EXPECT_LE(line.size(), 80u) << "\"" << line << "\"";
}

}  // namespace

TEST(SimulateCli, HelpSaysEveryFlagInEightyColumns) {
  const auto r = simulate("--help");
  EXPECT_EQ(r.code, 0);
  for (const char* flag : {"--scenario", "--seed ", "--seeds", "--jobs", "--strategy", "--nodes",
                           "--json", "--html", "--verbose", "Exit code"})
    EXPECT_NE(r.out.find(flag), std::string::npos) << flag;
  expect_fits_80_columns(r.out);
}

TEST(SimulateCli, ABadFlagOrValueIsNamedWithWhatWasExpected) {
  const std::string faults = "--scenario sim/scenarios/faults.json ";
  struct bad {
    std::string args, said;
  };
  for (const auto& b : {
           bad{faults + "--nodes 0", "--nodes: expected a number of nodes, 1 to 5000, got \"0\""},
           bad{faults + "--nodes 5x", "--nodes: expected a number of nodes, 1 to 5000, got \"5x\""},
           bad{faults + "--nodes 6000", "nodes: 6000 is out of range 1..5000"},
           // faults.json kills node 3: a cluster of 3 has no such node.
           bad{faults + "--nodes 3", "events[0].node: 3 is not a node (there are 3)"},
           bad{faults + "--jobs 0", "--jobs: expected a number of threads, 1 or more, got \"0\""},
           bad{faults + "--seed -1", "--seed: expected a seed, 0 or more, got \"-1\""},
           bad{faults + "--seeds 9..5", "--seeds: the range 9..5 ends before it starts"},
           bad{faults + "--strategy fast",
               "--strategy: expected robust, classic, leader, both or all, got \"fast\""},
           bad{faults + "--colour", "unknown argument --colour"},
           bad{faults + "--seed", "--seed needs a value"},
           bad{"--seed 1", "--scenario FILE.json is required"},
           bad{"--scenario /nonexistent/scenario.json", "cannot read /nonexistent/scenario.json"},
       }) {
    const auto r = simulate(b.args);
    EXPECT_EQ(r.code, 2) << b.args;
    EXPECT_NE(r.err.find(b.said), std::string::npos) << b.args << "\n" << r.err;
    EXPECT_EQ(r.out, "") << b.args;
  }
}

TEST(SimulateCli, RunsWithLongMessagesFitEightyColumns) {
  // quota.json leaves two nodes waiting on a full table (long liveness details), and classic
  // exits on the VPC's busy answers (long fatal messages): exit code 1, robust did not converge.
  auto r = simulate("--scenario sim/scenarios/quota.json --strategy both");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("liveness: "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("fatal: "), std::string::npos) << r.out;
  // Then the two strategies side by side, a row each.
  EXPECT_NE(r.out.find("\nstrategy        p50     p95     max    per join  violations"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("\nclassic "), std::string::npos) << r.out;
  expect_fits_80_columns(r.out);
  expect_fits_80_columns(r.err);
  r = simulate("--scenario sim/scenarios/faults.json --seeds 4 --strategy all");
  EXPECT_EQ(r.code, 0);
  EXPECT_NE(r.out.find("replay one: "), std::string::npos) << r.out;
  expect_fits_80_columns(r.out);
}
