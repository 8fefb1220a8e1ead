// The simulator's etcd: memory_etcd<S> is one cluster's state (keys, revisions, TTL leases
// that expire on the scheduler's clock, a bounded event history with compaction), memory_kv<S>
// is one node's client of it (a lease::lease_kv), and memory_store<S> the production lease
// algorithm over that client. Every call takes an injectable latency (its effect lands after it,
// so calls of different nodes interleave as they would on a network) and fails during an injected
// outage. Runs on virtual_scheduler (deterministic) or asio_scheduler.
#pragma once

#include <alivpc/config/network_config.hpp>
#include <alivpc/error.hpp>
#include <alivpc/lease/basic_lease_store.hpp>
#include <alivpc/lease/detail/etcd_json.hpp>
#include <alivpc/lease/kv.hpp>
#include <alivpc/lease/route_coordination.hpp>
#include <alivpc/runtime/scheduler.hpp>
#include <alivpc/runtime/virtual_scheduler.hpp>

#include <algorithm>
#include <cassert>
#include <coroutine>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <type_traits>
#include <unordered_map>
#include <vector>

namespace alivpc::sim {

template <scheduler S>
class memory_etcd {
 public:
  struct entry {
    std::string value;
    std::int64_t create_revision = 0, mod_revision = 0;
    std::int64_t lease_id = 0;           // 0: a reservation
    std::optional<lease::lease> parsed;  // key + value parsed once at write time (lists stay cheap)
    // The instance in parsed's BackendData (found when it was parsed); empty when none.
    std::string_view instance_id() const {
      return parsed ? parsed->attrs.backend_data.instance_id() : std::string_view();
    }
  };
  // A key of the route leader mode (route_coordination.hpp), kept apart from the subnet keys so
  // that nothing iterating keys() (lists, the safety checker) ever sees one.
  struct coordination_entry {
    std::string value;
    std::int64_t create_revision = 0, mod_revision = 0;
    std::int64_t lease_id = 0;  // 0: no TTL
  };
  struct ttl_lease {
    std::chrono::seconds ttl{0};
    time_point expires{};
    wall_time wall_expires{};
    timer_id timer = 0;
    // Keys attached to it, once attached (one may since have moved to another lease): its end
    // deletes these, without a scan of every key.
    std::vector<std::string> keys, coordination;
  };

  explicit memory_etcd(S& s, std::string prefix = "/coreos.com/network",
                       std::size_t history_limit = 10000)
      : s_(s), prefix_(std::move(prefix)), history_limit_(history_limit), changed_(s) {}
  memory_etcd(const memory_etcd&) = delete;
  memory_etcd& operator=(const memory_etcd&) = delete;
  ~memory_etcd() {
    for (auto& [id, l] : leases_)
      s_.cancel(l.timer);
  }

  S& sched() noexcept { return s_; }
  const std::string& prefix() const noexcept { return prefix_; }
  std::int64_t revision() const noexcept { return revision_; }
  std::int64_t compacted_revision() const noexcept { return compacted_; }
  const std::map<std::string, entry>& keys() const noexcept { return kv_; }
  // The keys that hold a lease (parsed), in key order, each with its lease as a listing has it:
  // one array, to walk without the map's steps from node to node.
  const std::vector<std::pair<std::string, lease::lease>>& leases_in_key_order() const noexcept {
    assert(listing_is_current());
    return listing_;
  }
  // Counts every change of keys() (writes, deletes, expiries, a wipe): who looks at the keys
  // looks again only when it moved.
  std::uint64_t changes() const noexcept { return changes_; }

