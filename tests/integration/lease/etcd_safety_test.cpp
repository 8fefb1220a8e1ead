// Issue 11 (lease and route safety), the etcd side: watch resume points, resync diffs, claim
// identity, store identity, --etcd-api selection and its messages. Real etcd throughout, and a
// loopback HTTP server where a real etcd cannot play the part (no v3 gateway).
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

#include <alivpc/lease/etcd_store.hpp>
#include <alivpc/lease/etcd_v2_store.hpp>
#include <alivpc/lease/etcd_v3_store.hpp>
#include <alivpc_test/etcd_process.hpp>
#include <alivpc_test/run_task.hpp>

#include "../http/test_server.hpp"

#include <gtest/gtest.h>

#include <set>

using namespace alivpc;
using namespace std::chrono_literals;
using alivpc_test::etcd_process;
using alivpc_test::run_task;

namespace {

const std::string k16 = R"({"Network":"10.24.0.0/16","Backend":{"Type":"ali-vpc"}})";
const std::string subnets = "/coreos.com/network/subnets/";

lease::etcd_options options_for(const std::string& endpoint) {
  lease::etcd_options o;
  o.endpoints = {http::url::parse(endpoint)};
  o.watch_wait = 3s;
  o.backoff = {.initial = 50ms, .max = 500ms, .give_up_after = 10s};
  return o;
}

lease::lease_attrs node(const std::string& ip, const std::string& instance = {}) {
  lease::lease_attrs a;
  a.public_ip = net::ipv4_address::parse(ip);
  if (!instance.empty()) a.backend_data = {{"InstanceId", instance}};
  return a;
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

}  // namespace

class EtcdSafety : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!etcd_process::available()) GTEST_SKIP() << "etcd binary not installed";
    etcd_.emplace();
  }
  lease::etcd_options options() const { return options_for(etcd_->endpoint()); }

  // Writes `n` revisions under the subnets prefix through the v3 gateway (reservations of 200
  // subnets, values changing), faster than n etcdctl processes.
  void put_many_v3(int n) {
    http::client c(io_, http::url::parse(etcd_->endpoint()));
    for (int i = 0; i < n; ++i) {
      auto key = subnets + "10.24." + std::to_string(i % 200 + 1) + ".0-24";
      auto value = lease::format_lease_value(node("192.168.1." + std::to_string(i % 250 + 1)));
      http::request r;
      r.method = "POST";
      r.target = "/v3/kv/put";
      r.body = nlohmann::json{{"key", alivpc::detail::base64_encode(key)},
                              {"value", alivpc::detail::base64_encode(value)}}
                   .dump();
      auto a = run_task(io_, c.send(std::move(r)));
      ASSERT_EQ(a.status, 200u) << a.body;
    }
  }
  void put_many_v2_unrelated(int n) {
    http::client c(io_, http::url::parse(etcd_->endpoint()));
    for (int i = 0; i < n; ++i) {
      http::request r;
      r.method = "PUT";
      r.target = "/v2/keys/unrelated/k";
      r.headers.emplace_back("Content-Type", "application/x-www-form-urlencoded");
      r.body = "value=" + std::to_string(i);
      run_task(io_, c.send(std::move(r)));
    }
  }

  std::optional<etcd_process> etcd_;
  boost::asio::io_context io_;
  asio_scheduler sched_{io_, 7};
};

// etcd 3.4 sends a backlog in batches of 1,000 revisions under the header revision of the newest;
// resuming at the header revision skipped everything after the first batch.
TEST_F(EtcdSafety, V3WatchDeliversEveryRevisionOfABacklogOverAThousand) {
  etcd_->etcdctl("put /coreos.com/network/config " + etcd_process::quote(k16));
  lease::etcd_v3_store store(sched_, options());
  const auto start = run_task(io_, store.list_leases()).revision;
  constexpr int n = 1300;
  put_many_v3(n);
  const auto last = start + n;
  std::set<std::int64_t> seen;
  std::int64_t rev = start;
  for (int call = 0; call < 20 && rev < last; ++call) {
    auto w = run_task(io_, store.watch_leases(rev));
    ASSERT_FALSE(w.resynced);
    for (const auto& e : w.events)
      seen.insert(e.value.revision);
    ASSERT_GE(w.revision, rev);
    rev = w.revision;
  }
  EXPECT_EQ(rev, last);
  EXPECT_EQ(seen.size(), static_cast<std::size_t>(n));
  EXPECT_EQ(*seen.begin(), start + 1);
  EXPECT_EQ(*seen.rbegin(), last);
}

