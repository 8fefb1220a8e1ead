// One suite, three stores: the real etcd through the v3 gateway, the real etcd through the v2
// keys API, and the simulator's memory model must agree on acquire / renew / lose behaviour.
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

#include "harness.hpp"

#include <alivpc/lease/lease_keeper.hpp>

#include <gtest/gtest.h>

using namespace lease_test;

template <class H>
class LeaseStoreSuite : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!H::available()) GTEST_SKIP() << "etcd binary not installed";
    h.emplace();
  }
  config::network_config config(const std::string& json) {
    h->put_config(json);
    auto s = h->make_store();
    return h->run(s->get_network_config());
  }
  std::optional<H> h;
};

using Harnesses = ::testing::Types<v3_harness, v2_harness, memory_harness>;
struct HarnessNames {
  template <class T>
  static std::string GetName(int) {
    return T::name[0] == 'm' ? "memory" : (T::name[6] == '3' ? "etcd_v3" : "etcd_v2");
  }
};
TYPED_TEST_SUITE(LeaseStoreSuite, Harnesses, HarnessNames);

// A coroutine's parameters live in its frame (a lambda's captures would not).
template <class Keeper>
task<void> keep_until_done(Keeper& keeper, std::optional<lease::lease_loss>& result, bool& done) {
  result = co_await keeper.keep();
  co_await keeper.drain();  // the keeper is destroyed after this test
  done = true;
}

constexpr const char* k16 = R"({"Network":"10.24.0.0/16","Backend":{"Type":"ali-vpc"}})";
// A /28 cut into /30s: SubnetMin 10.5.0.4 .. SubnetMax 10.5.0.12, room for exactly 3 leases.
constexpr const char* k28 = R"({"Network":"10.5.0.0/28","Backend":{"Type":"ali-vpc"}})";

TYPED_TEST(LeaseStoreSuite, AcquireRenewAndReuseOurLease) {
  auto& h = *this->h;
  auto cfg = this->config(k16);
  auto store = h.make_store();
  auto l = h.run(store->acquire_lease(cfg, node("192.168.0.12"), std::nullopt, 1h));
  EXPECT_TRUE(cfg.network->contains(l.subnet));
  EXPECT_EQ(l.subnet.prefix_length(), 24);
  EXPECT_FALSE(l.is_reservation());
  EXPECT_EQ(l.attrs, node("192.168.0.12"));
  auto renewed = h.run(store->renew_lease(l, 1h));
  EXPECT_EQ(renewed.subnet, l.subnet);
  EXPECT_GE(*renewed.expiration, *l.expiration - std::chrono::seconds(2));
  // A restart of the same node (same PublicIP) finds its live lease again.
  auto other_client = h.make_store();
  auto again = h.run(other_client->acquire_lease(cfg, node("192.168.0.12"), std::nullopt, 1h));
  EXPECT_EQ(again.subnet, l.subnet);
  auto list = h.run(store->list_leases());
  ASSERT_EQ(list.leases.size(), 1u);
  EXPECT_EQ(list.leases[0].subnet, l.subnet);
  EXPECT_EQ(list.leases[0].attrs.public_ip.to_string(), "192.168.0.12");
}

TYPED_TEST(LeaseStoreSuite, PreviousSubnetIsTakenWhenFree) {
  auto& h = *this->h;
  auto cfg = this->config(k16);
  auto store = h.make_store();
  auto prev = net::ipv4_cidr::parse("10.24.77.0/24");
  auto l = h.run(store->acquire_lease(cfg, node("192.168.0.5"), prev, 1h));
  EXPECT_EQ(l.subnet, prev);
  // The same previous subnet asked for by another node: it is taken, so another is chosen.
  auto l2 = h.run(store->acquire_lease(cfg, node("192.168.0.6"), prev, 1h));
  EXPECT_NE(l2.subnet, prev);
}

// flannel's rule: a lease of ours that no longer fits the network config (its subnet length
// changed) is deleted and one that fits is taken; another node's lease stays.
TYPED_TEST(LeaseStoreSuite, OurLeaseThatNoLongerFitsIsDroppedAndAFittingOneTaken) {
  auto& h = *this->h;
  auto cfg = this->config(k16);
  auto store = h.make_store();
  h.run(store->acquire_lease(cfg, node("192.168.0.12"), std::nullopt, 1h));
  auto other = h.run(store->acquire_lease(cfg, node("192.168.0.13"), std::nullopt, 1h));
  auto cfg25 =
      this->config(R"({"Network":"10.24.0.0/16","SubnetLen":25,"Backend":{"Type":"ali-vpc"}})");
  auto now = h.run(store->acquire_lease(cfg25, node("192.168.0.12"), std::nullopt, 1h));
  EXPECT_EQ(now.subnet.prefix_length(), 25);
  std::set<net::ipv4_cidr> listed;
  for (const auto& l : h.run(store->list_leases()).leases)
    listed.insert(l.subnet);
  EXPECT_EQ(listed, (std::set<net::ipv4_cidr>{other.subnet, now.subnet}));
}

