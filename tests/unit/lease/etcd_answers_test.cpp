// Parsing etcd's answers: the captured real answers in fuzz/corpus/ and hand-made broken ones.
#include <alivpc/detail/percent_encoding.hpp>
#include <alivpc/lease/detail/etcd_json.hpp>

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

using namespace alivpc;
using namespace alivpc::lease::detail;

namespace {
std::string corpus(const std::string& name) {
  std::ifstream f(std::string(ALIVPC_SOURCE_DIR) + "/fuzz/corpus/" + name);
  std::stringstream ss;
  ss << f.rdbuf();
  if (ss.str().empty()) ADD_FAILURE() << "missing corpus file " << name;
  return ss.str();
}
const std::string ctx = "etcd v3 POST /v3/kv/range on http://127.0.0.1:2379";

void expect_parse_error(auto fn, const std::string& needle = "") {
  try {
    fn();
    ADD_FAILURE() << "expected a parse error";
  } catch (const error& e) {
    EXPECT_EQ(e.kind(), error_kind::parse) << e.what();
    std::string m = e.what();
    EXPECT_EQ(m.rfind(ctx, 0), 0u) << "message must start with the endpoint and operation: " << m;
    if (!needle.empty()) {
      EXPECT_NE(m.find(needle), std::string::npos) << m;
    }
  }
}
}  // namespace

TEST(EtcdV3Answers, RangeWithOneLease) {
  auto r = parse_v3_range(corpus("etcd_v3/range_one.json"), ctx);
  ASSERT_EQ(r.kvs.size(), 1u);
  EXPECT_EQ(r.kvs[0].key, "/coreos.com/network/subnets/10.24.5.0-24");
  EXPECT_EQ(
      r.kvs[0].value,
      R"({"PublicIP":"192.168.0.12","PublicIPv6":null,"BackendType":"ali-vpc","BackendData":null})");
  EXPECT_NE(r.kvs[0].lease, 0);
  EXPECT_GT(r.revision, 0);
  EXPECT_EQ(r.count, 1);
  EXPECT_FALSE(r.more);
  auto l = lease_from_entry(r.kvs[0].key, "/coreos.com/network/subnets/", r.kvs[0].value);
  ASSERT_TRUE(l.has_value());
  EXPECT_EQ(l->subnet.to_string(), "10.24.5.0/24");
  EXPECT_EQ(l->attrs.public_ip.to_string(), "192.168.0.12");
}

TEST(EtcdV3Answers, EmptyRangeOmitsKvsAndCount) {
  auto r = parse_v3_range(corpus("etcd_v3/range_empty.json"), ctx);
  EXPECT_TRUE(r.kvs.empty());
  EXPECT_EQ(r.count, 0);
}

TEST(EtcdV3Answers, GrantTxnKeepaliveTimeToLive) {
  auto g = parse_v3_grant(corpus("etcd_v3/grant.json"), ctx);
  EXPECT_NE(g.id, 0);
  EXPECT_EQ(g.ttl, 60);
  EXPECT_TRUE(parse_v3_txn(corpus("etcd_v3/txn_succeeded.json"), ctx).succeeded);
  EXPECT_FALSE(
      parse_v3_txn(corpus("etcd_v3/txn_failed.json"), ctx).succeeded);  // "succeeded" omitted
  EXPECT_EQ(parse_v3_keepalive(corpus("etcd_v3/keepalive_alive.json"), ctx), 60);
  EXPECT_EQ(parse_v3_keepalive(corpus("etcd_v3/keepalive_lost.json"), ctx),
            std::nullopt);  // 200 without TTL
  EXPECT_GT(parse_v3_timetolive(corpus("etcd_v3/timetolive.json"), ctx), 0);
}

TEST(EtcdV3Answers, GatewayErrorsMapToKinds) {
  try {
    throw_v3_error(404, corpus("etcd_v3/revoke_not_found.json"), ctx);
  } catch (const error& e) {
    EXPECT_EQ(e.kind(), error_kind::not_found);
    EXPECT_NE(std::string(e.what()).find("requested lease not found"), std::string::npos);
  }
  try {
    throw_v3_error(503, "<html>busy</html>", ctx);
  } catch (const error& e) {
    EXPECT_EQ(e.kind(), error_kind::transient);
  }
  try {
    throw_v3_error(401, R"({"error":"etcdserver: user name is empty","code":16})", ctx);
  } catch (const error& e) {
    EXPECT_EQ(e.kind(), error_kind::permanent);
  }
}

TEST(EtcdV3Answers, WatchStreamSplitAnywhere) {
  const std::string stream = corpus("etcd_v3/watch_stream.ndjson");
  // Feed it in every possible two-piece split: the result never depends on chunk boundaries.
  for (std::size_t cut = 0; cut <= stream.size(); cut += 7) {
    v3_watch_decoder d(ctx);
    auto a = d.feed(std::string_view(stream).substr(0, cut));
    auto b = d.feed(std::string_view(stream).substr(cut));
    for (auto& m : b)
      a.push_back(std::move(m));
    for (auto& m : d.finish())
      a.push_back(std::move(m));
    ASSERT_EQ(a.size(), 3u) << cut;
    EXPECT_TRUE(a[0].created);
    ASSERT_EQ(a[1].events.size(), 1u);
    EXPECT_FALSE(a[1].events[0].is_delete);
    EXPECT_EQ(a[1].events[0].kv.key, "/coreos.com/network/subnets/10.24.5.0-24");
    ASSERT_EQ(a[2].events.size(), 1u);
    EXPECT_TRUE(a[2].events[0].is_delete);
    ASSERT_TRUE(a[2].events[0].prev_kv.has_value());
    EXPECT_NE(a[2].events[0].prev_kv->value.find("192.168.0.12"), std::string::npos);
  }
}