// A key deleted and re-created by another node while history was compacted is another claim:
// the watcher must see the old claim go (removed) before the new one comes (added).
TEST_F(EtcdSafety, V3CompactionResyncReportsARecreatedKeyAsRemovedThenAdded) {
  etcd_->etcdctl("put /coreos.com/network/config " + etcd_process::quote(k16));
  lease::etcd_v3_store watcher(sched_, options());
  lease::etcd_v3_store other(sched_, options());
  auto cfg = run_task(io_, other.get_network_config());
  auto a = run_task(io_, other.acquire_lease(cfg, node("192.168.0.1"), std::nullopt, 1h));
  auto start = run_task(io_, watcher.list_leases());
  run_task(io_, other.revoke_lease(a));
  auto b = run_task(io_, other.acquire_lease(cfg, node("192.168.0.2"), a.subnet, 1h));
  ASSERT_EQ(b.subnet, a.subnet);
  EXPECT_GT(b.create_revision, a.create_revision);
  auto rev = run_task(io_, other.list_leases()).revision;
  etcd_->etcdctl("compaction " + std::to_string(rev));
  auto w = run_task(io_, watcher.watch_leases(start.revision));
  ASSERT_TRUE(w.resynced);
  ASSERT_EQ(w.events.size(), 2u);
  EXPECT_EQ(w.events[0].type, lease::lease_event_type::removed);
  EXPECT_EQ(w.events[0].value.attrs.public_ip.to_string(), "192.168.0.1");
  EXPECT_EQ(w.events[0].value.create_revision, a.create_revision);
  EXPECT_EQ(w.events[1].type, lease::lease_event_type::added);
  EXPECT_EQ(w.events[1].value.attrs.public_ip.to_string(), "192.168.0.2");
  EXPECT_EQ(w.events[1].value.create_revision, b.create_revision);
  EXPECT_FALSE(w.store.cluster_id.empty());
}

TEST_F(EtcdSafety, V2ClearedIndexResyncReportsARecreatedKeyAsRemovedThenAdded) {
  etcd_->etcdctl("set /coreos.com/network/config " + etcd_process::quote(k16), 2);
  lease::etcd_v2_store watcher(sched_, options());
  lease::etcd_v2_store other(sched_, options());
  auto cfg = run_task(io_, other.get_network_config());
  auto a = run_task(io_, other.acquire_lease(cfg, node("192.168.0.1"), std::nullopt, 1h));
  auto start = run_task(io_, watcher.list_leases());
  run_task(io_, other.revoke_lease(a));
  auto b = run_task(io_, other.acquire_lease(cfg, node("192.168.0.2"), a.subnet, 1h));
  ASSERT_EQ(b.subnet, a.subnet);
  EXPECT_GT(b.create_revision, a.create_revision);
  put_many_v2_unrelated(1010);  // etcd v2 keeps the last 1,000 events
  auto w = run_task(io_, watcher.watch_leases(start.revision));
  ASSERT_TRUE(w.resynced);
  ASSERT_EQ(w.events.size(), 2u);
  EXPECT_EQ(w.events[0].type, lease::lease_event_type::removed);
  EXPECT_EQ(w.events[0].value.attrs.public_ip.to_string(), "192.168.0.1");
  EXPECT_EQ(w.events[1].type, lease::lease_event_type::added);
  EXPECT_EQ(w.events[1].value.attrs.public_ip.to_string(), "192.168.0.2");
  EXPECT_FALSE(w.store.cluster_id.empty());
}

// A renewal is the same claim: no event from a resync (v2 renewals change modifiedIndex).
TEST_F(EtcdSafety, V2ClearedIndexResyncIgnoresARenewal) {
  etcd_->etcdctl("set /coreos.com/network/config " + etcd_process::quote(k16), 2);
  lease::etcd_v2_store watcher(sched_, options());
  lease::etcd_v2_store other(sched_, options());
  auto cfg = run_task(io_, other.get_network_config());
  auto a = run_task(io_, other.acquire_lease(cfg, node("192.168.0.1"), std::nullopt, 1h));
  auto start = run_task(io_, watcher.list_leases());
  auto renewed = run_task(io_, other.renew_lease(a, 1h));
  EXPECT_EQ(renewed.create_revision, a.create_revision);
  EXPECT_GT(renewed.revision, a.revision);
  put_many_v2_unrelated(1010);
  auto w = run_task(io_, watcher.watch_leases(start.revision));
  ASSERT_TRUE(w.resynced);
  EXPECT_TRUE(w.events.empty());
}