TYPED_TEST(LeaseStoreSuite, RoomForThreeThenOutOfSubnets) {
  auto& h = *this->h;
  auto cfg = this->config(k28);
  ASSERT_EQ(cfg.subnet_len, 30);
  auto store = h.make_store();
  std::set<net::ipv4_cidr> got;
  for (int i = 1; i <= 3; ++i)
    got.insert(
        h.run(store->acquire_lease(cfg, node("192.168.1." + std::to_string(i)), std::nullopt, 1h))
            .subnet);
  EXPECT_EQ(got.size(), 3u);
  try {
    h.run(store->acquire_lease(cfg, node("192.168.1.4"), std::nullopt, 1h));
    FAIL() << "a fourth /30 was handed out of a /28";
  } catch (const error& e) {
    EXPECT_EQ(e.kind(), error_kind::exhausted);
    EXPECT_NE(std::string(e.what()).find("out of subnets"), std::string::npos) << e.what();
  }
}

TYPED_TEST(LeaseStoreSuite, ReservationIsKeptByItsNodeAndNeverTaken) {
  auto& h = *this->h;
  auto cfg = this->config(k28);
  auto reserved = net::ipv4_cidr::parse("10.5.0.8/30");
  h.reserve(reserved, node("192.168.9.9"));
  auto store = h.make_store();
  auto a = h.run(store->acquire_lease(cfg, node("192.168.1.1"), reserved, 1h));
  auto b = h.run(store->acquire_lease(cfg, node("192.168.1.2"), std::nullopt, 1h));
  EXPECT_NE(a.subnet, reserved);
  EXPECT_NE(b.subnet, reserved);
  EXPECT_THROW(h.run(store->acquire_lease(cfg, node("192.168.1.3"), std::nullopt, 1h)), error);
  auto mine = h.run(store->acquire_lease(cfg, node("192.168.9.9"), std::nullopt, 1h));
  EXPECT_EQ(mine.subnet, reserved);
  EXPECT_TRUE(mine.is_reservation());
  // Renewing a reservation keeps it a reservation (never converted into a TTL lease).
  auto renewed = h.run(store->renew_lease(mine, 1h));
  EXPECT_TRUE(renewed.is_reservation());
  h.run(store->revoke_lease(mine));  // an operator's key: left in place
  auto list = h.run(store->list_leases());
  bool still = false;
  for (auto& l : list.leases)
    if (l.subnet == reserved) still = l.is_reservation();
  EXPECT_TRUE(still);
}

TYPED_TEST(LeaseStoreSuite, RevokeGivesTheSubnetBack) {
  auto& h = *this->h;
  auto cfg = this->config(k28);
  auto store = h.make_store();
  std::vector<lease::lease> held;
  for (int i = 1; i <= 3; ++i)
    held.push_back(
        h.run(store->acquire_lease(cfg, node("192.168.1." + std::to_string(i)), std::nullopt, 1h)));
  h.run(store->revoke_lease(held[1]));
  auto l = h.run(store->acquire_lease(cfg, node("192.168.1.4"), std::nullopt, 1h));
  EXPECT_EQ(l.subnet, held[1].subnet);
}

TYPED_TEST(LeaseStoreSuite, DeletedKeyFailsRenewalAsNotFound) {
  auto& h = *this->h;
  auto cfg = this->config(k16);
  auto store = h.make_store();
  auto l = h.run(store->acquire_lease(cfg, node("192.168.0.12"), std::nullopt, 1h));
  h.erase(l.subnet);
  try {
    h.run(store->renew_lease(l, 1h));
    FAIL() << "renewed a deleted lease";
  } catch (const error& e) {
    EXPECT_EQ(e.kind(), error_kind::not_found) << e.what();
  }
}

TYPED_TEST(LeaseStoreSuite, WatchReportsAddedAndRemoved) {
  auto& h = *this->h;
  auto cfg = this->config(k16);
  auto watcher = h.make_store();
  auto start = h.run(watcher->list_leases());
  auto other = h.make_store();
  auto l = h.run(other->acquire_lease(cfg, node("192.168.0.7"), std::nullopt, 1h));
  auto w = h.run(watcher->watch_leases(start.revision));
  ASSERT_FALSE(w.events.empty());
  EXPECT_EQ(w.events[0].type, lease::lease_event_type::added);
  EXPECT_EQ(w.events[0].value.subnet, l.subnet);
  EXPECT_EQ(w.events[0].value.attrs.public_ip.to_string(), "192.168.0.7");
  h.erase(l.subnet);
  auto w2 = h.run(watcher->watch_leases(w.revision));
  ASSERT_FALSE(w2.events.empty());
  EXPECT_EQ(w2.events.back().type, lease::lease_event_type::removed);
  EXPECT_EQ(w2.events.back().value.subnet, l.subnet);
  EXPECT_GT(w2.revision, w.revision);
  // Nothing more happens: the bounded wait ends with no events.
  auto w3 = h.run(watcher->watch_leases(w2.revision));
  EXPECT_TRUE(w3.events.empty());
}