TEST(EtcdV3Answers, CompactedWatchIsCanceledWithRevision) {
  v3_watch_decoder d(ctx);
  auto m = d.feed(corpus("etcd_v3/watch_compacted.ndjson"));
  ASSERT_EQ(m.size(), 2u);
  EXPECT_TRUE(m[1].canceled);
  EXPECT_EQ(m[1].compact_revision, 3);
}

TEST(EtcdV3Answers, MalformedAnswersAreParseErrorsNamingTheCall) {
  expect_parse_error([] { parse_v3_range("not json", ctx); }, "not valid JSON");
  expect_parse_error([] { parse_v3_range("[1,2]", ctx); });
  expect_parse_error([] { parse_v3_range(R"({"kvs":[{"key":"!!notbase64"}]})", ctx); }, "base64");
  expect_parse_error(
      [] { parse_v3_range(R"({"kvs":[{"key":"YQ==","mod_revision":"12x"}]})", ctx); }, "int64");
  expect_parse_error(
      [] { parse_v3_range(R"({"kvs":[{"key":"YQ==","mod_revision":true}]})", ctx); });
  expect_parse_error([] { parse_v3_range(R"({"kvs":{}})", ctx); });
  expect_parse_error(
      [] { parse_v3_range(R"({"header":{"revision":"99999999999999999999"}})", ctx); });
  expect_parse_error([] { parse_v3_grant(R"({"header":{}})", ctx); });
  expect_parse_error([] { parse_v3_keepalive(R"({"nothing":1})", ctx); });
  expect_parse_error(
      [] { parse_v3_watch_message(R"({"result":{"events":[{"type":"EXPLODE","kv":{}}]}})", ctx); });
  expect_parse_error([] { parse_v3_watch_message(R"({"result":{"events":[{}]}})", ctx); });
}

TEST(EtcdV2Answers, GetListCreateAndErrors) {
  auto cfg = parse_v2_answer(corpus("etcd_v2/get_config.json"), ctx);
  ASSERT_TRUE(cfg.node.has_value());
  EXPECT_EQ(cfg.node->value, R"({"Network":"10.24.0.0/16","Backend":{"Type":"ali-vpc"}})");

  auto list = parse_v2_answer(corpus("etcd_v2/list.json"), ctx);
  ASSERT_TRUE(list.node.has_value());
  EXPECT_TRUE(list.node->dir);
  ASSERT_EQ(list.node->nodes.size(), 2u);
  int with_ttl = 0;
  for (auto& n : list.node->nodes)
    with_ttl += n.ttl.has_value();
  EXPECT_EQ(with_ttl, 1);  // one lease, one reservation (set without TTL)

  auto created = parse_v2_answer(corpus("etcd_v2/create.json"), ctx);
  EXPECT_EQ(created.action, "create");
  EXPECT_EQ(created.node->ttl, 60);

  EXPECT_EQ(parse_v2_answer(corpus("etcd_v2/create_exists.json"), ctx).error_code, 105);
  EXPECT_EQ(parse_v2_answer(corpus("etcd_v2/list_missing.json"), ctx).error_code, 100);
  EXPECT_EQ(parse_v2_answer(corpus("etcd_v2/compare_failed.json"), ctx).error_code, 101);
  auto cleared = parse_v2_answer(corpus("etcd_v2/watch_cleared.json"), ctx);
  EXPECT_EQ(cleared.error_code, 401);
  EXPECT_GT(cleared.index, 1000);
  auto ev = parse_v2_answer(corpus("etcd_v2/watch_event.json"), ctx);
  EXPECT_EQ(ev.action, "delete");
  ASSERT_TRUE(ev.prev_node.has_value());
}

TEST(EtcdV2Answers, MalformedAnswersAreParseErrors) {
  expect_parse_error([] { parse_v2_answer("", ctx); });
  expect_parse_error([] { parse_v2_answer(R"({"node":{}})", ctx); }, "action");
  expect_parse_error([] { parse_v2_answer(R"({"action":"get","node":{"value":5}})", ctx); });
  expect_parse_error([] { parse_v2_answer(R"({"action":"get","node":{"ttl":"x"}})", ctx); });
  expect_parse_error([] { parse_v2_answer(R"({"action":"get","node":{"nodes":[1]}})", ctx); });
}

TEST(EtcdEntries, BadValuesStillMarkTheSubnetTaken) {
  auto l = lease_from_entry("/p/subnets/10.1.2.0-24", "/p/subnets/", "garbage");
  ASSERT_TRUE(l.has_value());
  EXPECT_EQ(l->subnet.to_string(), "10.1.2.0/24");
  EXPECT_FALSE(lease_from_entry("/p/subnets/not-a-subnet", "/p/subnets/", "{}").has_value());
  EXPECT_FALSE(lease_from_entry("/p/other/10.1.2.0-24", "/p/subnets/", "{}").has_value());
  EXPECT_EQ(prefix_range_end("/p/subnets/"), "/p/subnets0");
  EXPECT_EQ(alivpc::detail::percent_encode("{\"a\": 1}"), "%7B%22a%22%3A%201%7D");
}
