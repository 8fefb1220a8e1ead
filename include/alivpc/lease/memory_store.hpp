// The simulator's etcd: memory_etcd<S> is one cluster's state (keys, revisions, TTL leases
// that expire on the scheduler's clock, a bounded event history with compaction), and
// memory_store<S> is one node's client of it, modelling lease_store with the same semantics as
// the etcd stores: atomic create-if-absent claims, lost races re-choose, keys without a lease are
// reservations. Every call takes an injectable latency (its effect lands after it, so calls of
// different nodes interleave as they would on a network) and fails during an injected outage.
// Runs on virtual_scheduler (deterministic) or asio_scheduler.
#pragma once

#include <alivpc/config/network_config.hpp>
#include <alivpc/error.hpp>
#include <alivpc/lease/detail/etcd_json.hpp>
#include <alivpc/lease/detail/store_common.hpp>
#include <alivpc/lease/lease_store.hpp>
#include <alivpc/lease/subnet_allocator.hpp>
#include <alivpc/runtime/scheduler.hpp>
#include <alivpc/runtime/virtual_scheduler.hpp>

#include <deque>
#include <map>
#include <memory>
#include <string>

namespace alivpc::lease {

template <scheduler S>
class memory_etcd {
 public:
  struct entry {
    std::string value;
    std::int64_t create_revision = 0, mod_revision = 0;
    std::int64_t lease_id = 0;    // 0: a reservation
    std::optional<lease> parsed;  // key + value parsed once at write time (lists stay cheap)
  };
  struct ttl_lease {
    std::chrono::seconds ttl{0};
    time_point expires{};
    wall_time wall_expires{};
    timer_id timer = 0;
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

  // --- fault injection ---------------------------------------------------------------------
  void set_latency(clock_duration base, clock_duration jitter = clock_duration::zero()) {
    latency_ = base;
    jitter_ = jitter;
  }
  void set_outage(bool down) { down_ = down; }
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
  void reserve(net::ipv4_cidr subnet, const lease_attrs& attrs) {
    put_key(subnet_key(subnet), format_lease_value(attrs), 0);
  }
  // `etcdctl del <key>`: true when the key existed.
  bool erase(net::ipv4_cidr subnet) { return delete_key(subnet_key(subnet)); }

  // --- the store's primitives (no latency; memory_store adds it) -----------------------------
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
    leases_.erase(it);
    drop_keys_of(id);
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

  lease to_lease(const std::string& /*key*/, const entry& e) const {
    lease out = e.parsed ? *e.parsed : lease{};
    out.revision = e.mod_revision;
    out.lease_id = e.lease_id;
    if (e.lease_id)
      if (auto exp = expiry_of(e.lease_id)) out.expiration = *exp;
    return out;
  }
  lease_list list() const {
    lease_list out;
    out.revision = revision_;
    for (const auto& [k, e] : kv_) {
      if (!e.parsed) continue;
      out.leases.push_back(to_lease(k, e));
    }
    return out;
  }
  // Events after `revision`, or nullopt when that part of history was compacted.
  std::optional<std::vector<std::pair<std::int64_t, lease_event>>> events_after(
      std::int64_t revision) const {
    if (revision < compacted_) return std::nullopt;
    std::vector<std::pair<std::int64_t, lease_event>> out;
    for (const auto& h : history_)
      if (h.first > revision) out.push_back(h);
    return out;
  }
  async_event<S>& changed() noexcept { return changed_; }

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
    l.timer = s_.call_at(l.expires, [this, id] {
      leases_.erase(id);
      drop_keys_of(id);
    });
  }
  void drop_keys_of(std::int64_t id) {
    std::vector<std::string> doomed;
    for (const auto& [k, e] : kv_)
      if (e.lease_id == id) doomed.push_back(k);
    for (const auto& k : doomed)
      delete_key(k);
  }
  void put_key(const std::string& key, const std::string& value, std::int64_t lease_id) {
    auto& e = kv_[key];
    ++revision_;
    if (e.create_revision == 0) e.create_revision = revision_;
    e.mod_revision = revision_;
    e.value = value;
    e.lease_id = lease_id;
    e.parsed = detail::lease_from_entry(key, "", value);
    record(lease_event_type::added, to_lease(key, e));
  }
  bool delete_key(const std::string& key) {
    auto it = kv_.find(key);
    if (it == kv_.end()) return false;
    auto l = to_lease(key, it->second);
    kv_.erase(it);
    ++revision_;
    l.revision = revision_;
    record(lease_event_type::removed, l);
    return true;
  }
  void record(lease_event_type type, lease l) {
    history_.emplace_back(revision_, lease_event{type, std::move(l)});
    while (history_.size() > history_limit_) {
      compacted_ = history_.front().first;
      history_.pop_front();
    }
    changed_.notify();
  }

  S& s_;
  std::string prefix_;
  std::size_t history_limit_;
  std::optional<std::string> config_;
  std::map<std::string, entry> kv_;  // subnet key ("10.24.5.0-24") -> entry
  std::map<std::int64_t, ttl_lease> leases_;
  std::deque<std::pair<std::int64_t, lease_event>> history_;
  std::int64_t revision_ = 1, compacted_ = 0, next_lease_ = 7000;
  clock_duration latency_ = std::chrono::milliseconds(1), jitter_{0};
  bool down_ = false;
  async_event<S> changed_;
};

struct memory_store_options {
  std::chrono::milliseconds watch_wait{30000};  // bound of one watch_leases call
  int max_claim_attempts = 32;
};

template <scheduler S>
class memory_store {
 public:
  explicit memory_store(memory_etcd<S>& etcd, std::string name = "node",
                        memory_store_options opts = {})
      : etcd_(etcd), name_(std::move(name)), opts_(opts) {}