  // The route leader mode's keys by full path ("<prefix>/alivpc/route-leader", ...), and a
  // counter of their changes (writes, deletes, expiries, a wipe) for a checker that looks again
  // only when it moved. Neither keys() nor changes() ever reflects them.
  const std::unordered_map<std::string, coordination_entry>& coordination_keys() const noexcept {
    return coordination_;
  }
  std::uint64_t coordination_changes() const noexcept { return coordination_changes_; }
  // Who holds the route leader key now (its value), nullopt when nobody does.
  std::optional<std::string> route_leader() const {
    auto it = coordination_.find(lease::route_leader_key(prefix_));
    if (it == coordination_.end()) return std::nullopt;
    return it->second.value;
  }
  std::optional<std::string> route_state(const net::ipv4_cidr& subnet) const {
    auto it = coordination_.find(lease::route_state_key(prefix_, subnet));
    if (it == coordination_.end()) return std::nullopt;
    return it->second.value;
  }
  std::map<net::ipv4_cidr, std::string> route_states() const {
    const auto dir = lease::route_states_dir(prefix_);
    std::map<net::ipv4_cidr, std::string> out;
    for (const auto& [key, e] : coordination_)
      if (auto subnet = lease::detail::route_state_subnet(key, dir)) out[*subnet] = e.value;
    return out;
  }

  // --- fault injection ---------------------------------------------------------------------
  void set_latency(clock_duration base, clock_duration jitter = clock_duration::zero()) {
    latency_ = base;
    jitter_ = jitter;
  }
  void set_outage(bool down) { down_ = down; }
  // etcd rebuilt from nothing (data directory lost, a new member on the same address): every
  // key, lease, config and revision is gone and the cluster id is new. Watches in flight break.
  void wipe() {
    for (auto& [id, l] : leases_)
      s_.cancel(l.timer);
    leases_.clear();
    kv_.clear();
    listing_.clear();
    if (!coordination_.empty()) ++coordination_changes_;
    coordination_.clear();
    history_.clear();
    config_.reset();
    revision_ = 1;
    compacted_ = 0;
    ++incarnation_;
    ++changes_;
    changed_.notify();
    forget_changes_in_key_order(subnet_watches_);
    forget_changes_in_key_order(coordination_watches_);
  }
  lease::store_identity identity() const {
    return {"sim-cluster-" + std::to_string(incarnation_), revision_};
  }
  // Which etcd this is (a wipe makes another): identity()'s cluster id, as a number to compare.
  std::int64_t incarnation() const noexcept { return incarnation_; }
  bool is_down() const noexcept { return down_; }
  // Drops the event history up to now: watchers behind it must re-list (as after compaction).
  void compact() {
    compacted_ = revision_;
    history_.clear();
  }

  // --- operator actions (what etcdctl would do) --------------------------------------------
  void put_config(std::string json) { config_ = std::move(json); }
  void remove_config() { config_.reset(); }
  const std::optional<std::string>& config() const noexcept { return config_; }
  // A key without a lease: a reservation.
  void reserve(net::ipv4_cidr subnet, const lease::lease_attrs& attrs) {
    put_key(lease::subnet_key(subnet), lease::format_lease_value(attrs), 0);
  }
  // `etcdctl del <key>`: true when the key existed.
  bool erase(net::ipv4_cidr subnet) { return delete_key(lease::subnet_key(subnet)); }
  // `etcdctl del <prefix>/alivpc/...`: a coordination key by its full path.
  bool erase_coordination_key(const std::string& key) { return delete_coordination_key(key); }

