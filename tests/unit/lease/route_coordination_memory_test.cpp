// The route leader mode's keys (route_coordination.hpp) on the simulator's etcd, on virtual
// time: one leader at a time, a claim that ends exactly at its TTL, fencing of a claim that
// ended or was replaced, route states kept apart from the subnet keys, latency and outages.
#include <alivpc/lease/observed_store.hpp>
#include <alivpc/runtime/virtual_scheduler.hpp>
#include <alivpc/sim/memory_etcd.hpp>
#include <alivpc_test/run_task.hpp>

#include <gtest/gtest.h>

#include <string>
#include <vector>

using namespace std::chrono_literals;
using namespace alivpc;
using alivpc_test::run_task;

namespace {

using store_t = sim::memory_store<virtual_scheduler>;

struct world {
  world() : s(11), etcd(s), a(etcd, "a"), b(etcd, "b") {
    etcd.put_config(R"({"Network":"10.24.0.0/16","Backend":{"Type":"ali-vpc"}})");
  }
  template <class T>
  T run(task<T> t) {
    return run_task(s, std::move(t));
  }
  virtual_scheduler s;
  sim::memory_etcd<virtual_scheduler> etcd;
  store_t a, b;
};

const std::string holder_a = "i-aaa 1f2e", holder_b = "i-bbb 9c8d";
const auto subnet1 = net::ipv4_cidr::parse("10.24.5.0/24");
const auto subnet2 = net::ipv4_cidr::parse("10.24.7.0/24");

template <class F>
std::string not_found_message(F&& call) {
  try {
    call();
  } catch (const error& e) {
    EXPECT_EQ(e.kind(), error_kind::not_found) << e.what();
    return e.what();
  }
  ADD_FAILURE() << "expected alivpc::error(not_found)";
  return {};
}

// A watch of a route state, run beside the test: what it answered, once it did.
task<void> watch_into(store_t& store, net::ipv4_cidr subnet, std::int64_t revision,
                      std::optional<bool>& answer) {
  answer = co_await store.watch_route_state(subnet, revision);
}

// Records the operations an observed_store reports.
struct recorder {
  std::vector<std::string> calls;
  void before(std::string_view op) { calls.emplace_back(op); }
  void after(std::string_view, const std::exception_ptr&) {}
};

}  // namespace

TEST(RouteCoordinationMemory, OneCampaignWinsAndRenewingKeepsIt) {
  world w;
  auto la = w.run(w.a.campaign(holder_a, 10s));
  ASSERT_TRUE(la);
  EXPECT_EQ(la->holder, holder_a);
  EXPECT_GT(la->revision, 0);
  EXPECT_NE(la->lease_id, 0);
  EXPECT_FALSE(w.run(w.b.campaign(holder_b, 10s)).has_value());
  auto seen = w.run(w.b.current_leader());
  ASSERT_TRUE(seen);
  EXPECT_EQ(seen->holder, holder_a);
  EXPECT_EQ(seen->revision, la->revision);
  EXPECT_EQ(w.etcd.route_leader(), holder_a);
  // Renewed every 5 s for a minute (six TTLs): still held, still refused to the other.
  for (int i = 0; i < 12; ++i) {
    w.s.run_for(5s);
    auto renewed = w.run(w.a.renew_leadership(*la, 10s));
    EXPECT_EQ(renewed.revision, la->revision);  // v3 semantics: the claim's create_revision
    EXPECT_GT(renewed.expiration, la->expiration);
    la = renewed;
  }
  EXPECT_EQ(w.etcd.route_leader(), holder_a);
  EXPECT_FALSE(w.run(w.b.campaign(holder_b, 10s)).has_value());
}

