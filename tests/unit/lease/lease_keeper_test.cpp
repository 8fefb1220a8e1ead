// lease_keeper on virtual time against the memory etcd: what the watch must not miss, and what
// it must not mistake for a loss.
#include <alivpc/lease/lease_keeper.hpp>
#include <alivpc/lease/observed_store.hpp>
#include <alivpc/sim/memory_etcd.hpp>
#include <alivpc/runtime/virtual_scheduler.hpp>

#include <gtest/gtest.h>

#include <map>
#include <memory>

using namespace std::chrono_literals;
using namespace alivpc;

namespace {
using store_t = sim::memory_store<virtual_scheduler>;
using keeper_t = lease::lease_keeper<store_t, virtual_scheduler>;

struct world {
  world() : s(7), etcd(s), store(etcd, "n1", sim::memory_store_options{.watch_wait = 5000ms}) {
    etcd.put_config(R"({"Network":"10.9.0.0/16","Backend":{"Type":"ali-vpc"}})");
    cfg = config::parse_network_config(*etcd.config());
    attrs.public_ip = net::ipv4_address::parse("192.168.0.1");
    attrs.backend_data = {{"InstanceId", "i-one"}};
  }
  virtual_scheduler s;
  sim::memory_etcd<virtual_scheduler> etcd;
  store_t store;
  config::network_config cfg;
  lease::lease_attrs attrs;
};

lease::keeper_options ttl_and_margin(std::chrono::seconds ttl, std::chrono::seconds margin) {
  lease::keeper_options o;  // (not designated initializers: -Wmissing-field-initializers)
  o.ttl = ttl;
  o.renew_margin = margin;
  return o;
}

task<void> acquire(keeper_t& k, config::network_config cfg, lease::lease_attrs attrs,
                   std::optional<net::ipv4_cidr> previous, std::optional<lease::lease>& out) {
  out = co_await k.acquire(cfg, attrs, previous);
}
task<void> keep(keeper_t& k, std::optional<lease::lease_loss>& out, bool& done) {
  out = co_await k.keep();
  co_await k.drain();
  done = true;
}
}  // namespace

// Our key deleted after the claim and before the watch's first listing: the listing shows it.
TEST(LeaseKeeper, ADeletionBeforeTheFirstListIsALoss) {
  world w;
  keeper_t k(w.store, w.s, ttl_and_margin(1h, 10min));
  std::optional<lease::lease> got;
  spawn(w.s, acquire(k, w.cfg, w.attrs, std::nullopt, got));
  w.s.run_for(1s);
  ASSERT_TRUE(got);
  ASSERT_TRUE(w.etcd.erase(got->subnet));  // before keep() lists anything
  std::optional<lease::lease_loss> loss;
  bool done = false;
  spawn(w.s, keep(k, loss, done));
  w.s.run_for(1s);
  ASSERT_TRUE(done);
  ASSERT_TRUE(loss);
  EXPECT_EQ(loss->reason, lease::lease_loss_reason::deleted) << loss->detail;
  EXPECT_TRUE(k.lost().is_set());
}

// Our key deleted and at once claimed again by us (the same subnet): the new claim is kept,
// and the deletion of the old claim, delivered later to the new keep(), is not a loss.
TEST(LeaseKeeper, TheOldClaimsDeletionIsNotALossOfTheNewClaim) {
  world w;
  keeper_t k(w.store, w.s, ttl_and_margin(1h, 10min));
  std::optional<lease::lease> first, second;
  spawn(w.s, acquire(k, w.cfg, w.attrs, std::nullopt, first));
  w.s.run_for(1s);
  ASSERT_TRUE(first);
  ASSERT_TRUE(w.etcd.erase(first->subnet));
  spawn(w.s, acquire(k, w.cfg, w.attrs, first->subnet, second));
  w.s.run_for(1s);
  ASSERT_TRUE(second);
  ASSERT_EQ(second->subnet, first->subnet);
  ASSERT_GT(second->create_revision, first->create_revision);
  std::optional<lease::lease_loss> loss;
  bool done = false;
  spawn(w.s, keep(k, loss, done));
  w.s.run_for(2min);
  EXPECT_FALSE(loss) << loss->detail;
  EXPECT_TRUE(k.confirmed_at());
  k.stop();
  w.s.run_for(10s);
  EXPECT_TRUE(done);
}