template <class Store>
void claim_and_store_identity(etcd_process& etcd, boost::asio::io_context& io,
                              asio_scheduler& sched, int api) {
  if (api == 3)
    etcd.etcdctl("put /coreos.com/network/config " + etcd_process::quote(k16));
  else
    etcd.etcdctl("set /coreos.com/network/config " + etcd_process::quote(k16), 2);
  Store store(sched, options_for(etcd.endpoint()));
  auto cfg = run_task(io, store.get_network_config());
  auto l = run_task(io, store.acquire_lease(cfg, node("192.168.0.9"), std::nullopt, 1h));
  EXPECT_GT(l.create_revision, 0);
  auto renewed = run_task(io, store.renew_lease(l, 1h));
  EXPECT_EQ(renewed.create_revision, l.create_revision);
  auto list = run_task(io, store.list_leases());
  ASSERT_EQ(list.leases.size(), 1u);
  EXPECT_EQ(list.leases[0].create_revision, l.create_revision);
  EXPECT_FALSE(list.store.cluster_id.empty());
  EXPECT_GE(list.store.store_revision, renewed.revision);
  // A watch event carries the claim and the store too.
  Store other(sched, options_for(etcd.endpoint()));
  auto o = run_task(io, other.acquire_lease(cfg, node("192.168.0.10"), std::nullopt, 1h));
  auto w = run_task(io, store.watch_leases(list.revision));
  ASSERT_FALSE(w.events.empty());
  EXPECT_EQ(w.events.back().value.subnet, o.subnet);
  EXPECT_EQ(w.events.back().value.create_revision, o.create_revision);
  EXPECT_EQ(w.store.cluster_id, list.store.cluster_id);
  run_task(io, other.revoke_lease(o));
  auto gone = run_task(io, store.watch_leases(w.revision));
  ASSERT_FALSE(gone.events.empty());
  EXPECT_EQ(gone.events.back().type, lease::lease_event_type::removed);
  EXPECT_EQ(gone.events.back().value.create_revision, o.create_revision);
}

TEST_F(EtcdSafety, V3FillsCreateRevisionAndStoreIdentity) {
  claim_and_store_identity<lease::etcd_v3_store>(*etcd_, io_, sched_, 3);
}
TEST_F(EtcdSafety, V2FillsCreateRevisionAndStoreIdentity) {
  claim_and_store_identity<lease::etcd_v2_store>(*etcd_, io_, sched_, 2);
}

// Two instances behind one PublicIP (e.g. a NAT'd address) are two nodes: neither adopts the
// other's lease.
template <class Store>
void shared_public_ip(etcd_process& etcd, boost::asio::io_context& io, asio_scheduler& sched,
                      int api) {
  if (api == 3)
    etcd.etcdctl("put /coreos.com/network/config " + etcd_process::quote(k16));
  else
    etcd.etcdctl("set /coreos.com/network/config " + etcd_process::quote(k16), 2);
  Store a(sched, options_for(etcd.endpoint())), b(sched, options_for(etcd.endpoint()));
  auto cfg = run_task(io, a.get_network_config());
  auto la = run_task(io, a.acquire_lease(cfg, node("192.168.0.5", "i-aaa"), std::nullopt, 1h));
  auto lb = run_task(io, b.acquire_lease(cfg, node("192.168.0.5", "i-bbb"), la.subnet, 1h));
  EXPECT_NE(la.subnet, lb.subnet);
  // Both still there; and the first instance, coming back, gets its own lease again.
  auto list = run_task(io, a.list_leases());
  EXPECT_EQ(list.leases.size(), 2u);
  auto again = run_task(io, a.acquire_lease(cfg, node("192.168.0.5", "i-aaa"), std::nullopt, 1h));
  EXPECT_EQ(again.subnet, la.subnet);
}

TEST_F(EtcdSafety, V3AcquireDoesNotAdoptTheLeaseOfAnotherInstanceWithOurPublicIp) {
  shared_public_ip<lease::etcd_v3_store>(*etcd_, io_, sched_, 3);
}
TEST_F(EtcdSafety, V2AcquireDoesNotAdoptTheLeaseOfAnotherInstanceWithOurPublicIp) {
  shared_public_ip<lease::etcd_v2_store>(*etcd_, io_, sched_, 2);
}