  // --- the store's primitives (no latency; memory_kv adds it) --------------------------------
  std::int64_t grant(std::chrono::seconds ttl) {
    std::int64_t id = ++next_lease_;
    auto& l = leases_[id];
    l.ttl = ttl;
    arm(id, l);
    return id;
  }
  // Extends the lease by its TTL; false when it does not exist any more.
  bool keepalive(std::int64_t id) {
    auto it = leases_.find(id);
    if (it == leases_.end()) return false;
    s_.cancel(it->second.timer);
    arm(id, it->second);
    return true;
  }
  std::optional<wall_time> expiry_of(std::int64_t id) const {
    auto it = leases_.find(id);
    if (it == leases_.end()) return std::nullopt;
    return it->second.wall_expires;
  }
  void revoke(std::int64_t id) {
    auto it = leases_.find(id);
    if (it == leases_.end()) return;
    s_.cancel(it->second.timer);
    end_lease(it);
  }
  // txn: create key only if absent, attached to lease id.
  bool create_if_absent(const std::string& key, const std::string& value, std::int64_t lease_id) {
    if (kv_.count(key)) return false;
    if (lease_id && !leases_.count(lease_id)) return false;
    put_key(key, value, lease_id);
    return true;
  }
  // txn: replace only if mod_revision still matches.
  bool replace_if_unchanged(const std::string& key, std::int64_t mod_revision,
                            const std::string& value, std::int64_t lease_id) {
    auto it = kv_.find(key);
    if (it == kv_.end() || it->second.mod_revision != mod_revision) return false;
    put_key(key, value, lease_id);
    return true;
  }
  bool delete_if_unchanged(const std::string& key, std::int64_t mod_revision) {
    auto it = kv_.find(key);
    if (it == kv_.end() || it->second.mod_revision != mod_revision) return false;
    return delete_key(key);
  }

  // The coordination keys' primitives: one revision space with the subnet keys (as etcd), but no
  // event history (a watch of one learns the revision of its last change) and no wake-up of
  // subnet watchers (those watch subnets/ only).
  bool create_coordination_key_if_absent(const std::string& key, const std::string& value,
                                         std::int64_t lease_id) {
    if (coordination_.count(key)) return false;
    if (lease_id && !leases_.count(lease_id)) return false;
    put_coordination_key(key, value, lease_id);
    return true;
  }
  void put_coordination_key(const std::string& key, const std::string& value,
                            std::int64_t lease_id) {
    auto& e = coordination_[key];
    ++revision_;
    if (e.create_revision == 0) e.create_revision = revision_;
    e.mod_revision = revision_;
    e.value = value;
    if (auto l = leases_.find(lease_id); l != leases_.end() && e.lease_id != lease_id)
      l->second.coordination.push_back(key);
    e.lease_id = lease_id;
    coordination_changed(key);
  }
  bool delete_coordination_key(const std::string& key) {
    if (!coordination_.erase(key)) return false;
    ++revision_;
    coordination_changed(key);
    return true;
  }
  // One key's newest change, and the wake-up of its watchers (on each change, and a wipe), in
  // one record that a watch looks up once: a watch round of each of 5,000 nodes looked a key up
  // in two tables, and again on each wake-up. A record, once made, stays (a wipe resets it).
  struct key_watch {
    explicit key_watch(S& s) : changed(s) {}
    async_event<S> changed;
    std::int64_t changed_at = 0;  // the revision of the key's newest change; 0: none yet
  };
  key_watch& coordination_watch(const std::string& key) {
    return coordination_watches_.try_emplace(key, s_).first->second;
  }

