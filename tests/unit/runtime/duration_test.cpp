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
  for (const char* bad : {"", "5", "5x", "m", "1h-5m", "1234567890s", "3.5s", " 5s"})
    EXPECT_FALSE(alivpc::parse_go_duration(bad).has_value()) << bad;
  EXPECT_FALSE(alivpc::parse_go_duration("25h", 24h).has_value());
  EXPECT_TRUE(alivpc::parse_go_duration("24h", 24h).has_value());
}