TEST(RouteCoordinationMemory, TheClaimEndsExactlyAtItsTtl) {
  world w;
  auto l = w.run(w.a.campaign(holder_a, 10s));
  ASSERT_TRUE(l);
  const auto granted = w.s.now();  // the grant landed when the call returned (after its latency)
  EXPECT_EQ(l->expiration, w.s.wall_now() + 10s);
  w.s.run_until(granted + 10s - 1ns);
  EXPECT_EQ(w.etcd.route_leader(), holder_a);
  w.s.run_until(granted + 10s);
  EXPECT_FALSE(w.etcd.route_leader().has_value());
  EXPECT_FALSE(w.run(w.b.current_leader()).has_value());
}

TEST(RouteCoordinationMemory, ARenewalMovesTheEndByTheTtl) {
  world w;
  auto l = w.run(w.a.campaign(holder_a, 10s));
  ASSERT_TRUE(l);
  const auto granted = w.s.now();
  w.s.run_until(granted + 9s);
  auto renewed = w.run(w.a.renew_leadership(*l, 10s));
  const auto renewed_at = w.s.now();
  EXPECT_EQ(renewed.expiration, w.s.wall_now() + 10s);
  w.s.run_until(renewed_at + 10s - 1ns);
  EXPECT_EQ(w.etcd.route_leader(), holder_a);
  w.s.run_until(renewed_at + 10s);
  EXPECT_FALSE(w.etcd.route_leader().has_value());
}

TEST(RouteCoordinationMemory, AnEndedClaimIsFencedAndTheOtherTakesOver) {
  world w;
  auto old = w.run(w.a.campaign(holder_a, 10s));
  ASSERT_TRUE(old);
  w.s.run_for(11s);  // a stopped renewing
  auto lb = w.run(w.b.campaign(holder_b, 10s));
  ASSERT_TRUE(lb);
  auto m = not_found_message([&] { w.run(w.a.renew_leadership(*old, 10s)); });
  EXPECT_NE(m.find("/coreos.com/network/alivpc/route-leader"), std::string::npos) << m;
  EXPECT_NE(m.find(holder_a), std::string::npos) << m;
  // The old holder's resign leaves the new claim alone.
  w.run(w.a.resign(*old));
  EXPECT_EQ(w.etcd.route_leader(), holder_b);
  // Resigning frees the key at once.
  w.run(w.b.resign(*lb));
  EXPECT_FALSE(w.etcd.route_leader().has_value());
  EXPECT_TRUE(w.run(w.a.campaign(holder_a, 10s)).has_value());
}

TEST(RouteCoordinationMemory, AClaimReplacedBehindOurBackIsFencedByItsRevision) {
  world w;
  auto old = w.run(w.a.campaign(holder_a, 10s));
  ASSERT_TRUE(old);
  ASSERT_TRUE(w.etcd.erase_coordination_key(lease::route_leader_key(w.etcd.prefix())));
  // Re-created with the very same holder text: only the revision tells the claims apart.
  auto again = w.run(w.b.campaign(holder_a, 10s));
  ASSERT_TRUE(again);
  EXPECT_NE(again->revision, old->revision);
  auto m = not_found_message([&] { w.run(w.a.renew_leadership(*old, 10s)); });
  EXPECT_NE(m.find("another claim"), std::string::npos) << m;
  w.run(w.a.resign(*old));
  EXPECT_EQ(w.etcd.route_leader(), holder_a);  // the new claim stays
}