  std::string describe() const { return "memory etcd (client " + name_ + ")"; }

  task<config::network_config> get_network_config() {
    co_await rpc("get config");
    if (!etcd_.config())
      fail(error_kind::not_found,
           detail::no_config_message("v3", etcd_.prefix() + "/config", describe()));
    co_return config::parse_network_config(*etcd_.config());
  }

  task<lease_list> list_leases() {
    co_await rpc("list leases");
    auto out = etcd_.list();
    remember(out);
    co_return out;
  }

  task<lease> acquire_lease(const config::network_config& cfg, const lease_attrs& attrs,
                            std::optional<net::ipv4_cidr> previous, std::chrono::seconds ttl) {
    const std::string value = format_lease_value(attrs);
    for (int attempt = 0; attempt < opts_.max_claim_attempts; ++attempt) {
      co_await rpc("list leases");
      auto snap = etcd_.list();
      std::vector<net::ipv4_cidr> taken;
      std::optional<lease> mine;
      for (const auto& l : snap.leases) {
        const bool ours = l.attrs.public_ip == attrs.public_ip;
        if (ours && !mine && detail::lease_fits(cfg, l)) {
          mine = l;
          continue;
        }
        if (ours && !l.is_reservation()) {
          co_await rpc("delete stale lease");
          etcd_.delete_if_unchanged(subnet_key(l.subnet), l.revision);
          continue;
        }
        taken.push_back(l.subnet);
      }
      if (mine && mine->is_reservation()) co_return *mine;
      if (mine) {
        co_await rpc("refresh lease");
        auto id = etcd_.grant(ttl);
        if (etcd_.replace_if_unchanged(subnet_key(mine->subnet), mine->revision, value, id)) {
          etcd_.revoke(mine->lease_id);
          co_return current(mine->subnet);
        }
        etcd_.revoke(id);
        continue;
      }
      auto subnet = allocate_subnet(cfg, taken, previous, etcd_.sched().random());
      co_await rpc("claim subnet");
      auto id = etcd_.grant(ttl);
      if (etcd_.create_if_absent(subnet_key(subnet), value, id)) co_return current(subnet);
      etcd_.revoke(id);
      if (previous && *previous == subnet) previous.reset();
    }
    fail(error_kind::conflict, describe() + ": acquire lease: lost the race for a subnet " +
                                   std::to_string(opts_.max_claim_attempts) + " times");
  }

  task<lease> renew_lease(const lease& l,
                          std::chrono::seconds /*ttl: fixed at grant, as etcd v3*/) {
    co_await rpc("renew lease");
    const auto key = subnet_key(l.subnet);
    if (!l.is_reservation() && !etcd_.keepalive(l.lease_id))
      fail(error_kind::not_found, describe() + ": renew lease: the lease of " +
                                      l.subnet.to_string() + " expired or was revoked");
    auto it = etcd_.keys().find(key);
    if (it == etcd_.keys().end())
      fail(error_kind::not_found,
           describe() + ": renew lease: the key of " + l.subnet.to_string() + " was deleted");
    if (it->second.lease_id != l.lease_id)
      fail(error_kind::not_found,
           describe() + ": renew lease: " + l.subnet.to_string() + " now belongs to another lease");
    co_return etcd_.to_lease(key, it->second);
  }

  task<void> revoke_lease(const lease& l) {
    if (l.is_reservation() || l.lease_id == 0) co_return;
    co_await rpc("revoke lease");
    etcd_.revoke(l.lease_id);
    known_.erase(subnet_key(l.subnet));
  }

  task<watch_result> watch_leases(std::int64_t revision) {
    const auto deadline = etcd_.sched().now() + opts_.watch_wait;
    co_await rpc("watch");
    for (;;) {
      auto evs = etcd_.events_after(revision);
      if (!evs) co_return resync();
      if (!evs->empty()) {
        watch_result out;
        out.revision = revision;
        for (auto& [rev, ev] : *evs) {
          out.revision = std::max(out.revision, rev);
          if (ev.type == lease_event_type::added)
            known_[subnet_key(ev.value.subnet)] = ev.value;
          else
            known_.erase(subnet_key(ev.value.subnet));
          out.events.push_back(std::move(ev));
        }
        co_return out;
      }
      if (etcd_.sched().now() >= deadline) co_return watch_result{{}, revision, false, {}};
      co_await etcd_.changed().wait_until(deadline);
      if (etcd_.is_down())
        fail(error_kind::transient, describe() + ": watch: connection lost (injected outage)");
    }
  }

 private:
  // One round trip: the call's effect lands after its latency; fails during an outage.
  task<void> rpc(const char* what) {
    co_await sleep_for(etcd_.sched(), etcd_.draw_latency());
    if (etcd_.is_down())
      fail(error_kind::transient,
           describe() + ": " + what + ": etcd unreachable (injected outage)");
  }

  lease current(net::ipv4_cidr subnet) {
    auto key = subnet_key(subnet);
    auto l = etcd_.to_lease(key, etcd_.keys().at(key));
    known_[key] = l;
    return l;
  }

  void remember(const lease_list& list) {
    known_.clear();
    for (const auto& l : list.leases)
      known_[subnet_key(l.subnet)] = l;
  }

  watch_result resync() {
    auto before = known_;
    auto now = etcd_.list();
    remember(now);
    watch_result out;
    out.revision = now.revision;
    out.resynced = true;
    out.events = detail::diff_snapshots(
        before, known_, [](const lease& a, const lease& b) { return a.lease_id == b.lease_id; });
    return out;
  }

  memory_etcd<S>& etcd_;
  std::string name_;
  memory_store_options opts_;
  std::map<std::string, lease> known_;
};

static_assert(lease_store<memory_store<virtual_scheduler>>);

}  // namespace alivpc::lease
