// memory_store never hands one subnet to two nodes, whatever the interleaving: random node
// counts, latencies, TTL expiries, revocations and outages on the virtual scheduler, with the
// invariant checked after every single event. And the lease algorithm's watch translation
// (basic_lease_store over memory_kv) keeps a watcher's view equal to the store.
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

#include <alivpc/lease/lease_keeper.hpp>
#include <alivpc/runtime/virtual_scheduler.hpp>
#include <alivpc/sim/memory_etcd.hpp>

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <map>

using namespace alivpc;
using namespace std::chrono_literals;

namespace {

using store_t = sim::memory_store<virtual_scheduler>;

struct node_state {
  std::optional<lease::lease> held;  // what this node believes it holds
  int acquired = 0, exhausted = 0, transient = 0;
};

// One node's life: acquire, sometimes renew, sometimes give the subnet back or let it lapse.
template <class Store>
task<void> node_life(virtual_scheduler& s, Store& store, config::network_config cfg, std::string ip,
                     int rounds, node_state& st) {
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

// `n` nodes on one etcd, each living `rounds` rounds of node_life from now on.
template <class Store>
void start_nodes(virtual_scheduler& s, sim::memory_etcd<virtual_scheduler>& etcd,
                 const config::network_config& cfg, int n, int rounds,
                 std::vector<std::unique_ptr<Store>>& stores, std::vector<node_state>& state) {
  state.resize(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) {
    stores.push_back(std::make_unique<Store>(etcd, "n" + std::to_string(i)));
    spawn(s, node_life(s, *stores.back(), cfg, "192.168.7." + std::to_string(i + 1), rounds,
                       state[static_cast<std::size_t>(i)]));
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
  std::vector<node_state> state;
  start_nodes(s, etcd, cfg, nodes, rounds, stores, state);
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

namespace {

using memory_kv = sim::memory_kv<virtual_scheduler>;

// memory_kv whose removals arrive with the subnet and revision only.
class forgetful_kv : public memory_kv {
 public:
  using memory_kv::memory_kv;
  task<lease::kv_changes> watch(std::int64_t revision) {
    auto got = co_await memory_kv::watch(revision);
    for (auto& c : got.changes) {
      if (c.type != lease::lease_event_type::removed) continue;
      lease::lease bare;
      bare.subnet = c.value.subnet;
      bare.revision = c.value.revision;
      c = {lease::lease_event_type::removed, bare, false};
    }
    co_return got;
  }
};
static_assert(lease::lease_kv<forgetful_kv>);

struct watcher_view {
  std::map<net::ipv4_cidr, lease::lease> leases;
  std::vector<std::string> wrong;  // what the watch reported that it should not have
  int resyncs = 0, removals = 0;
  bool stopped = false;
};

// Lists, then watches with pauses between calls (history may be compacted in a pause).
template <class Store>
task<void> watch_all(virtual_scheduler& s, Store& store, const bool& stop, watcher_view& v) {
  auto list = co_await store.list_leases();
  for (const auto& l : list.leases)
    v.leases[l.subnet] = l;
  auto revision = list.revision;
  while (!stop) {
    co_await sleep_for(s, std::chrono::milliseconds(s.random().between(0, 3000)));
    auto w = co_await store.watch_leases(revision);
    if (w.revision < revision) v.wrong.emplace_back("the resume revision went backwards");
    revision = w.revision;
    v.resyncs += w.resynced;
    for (const auto& e : w.events) {
      if (e.type == lease::lease_event_type::added) {
        v.leases[e.value.subnet] = e.value;
        continue;
      }
      ++v.removals;
      auto it = v.leases.find(e.value.subnet);
      if (it == v.leases.end()) {
        v.wrong.emplace_back("removed " + e.value.subnet.to_string() + ", which was never added");
        continue;
      }
      if (it->second.create_revision != e.value.create_revision ||
          it->second.attrs != e.value.attrs)
        v.wrong.emplace_back("removed " + e.value.subnet.to_string() + " names another claim");
      v.leases.erase(it);
    }
  }
  v.stopped = true;
}

template <class KV>
void watcher_follows_the_store() {
  using store_t = lease::basic_lease_store<KV>;
  const auto seed = *rc::gen::arbitrary<std::uint64_t>();
  const int nodes = *rc::gen::inRange(2, 12);
  const int rounds = *rc::gen::inRange(1, 5);
  const auto history = static_cast<std::size_t>(*rc::gen::inRange(3, 60));
  virtual_scheduler s(seed);
  sim::memory_etcd<virtual_scheduler> etcd(s, "/coreos.com/network", history);
  etcd.set_latency(1ms, 20ms);
  etcd.put_config(R"({"Network":"10.9.0.0/26","SubnetLen":30,"Backend":{"Type":"ali-vpc"}})");
  auto cfg = config::parse_network_config(*etcd.config());
  std::vector<std::unique_ptr<store_t>> stores;
  std::vector<node_state> state;
  start_nodes(s, etcd, cfg, nodes, rounds, stores, state);
  for (int k = 0; k < 3; ++k)
    s.call_at(s.now() + std::chrono::milliseconds(s.random().between(0, 20000)),
              [&etcd] { etcd.compact(); });
  store_t watcher(etcd, "watcher", sim::memory_store_options{.watch_wait = 2000ms});
  bool stop = false;
  watcher_view view;
  spawn(s, watch_all(s, watcher, stop, view));
  s.run_for(50s);  // in the middle of things
  RC_ASSERT(view.wrong.empty());
  s.run_for(70s);  // every node is done and every TTL has run out
  stop = true;
  s.run_for(10s);
  RC_ASSERT(view.stopped);
  for (const auto& w : view.wrong)
    RC_FAIL(w);
  std::map<net::ipv4_cidr, lease::lease> stored;
  for (const auto& [key, e] : etcd.keys())
    stored[e.parsed->subnet] = etcd.to_lease(key, e);
  RC_ASSERT(view.leases.size() == stored.size());
  for (const auto& [subnet, l] : stored) {
    auto it = view.leases.find(subnet);
    RC_ASSERT(it != view.leases.end());
    RC_ASSERT(it->second.create_revision == l.create_revision);
    RC_ASSERT(it->second.lease_id == l.lease_id);
    RC_ASSERT(it->second.attrs == l.attrs);
  }
  RC_TAG(view.resyncs > 0 ? "resynced" : "no resync");
}

}  // namespace

RC_GTEST_PROP(BasicLeaseStore, WatcherFollowsTheStore, ()) {
  watcher_follows_the_store<memory_kv>();
}

RC_GTEST_PROP(BasicLeaseStore, WatcherFollowsAStoreThatForgetsRemovedValues, ()) {
  watcher_follows_the_store<forgetful_kv>();
}