TEST(RouteCoordinationMemory, RouteStatesRoundTripBesideTheSubnetKeys) {
  world w;
  auto cfg = w.run(w.a.get_network_config());
  lease::lease_attrs attrs;
  attrs.public_ip = net::ipv4_address::parse("192.168.0.12");
  w.run(w.a.acquire_lease(cfg, attrs, subnet1, 1h));
  const auto before = w.run(w.a.list_leases());
  const auto subnet_changes = w.etcd.changes();
  const auto coordination_changes = w.etcd.coordination_changes();

  const std::string state1 = R"({"state":"available","next_hop":"i-aaa"})";
  w.run(w.a.put_route_state(subnet1, state1));
  w.run(w.a.put_route_state(subnet2, R"({"state":"pending"})"));
  EXPECT_EQ(w.run(w.b.route_state(subnet1)).value, state1);
  EXPECT_EQ(w.etcd.route_state(subnet1), state1);
  auto all = w.run(w.b.route_states());
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all.at(subnet1), state1);
  EXPECT_EQ(all.at(subnet2), R"({"state":"pending"})");
  EXPECT_EQ(w.etcd.route_states(), all);
  // Overwritten in place.
  w.run(w.a.put_route_state(subnet2, R"({"state":"available"})"));
  EXPECT_EQ(w.run(w.b.route_state(subnet2)).value, R"({"state":"available"})");

  w.run(w.a.delete_route_state(subnet2));
  w.run(w.a.delete_route_state(subnet2));  // absent is fine
  EXPECT_FALSE(w.run(w.b.route_state(subnet2)).value.has_value());
  EXPECT_EQ(w.run(w.b.route_states()).size(), 1u);

  // The subnet keys never saw any of it: not in the listing, not in what the checker counts.
  const auto after = w.run(w.a.list_leases());
  ASSERT_EQ(after.leases.size(), before.leases.size());
  for (std::size_t i = 0; i < after.leases.size(); ++i) {
    // A listing's expiration is a placeholder (lease_kv::list): the claims are what must match.
    auto a = after.leases[i], b = before.leases[i];
    EXPECT_TRUE(a.expiration.has_value());
    a.expiration = b.expiration;
    EXPECT_EQ(a, b);
  }
  EXPECT_EQ(w.etcd.keys().size(), 1u);
  EXPECT_EQ(w.etcd.changes(), subnet_changes);
  EXPECT_GT(w.etcd.coordination_changes(), coordination_changes);
}

TEST(RouteCoordinationMemory, EveryCallPaysTheLatencyAndFailsDuringAnOutage) {
  world w;
  w.etcd.set_latency(250ms);
  auto start = w.s.now();
  auto l = w.run(w.a.campaign(holder_a, 10s));
  ASSERT_TRUE(l);
  EXPECT_EQ(w.s.now() - start, 250ms);
  start = w.s.now();
  w.run(w.b.route_states());
  EXPECT_EQ(w.s.now() - start, 250ms);

  w.etcd.set_outage(true);
  auto transient = [&](auto&& call) {
    try {
      call();
      ADD_FAILURE() << "a call went through an injected outage";
    } catch (const error& e) {
      EXPECT_EQ(e.kind(), error_kind::transient) << e.what();
    }
  };
  transient([&] { w.run(w.b.campaign(holder_b, 10s)); });
  transient([&] { w.run(w.b.current_leader()); });
  transient([&] { w.run(w.a.renew_leadership(*l, 10s)); });
  transient([&] { w.run(w.a.resign(*l)); });
  transient([&] { w.run(w.a.put_route_state(subnet1, "{}")); });
  transient([&] { w.run(w.a.delete_route_state(subnet1)); });
  transient([&] { w.run(w.a.route_state(subnet1)); });
  transient([&] { w.run(w.a.route_states()); });
  transient([&] { w.run(w.a.watch_route_state(subnet1, 1)); });
  EXPECT_EQ(w.etcd.route_leader(), holder_a);  // nothing landed
  EXPECT_FALSE(w.etcd.route_state(subnet1).has_value());
}

TEST(RouteCoordinationMemory, AWipeForgetsTheLeaderAndTheRouteStates) {
  world w;
  ASSERT_TRUE(w.run(w.a.campaign(holder_a, 10s)));
  w.run(w.a.put_route_state(subnet1, "{}"));
  const auto counted = w.etcd.coordination_changes();
  w.etcd.wipe();
  EXPECT_FALSE(w.etcd.route_leader().has_value());
  EXPECT_TRUE(w.etcd.route_states().empty());
  EXPECT_GT(w.etcd.coordination_changes(), counted);
  EXPECT_TRUE(w.run(w.b.campaign(holder_b, 10s)).has_value());
}

