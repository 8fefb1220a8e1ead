// GCC 12 warns about designated initializers that leave members at their defaults.
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

#include <alivpc/lease/etcd_store.hpp>
#include <alivpc/lease/etcd_v2_store.hpp>
#include <alivpc/lease/etcd_v3_store.hpp>
#include <alivpc_test/etcd_process.hpp>
#include <alivpc_test/run_task.hpp>
#include <alivpc_test/temp_dir.hpp>
#include <alivpc_test/tls_certs.hpp>

#include <gtest/gtest.h>

using namespace alivpc;
using namespace std::chrono_literals;
using alivpc_test::etcd_process;
using alivpc_test::run_task;

namespace {

lease::etcd_options options_for(const etcd_process& etcd) {
  lease::etcd_options o;
  o.endpoints = {http::url::parse(etcd.endpoint())};
  o.watch_wait = 3s;
  o.backoff = {.initial = 50ms, .max = 500ms, .give_up_after = 20s};
  return o;
}

lease::lease_attrs node(const std::string& ip) {
  lease::lease_attrs a;
  a.public_ip = net::ipv4_address::parse(ip);
  return a;
}

}  // namespace

class EtcdV3 : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!etcd_process::available()) GTEST_SKIP() << "etcd binary not installed";
    etcd_.emplace();
  }
  std::optional<etcd_process> etcd_;
  boost::asio::io_context io_;
  asio_scheduler sched_{io_, 42};
};

TEST_F(EtcdV3, ReadsConfigWrittenByEtcdctlPut) {
  etcd_->etcdctl("put /coreos.com/network/config " +
                 etcd_process::quote(R"({"Network":"10.24.0.0/16","Backend":{"Type":"ali-vpc"}})"));
  lease::etcd_v3_store store(sched_, options_for(*etcd_));
  auto cfg = run_task(io_, store.get_network_config());
  EXPECT_EQ(cfg.network->to_string(), "10.24.0.0/16");
  EXPECT_EQ(cfg.subnet_len, 24);
  EXPECT_EQ(cfg.backend.type, "ali-vpc");
}

TEST_F(EtcdV3, MissingConfigSaysWhereItLookedAndHowToPublish) {
  lease::etcd_v3_store store(sched_, options_for(*etcd_));
  try {
    run_task(io_, store.get_network_config());
    FAIL();
  } catch (const error& e) {
    EXPECT_EQ(e.kind(), error_kind::not_found);
    std::string m = e.what();
    EXPECT_NE(m.find("/coreos.com/network/config"), std::string::npos) << m;
    EXPECT_NE(m.find(etcd_->endpoint()), std::string::npos) << m;
    EXPECT_NE(m.find("etcdctl put /coreos.com/network/config '{\"Network\":\"10.24.0.0/16\""),
              std::string::npos)
        << m;
  }
}

namespace {

// How many calls of one gRPC method etcd answered with OK, from its own /metrics (the JSON
// gateway our stores use goes through the gRPC server, so its calls are counted there).
long etcd_calls(const etcd_process& etcd, const std::string& method) {
  auto text = etcd.get("/metrics");
  if (!text) return -1;
  const std::string series =
      "grpc_server_handled_total{grpc_code=\"OK\",grpc_method=\"" + method + "\",";
  auto at = text->find(series);
  if (at == std::string::npos) return 0;  // never called yet
  auto value = text->find("} ", at);
  return value == std::string::npos ? -1 : std::stol(text->substr(value + 2));
}

}  // namespace