  // A key's lease as a listing has it (lease_kv::list): the expiration a placeholder (now) for a
  // key with a TTL, as etcd v3's range gives it.
  lease::lease claim_of(const entry& e) const {
    lease::lease out = e.parsed ? *e.parsed : lease::lease{};
    out.revision = e.mod_revision;
    out.lease_id = e.lease_id;
    out.create_revision = e.create_revision;
    out.expiration.reset();
    if (e.lease_id) out.expiration = s_.wall_now();
    return out;
  }
  // The same with the real expiry (a read of one key).
  lease::lease to_lease(const std::string& /*key*/, const entry& e) const {
    lease::lease out = claim_of(e);
    if (e.lease_id)
      if (auto exp = expiry_of(e.lease_id)) out.expiration = *exp;
    return out;
  }
  lease::lease_list list() const {
    assert(listing_is_current());
    lease::lease_list out;
    out.revision = revision_;
    out.store = identity();
    out.leases.reserve(listing_.size());
    for (const auto& [key, l] : listing_) {
      auto& copy = out.leases.emplace_back(l);
      if (copy.lease_id) copy.expiration = s_.wall_now();  // claim_of's placeholder, as of now
    }
    return out;
  }
  // Events after `revision`, or nullopt when that part of history was compacted.
  std::optional<std::vector<std::pair<std::int64_t, lease::lease_event>>> events_after(
      std::int64_t revision) const {
    if (revision < compacted_) return std::nullopt;
    // The history is in revision order: every watcher wakes on every change, so no scan.
    auto first = std::upper_bound(history_.begin(), history_.end(), revision,
                                  [](std::int64_t r, const auto& h) { return r < h.first; });
    return std::vector<std::pair<std::int64_t, lease::lease_event>>(first, history_.end());
  }
  // The same for one subnet's key (its record: subnet_watch).
  std::optional<std::vector<std::pair<std::int64_t, lease::lease_event>>> events_after(
      std::int64_t revision, net::ipv4_cidr subnet, const key_watch& w) const {
    if (revision < compacted_) return std::nullopt;
    std::vector<std::pair<std::int64_t, lease::lease_event>> out;
    if (w.changed_at <= revision) return out;  // no scan
    auto first = std::upper_bound(history_.begin(), history_.end(), revision,
                                  [](std::int64_t r, const auto& h) { return r < h.first; });
    for (; first != history_.end(); ++first)
      if (first->second.value.subnet == subnet) out.push_back(*first);
    return out;
  }
  // Notified on every change of a subnet key (and a wipe); subnet_watch(k).changed only on k's
  // (and a wipe): a node watching its own key does not wake for every other node's.
  async_event<S>& changed() noexcept { return changed_; }
  key_watch& subnet_watch(net::ipv4_cidr subnet) {
    return subnet_watches_.try_emplace(subnet, s_).first->second;
  }

  // One call's latency, drawn from the scheduler's prng.
  clock_duration draw_latency() {
    if (jitter_ <= clock_duration::zero()) return latency_;
    return latency_ +
           clock_duration(s_.random().below(static_cast<std::uint64_t>(jitter_.count()) + 1));
  }

 private:
  void arm(std::int64_t id, ttl_lease& l) {
    l.expires = s_.now() + l.ttl;
    l.wall_expires = s_.wall_now() + l.ttl;
    l.timer = s_.call_at(l.expires, [this, id] { end_lease(leases_.find(id)); });
  }
  // The lease ends, and with it every key still attached to it.
  void end_lease(typename std::map<std::int64_t, ttl_lease>::iterator it) {
    const auto id = it->first;
    auto ended = std::move(it->second);
    leases_.erase(it);
    for (const auto& k : ended.keys)
      if (auto e = kv_.find(k); e != kv_.end() && e->second.lease_id == id) delete_key(k);
    for (const auto& k : ended.coordination)
      if (auto e = coordination_.find(k); e != coordination_.end() && e->second.lease_id == id)
        delete_coordination_key(k);
  }
  void put_key(const std::string& key, const std::string& value, std::int64_t lease_id) {
    auto& e = kv_[key];
    ++revision_;
    if (e.create_revision == 0) e.create_revision = revision_;
    e.mod_revision = revision_;
    e.value = value;
    if (auto l = leases_.find(lease_id); l != leases_.end() && e.lease_id != lease_id)
      l->second.keys.push_back(key);
    e.lease_id = lease_id;
    e.parsed = lease::detail::lease_from_entry(key, "", value);
    auto at = listed_at(key);
    const bool listed = at != listing_.end() && at->first == key;
    if (e.parsed && listed) {
      at->second = claim_of(e);
    } else if (e.parsed) {
      listing_.emplace(at, key, claim_of(e));
    } else if (listed) {
      listing_.erase(at);
    }
    ++changes_;
    record(lease::lease_event_type::added, to_lease(key, e));
  }
  bool delete_key(const std::string& key) {
    auto it = kv_.find(key);
    if (it == kv_.end()) return false;
    auto l = to_lease(key, it->second);
    kv_.erase(it);
    if (auto at = listed_at(key); at != listing_.end() && at->first == key) listing_.erase(at);
    ++changes_;
    ++revision_;
    l.revision = revision_;
    record(lease::lease_event_type::removed, l);
    return true;
  }
  // A wipe: each key forgets its newest change and wakes its watchers, in key order (one seed,
  // one event order).
  template <class Map>
  static void forget_changes_in_key_order(Map& watches) {
    std::vector<typename Map::key_type> keys;
    keys.reserve(watches.size());
    for (auto& [key, w] : watches)
      keys.push_back(key);
    std::sort(keys.begin(), keys.end());
    for (const auto& key : keys) {
      auto& w = watches.at(key);
      w.changed_at = 0;
      w.changed.notify();
    }
  }
  void coordination_changed(const std::string& key) {
    ++coordination_changes_;
    auto& w = coordination_watch(key);
    w.changed_at = revision_;
    w.changed.notify();
  }
  void record(lease::lease_event_type type, lease::lease l) {
    auto& w = subnet_watch(l.subnet);
    w.changed_at = revision_;
    history_.emplace_back(revision_, lease::lease_event{type, std::move(l)});
    while (history_.size() > history_limit_) {
      compacted_ = history_.front().first;
      history_.pop_front();
    }
    changed_.notify();
    w.changed.notify();
  }

