// memory_store never hands one subnet to two nodes, whatever the interleaving: random node
// counts, latencies, TTL expiries, revocations and outages on the virtual scheduler, with the
// invariant checked after every single event.
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

#include <alivpc/lease/lease_keeper.hpp>
#include <alivpc/runtime/virtual_scheduler.hpp>
#include <alivpc/sim/memory_etcd.hpp>

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

using namespace alivpc;
using namespace std::chrono_literals;

namespace {

using store_t = sim::memory_store<virtual_scheduler>;

struct node_state {
  std::optional<lease::lease> held;  // what this node believes it holds
  int acquired = 0, exhausted = 0, transient = 0;
};

// One node's life: acquire, sometimes renew, sometimes give the subnet back or let it lapse.
task<void> node_life(virtual_scheduler& s, store_t& store, config::network_config cfg,
                     std::string ip, int rounds, node_state& st) {
  lease::lease_attrs attrs;
  attrs.public_ip = net::ipv4_address::parse(ip);
  for (int r = 0; r < rounds; ++r) {
    try {
      auto ttl = std::chrono::seconds(s.random().between(2, 20));
      auto l = co_await store.acquire_lease(cfg, attrs, std::nullopt, ttl);
      st.held = l;
      ++st.acquired;
      co_await sleep_for(s, std::chrono::milliseconds(s.random().between(0, 3000)));
      if (s.random().chance(0.5)) st.held = co_await store.renew_lease(*st.held, ttl);
      if (s.random().chance(0.4)) {
        auto give_back = *st.held;
        st.held.reset();  // stop believing first: revocation may land before the answer does
        co_await store.revoke_lease(give_back);
      }
    } catch (const error& e) {
      if (e.kind() == error_kind::exhausted)
        ++st.exhausted;
      else if (e.kind() == error_kind::transient)
        ++st.transient;
      else if (e.kind() != error_kind::not_found)
        throw;
    }
    co_await sleep_for(s, std::chrono::milliseconds(s.random().between(0, 5000)));
  }
}

}  // namespace

RC_GTEST_PROP(MemoryStoreProperty, NeverHandsOneSubnetToTwoNodes, ()) {
  const auto seed = *rc::gen::arbitrary<std::uint64_t>();
  const int nodes = *rc::gen::inRange(2, 40);
  const int rounds = *rc::gen::inRange(1, 6);
  const bool outages = *rc::gen::arbitrary<bool>();
  virtual_scheduler s(seed);
  sim::memory_etcd<virtual_scheduler> etcd(s);
  etcd.set_latency(std::chrono::milliseconds(*rc::gen::inRange(0, 5)),
                   std::chrono::milliseconds(*rc::gen::inRange(0, 50)));
  // /26 cut into /30s: 15 subnets, fewer than the nodes sometimes.
  etcd.put_config(R"({"Network":"10.9.0.0/26","SubnetLen":30,"Backend":{"Type":"ali-vpc"}})");
  auto cfg = config::parse_network_config(*etcd.config());
  std::vector<std::unique_ptr<store_t>> stores;
  std::vector<node_state> state(nodes);
  for (int i = 0; i < nodes; ++i) {
    stores.push_back(std::make_unique<store_t>(etcd, "n" + std::to_string(i)));
    spawn(s, node_life(s, *stores[i], cfg, "192.168.7." + std::to_string(i + 1), rounds, state[i]));
  }
  if (outages) {
    for (int k = 0; k < 5; ++k) {
      auto at = s.now() + std::chrono::milliseconds(s.random().between(0, 20000));
      auto len = std::chrono::milliseconds(s.random().between(10, 2000));
      s.call_at(at, [&etcd] { etcd.set_outage(true); });
      s.call_at(at + len, [&etcd] { etcd.set_outage(false); });
    }
  }
  std::uint64_t steps = 0;
  while (s.step()) {
    RC_ASSERT(++steps < 2'000'000u);
    // Invariant 1: two nodes never both believe in a live lease on overlapping subnets.
    for (int i = 0; i < nodes; ++i) {
      const auto& a = state[i].held;
      if (!a || *a->expiration <= s.wall_now()) continue;
      for (int j = i + 1; j < nodes; ++j) {
        const auto& b = state[j].held;
        if (!b || *b->expiration <= s.wall_now()) continue;
        RC_ASSERT(!a->subnet.overlaps(b->subnet));
      }
    }
    // Invariant 2: every key in the store names exactly one subnet inside the network.
    for (const auto& [key, e] : etcd.keys()) {
      auto parsed = lease::parse_subnet_key(key);
      RC_ASSERT(cfg.network->contains(parsed.subnet));
    }
  }
  int acquired = 0;
  for (auto& st : state)
    acquired += st.acquired;
  RC_TAG(nodes > 15 ? "more nodes than subnets" : "room for all");
  RC_ASSERT(acquired > 0 || outages);
}

