// etcd answers are peer-supplied: a body nested 100,000 levels deep must be a typed parse error
// (nlohmann copies and dumps recursively, so accepting it would overflow the stack later).
#include <alivpc/error.hpp>
#include <alivpc/lease/detail/etcd_json.hpp>

#include <gtest/gtest.h>

#include <string>

using namespace alivpc;
using namespace alivpc::lease::detail;

namespace {

const std::string ctx = "etcd POST /v3/kv/range on http://127.0.0.1:2379";

std::string nested_array(int depth) {
  return std::string(depth, '[') + std::string(depth, ']');
}

// The kind of the alivpc::error fn throws; fails the test when it throws nothing.
template <class Fn>
error_kind kind_of(Fn fn, const std::string& expected_text) {
  try {
    fn();
  } catch (const error& e) {
    EXPECT_NE(std::string(e.what()).find(expected_text), std::string::npos) << e.what();
    return e.kind();
  }
  ADD_FAILURE() << "no alivpc::error thrown";
  return error_kind::invalid_argument;
}

}  // namespace

TEST(EtcdAnswerDepth, DeeplyNestedAnswersAreParseErrors) {
  const std::string deep = nested_array(100'000);
  const std::string deep_field = R"({"header":{"revision":"1"},"kvs":)" + deep + "}";
  EXPECT_EQ(kind_of([&] { parse_json(deep, ctx); }, "nested deeper than 64"), error_kind::parse);
  EXPECT_EQ(kind_of([&] { parse_v3_range(deep_field, ctx); }, "nested deeper than 64"),
            error_kind::parse);
  EXPECT_EQ(kind_of([&] { parse_v3_watch_message(R"({"result":)" + deep + "}", ctx); },
                    "nested deeper than 64"),
            error_kind::parse);
  EXPECT_EQ(kind_of([&] { parse_v2_answer(R"({"action":"get","node":)" + deep + "}", ctx); },
                    "nested deeper than 64"),
            error_kind::parse);
}

TEST(EtcdAnswerDepth, DeeplyNestedErrorBodyStillMapsByStatus) {
  // The body is ignored like any non-JSON body; the HTTP status decides the kind.
  EXPECT_EQ(kind_of([&] { throw_v3_error(503, nested_array(100'000), ctx); }, "HTTP 503"),
            error_kind::transient);
}

TEST(EtcdAnswerDepth, ShallowNestingIsStillAccepted) {
  auto j = parse_json(R"({"a":)" + nested_array(60) + "}", ctx);
  EXPECT_TRUE(j.at("a").is_array());
}