  S& s_;
  std::string prefix_;
  std::size_t history_limit_;
  std::optional<std::string> config_;
  std::map<std::string, entry> kv_;  // subnet key ("10.24.5.0-24") -> entry
  // Each parsed key's claim_of(), in key order, in one array: what list() copies. Every node
  // joining lists every lease to choose a subnet, and copying them out of the map's scattered
  // entries was the mass join's largest cost in cache misses. put_key and delete_key keep it.
  std::vector<std::pair<std::string, lease::lease>> listing_;
  auto listed_at(const std::string& key) {
    return std::lower_bound(listing_.begin(), listing_.end(), key,
                            [](const auto& item, const std::string& k) { return item.first < k; });
  }
  // What list() read from kv_ before listing_ kept it (checked wherever asserts are on).
  bool listing_is_current() const {
    std::size_t i = 0;
    for (const auto& [key, e] : kv_) {
      if (!e.parsed) continue;
      if (i == listing_.size() || listing_[i].first != key) return false;
      auto expected = claim_of(e), kept = listing_[i++].second;
      expected.expiration.reset();
      kept.expiration.reset();
      if (!(kept == expected)) return false;
    }
    return i == listing_.size();
  }
  // Full path -> entry. Hashed: every follower reads its route state each reconcile period,
  // and a tree of 5,000 paths that share a 40-byte prefix cost a cache miss and a long compare
  // per level; listing them (a leader taking over) is rare and sorts.
  std::unordered_map<std::string, coordination_entry> coordination_;
  std::map<std::int64_t, ttl_lease> leases_;
  std::deque<std::pair<std::int64_t, lease::lease_event>> history_;
  std::int64_t revision_ = 1, compacted_ = 0, next_lease_ = 7000, incarnation_ = 1;
  std::uint64_t changes_ = 0, coordination_changes_ = 0;
  clock_duration latency_ = std::chrono::milliseconds(1), jitter_{0};
  bool down_ = false;
  async_event<S> changed_;
  // By subnet (a subnet key's subnet), not by key text, and hashed: each is looked up on every
  // watch call of every node, where a tree missed the cache per level.
  std::unordered_map<net::ipv4_cidr, key_watch> subnet_watches_;
  // The same for coordination keys, by path: a follower watches its route state.
  std::unordered_map<std::string, key_watch> coordination_watches_;
};

struct memory_store_options {
  std::chrono::milliseconds watch_wait{std::chrono::minutes(30)};  // etcd_options' default
  int max_claim_attempts = 32;
};

template <scheduler S>
class memory_kv {
 public:
  explicit memory_kv(memory_etcd<S>& etcd, std::string name = "node",
                     memory_store_options opts = {})
      : etcd_(etcd), name_(std::move(name)), opts_(opts) {}