// The same seed gives the same history (the simulator's promise).
TEST(MemoryStore, OneSeedOneHistory) {
  auto run = [](std::uint64_t seed) {
    virtual_scheduler s(seed);
    sim::memory_etcd<virtual_scheduler> etcd(s);
    etcd.set_latency(1ms, 20ms);
    etcd.put_config(R"({"Network":"10.9.0.0/26","SubnetLen":30,"Backend":{"Type":"ali-vpc"}})");
    auto cfg = config::parse_network_config(*etcd.config());
    std::vector<std::unique_ptr<store_t>> stores;
    std::vector<node_state> state(10);
    for (int i = 0; i < 10; ++i) {
      stores.push_back(std::make_unique<store_t>(etcd));
      spawn(s, node_life(s, *stores[i], cfg, "192.168.7." + std::to_string(i + 1), 3, state[i]));
    }
    s.run();
    std::string trace;
    for (auto& st : state)
      trace += std::to_string(st.acquired) + (st.held ? st.held->subnet.to_string() : "-") + ";";
    return trace + std::to_string(etcd.revision());
  };
  EXPECT_EQ(run(7), run(7));
  EXPECT_NE(run(7), run(8));
}

// A lease left to lapse is reported as expired by the keeper, and a partition longer than the
// TTL ends in "expired", never in silence.
TEST(MemoryStore, KeeperReportsExpiryAfterALongOutage) {
  virtual_scheduler s(3);
  sim::memory_etcd<virtual_scheduler> etcd(s);
  etcd.put_config(R"({"Network":"10.9.0.0/16","Backend":{"Type":"ali-vpc"}})");
  store_t store(etcd, "n1", sim::memory_store_options{.watch_wait = 5000ms});
  lease::lease_keeper keeper(
      store, s, {.ttl = 60s, .renew_margin = 20s, .backoff = {.initial = 1000ms, .max = 5000ms}});
  auto cfg = config::parse_network_config(*etcd.config());
  lease::lease_attrs attrs;
  attrs.public_ip = net::ipv4_address::parse("192.168.0.1");
  std::optional<lease::lease> got;
  std::optional<lease::lease_loss> loss;
  bool done = false;
  struct runner {
    static task<void> go(decltype(keeper)& k, config::network_config cfg, lease::lease_attrs a,
                         std::optional<lease::lease>& got, std::optional<lease::lease_loss>& loss,
                         bool& done) {
      got = co_await k.acquire(cfg, a, std::nullopt);
      loss = co_await k.keep();
      done = true;
    }
  };
  spawn(s, runner::go(keeper, cfg, attrs, got, loss, done));
  s.run_for(30s);
  ASSERT_TRUE(got.has_value());
  etcd.set_outage(true);  // renewal at t=40s fails, retries fail, the lease lapses at t=60s
  s.run_for(60s);
  etcd.set_outage(false);
  s.run_for(60s);
  ASSERT_TRUE(done);
  ASSERT_TRUE(loss.has_value());
  EXPECT_EQ(loss->reason, lease::lease_loss_reason::expired) << loss->detail;
  EXPECT_TRUE(etcd.keys().empty());
}
