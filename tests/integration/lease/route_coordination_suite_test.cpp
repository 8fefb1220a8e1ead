// The route leader mode's keys (route_coordination.hpp) against a real etcd through the v3
// gateway and the v2 keys API, and against the simulator's model, with one suite: one leader at
// a time, a claim kept by renewing and lost by not renewing, fencing of an ended or replaced
// claim, and route states kept apart from flannel's subnet keys.
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

#include "harness.hpp"

#include <alivpc/lease/etcd_store.hpp>
#include <alivpc/lease/observed_store.hpp>

#include <gtest/gtest.h>

#include <algorithm>

using namespace lease_test;

namespace {

struct no_observer {
  void before(std::string_view) {}
  void after(std::string_view, const std::exception_ptr&) {}
};
static_assert(lease::route_coordination<lease::observed_store<lease::etcd_v3_store, no_observer>>);
static_assert(lease::route_coordination<lease::observed_store<lease::etcd_v2_store, no_observer>>);
static_assert(lease::route_coordination<lease::observed_store<lease::etcd_store, no_observer>>);

constexpr const char* k16 = R"({"Network":"10.24.0.0/16","Backend":{"Type":"ali-vpc"}})";
const std::string leader_key = "/coreos.com/network/alivpc/route-leader";
const std::string holder_a = "i-aaa 1f2e", holder_b = "i-bbb 9c8d";
constexpr auto ttl = 3s;  // etcd v3 grants at least 2 s

// The renewal's verdict when the claim is not ours any more: not_found, and what it says.
template <class H, class Store>
std::string fenced(H& h, Store& store, const lease::leadership& l) {
  try {
    h.run(store.renew_leadership(l, ttl));
  } catch (const error& e) {
    EXPECT_EQ(e.kind(), error_kind::not_found) << e.what();
    return e.what();
  }
  ADD_FAILURE() << "renewed a claim that is not ours (holder " << l.holder << ", revision "
                << l.revision << ")";
  return {};
}

// A lease as a listing reports it, without its expiry (a listing computes that from its now);
// sorted, as v2 lists a directory in no set order.
std::string claim_of(const lease::lease& l) {
  return l.subnet.to_string() + " " + lease::format_lease_value(l.attrs) + " rev " +
         std::to_string(l.revision) + " created " + std::to_string(l.create_revision) + " lease " +
         std::to_string(l.lease_id);
}
std::vector<std::string> claims_of(const lease::lease_list& list) {
  std::vector<std::string> out;
  for (const auto& l : list.leases)
    out.push_back(claim_of(l));
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

template <class H>
class RouteCoordinationSuite : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!H::available()) GTEST_SKIP() << "etcd binary not installed";
    h.emplace();
  }
  // Lets time pass in steps of `step` until nobody leads; how many steps that took, or -1 when
  // someone still led after `limit`.
  template <class Store>
  int steps_until_nobody_leads(Store& observer, std::chrono::milliseconds step,
                               std::chrono::milliseconds limit) {
    for (int i = 0; i * step <= limit; ++i) {
      if (!h->run(observer.current_leader())) return i;
      h->pass(step);
    }
    return -1;
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
TYPED_TEST_SUITE(RouteCoordinationSuite, Harnesses, HarnessNames);

TYPED_TEST(RouteCoordinationSuite, ExactlyOneOfTwoCampaignsWins) {
  auto& h = *this->h;
  auto a = h.make_store(), b = h.make_store();
  EXPECT_FALSE(h.run(b->current_leader()).has_value());
  auto la = h.run(a->campaign(holder_a, ttl));
  auto lb = h.run(b->campaign(holder_b, ttl));
  ASSERT_TRUE(la.has_value());
  EXPECT_FALSE(lb.has_value());
  EXPECT_EQ(la->holder, holder_a);
  EXPECT_GT(la->revision, 0);
  EXPECT_EQ(la->lease_id != 0, std::string(TypeParam::name) != "etcd v2");
  EXPECT_EQ(h.read_key(leader_key), holder_a);  // the documented path, the holder as value
  auto seen = h.run(b->current_leader());
  ASSERT_TRUE(seen.has_value());
  EXPECT_EQ(seen->holder, holder_a);
  EXPECT_EQ(seen->revision, la->revision);
  EXPECT_EQ(seen->lease_id, la->lease_id);
}

TYPED_TEST(RouteCoordinationSuite, RenewingKeepsItAndNotRenewingLosesItWithinTheTtl) {
  auto& h = *this->h;
  auto a = h.make_store(), b = h.make_store();
  auto la = h.run(a->campaign(holder_a, ttl));
  ASSERT_TRUE(la.has_value());
  // Renewed every second for twice the TTL: still ours, still refused to the other.
  for (int i = 0; i < 6; ++i) {
    h.pass(1s);
    la = h.run(a->renew_leadership(*la, ttl));
    EXPECT_EQ(la->holder, holder_a);
    EXPECT_FALSE(h.run(b->campaign(holder_b, ttl)).has_value()) << "round " << i;
  }
  // a stops renewing: the key goes within its TTL (plus etcd's expiry sweep), not before ~2 s.
  const int steps = this->steps_until_nobody_leads(*b, 200ms, ttl + 5s);
  ASSERT_GE(steps, 0) << "the claim outlived its TTL by 5 s";
  EXPECT_GE(steps, 10) << "the claim ended long before its TTL";
  auto lb = h.run(b->campaign(holder_b, ttl));
  ASSERT_TRUE(lb.has_value());
  // Fencing: the old holder's renewal fails, and its resign leaves the new claim alone.
  auto m = fenced(h, *a, *la);
  EXPECT_NE(m.find(leader_key), std::string::npos) << m;
  EXPECT_NE(m.find(holder_a), std::string::npos) << m;
  h.run(a->resign(*la));
  auto now = h.run(a->current_leader());
  ASSERT_TRUE(now.has_value());
  EXPECT_EQ(now->holder, holder_b);
  EXPECT_EQ(now->revision, lb->revision);
}

TYPED_TEST(RouteCoordinationSuite, ResignFreesItAtOnce) {
  auto& h = *this->h;
  auto a = h.make_store(), b = h.make_store();
  auto la = h.run(a->campaign(holder_a, 60s));
  ASSERT_TRUE(la.has_value());
  la = h.run(a->renew_leadership(*la, 60s));  // on v2 the index moved: resign must use the new one
  h.run(a->resign(*la));
  EXPECT_FALSE(h.run(b->current_leader()).has_value());
  EXPECT_FALSE(h.read_key(leader_key).has_value());
  EXPECT_TRUE(h.run(b->campaign(holder_b, 60s)).has_value());
  fenced(h, *a, *la);
}

TYPED_TEST(RouteCoordinationSuite, AClaimReplacedBehindOurBackIsNotRenewed) {
  auto& h = *this->h;
  auto a = h.make_store(), b = h.make_store();
  auto old = h.run(a->campaign(holder_a, 60s));
  ASSERT_TRUE(old.has_value());
  h.erase_key(leader_key);
  auto lb = h.run(b->campaign(holder_b, 60s));
  ASSERT_TRUE(lb.has_value());
  auto m = fenced(h, *a, *old);
  EXPECT_NE(m.find("another claim"), std::string::npos) << m;
  EXPECT_NE(m.find(holder_b), std::string::npos) << m;
  h.run(a->resign(*old));
  EXPECT_EQ(h.read_key(leader_key), holder_b);
  // Even with the very same holder text a new claim is another claim (its revision differs).
  h.run(b->resign(*lb));
  auto same_text = h.run(b->campaign(holder_a, 60s));
  ASSERT_TRUE(same_text.has_value());
  EXPECT_NE(same_text->revision, old->revision);
  fenced(h, *a, *old);
  EXPECT_EQ(h.read_key(leader_key), holder_a);
}

TYPED_TEST(RouteCoordinationSuite, RouteStatesRoundTripBesideFlannelsSubnets) {
  auto& h = *this->h;
  h.put_config(k16);
  auto store = h.make_store(), reader = h.make_store();
  auto cfg = h.run(store->get_network_config());
  auto l1 = h.run(store->acquire_lease(cfg, node("192.168.0.12"), std::nullopt, 1h));
  auto l2 = h.run(store->acquire_lease(cfg, node("192.168.0.13"), std::nullopt, 1h));
  const auto reserved = net::ipv4_cidr::parse("10.24.200.0/24");
  h.reserve(reserved, node("192.168.0.14"));
  const auto before = h.run(store->list_leases());
  ASSERT_EQ(before.leases.size(), 3u);

  // Opaque text: quotes, '&', '=', '%', '+', a space, a newline and UTF-8 survive both APIs.
  const std::string s1 = R"({"state":"available","route":"rtb-1 & r=5% +x","note":"ü"})"
                         "\n";
  const std::string s2 = R"({"state":"pending"})";
  h.run(store->put_route_state(l1.subnet, s1));
  h.run(store->put_route_state(l2.subnet, s2));
  h.run(store->put_route_state(reserved, s2));
  EXPECT_EQ(h.run(reader->route_state(l1.subnet)).value, s1);
  EXPECT_EQ(h.read_key("/coreos.com/network/alivpc/routes/" + lease::subnet_key(l2.subnet)), s2);
  auto all = h.run(reader->route_states());
  EXPECT_EQ(all, (std::map<net::ipv4_cidr, std::string>{
                     {l1.subnet, s1}, {l2.subnet, s2}, {reserved, s2}}));
  h.run(store->put_route_state(l2.subnet, s1));  // overwritten in place
  EXPECT_EQ(h.run(reader->route_state(l2.subnet)).value, s1);
  h.run(store->delete_route_state(reserved));
  h.run(store->delete_route_state(reserved));  // absent is fine
  EXPECT_FALSE(h.run(reader->route_state(reserved)).value.has_value());
  EXPECT_EQ(h.run(reader->route_states()).size(), 2u);
  EXPECT_FALSE(h.run(reader->route_state(net::ipv4_cidr::parse("10.24.99.0/24"))).value);

  // flannel's keys saw none of it: the same leases, and no event for a subnet watcher.
  const auto after = h.run(store->list_leases());
  EXPECT_EQ(claims_of(after), claims_of(before));
  auto w = h.run(reader->watch_leases(before.revision));
  EXPECT_TRUE(w.events.empty()) << w.events.size() << " subnet events, the first for "
                                << w.events.front().value.subnet.to_string();
}

// A follower reads its route state and watches from the revision of that read: a write or a
// delete of that key after the read is heard (even one made before the watch began), a write of
// another key is not (the watch ends at its bound, 2 s here, with false).
TYPED_TEST(RouteCoordinationSuite, AWatchFromARouteStateReadHearsOnlyThatKeyChange) {
  auto& h = *this->h;
  auto store = h.make_store();
  auto reader = h.make_store();
  const auto subnet = net::ipv4_cidr::parse("10.24.3.0/24");
  const auto other = net::ipv4_cidr::parse("10.24.4.0/24");
  auto read = h.run(reader->route_state(subnet));
  EXPECT_FALSE(read.value);
  h.run(store->put_route_state(subnet, "{}"));
  EXPECT_TRUE(h.run(reader->watch_route_state(subnet, read.revision)));

  read = h.run(reader->route_state(subnet));
  EXPECT_EQ(read.value, "{}");
  h.run(store->put_route_state(other, "{}"));
  EXPECT_FALSE(h.run(reader->watch_route_state(subnet, read.revision)));

  h.run(store->delete_route_state(subnet));
  EXPECT_TRUE(h.run(reader->watch_route_state(subnet, read.revision)));
  read = h.run(reader->route_state(subnet));
  EXPECT_FALSE(read.value);
  EXPECT_FALSE(h.run(reader->watch_route_state(subnet, read.revision)));
}

TYPED_TEST(RouteCoordinationSuite, NoRouteStatesYetIsAnEmptyMap) {
  auto& h = *this->h;
  auto store = h.make_store();
  EXPECT_TRUE(h.run(store->route_states()).empty());
  h.run(store->delete_route_state(net::ipv4_cidr::parse("10.24.1.0/24")));
}

// The daemon's store picks its API on first use; the coordination calls go through it.
TEST(RouteCoordinationEtcdStore, FollowsTheApiItSelected) {
  if (!alivpc_test::etcd_process::available()) GTEST_SKIP() << "etcd binary not installed";
  v3_harness h;
  h.etcd.etcdctl("set /coreos.com/network/config " + h.etcd.quote(k16), 2);  // v2 key space only
  lease::etcd_store store(h.sched, etcd_options_for(h.etcd), lease::etcd_api::automatic);
  auto l = h.run(store.campaign(holder_a, 60s));
  ASSERT_TRUE(l.has_value());
  EXPECT_EQ(store.api(), lease::etcd_api::v2);
  EXPECT_EQ(l->lease_id, 0);
  EXPECT_EQ(h.etcd.etcdctl("get " + leader_key, 2), holder_a + "\n");
  h.run(store.put_route_state(net::ipv4_cidr::parse("10.24.3.0/24"), "{}"));
  EXPECT_EQ(h.run(store.route_states()).size(), 1u);
  auto renewed = h.run(store.renew_leadership(*l, 60s));
  h.run(store.resign(renewed));
  EXPECT_FALSE(h.run(store.current_leader()).has_value());
}