// A node's view of its own claim: the listing and the watch of one key see that key only.
TYPED_TEST(LeaseStoreSuite, OneKeyListingAndWatchSeeThatKeyOnly) {
  auto& h = *this->h;
  auto cfg = this->config(k16);
  auto mine = h.make_store(), other = h.make_store();
  auto l = h.run(mine->acquire_lease(cfg, node("192.168.0.12"), std::nullopt, 1h));
  auto start = h.run(mine->list_lease(l.subnet));
  ASSERT_EQ(start.leases.size(), 1u);
  EXPECT_EQ(start.leases[0].subnet, l.subnet);
  EXPECT_EQ(start.leases[0].create_revision, l.create_revision);
  EXPECT_TRUE(start.leases[0].expiration.has_value());
  EXPECT_GE(start.revision, l.revision);
  // Another node's claim is not our key's event: the bounded wait ends with nothing.
  auto o = h.run(other->acquire_lease(cfg, node("192.168.0.7"), std::nullopt, 1h));
  auto quiet = h.run(mine->watch_lease(l.subnet, start.revision));
  EXPECT_TRUE(quiet.events.empty()) << quiet.events.size() << " events";
  EXPECT_TRUE(h.run(mine->list_lease(o.subnet)).leases.size() == 1u);
  // Our key's deletion is, with the claim it ended.
  h.erase(l.subnet);
  auto w = h.run(mine->watch_lease(l.subnet, start.revision));
  ASSERT_EQ(w.events.size(), 1u);
  EXPECT_EQ(w.events[0].type, lease::lease_event_type::removed);
  EXPECT_EQ(w.events[0].value.subnet, l.subnet);
  EXPECT_EQ(w.events[0].value.create_revision, l.create_revision);
  EXPECT_GT(w.revision, start.revision);
  auto gone = h.run(mine->list_lease(l.subnet));
  EXPECT_TRUE(gone.leases.empty());
  EXPECT_GE(gone.revision, w.revision);
  // The same store watching another key next (a node that claimed another subnet) sees that
  // key's change, not the first key's (the memory model keeps the record it watched last).
  const auto from = h.run(mine->list_lease(o.subnet)).revision;
  h.erase(o.subnet);
  auto next = h.run(mine->watch_lease(o.subnet, from));
  ASSERT_EQ(next.events.size(), 1u);
  EXPECT_EQ(next.events[0].type, lease::lease_event_type::removed);
  EXPECT_EQ(next.events[0].value.subnet, o.subnet);
}

TYPED_TEST(LeaseStoreSuite, KeeperReportsADeletedLeaseFromTheWatch) {
  auto& h = *this->h;
  auto cfg = this->config(k16);
  auto store = h.make_store();
  lease::lease_keeper keeper(*store, h.sched, {.ttl = 1h, .renew_margin = 10min});
  auto l = h.run(keeper.acquire(cfg, node("192.168.0.12"), std::nullopt));
  std::optional<lease::lease_loss> reported;
  keeper.on_loss = [&](const lease::lease_loss& loss) { reported = loss; };
  std::optional<lease::lease_loss> result;
  bool done = false;
  spawn(h.sched, keep_until_done(keeper, result, done));
  h.pass(300ms);  // the keeper lists and starts watching
  EXPECT_FALSE(reported.has_value());
  h.erase(l.subnet);
  for (int i = 0; i < 100 && !done; ++i)
    h.pass(50ms);
  ASSERT_TRUE(done);
  ASSERT_TRUE(result.has_value());
  EXPECT_EQ(result->reason, lease::lease_loss_reason::deleted);
  // Renewal was an hour away: the watch, not a renewal, found the loss.
  EXPECT_NE(result->detail.find("watch"), std::string::npos) << result->detail;
  ASSERT_TRUE(reported.has_value());
  EXPECT_TRUE(keeper.lost().is_set());
}

TYPED_TEST(LeaseStoreSuite, KeeperRenewsBeforeExpiryAndStops) {
  auto& h = *this->h;
  auto cfg = this->config(k16);
  auto store = h.make_store();
  // A 3 s lease renewed 2 s early: renewals every ~1 s.
  lease::lease_keeper keeper(*store, h.sched,
                             {.ttl = 3s, .renew_margin = 2s, .backoff = {}, .watch = false});
  auto l = h.run(keeper.acquire(cfg, node("192.168.0.12"), std::nullopt));
  int renewals = 0;
  keeper.on_renewed = [&](const lease::lease&) { ++renewals; };
  bool done = false;
  std::optional<lease::lease_loss> result;
  spawn(h.sched, keep_until_done(keeper, result, done));
  h.pass(4500ms);  // longer than the TTL: only renewals keep it alive
  EXPECT_GE(renewals, 2);
  keeper.stop();
  for (int i = 0; i < 100 && !done; ++i)
    h.pass(50ms);
  ASSERT_TRUE(done);
  EXPECT_FALSE(result.has_value()) << result->detail;
  auto list = h.run(store->list_leases());
  ASSERT_EQ(list.leases.size(), 1u);
  EXPECT_EQ(list.leases[0].subnet, l.subnet);
}
