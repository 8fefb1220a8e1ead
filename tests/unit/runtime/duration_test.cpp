#include <alivpc/runtime/duration.hpp>

#include <gtest/gtest.h>

using namespace std::chrono_literals;

TEST(GoDuration, ParsesUnitsAndSums) {
  EXPECT_EQ(alivpc::parse_go_duration("500ms"), 500ms);
  EXPECT_EQ(alivpc::parse_go_duration("90s"), 90s);
  EXPECT_EQ(alivpc::parse_go_duration("1h30m"), 90min);
  EXPECT_EQ(alivpc::parse_go_duration("0s"), 0ms);
}

TEST(GoDuration, RefusesWhatItCannotRead) {
  for (const char* bad : {"", "5", "5x", "m", "1h-5m", "1234567890s", " 5s", ".s", "1.5", "-1s",
                          "+1s", "1..5s", "5m."})
    EXPECT_FALSE(alivpc::parse_go_duration(bad).has_value()) << bad;
  EXPECT_FALSE(alivpc::parse_go_duration("25h", 24h).has_value());
  EXPECT_TRUE(alivpc::parse_go_duration("24h", 24h).has_value());
}

// Issue 11: Go's time.ParseDuration takes fractions, "0" alone and the small units.
TEST(GoDuration, TakesFractionsZeroAndSmallUnitsLikeGo) {
  EXPECT_EQ(alivpc::parse_go_duration("1.5h"), 90min);
  EXPECT_EQ(alivpc::parse_go_duration("3.5s"), 3500ms);
  EXPECT_EQ(alivpc::parse_go_duration(".5s"), 500ms);
  EXPECT_EQ(alivpc::parse_go_duration("1.s"), 1000ms);
  EXPECT_EQ(alivpc::parse_go_duration("300ms"), 300ms);
  EXPECT_EQ(alivpc::parse_go_duration("1h0.5m"), 60min + 30s);
  EXPECT_EQ(alivpc::parse_go_duration("0"), 0ms);
  EXPECT_EQ(alivpc::parse_go_duration("1500us"), 1ms);  // truncated to milliseconds
  EXPECT_EQ(alivpc::parse_go_duration("2000000ns"), 2ms);
  EXPECT_EQ(alivpc::parse_go_duration("1.0000000001h"), 60min);
  EXPECT_FALSE(alivpc::parse_go_duration("999999999h").has_value());  // above the limit
}
