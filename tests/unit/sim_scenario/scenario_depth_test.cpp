// A scenario file nested 100,000 levels deep is an invalid_argument error, not a stack overflow
// (nlohmann copies and dumps recursively).
#include <alivpc/error.hpp>
#include <alivpc/sim/scenario.hpp>

#include <gtest/gtest.h>

#include <string>

TEST(ScenarioDepth, DeeplyNestedScenarioIsATypedError) {
  const std::string deep = std::string(100'000, '[') + std::string(100'000, ']');
  try {
    alivpc::sim::parse_scenario(R"({"nodes":2,"latency":)" + deep + "}");
    FAIL() << "a 100,000-deep scenario was accepted";
  } catch (const alivpc::error& e) {
    EXPECT_EQ(e.kind(), alivpc::error_kind::invalid_argument);
    EXPECT_NE(std::string(e.what()).find("nested deeper than 64"), std::string::npos) << e.what();
  }
}