// --etcd-api=v3 with the config only in v2 (and the reverse): the message says where it is.
TEST_F(EtcdSafety, NotFoundInTheChosenApiSaysTheConfigIsInTheOtherKeySpace) {
  etcd_->etcdctl("set /coreos.com/network/config " + etcd_process::quote(k16), 2);
  lease::etcd_store v3(sched_, options(), lease::etcd_api::v3);
  try {
    run_task(io_, v3.get_network_config());
    FAIL() << "expected not_found";
  } catch (const error& e) {
    EXPECT_EQ(e.kind(), error_kind::not_found);
    EXPECT_TRUE(contains(e.what(), "exists in the etcd v2 key space")) << e.what();
    EXPECT_TRUE(contains(e.what(), "--etcd-api=v2")) << e.what();
  }
  etcd_->etcdctl("rm /coreos.com/network/config", 2);
  etcd_->etcdctl("put /coreos.com/network/config " + etcd_process::quote(k16));
  lease::etcd_store v2(sched_, options(), lease::etcd_api::v2);
  try {
    run_task(io_, v2.get_network_config());
    FAIL() << "expected not_found";
  } catch (const error& e) {
    EXPECT_EQ(e.kind(), error_kind::not_found);
    EXPECT_TRUE(contains(e.what(), "exists in the etcd v3 key space")) << e.what();
    EXPECT_TRUE(contains(e.what(), "--etcd-api=v3")) << e.what();
  }
  // Where neither has it, the plain message (no false hint).
  etcd_->etcdctl("del /coreos.com/network/config");
  lease::etcd_store v3b(sched_, options(), lease::etcd_api::v3);
  try {
    run_task(io_, v3b.get_network_config());
    FAIL() << "expected not_found";
  } catch (const error& e) {
    EXPECT_FALSE(contains(e.what(), "exists in the etcd")) << e.what();
  }
}

// etcd 3.4+ without --enable-v2 answers "404 page not found" as text: a v2 watch must fail with
// a clear error, not report "no events" at once (which made the caller spin).
TEST(EtcdWithoutV2, V2WatchFailsWithAClearErrorInsteadOfReturningEmpty) {
  if (!etcd_process::available()) GTEST_SKIP() << "etcd binary not installed";
  etcd_process etcd({.enable_v2 = false});
  boost::asio::io_context io;
  asio_scheduler sched{io, 3};
  lease::etcd_v2_store store(sched, options_for(etcd.endpoint()));
  for (int i = 0; i < 3; ++i) {
    try {
      auto w = run_task(io, store.watch_leases(0));
      FAIL() << "watch returned " << w.events.size() << " events instead of failing";
    } catch (const error& e) {
      EXPECT_NE(e.kind(), error_kind::transient) << e.what();  // not a blip: a setup problem
      EXPECT_TRUE(contains(e.what(), etcd.endpoint())) << e.what();
      EXPECT_TRUE(contains(e.what(), "--enable-v2")) << e.what();
      EXPECT_TRUE(contains(e.what(), "404")) << e.what();
    }
  }
  // And --etcd-api=auto on it picks v3.
  etcd.etcdctl("put /coreos.com/network/config " + etcd_process::quote(k16));
  lease::etcd_store autos(sched, options_for(etcd.endpoint()));
  EXPECT_EQ(run_task(io, autos.get_network_config()).network->to_string(), "10.24.0.0/16");
  EXPECT_EQ(autos.api(), lease::etcd_api::v3);
}

// An etcd (or a proxy in front of one) without the v3 gateway: /v3/... answers 404 as text.
// --etcd-api=auto falls back to v2 instead of failing.
TEST(EtcdWithoutV3Gateway, AutoFallsBackToV2) {
  alivpc_test::test_server server([](const alivpc_test::seen_request& r) {
    alivpc_test::server_reply out;
    if (r.target.rfind("/v3", 0) == 0) {
      out.status = 404;
      out.body = "404 page not found\n";
      out.content_type = "text/plain; charset=utf-8";
    } else if (r.target.rfind("/v2/keys/coreos.com/network/config", 0) == 0) {
      out.body = nlohmann::json{
          {"action", "get"},
          {"node",
           {{"key", "/coreos.com/network/config"},
            {"value", k16},
            {"modifiedIndex", 4},
            {"createdIndex",
             4}}}}.dump();
      out.content_type = "application/json";
      out.headers = {{"X-Etcd-Index", "4"}, {"X-Etcd-Cluster-Id", "cdf818194e3a8c32"}};
    } else {
      out.status = 500;
    }
    return out;
  });
  boost::asio::io_context io;
  asio_scheduler sched{io, 3};
  lease::etcd_store store(sched, options_for("http://127.0.0.1:" + std::to_string(server.port())));
  auto cfg = run_task(io, store.get_network_config());
  EXPECT_EQ(cfg.network->to_string(), "10.24.0.0/16");
  EXPECT_EQ(store.api(), lease::etcd_api::v2);
  EXPECT_TRUE(contains(store.selection_reason(), "no v3 gateway")) << store.selection_reason();
}