// A route leader lists every lease each pass. The listing must be one range read: an exact
// expiry per lease was one LeaseTimeToLive round trip each (5,000 per pass at 5,000 nodes).
TEST_F(EtcdV3, ListingEveryLeaseIsOneRangeReadWithoutATtlLookupPerLease) {
  etcd_->etcdctl("put /coreos.com/network/config " +
                 etcd_process::quote(R"({"Network":"10.24.0.0/16","Backend":{"Type":"ali-vpc"}})"));
  lease::etcd_v3_store store(sched_, options_for(*etcd_));
  auto cfg = run_task(io_, store.get_network_config());
  std::vector<lease::lease> held;
  for (int i = 1; i <= 5; ++i)
    held.push_back(run_task(
        io_, store.acquire_lease(cfg, node("192.168.0." + std::to_string(i)), std::nullopt, 1h)));
  etcd_->etcdctl("put /coreos.com/network/subnets/10.24.200.0-24 " +
                 etcd_process::quote(R"({"PublicIP":"192.168.0.99","BackendType":"ali-vpc"})"));

  const long ttl_before = etcd_calls(*etcd_, "LeaseTimeToLive");
  const long range_before = etcd_calls(*etcd_, "Range");
  ASSERT_GE(ttl_before, 0);
  ASSERT_GE(range_before, 0);
  auto list = run_task(io_, store.list_leases());
  EXPECT_EQ(etcd_calls(*etcd_, "LeaseTimeToLive"), ttl_before);
  EXPECT_EQ(etcd_calls(*etcd_, "Range"), range_before + 1);
  // Who holds what stays exact: five claims with a TTL, one reservation without.
  ASSERT_EQ(list.leases.size(), 6u);
  int reservations = 0;
  for (auto& l : list.leases)
    reservations += l.is_reservation() ? 1 : 0;
  EXPECT_EQ(reservations, 1);

  // A node's own lease still comes with its real expiry (one lookup, for one lease).
  auto own = run_task(io_, store.list_lease(held[0].subnet));
  ASSERT_EQ(own.leases.size(), 1u);
  EXPECT_EQ(etcd_calls(*etcd_, "LeaseTimeToLive"), ttl_before + 1);
  EXPECT_GT(*own.leases[0].expiration, sched_.wall_now() + 50min);
}

TEST_F(EtcdV3, LeaseKeyAndValueMatchFlannelLayout) {
  etcd_->etcdctl("put /coreos.com/network/config " +
                 etcd_process::quote(R"({"Network":"10.24.0.0/16","Backend":{"Type":"ali-vpc"}})"));
  lease::etcd_v3_store store(sched_, options_for(*etcd_));
  auto cfg = run_task(io_, store.get_network_config());
  auto l = run_task(io_, store.acquire_lease(cfg, node("192.168.0.12"), std::nullopt, 24h));
  EXPECT_TRUE(cfg.network->contains(l.subnet.network()));
  EXPECT_EQ(l.subnet.prefix_length(), 24);
  EXPECT_NE(l.lease_id, 0);
  auto key = "/coreos.com/network/subnets/" + lease::subnet_key(l.subnet);
  auto out = etcd_->etcdctl("get " + key);
  EXPECT_EQ(
      out,
      key + "\n" +
          R"({"PublicIP":"192.168.0.12","PublicIPv6":null,"BackendType":"ali-vpc","BackendData":null})" +
          "\n");
  auto ttl = etcd_->etcdctl("lease timetolive " + [&] {
    char hex[32];
    std::snprintf(hex, sizeof hex, "%llx", static_cast<unsigned long long>(l.lease_id));
    return std::string(hex);
  }());
  EXPECT_NE(ttl.find("granted with TTL(86400s)"), std::string::npos) << ttl;
}

// ---------------------------------------------------------------------------------------------
// v2 API, key spaces, --etcd-api=auto

constexpr const char* k16 = R"({"Network":"10.24.0.0/16","Backend":{"Type":"ali-vpc"}})";