TEST(RouteCoordinationMemory, TheObservedStoreReportsEachCallByName) {
  world w;
  recorder r;
  lease::observed_store<store_t, recorder> observed(w.a, r);
  static_assert(lease::route_coordination<lease::observed_store<store_t, recorder>>);
  auto l = w.run(observed.campaign(holder_a, 10s));
  ASSERT_TRUE(l);
  w.run(observed.current_leader());
  auto renewed = w.run(observed.renew_leadership(*l, 10s));
  w.run(observed.put_route_state(subnet1, "{}"));
  const auto read = w.run(observed.route_state(subnet1));
  w.run(observed.watch_route_state(subnet1, read.revision - 1));  // changed since: at once
  w.run(observed.route_states());
  w.run(observed.delete_route_state(subnet1));
  w.run(observed.resign(renewed));
  EXPECT_EQ(r.calls,
            (std::vector<std::string>{"campaign", "current_leader", "renew_leadership",
                                      "put_route_state", "route_state", "watch_route_state",
                                      "route_states", "delete_route_state", "resign"}));
  EXPECT_FALSE(w.etcd.route_leader().has_value());
}

// A follower's watch of its route state: it wakes for a write or a delete of that key only, at
// once for a change it had not read yet, and answers false at its bound; a wipe breaks it.
TEST(RouteCoordinationMemory, AWatchOfARouteStateWakesOnlyForThatKey) {
  world w;
  const std::string state1 = R"({"next_hop":"i-aaa","tables":{}})";
  auto read = w.run(w.b.route_state(subnet1));
  ASSERT_FALSE(read.value);
  std::optional<bool> answer;
  spawn(w.s, watch_into(w.b, subnet1, read.revision, answer));
  w.s.run_for(1min);
  EXPECT_FALSE(answer);
  w.run(w.a.put_route_state(subnet2, state1));      // another subnet's key
  ASSERT_TRUE(w.run(w.a.campaign(holder_a, 10s)));  // and the leader key
  w.s.run_for(1min);
  EXPECT_FALSE(answer) << "woken by another key";
  w.run(w.a.put_route_state(subnet1, state1));
  w.s.run_for(10ms);
  EXPECT_EQ(answer, std::optional<bool>(true));

  // A change between the read and the watch: answered at once.
  read = w.run(w.b.route_state(subnet1));
  EXPECT_EQ(read.value, state1);
  w.run(w.a.delete_route_state(subnet1));
  EXPECT_TRUE(w.run(w.b.watch_route_state(subnet1, read.revision)));

  // Nothing changes: false at the bound (memory_store_options::watch_wait), not before.
  read = w.run(w.b.route_state(subnet1));
  answer.reset();
  spawn(w.s, watch_into(w.b, subnet1, read.revision, answer));
  w.s.run_for(sim::memory_store_options{}.watch_wait - 1s);
  EXPECT_FALSE(answer);
  w.s.run_for(2s);
  EXPECT_EQ(answer, std::optional<bool>(false));

  // A history compacted past the revision: true (read again).
  w.etcd.compact();
  EXPECT_TRUE(w.run(w.b.watch_route_state(subnet1, read.revision - 1)));

  // etcd rebuilt: the watch breaks (transient), as a real stream does.
  bool broke = false;
  auto watch_then_note = [&]() -> task<void> {
    try {
      co_await w.b.watch_route_state(subnet1, w.etcd.revision());
    } catch (const error& e) {
      EXPECT_EQ(e.kind(), error_kind::transient) << e.what();
      broke = true;
    }
  };
  auto t = watch_then_note();
  spawn(w.s, std::move(t));
  w.s.run_for(1min);
  w.etcd.wipe();
  w.s.run_for(1s);
  EXPECT_TRUE(broke);
}
