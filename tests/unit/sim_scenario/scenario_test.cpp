#include <alivpc/sim/scenario.hpp>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

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
        "compaction-during-outage", "release-reacquire", "etcd-wipe", "burst-50", "churn-week"}) {
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

// alivpc-simulate's --seed and --nodes take the place of the file's values and are checked as
// they are: a cluster cut below a node an event names is refused, not run without the event.
TEST(Scenario, ReplacedFieldsAreCheckedAsTheFilesOwn) {
  const char* text = R"({"nodes":5,"seed":3,"events":[{"at":"1m","kind":"kill","node":4}]})";
  auto s = parse_scenario(text, {{"nodes", 6}, {"seed", 42}});
  EXPECT_EQ(s.nodes, 6);
  EXPECT_EQ(s.seed, 42u);
  EXPECT_EQ(parse_scenario(text).nodes, 5);
  auto error_with = [&](const nlohmann::json& replaced) -> std::string {
    try {
      parse_scenario(text, replaced);
    } catch (const alivpc::error& e) {
      return e.what();
    }
    return "";
  };
  EXPECT_EQ(error_with({{"nodes", 4}}), "scenario: events[0].node: 4 is not a node (there are 4)");
  EXPECT_EQ(error_with({{"nodes", 6000}}), "scenario: nodes: 6000 is out of range 1..5000");
}

TEST(Scenario, JoinLeaveAndChurn) {
  auto s = parse_scenario(R"({"nodes":3,"duration":"10h","start_spread":"1m",
      "churn":{"per_hour":2.5},
      "events":[{"at":"1m","kind":"join","count":2},{"at":"2m","kind":"leave","node":4},
                {"at":"3m","kind":"join"}]})");
  ASSERT_EQ(s.events.size(), 3u);
  EXPECT_EQ(s.events[0].kind, alivpc::sim::scenario_event_kind::join);
  EXPECT_EQ(s.events[0].count, 2);
  EXPECT_EQ(s.events[1].kind, alivpc::sim::scenario_event_kind::leave);
  EXPECT_EQ(s.events[1].node, 4);
  EXPECT_EQ(s.events[2].count, 1);
  EXPECT_EQ(s.churn.per_hour, 2.5);
  // Defaults: from the end of start_spread to the end minus the settling time (15 min here).
  auto [from, until] = alivpc::sim::churn_window(s);
  EXPECT_EQ(from, std::chrono::minutes(1));
  EXPECT_EQ(until, std::chrono::hours(10) - std::chrono::minutes(15));
  auto t = parse_scenario(R"({"duration":"10h","churn":{"per_hour":1,"from":"1h","until":"2h"}})");
  EXPECT_EQ(alivpc::sim::churn_window(t).first, std::chrono::hours(1));
  EXPECT_EQ(alivpc::sim::churn_window(t).second, std::chrono::hours(2));
}

TEST(Scenario, JoinLeaveAndChurnErrorsNameTheField) {
  // Node 3 exists only after the join, in time order (not list order).
  EXPECT_EQ(error_of(R"({"nodes":3,"events":[{"at":"5m","kind":"join"},
                                           {"at":"1m","kind":"leave","node":3}]})"),
            "scenario: events[1].node: 3 is not a node (there are 3)");
  EXPECT_EQ(error_of(R"({"nodes":3,"events":[{"at":"1m","kind":"join"},
                                           {"at":"5m","kind":"leave","node":3}]})"),
            "");
  EXPECT_EQ(error_of(R"({"nodes":3,"events":[{"at":"1m","kind":"leave"}]})"),
            "scenario: events[0]: missing \"node\"");
  EXPECT_EQ(error_of(R"({"nodes":3,"events":[{"at":"1m","kind":"leave","node":1},
                                           {"at":"2m","kind":"restart","node":1}]})"),
            "scenario: events[1].node: 1 left at events[0] and never comes back");
  EXPECT_EQ(error_of(R"({"events":[{"at":"1m","kind":"join","count":0}]})"),
            "scenario: events[0].count: 0 is out of range 1..1000");
  EXPECT_EQ(error_of(R"({"churn":{"per_hour":0}})"),
            "scenario: churn.per_hour: expected replacements per hour, above 0 and at most 3600, "
            "got 0");
  EXPECT_EQ(error_of(R"({"churn":{"per_hour":-1}})"),
            "scenario: churn.per_hour: expected replacements per hour, above 0 and at most 3600, "
            "got -1");
  EXPECT_EQ(error_of(R"({"churn":{"per_hour":"5"}})"),
            "scenario: churn.per_hour: expected replacements per hour, above 0 and at most 3600, "
            "got \"5\"");
  EXPECT_EQ(error_of(R"({"churn":{"from":"1h"}})"), "scenario: churn: missing \"per_hour\"");
  EXPECT_EQ(error_of(R"({"churn":{"per_hour":1,"every":"1h"}})"),
            "scenario: churn.every: unknown field (expected per_hour, from, until)");
  EXPECT_EQ(error_of(R"({"churn":5})"),
            "scenario: churn: expected {\"per_hour\": N, \"from\": \"1h\", \"until\": "
            "\"144h\"}");
  EXPECT_NE(error_of(R"({"duration":"1h","churn":{"per_hour":1,"from":"2h"}})")
                .find("scenario: churn.from: churn would end (2700 s) before it starts (7200 s)"),
            std::string::npos);
}