  std::string describe() const { return "memory etcd (client " + name_ + ")"; }
  static std::string_view api() { return "v3"; }
  std::string config_key() const { return etcd_.prefix() + "/config"; }
  int max_claim_attempts() const { return opts_.max_claim_attempts; }
  prng& random() { return etcd_.sched().random(); }
  static bool api_absent() { return false; }

  task<std::optional<std::string>> get_config() {
    co_await rpc("get config");
    co_return etcd_.config();
  }

  task<std::optional<lease::lease>> get(net::ipv4_cidr subnet) {
    co_await rpc("read key");
    const auto key = lease::subnet_key(subnet);
    auto it = etcd_.keys().find(key);
    if (it == etcd_.keys().end()) co_return std::nullopt;
    co_return etcd_.to_lease(key, it->second);
  }

  task<lease::lease_list> list() {
    co_await rpc("list leases");
    co_return etcd_.list();
  }

  task<lease::lease_list> list_one(net::ipv4_cidr subnet) {
    co_await rpc("read key");
    lease::lease_list out;
    out.revision = etcd_.revision();
    out.store = etcd_.identity();
    const auto key = lease::subnet_key(subnet);
    if (auto it = etcd_.keys().find(key); it != etcd_.keys().end() && it->second.parsed)
      out.leases.push_back(etcd_.to_lease(key, it->second));
    co_return out;
  }

  task<std::optional<lease::lease>> create(net::ipv4_cidr subnet, const std::string& value,
                                           std::chrono::seconds ttl) {
    co_await rpc("claim subnet");
    auto id = etcd_.grant(ttl);
    if (etcd_.create_if_absent(lease::subnet_key(subnet), value, id)) co_return current(subnet);
    etcd_.revoke(id);
    co_return std::nullopt;
  }

  task<std::optional<lease::lease>> replace(const lease::lease& l, const std::string& value,
                                            std::chrono::seconds ttl) {
    co_await rpc("refresh lease");
    auto id = etcd_.grant(ttl);
    if (etcd_.replace_if_unchanged(lease::subnet_key(l.subnet), l.revision, value, id)) {
      etcd_.revoke(l.lease_id);
      co_return current(l.subnet);
    }
    etcd_.revoke(id);
    co_return std::nullopt;
  }

  task<void> remove(const lease::lease& l) {
    co_await rpc("delete stale lease");
    etcd_.delete_if_unchanged(lease::subnet_key(l.subnet), l.revision);
  }

  task<wall_time> keepalive(const lease::lease& l,
                            std::chrono::seconds /*ttl: fixed at grant, as v3*/) {
    co_await rpc("renew lease");
    if (!etcd_.keepalive(l.lease_id))
      fail(error_kind::not_found, describe() + ": renew lease: the lease of " +
                                      l.subnet.to_string() + " expired or was revoked");
    co_return *etcd_.expiry_of(l.lease_id);
  }

  task<void> release(const lease::lease& l) {
    if (l.lease_id == 0) co_return;
    co_await rpc("revoke lease");
    etcd_.revoke(l.lease_id);
  }

  task<lease::kv_changes> watch(std::int64_t revision) {
    return watch_from<lease::kv_changes>(revision, std::nullopt, nullptr);
  }

  task<lease::kv_changes> watch_one(net::ipv4_cidr subnet, std::int64_t revision) {
    return watch_from<lease::kv_changes>(revision, subnet, nullptr);
  }

