#include <alivpc/runtime/log.hpp>

#include <gtest/gtest.h>

#include <string>
#include <vector>

using alivpc::log_fields;
using alivpc::log_level;
using alivpc::log_record;
using alivpc::logger;

namespace {

struct seen {
  log_level level;
  std::string component, message;
  log_fields fields;
};

logger structured(std::vector<seen>& out, log_level min = log_level::info) {
  return logger(
      logger::record_sink_type([&out](const log_record& r) {
        out.push_back({r.level, std::string(r.component), std::string(r.message), r.fields});
      }),
      min, "daemon");
}

}  // namespace

TEST(Logger, APlainSinkStillWorksAndSeesFieldsAppendedToTheMessage) {
  std::vector<std::string> lines;
  logger log([&](log_level, std::string_view component, std::string_view m) {
    lines.push_back(std::string(component) + ": " + std::string(m));
  });
  log.info("plain");
  log.child("cloud").warn("retrying", {{"request_id", "R-1"}, {"error_code", "Throttling"}});
  log.info("has spaces", {{"reason", "two words"}, {"quote", "a\"b"}});
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0], ": plain");
  EXPECT_EQ(lines[1], "cloud: retrying request_id=R-1 error_code=Throttling");
  EXPECT_EQ(lines[2], R"(: has spaces reason="two words" quote="a\"b")");
}

TEST(Logger, AFieldTheMessageAlreadySaysIsNotRepeatedInText) {
  EXPECT_EQ(alivpc::message_with_fields("ready: lease 10.24.1.0/24", {{"subnet", "10.24.1.0/24"}}),
            "ready: lease 10.24.1.0/24");
  EXPECT_EQ(alivpc::message_with_fields("x", {{"empty", ""}}), "x");
  EXPECT_EQ(alivpc::message_with_fields("x", {{"q", "a \"b\\"}}), R"(x q="a \"b\\")");
}

TEST(Logger, AStructuredSinkSeesContextFieldsThenTheCallsAndTheLevelFilterApplies) {
  std::vector<seen> out;
  auto log = structured(out).with({{"node", "i-1"}});
  log.debug("dropped", {{"x", "1"}});
  log.info("kept", {{"subnet", "10.24.1.0/24"}});
  auto child = log.child("cloud").with({{"table", "vtb-1"}});
  child.error("failed");
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].component, "daemon");
  EXPECT_EQ(out[0].message, "kept");
  ASSERT_EQ(out[0].fields.size(), 2u);
  EXPECT_EQ(out[0].fields[0].key, "node");
  EXPECT_EQ(out[0].fields[1].key, "subnet");
  EXPECT_EQ(out[0].fields[1].value, "10.24.1.0/24");
  EXPECT_EQ(out[1].level, log_level::error);
  EXPECT_EQ(out[1].component, "cloud");
  ASSERT_EQ(out[1].fields.size(), 2u);
  EXPECT_EQ(out[1].fields[1].value, "vtb-1");
  EXPECT_FALSE(logger().enabled(log_level::error)) << "the default logger drops everything";
}