TEST_F(EtcdV3, V2ReadsConfigFromEtcdctlSetAndWritesFlannelsLayout) {
  etcd_->etcdctl("set /coreos.com/network/config " + etcd_process::quote(k16), 2);
  lease::etcd_v2_store store(sched_, options_for(*etcd_));
  auto cfg = run_task(io_, store.get_network_config());
  EXPECT_EQ(cfg.network->to_string(), "10.24.0.0/16");
  auto l = run_task(io_, store.acquire_lease(cfg, node("192.168.0.12"), std::nullopt, 24h));
  auto key = "/coreos.com/network/subnets/" + lease::subnet_key(l.subnet);
  EXPECT_EQ(
      etcd_->etcdctl("get " + key, 2),
      R"({"PublicIP":"192.168.0.12","PublicIPv6":null,"BackendType":"ali-vpc","BackendData":null})"
      "\n");
  auto extended = etcd_->etcdctl("-o extended get " + key, 2);
  EXPECT_NE(extended.find("TTL: 8640"), std::string::npos)
      << extended;  // 86400 minus a second or so
}

TEST_F(EtcdV3, KeySpacesAreSeparateAndAutoPicksWhereTheConfigIs) {
  etcd_->etcdctl("set /coreos.com/network/config " + etcd_process::quote(k16), 2);
  lease::etcd_v3_store v3(sched_, options_for(*etcd_));
  EXPECT_THROW(run_task(io_, v3.get_network_config()), error);  // v2's key is invisible to v3
  lease::etcd_store automatic(sched_, options_for(*etcd_), lease::parse_etcd_api("auto"));
  auto cfg = run_task(io_, automatic.get_network_config());
  EXPECT_EQ(cfg.network->to_string(), "10.24.0.0/16");
  EXPECT_EQ(automatic.api(), lease::etcd_api::v2);
  EXPECT_NE(automatic.selection_reason().find("v2"), std::string::npos);

  etcd_->etcdctl("put /coreos.com/network/config " + etcd_process::quote(k16));
  lease::etcd_store again(sched_, options_for(*etcd_), lease::etcd_api::automatic);
  run_task(io_, again.select());
  EXPECT_EQ(again.api(), lease::etcd_api::v3);
  EXPECT_NE(again.selection_reason().find("v3 key space"), std::string::npos)
      << again.selection_reason();
}

TEST_F(EtcdV3, AutoWithNoConfigAnywhereShowsBothCommands) {
  lease::etcd_store automatic(sched_, options_for(*etcd_), lease::etcd_api::automatic);
  try {
    run_task(io_, automatic.get_network_config());
    FAIL();
  } catch (const error& e) {
    std::string m = e.what();
    EXPECT_EQ(e.kind(), error_kind::not_found);
    EXPECT_NE(m.find(etcd_->endpoint()), std::string::npos) << m;
    EXPECT_NE(m.find("etcdctl put /coreos.com/network/config"), std::string::npos) << m;
    EXPECT_NE(m.find("ETCDCTL_API=2 etcdctl set /coreos.com/network/config"), std::string::npos)
        << m;
  }
  EXPECT_THROW(lease::parse_etcd_api("v4"), error);
}

// ---------------------------------------------------------------------------------------------
// Races, restarts, compaction, failover

template <class Store>
task<void> acquire_one(Store& store, const config::network_config& cfg, std::string ip,
                       std::optional<lease::lease>& out, std::vector<std::string>& errors,
                       int& done) {
  try {
    out = co_await store.acquire_lease(cfg, node(ip), std::nullopt, 1h);
  } catch (const std::exception& e) {
    errors.emplace_back(e.what());
  }
  ++done;
}

template <class Store>
void fifty_concurrent_acquirers(etcd_process& etcd, boost::asio::io_context& io,
                                asio_scheduler& sched, const config::network_config& cfg) {
  constexpr int n = 50;
  std::vector<std::unique_ptr<Store>> stores;
  std::vector<std::optional<lease::lease>> got(n);
  std::vector<std::string> errors;
  int done = 0;
  stores.reserve(n);
  for (int i = 0; i < n; ++i)
    stores.push_back(std::make_unique<Store>(sched, options_for(etcd)));
  for (int i = 0; i < n; ++i) {
    // A coroutine's parameters live in its frame (a lambda's captures would not).
    spawn(sched,
          acquire_one(*stores[i], cfg, "192.168.3." + std::to_string(i + 1), got[i], errors, done));
  }
  io.restart();
  while (done < n && io.run_one()) {
  }
  ASSERT_EQ(done, n);
  ASSERT_TRUE(errors.empty()) << errors.front();
  for (int i = 0; i < n; ++i)
    for (int j = i + 1; j < n; ++j)
      EXPECT_FALSE(got[i]->subnet.overlaps(got[j]->subnet)) << i << " " << j;
  auto list = run_task(io, stores[0]->list_leases());
  EXPECT_EQ(list.leases.size(), std::size_t(n));
}

