#include <alivpc/sim/scenario.hpp>

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

using alivpc::sim::parse_scenario;

namespace {
std::string error_of(std::string_view json) {
  try {
    parse_scenario(json);
  } catch (const alivpc::error& e) {
    return e.what();
  }
  return "";
}
}  // namespace

TEST(Scenario, ShippedScenariosParse) {
  for (const char* name :
       {"steady", "faults", "quota", "cloud-outage-past-renewal", "full-table-day",
        "compaction-during-outage", "release-reacquire", "etcd-wipe"}) {
    std::ifstream in(std::string(ALIVPC_SOURCE_DIR) + "/sim/scenarios/" + name + ".json");
    std::stringstream text;
    text << in.rdbuf();
    auto s = parse_scenario(text.str());
    EXPECT_GT(s.nodes, 0) << name;
  }
}

TEST(Scenario, FieldsAndDefaults) {
  auto s = parse_scenario(
      R"({"nodes":5,"duration":"1h30m","events":[{"at":"90s","kind":"etcd_outage","for":"30s"}]})");
  EXPECT_EQ(s.nodes, 5);
  EXPECT_EQ(s.duration, std::chrono::minutes(90));
  ASSERT_EQ(s.events.size(), 1u);
  EXPECT_EQ(s.events[0].at, std::chrono::seconds(90));
  EXPECT_EQ(s.events[0].duration, std::chrono::seconds(30));
  EXPECT_EQ(s.strategy, "robust");
  EXPECT_EQ(s.network.network->to_string(), "10.24.0.0/16");
}

TEST(Scenario, ErrorsNameTheField) {
  EXPECT_EQ(error_of(R"({"nodez":3})"), "scenario: nodez: unknown field");
  EXPECT_EQ(error_of(R"({"nodes":0})"), "scenario: nodes: 0 is out of range 1..5000");
  EXPECT_EQ(error_of(R"({"duration":"5x"})"),
            "scenario: duration: \"5x\" is not a duration (e.g. 30s, 5m, 2h; units ms, s, m, h; at "
            "most 400 days)");
  EXPECT_EQ(error_of(R"({"nodes":2,"events":[{"at":"1m","kind":"kill","node":2}]})"),
            "scenario: events[0].node: 2 is not a node (there are 2)");
  EXPECT_NE(error_of(R"({"events":[{"at":"1m","kind":"boom"}]})").find("events[0].kind"),
            std::string::npos);
  EXPECT_NE(error_of(R"({"network":{"Network":"10.0.0.0/8","Backend":{"Type":"vxlan"}}})")
                .find("Backend.Type"),
            std::string::npos);
  EXPECT_EQ(error_of("{"), "scenario: not valid JSON");
}