  // --- lease::coordination_kv (route_coordination.hpp), v3's semantics ------------------------

  std::string network_prefix() const { return etcd_.prefix(); }

  // A TTL lease plus the key attached to it: revoking or expiring the lease removes the key.
  task<std::optional<lease::kv_entry>> create_ttl_key(const std::string& key,
                                                      const std::string& value,
                                                      std::chrono::seconds ttl) {
    co_await rpc("create key");
    auto id = etcd_.grant(ttl);
    if (etcd_.create_coordination_key_if_absent(key, value, id)) co_return entry_at(key);
    etcd_.revoke(id);
    co_return std::nullopt;
  }

  task<lease::kv_read> get_key(const std::string& key) {
    co_await rpc("read key");
    co_return lease::kv_read{entry_at(key), etcd_.revision()};
  }

  task<bool> watch_key(const std::string& key, std::int64_t revision) {
    return watch_from<bool>(revision, std::nullopt, &key);  // key outlives this call
  }

  task<std::optional<lease::kv_entry>> refresh_ttl_key(const lease::kv_entry& e,
                                                       std::chrono::seconds /*fixed at grant*/) {
    co_await rpc("refresh key");
    auto now = entry_at(e.key);
    if (!now || e.lease_id == 0 || now->revision != e.revision || now->lease_id != e.lease_id ||
        now->value != e.value || !etcd_.keepalive(e.lease_id))
      co_return std::nullopt;
    co_return entry_at(e.key);
  }

  task<void> delete_key_if_unchanged(const lease::kv_entry& e) {
    co_await rpc("delete key if unchanged");
    auto now = entry_at(e.key);
    if (now && now->revision == e.revision && now->value == e.value)
      etcd_.delete_coordination_key(e.key);
    if (e.lease_id) etcd_.revoke(e.lease_id);
  }

  task<void> put_key(const std::string& key, const std::string& value) {
    co_await rpc("write key");
    etcd_.put_coordination_key(key, value, 0);
  }

  task<void> delete_key(const std::string& key) {
    co_await rpc("delete key");
    etcd_.delete_coordination_key(key);
  }