TEST_F(EtcdV3, FiftyConcurrentAcquirersNeverShareASubnetV3) {
  // A /20 of /24s: 15 subnets for 50 nodes would not do; use /18 (63 subnets) to force collisions.
  etcd_->etcdctl("put /coreos.com/network/config " +
                 etcd_process::quote(
                     R"({"Network":"10.30.0.0/18","SubnetLen":24,"Backend":{"Type":"ali-vpc"}})"));
  lease::etcd_v3_store s(sched_, options_for(*etcd_));
  auto cfg = run_task(io_, s.get_network_config());
  fifty_concurrent_acquirers<lease::etcd_v3_store>(*etcd_, io_, sched_, cfg);
}

TEST_F(EtcdV3, FiftyConcurrentAcquirersNeverShareASubnetV2) {
  etcd_->etcdctl(
      "set /coreos.com/network/config " +
          etcd_process::quote(
              R"({"Network":"10.30.0.0/18","SubnetLen":24,"Backend":{"Type":"ali-vpc"}})"),
      2);
  lease::etcd_v2_store s(sched_, options_for(*etcd_));
  auto cfg = run_task(io_, s.get_network_config());
  fifty_concurrent_acquirers<lease::etcd_v2_store>(*etcd_, io_, sched_, cfg);
}

template <class Store>
void survives_restart(etcd_process& etcd, boost::asio::io_context& io, asio_scheduler& sched,
                      int api) {
  etcd.etcdctl(std::string(api == 3 ? "put" : "set") + " /coreos.com/network/config " +
                   etcd_process::quote(k16),
               api);
  Store store(sched, options_for(etcd));
  auto cfg = run_task(io, store.get_network_config());
  auto l = run_task(io, store.acquire_lease(cfg, node("192.168.0.12"), std::nullopt, 60s));
  etcd.restart();  // same data dir, same port
  auto renewed =
      run_task(io, store.renew_lease(l, 60s));  // the keep-alive connection was reset: reconnects
  EXPECT_EQ(renewed.subnet, l.subnet);
  EXPECT_EQ(renewed.lease_id, l.lease_id);
  auto key = "/coreos.com/network/subnets/" + lease::subnet_key(l.subnet);
  EXPECT_NE(etcd.etcdctl("get " + key, api).find("192.168.0.12"), std::string::npos);
}

TEST_F(EtcdV3, LeaseSurvivesEtcdRestartAndRenewsV3) {
  survives_restart<lease::etcd_v3_store>(*etcd_, io_, sched_, 3);
}
TEST_F(EtcdV3, LeaseSurvivesEtcdRestartAndRenewsV2) {
  survives_restart<lease::etcd_v2_store>(*etcd_, io_, sched_, 2);
}

