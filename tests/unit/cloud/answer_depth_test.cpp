// Cloud API and metadata answers are peer-supplied: a body nested 100,000 levels deep must be a
// typed parse error (nlohmann copies and dumps recursively, so keeping it would overflow later).
#include <alivpc/cloud/metadata_client.hpp>
#include <alivpc/cloud/detail/route_entry_list_reader.hpp>
#include <alivpc/cloud/responses.hpp>
#include <alivpc/error.hpp>

#include <gtest/gtest.h>

#include <string>

using namespace alivpc;

namespace {

std::string nested_array(int depth) {
  return std::string(depth, '[') + std::string(depth, ']');
}

template <class Fn>
void expect_depth_parse_error(Fn fn) {
  try {
    fn();
    ADD_FAILURE() << "a 100,000-deep answer was accepted";
  } catch (const error& e) {
    EXPECT_EQ(e.kind(), error_kind::parse) << e.what();
    EXPECT_NE(std::string(e.what()).find("nested deeper than 64"), std::string::npos) << e.what();
  }
}

}  // namespace

TEST(CloudAnswerDepth, DeeplyNestedAnswersAreParseErrors) {
  const std::string deep = nested_array(100'000);
  expect_depth_parse_error([&] { cloud::parse_describe_vpcs(deep); });
  // The streaming reader refuses nesting when it gets there: under a member it skips...
  expect_depth_parse_error(
      [&] { cloud::parse_describe_route_entry_list(R"({"RequestId":"r","Extra":)" + deep + "}"); });
  // ...and in the list, at the first element that is not an entry.
  try {
    cloud::parse_describe_route_entry_list(R"({"RequestId":"r","RouteEntrys":)" + deep + "}");
    ADD_FAILURE() << "a 100,000-deep answer was accepted";
  } catch (const error& e) {
    EXPECT_EQ(e.kind(), error_kind::parse) << e.what();
  }
  expect_depth_parse_error(
      [&] { cloud::parse_ram_credentials(R"({"Code":"Success","AccessKeyId":)" + deep + "}"); });
}

TEST(CloudAnswerDepth, DeeplyNestedErrorBodyIsAnEmptyErrorBody) {
  // parse_error_body is best effort: a body it cannot use yields empty fields, not a crash.
  auto b =
      cloud::parse_error_body(R"({"Code":"Throttling","Extra":)" + nested_array(100'000) + "}");
  EXPECT_EQ(b.code, "");
  EXPECT_EQ(b.request_id, "");
  auto ok = cloud::parse_error_body(R"({"Code":"Throttling","Extra":)" + nested_array(10) + "}");
  EXPECT_EQ(ok.code, "Throttling");
}