  task<std::vector<lease::kv_entry>> list_keys(const std::string& dir) {
    co_await rpc("list keys");
    std::vector<lease::kv_entry> out;
    for (const auto& [key, e] : etcd_.coordination_keys())
      if (key.compare(0, dir.size(), dir) == 0 && key.find('/', dir.size()) == std::string::npos)
        out.push_back(*entry_at(key));
    std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.key < b.key; });
    co_return out;
  }

 private:
  // A watch of every subnet key or of one (Answer: kv_changes), or of one coordination key (its
  // path; Answer: bool, whether it changed or history was compacted). Each node runs two of
  // these all the time (half the events of a week at 5,000 nodes): a round copies no key and
  // formats no identity until done, and a key's watch is answered here, not by a coroutine
  // around this one.
  template <class Answer>
  task<Answer> watch_from(std::int64_t revision, std::optional<net::ipv4_cidr> one,
                          const std::string* coordination_key) {
    constexpr bool key_watch = std::is_same_v<Answer, bool>;
    const auto deadline = etcd_.sched().now() + opts_.watch_wait;
    co_await rpc("watch");
    const auto answered_by = etcd_.incarnation();
    auto* key = key_watch ? &coordination_record(*coordination_key) : nullptr;
    auto* subnet = one ? &subnet_record(*one) : nullptr;
    for (;;) {
      if (etcd_.incarnation() != answered_by)
        fail(error_kind::transient, describe() + ": watch: connection lost (etcd restarted)");
      if constexpr (key_watch) {
        if (revision < etcd_.compacted_revision() || key->changed_at > revision) co_return true;
        if (etcd_.sched().now() >= deadline) co_return false;
      } else {
        lease::kv_changes out;
        if (auto evs = subnet ? etcd_.events_after(revision, *one, *subnet)
                              : etcd_.events_after(revision)) {
          for (auto& [rev, ev] : *evs) {
            out.revision = std::max(out.revision, rev);
            out.changes.push_back({ev.type, std::move(ev.value)});
          }
        } else {
          out.compacted = true;
        }
        if (out.compacted || out.revision > 0 || etcd_.sched().now() >= deadline) {
          out.store = etcd_.identity();
          co_return out;
        }
      }
      auto& changed = key ? key->changed : subnet ? subnet->changed : etcd_.changed();
      co_await changed.wait_until(deadline);
      if (etcd_.is_down())
        fail(error_kind::transient, describe() + ": watch: connection lost (injected outage)");
    }
  }

  // The record of the coordination key this client watched last: a follower watches its own
  // route state key round after round, and comparing the key is cheaper than hashing it. A
  // record, once made, stays where it is (memory_etcd never erases one).
  typename memory_etcd<S>::key_watch& coordination_record(const std::string& key) {
    if (!watched_ || watched_key_ != key) {
      watched_ = &etcd_.coordination_watch(key);
      watched_key_ = key;
    }
    return *watched_;
  }

  // The same for the subnet key whose lease this client's node keeps (watch_one), round after
  // round: the hash table's lookup was one more wait for memory in each.
  typename memory_etcd<S>::key_watch& subnet_record(net::ipv4_cidr subnet) {
    if (!watched_subnet_record_ || watched_subnet_ != subnet) {
      watched_subnet_record_ = &etcd_.subnet_watch(subnet);
      watched_subnet_ = subnet;
    }
    return *watched_subnet_record_;
  }

  std::optional<lease::kv_entry> entry_at(const std::string& key) const {
    auto it = etcd_.coordination_keys().find(key);
    if (it == etcd_.coordination_keys().end()) return std::nullopt;
    const auto& c = it->second;
    lease::kv_entry e{key, c.value, c.create_revision, c.lease_id, std::nullopt};
    if (c.lease_id) e.expiration = etcd_.expiry_of(c.lease_id);
    return e;
  }

  // One round trip: the call's effect lands after its latency; fails during an outage. An
  // awaiter, not a coroutine: every call of every node waits on one, and a frame of its own was
  // one more block to allocate and one more to resume.
  auto rpc(const char* what) {
    struct awaiter {
      memory_kv& kv;
      const char* what;
      bool await_ready() const noexcept { return false; }
      void await_suspend(std::coroutine_handle<> h) {
        auto& sched = kv.etcd_.sched();
        sched.call_at(sched.now() + kv.etcd_.draw_latency(), [h] { h.resume(); });
      }
      void await_resume() const {
        if (kv.etcd_.is_down())
          fail(error_kind::transient,
               kv.describe() + ": " + what + ": etcd unreachable (injected outage)");
      }
    };
    return awaiter{*this, what};
  }

  lease::lease current(net::ipv4_cidr subnet) const {
    auto key = lease::subnet_key(subnet);
    return etcd_.to_lease(key, etcd_.keys().at(key));
  }

  memory_etcd<S>& etcd_;
  std::string name_;
  memory_store_options opts_;
  std::string watched_key_;  // coordination_record()
  typename memory_etcd<S>::key_watch* watched_ = nullptr;
  net::ipv4_cidr watched_subnet_;  // subnet_record()
  typename memory_etcd<S>::key_watch* watched_subnet_record_ = nullptr;
};

template <scheduler S>
using memory_store = lease::basic_lease_store<memory_kv<S>>;

static_assert(lease::lease_kv<memory_kv<virtual_scheduler>>);
static_assert(lease::lease_store<memory_store<virtual_scheduler>>);
static_assert(lease::coordination_kv<memory_kv<virtual_scheduler>>);
static_assert(lease::route_coordination<memory_store<virtual_scheduler>>);

}  // namespace alivpc::sim