TEST_F(EtcdV3, WatchAfterCompactionResyncsByDiff) {
  etcd_->etcdctl("put /coreos.com/network/config " + etcd_process::quote(k16));
  lease::etcd_v3_store watcher(sched_, options_for(*etcd_));
  lease::etcd_v3_store other(sched_, options_for(*etcd_));
  auto cfg = run_task(io_, other.get_network_config());
  auto a = run_task(io_, other.acquire_lease(cfg, node("192.168.0.1"), std::nullopt, 1h));
  auto start = run_task(io_, watcher.list_leases());  // knows a
  run_task(io_, other.revoke_lease(a));
  auto b = run_task(io_, other.acquire_lease(cfg, node("192.168.0.2"), std::nullopt, 1h));
  auto rev = run_task(io_, other.list_leases()).revision;
  etcd_->etcdctl("compaction " + std::to_string(rev));
  auto w = run_task(io_, watcher.watch_leases(start.revision));
  EXPECT_TRUE(w.resynced);
  EXPECT_GE(w.revision, rev);
  bool removed_a = false, added_b = false;
  for (auto& e : w.events) {
    if (e.type == lease::lease_event_type::removed && e.value.subnet == a.subnet) removed_a = true;
    if (e.type == lease::lease_event_type::added && e.value.subnet == b.subnet) added_b = true;
  }
  EXPECT_TRUE(removed_a);
  EXPECT_TRUE(added_b);
}

TEST_F(EtcdV3, V2WatchBehindClearedHistoryResyncs) {
  etcd_->etcdctl("set /coreos.com/network/config " + etcd_process::quote(k16), 2);
  lease::etcd_v2_store store(sched_, options_for(*etcd_));
  auto start = run_task(io_, store.list_leases());
  // etcd v2 keeps the last 1000 events: push the watcher's index out of it.
  http::client c(io_, http::url::parse(etcd_->endpoint()));
  for (int i = 0; i < 1010; ++i) {
    http::request r;
    r.method = "PUT";
    r.target = "/v2/keys/unrelated/k";
    r.headers.emplace_back("Content-Type", "application/x-www-form-urlencoded");
    r.body = "value=" + std::to_string(i);
    run_task(io_, c.send(std::move(r)));
  }
  auto cfg = run_task(io_, store.get_network_config());
  auto l = run_task(io_, store.acquire_lease(cfg, node("192.168.0.1"), std::nullopt, 1h));
  lease::etcd_v2_store watcher(sched_, options_for(*etcd_));
  auto w = run_task(io_, watcher.watch_leases(start.revision));
  EXPECT_TRUE(w.resynced);
  ASSERT_EQ(w.events.size(), 1u);
  EXPECT_EQ(w.events[0].value.subnet, l.subnet);
}

TEST_F(EtcdV3, FailsOverToALiveEndpointAndGivesUpOnDeadOnes) {
  etcd_->etcdctl("put /coreos.com/network/config " + etcd_process::quote(k16));
  unsigned short dead;
  {
    boost::asio::io_context tmp;
    boost::asio::ip::tcp::acceptor a(tmp, {boost::asio::ip::make_address("127.0.0.1"), 0});
    dead = a.local_endpoint().port();
  }
  auto o = options_for(*etcd_);
  o.endpoints.insert(o.endpoints.begin(),
                     http::url::parse("http://127.0.0.1:" + std::to_string(dead)));
  lease::etcd_v3_store store(sched_, o);
  EXPECT_EQ(run_task(io_, store.get_network_config()).network->to_string(), "10.24.0.0/16");

  o.endpoints = {http::url::parse("http://127.0.0.1:" + std::to_string(dead))};
  o.backoff = {.initial = 10ms, .max = 50ms, .give_up_after = 300ms};
  lease::etcd_v3_store unreachable(sched_, o);
  try {
    run_task(io_, unreachable.get_network_config());
    FAIL();
  } catch (const error& e) {
    EXPECT_EQ(e.kind(), error_kind::transient);
    std::string m = e.what();
    EXPECT_NE(m.find("POST /v3/kv/range on http://127.0.0.1:" + std::to_string(dead)),
              std::string::npos)
        << m;
    EXPECT_NE(m.find("gave up after"), std::string::npos) << m;
  }
}

// ---------------------------------------------------------------------------------------------
// TLS

