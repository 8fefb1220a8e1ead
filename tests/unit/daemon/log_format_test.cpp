#include <flanneld_alivpc/log_format.hpp>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <regex>

using namespace flanneld_alivpc;
using alivpc::log_fields;
using alivpc::log_level;
using alivpc::log_record;

namespace {
// 2026-11-27T10:00:00.123Z
const std::chrono::system_clock::time_point t0 =
    std::chrono::system_clock::from_time_t(1795773600) + std::chrono::milliseconds(123);
}  // namespace

TEST(DaemonLogFormat, TimeIsRfc3339UtcWithMilliseconds) {
  EXPECT_EQ(rfc3339_utc(t0), "2026-11-27T10:00:00.123Z");
  EXPECT_EQ(rfc3339_utc(std::chrono::system_clock::from_time_t(0)), "1970-01-01T00:00:00.000Z");
}

TEST(DaemonLogFormat, JsonIsOneObjectPerLineWithTheFixedKeysAndTheFields) {
  log_fields fields{{"subnet", "10.24.1.0/24"}, {"request_id", "R-1"}, {"message", "clash"}};
  auto line =
      json_line(log_record{log_level::warning, "cloud", "a \"quoted\"\nsecond", fields}, t0);
  ASSERT_FALSE(line.empty());
  EXPECT_EQ(line.back(), '\n');
  EXPECT_EQ(line.find('\n'), line.size() - 1) << "one line: " << line;
  auto j = nlohmann::json::parse(line);
  EXPECT_EQ(j["time"], "2026-11-27T10:00:00.123Z");
  EXPECT_EQ(j["level"], "warning");
  EXPECT_EQ(j["component"], "cloud");
  EXPECT_EQ(j["message"], "a \"quoted\"\nsecond");
  EXPECT_EQ(j["subnet"], "10.24.1.0/24");
  EXPECT_EQ(j["request_id"], "R-1");
  EXPECT_EQ(j["field_message"], "clash") << "a field never overwrites a fixed key";
  EXPECT_EQ(line.rfind(R"({"time":)", 0), 0u) << "time first: " << line;
}

TEST(DaemonLogFormat, InvalidUtf8StillGivesValidJson) {
  log_fields fields{{"raw", std::string("\xff\xfe", 2)}};
  auto line = json_line(log_record{log_level::info, "x", std::string("bad \xc3", 5), fields}, t0);
  EXPECT_TRUE(nlohmann::json::accept(line)) << line;
}

TEST(DaemonLogFormat, TextIsTheClassicLineWithFieldsAppended) {
  log_fields fields{{"table", "vtb-1"}};
  EXPECT_EQ(text_line(log_record{log_level::info, "flanneld", "ready", fields}, t0),
            "2026-11-27T10:00:00.123Z info    flanneld: ready table=vtb-1\n");
}