// Another instance with our PublicIP takes the key (after our claim was deleted): a loss, and
// the loss says who holds it now.
TEST(LeaseKeeper, AnotherInstanceWithOurPublicIpTakingTheKeyIsALoss) {
  world w;
  keeper_t k(w.store, w.s, ttl_and_margin(1h, 10min));
  std::optional<lease::lease> got;
  spawn(w.s, acquire(k, w.cfg, w.attrs, std::nullopt, got));
  w.s.run_for(1s);
  ASSERT_TRUE(got);
  std::optional<lease::lease_loss> loss;
  bool done = false;
  spawn(w.s, keep(k, loss, done));
  w.s.run_for(1s);
  auto other = w.attrs;
  other.backend_data = {{"InstanceId", "i-two"}};
  w.etcd.erase(got->subnet);
  w.etcd.reserve(got->subnet, other);
  w.s.run_for(10s);
  ASSERT_TRUE(done);
  ASSERT_TRUE(loss);
  EXPECT_TRUE(loss->reason == lease::lease_loss_reason::taken ||
              loss->reason == lease::lease_loss_reason::deleted)
      << loss->detail;
}

// A keeper refuses a margin that is not shorter than the TTL, naming both flags.
TEST(LeaseKeeper, AMarginNotShorterThanTheTtlIsRefused) {
  world w;
  try {
    keeper_t k(w.store, w.s, ttl_and_margin(1h, 60min));
    FAIL() << "accepted";
  } catch (const error& e) {
    EXPECT_NE(std::string(e.what()).find("--subnet-lease-renew-margin"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("--subnet-lease-ttl"), std::string::npos);
  }
}

namespace {
struct call_counter {
  std::map<std::string, int, std::less<>> calls;
  void before(std::string_view op) { ++calls[std::string(op)]; }
  void after(std::string_view, const std::exception_ptr&) {}
};
using observed_t = lease::observed_store<store_t, call_counter>;
using observed_keeper_t = lease::lease_keeper<observed_t, virtual_scheduler>;

task<void> acquire_and_keep(observed_keeper_t& k, config::network_config cfg,
                            lease::lease_attrs attrs, std::optional<lease::lease_loss>& loss,
                            bool& done) {
  co_await k.acquire(cfg, attrs, std::nullopt);
  loss = co_await k.keep();
  co_await k.drain();
  done = true;
}
task<void> join(store_t& st, config::network_config cfg, lease::lease_attrs attrs) {
  co_await st.acquire_lease(cfg, attrs, std::nullopt, std::chrono::hours(1));
}
}  // namespace

// A keeper reads and watches its own key only: 40 other nodes joining wake it for nothing
// (a watch of every subnet made a call per join, and kept every lease in the node's memory).
TEST(LeaseKeeper, OtherNodesJoiningCostTheKeeperNothing) {
  world w;
  call_counter counter;
  observed_t observed(w.store, counter);
  observed_keeper_t k(observed, w.s, ttl_and_margin(1h, 10min));
  std::optional<lease::lease_loss> loss;
  bool done = false;
  spawn(w.s, acquire_and_keep(k, w.cfg, w.attrs, loss, done));
  w.s.run_for(1s);
  std::vector<std::unique_ptr<store_t>> others;
  for (int i = 0; i < 40; ++i) {
    others.push_back(std::make_unique<store_t>(w.etcd, "n" + std::to_string(i + 2)));
    auto attrs = w.attrs;
    attrs.public_ip = net::ipv4_address(attrs.public_ip.value() + 1 + static_cast<unsigned>(i));
    attrs.backend_data = {{"InstanceId", "i-" + std::to_string(i + 2)}};
    spawn(w.s, join(*others.back(), w.cfg, attrs));
    w.s.run_for(200ms);
  }
  w.s.run_for(1s);
  EXPECT_EQ(w.etcd.keys().size(), 41u);
  EXPECT_EQ(counter.calls["list_leases"], 0);
  EXPECT_EQ(counter.calls["watch_leases"], 0);
  EXPECT_EQ(counter.calls["list_lease"], 1);
  // Its watch ends only at its 5 s bound: two or three calls in these 9 s, never one per join.
  EXPECT_LE(counter.calls["watch_lease"], 3);
  EXPECT_FALSE(loss.has_value());
  k.stop();
  w.s.run_for(10s);
  EXPECT_TRUE(done);
}