TEST(EtcdTls, VerifiedConnectionWorksAndAWrongCaIsRefused) {
  if (!etcd_process::available()) GTEST_SKIP() << "etcd binary not installed";
  alivpc_test::temp_dir dir("alivpc-etcd-tls");
  auto certs = alivpc_test::tls_certs::make(dir.path());
  etcd_process etcd({.tls = &certs});
  etcd.etcdctl("put /coreos.com/network/config " + etcd_process::quote(k16));
  boost::asio::io_context io;
  asio_scheduler sched(io, 5);
  auto o = options_for(etcd);
  ASSERT_EQ(o.endpoints[0].scheme, "https");
  o.http.tls.ca_file = certs.ca_cert;
  lease::etcd_v3_store good(sched, o);
  auto cfg = run_task(io, good.get_network_config());
  auto l = run_task(io, good.acquire_lease(cfg, node("192.168.0.12"), std::nullopt, 1h));
  EXPECT_TRUE(cfg.network->contains(l.subnet));

  o.http.tls.ca_file = certs.other_ca_cert;
  lease::etcd_v3_store bad(sched, o);
  try {
    run_task(io, bad.get_network_config());
    FAIL() << "an etcd signed by another CA was trusted";
  } catch (const error& e) {
    EXPECT_EQ(e.kind(), error_kind::permanent) << e.what();
    EXPECT_NE(std::string(e.what()).find("TLS handshake failed"), std::string::npos) << e.what();
  }
}

TEST(EtcdTls, ClientCertificateWhenEtcdRequiresOne) {
  if (!etcd_process::available()) GTEST_SKIP() << "etcd binary not installed";
  alivpc_test::temp_dir dir("alivpc-etcd-mtls");
  auto certs = alivpc_test::tls_certs::make(dir.path());
  etcd_process etcd({.tls = &certs, .client_cert_auth = true});
  etcd.etcdctl("put /coreos.com/network/config " + etcd_process::quote(k16));
  boost::asio::io_context io;
  asio_scheduler sched(io, 5);
  auto o = options_for(etcd);
  o.http.tls = {
      .ca_file = certs.ca_cert, .cert_file = certs.client_cert, .key_file = certs.client_key};
  lease::etcd_v2_store store(sched, o);
  EXPECT_THROW(run_task(io, store.get_network_config()), error);  // config is in v3, not v2
  lease::etcd_v3_store v3(sched, o);
  EXPECT_EQ(run_task(io, v3.get_network_config()).network->to_string(), "10.24.0.0/16");
}

TEST_F(EtcdV3, UsernameAndPasswordBecomeAV3AuthToken) {
  etcd_->etcdctl("put /coreos.com/network/config " + etcd_process::quote(k16));
  etcd_->etcdctl("user add root:s3cret-pw");
  etcd_->etcdctl("auth enable");
  auto o = options_for(*etcd_);
  lease::etcd_v3_store anonymous(sched_, o);
  EXPECT_THROW(run_task(io_, anonymous.get_network_config()), error);

  o.http.basic_auth = std::pair{std::string("root"), std::string("s3cret-pw")};
  lease::etcd_v3_store store(sched_, o);
  auto cfg = run_task(io_, store.get_network_config());
  auto l = run_task(io_, store.acquire_lease(cfg, node("192.168.0.12"), std::nullopt, 1h));
  EXPECT_EQ(run_task(io_, store.renew_lease(l, 1h)).subnet, l.subnet);
  auto w = run_task(io_, store.watch_leases(0));  // the watch stream carries the token too
  EXPECT_FALSE(w.events.empty());

  o.http.basic_auth = std::pair{std::string("root"), std::string("wrong-pw")};
  lease::etcd_v3_store wrong(sched_, o);
  try {
    run_task(io_, wrong.get_network_config());
    FAIL();
  } catch (const error& e) {
    EXPECT_EQ(e.kind(), error_kind::permanent) << e.what();
    std::string m = e.what();
    EXPECT_NE(m.find("/v3/auth/authenticate"), std::string::npos) << m;
    EXPECT_EQ(m.find("wrong-pw"), std::string::npos) << m;
  }
}
