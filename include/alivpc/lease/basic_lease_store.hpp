// flannel's subnet lease algorithm, once, over a lease_kv (kv.hpp): etcd_v3_store, etcd_v2_store
// and the simulator's sim::memory_store are its instances. A claim is a key created only when
// absent (two nodes never hold one subnet) with a TTL; a key without TTL is a reservation,
// honoured for its node, never converted or taken. The last known state of every key lets a
// removal without its old value, and a re-list after compaction, report the claims they end.
#pragma once

#include <alivpc/config/network_config.hpp>
#include <alivpc/error.hpp>
#include <alivpc/lease/detail/store_common.hpp>
#include <alivpc/lease/kv.hpp>
#include <alivpc/lease/lease_store.hpp>
#include <alivpc/lease/route_coordination.hpp>
#include <alivpc/lease/subnet_allocator.hpp>

#include <algorithm>
#include <cassert>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace alivpc::lease {

template <lease_kv KV>
class basic_lease_store {
 public:
  template <class... Args>
  requires std::constructible_from<KV, Args&&...>
  explicit basic_lease_store(Args&&... args) : kv_(std::forward<Args>(args)...) {}
  basic_lease_store(const basic_lease_store&) = delete;
  basic_lease_store& operator=(const basic_lease_store&) = delete;

  std::string describe() const { return kv_.describe(); }

  // For --etcd-api=auto: the config text (nullopt when the key is absent), or api_available =
  // false when the endpoint does not serve this API (a v3 gateway or v2 keys API answering 404
  // without JSON: an etcd before 3.4 or without --enable-v2, or a proxy that passes one only).
  task<detail::config_probe> probe_config() {
    detail::config_probe p;
    try {
      p.text = co_await kv_.get_config();
    } catch (const error& e) {
      if (!kv_.api_absent()) throw;
      p.api_available = false;
      p.why = e.what();
    }
    co_return p;
  }

  task<config::network_config> get_network_config() {
    auto text = co_await kv_.get_config();
    if (!text)
      fail(error_kind::not_found,
           "no network config at " + kv_.config_key() + " in the " + std::string(kv_.api()) +
               " key space of " + kv_.describe() +
               "; publish one with: " + detail::publish_command(kv_.api(), kv_.config_key()));
    // Every reconcile reads the config again to notice a change: parse only a changed text.
    if (!parsed_config_ || parsed_config_->first != *text)
      parsed_config_.emplace(*text, config::parse_network_config(*text));
    co_return parsed_config_->second;
  }

  task<lease_list> list_leases() {
    auto out = co_await kv_.list();
    refresh_known(out.leases);
    co_return out;
  }

  task<lease_list> list_lease(net::ipv4_cidr subnet) {
    auto out = co_await kv_.list_one(subnet);
    known_.erase(subnet);
    for (const auto& l : out.leases)
      known_[subnet] = l;
    co_return out;
  }

  task<lease> acquire_lease(const config::network_config& cfg, const lease_attrs& attrs,
                            std::optional<net::ipv4_cidr> previous, std::chrono::seconds ttl) {
    const std::string value = format_lease_value(attrs);
    for (int attempt = 0; attempt < kv_.max_claim_attempts(); ++attempt) {
      std::vector<net::ipv4_cidr> taken;
      std::optional<lease> mine;
      std::vector<lease> unfit;  // ours, and no longer fitting: flannel drops them
      {
        // Gone before the next round trip: it holds every lease of the network, and thousands of
        // nodes joining at once (a simulated mass join) each held theirs across the claim.
        auto snap = co_await kv_.list();
        for (auto& l : snap.leases) {
          // Same PublicIP but another instance id is another node's lease: taken, never adopted.
          const bool ours = same_owner(l.attrs, attrs);
          if (ours && !mine && detail::lease_fits(cfg, l)) {
            mine = std::move(l);
          } else if (ours && !l.is_reservation()) {
            unfit.push_back(std::move(l));
          } else {
            taken.push_back(l.subnet);
          }
        }
      }
      for (const auto& l : unfit)
        co_await kv_.remove(l);
      if (mine && mine->is_reservation()) co_return *mine;
      std::optional<lease> got;
      if (mine) {
        // Our live lease, onto a fresh TTL with the current attrs; if it changed, look again.
        got = co_await kv_.replace(*mine, value, ttl);
      } else {
        auto subnet = allocate_subnet(cfg, taken, previous, kv_.random());
        got = co_await kv_.create(subnet, value, ttl);
        if (!got && previous == subnet) previous.reset();  // someone else has it now
      }
      if (got) {
        got->attrs = attrs;
        known_[got->subnet] = *got;
        co_return *got;
      }
    }
    fail(error_kind::conflict, kv_.describe() + ": acquire lease: lost the race for a subnet " +
                                   std::to_string(kv_.max_claim_attempts()) + " times");
  }

  // Extends the TTL, then checks that the key still holds this claim.
  task<lease> renew_lease(const lease& l, std::chrono::seconds ttl) {
    lease out = l;
    if (!l.is_reservation()) out.expiration = co_await kv_.keepalive(l, ttl);
    auto now = co_await kv_.get(l.subnet);
    const std::string what = kv_.describe() + ": renew lease: " + l.subnet.to_string();
    if (!now) fail(error_kind::not_found, what + ": its key was deleted");
    if (now->lease_id != l.lease_id)
      fail(error_kind::not_found, what + ": its key now belongs to another lease");
    out.revision = now->revision;
    out.create_revision = now->create_revision;
    co_return out;
  }

  // Ends the claim (and with it the key). A reservation belongs to the operator: left in place.
  task<void> revoke_lease(const lease& l) {
    if (l.is_reservation()) co_return;
    co_await kv_.release(l);
    known_.erase(l.subnet);
  }

  task<watch_result> watch_leases(std::int64_t revision) {
    auto got = co_await kv_.watch(revision);
    if (got.compacted) co_return co_await resync();
    co_return take_changes(std::move(got), revision);
  }

  task<watch_result> watch_lease(net::ipv4_cidr subnet, std::int64_t revision) {
    auto got = co_await kv_.watch_one(subnet, revision);
    if (got.compacted) {
      watch_result out;
      out.revision = revision;
      out.resynced = true;
      out.store = got.store;
      co_return out;
    }
    co_return take_changes(std::move(got), revision);
  }

  // --- route_coordination (route_coordination.hpp), when the KV offers its key operations ----

  task<std::optional<leadership>> campaign(const std::string& holder,
                                           std::chrono::seconds ttl) requires coordination_kv<KV> {
    const std::string key = leader_key();
    auto got = co_await kv_.create_ttl_key(key, holder, ttl);
    if (!got) co_return std::nullopt;
    co_return detail::leadership_of(*got);
  }

  task<std::optional<leadership>> current_leader() requires coordination_kv<KV> {
    const std::string key = leader_key();
    auto got = co_await kv_.get_key(key);
    if (!got.entry) co_return std::nullopt;
    co_return detail::leadership_of(*got.entry);
  }

  task<leadership> renew_leadership(const leadership& l,
                                    std::chrono::seconds ttl) requires coordination_kv<KV> {
    const kv_entry ours = detail::entry_of(l, leader_key());
    auto got = co_await kv_.refresh_ttl_key(ours, ttl);
    if (got) co_return detail::leadership_of(*got);
    // Say what is there instead; the verdict (not_found) stands whatever this read finds.
    std::string now = "it was deleted or its TTL ended";
    try {
      auto seen = co_await kv_.get_key(ours.key);
      if (seen.entry)
        now = "it now holds another claim (holder \"" + seen.entry->value.substr(0, 100) +
              "\", revision " + std::to_string(seen.entry->revision) + ")";
    } catch (const error&) {
    }
    fail(error_kind::not_found, kv_.describe() + ": renew route leadership: " + ours.key +
                                    " no longer holds our claim (holder \"" +
                                    l.holder.substr(0, 100) + "\", revision " +
                                    std::to_string(l.revision) + "): " + now);
  }

  task<void> resign(const leadership& l) requires coordination_kv<KV> {
    const kv_entry ours = detail::entry_of(l, leader_key());
    co_await kv_.delete_key_if_unchanged(ours);
  }

  task<void> put_route_state(net::ipv4_cidr subnet,
                             const std::string& value) requires coordination_kv<KV> {
    const std::string key = route_state_key(kv_.network_prefix(), subnet);
    co_await kv_.put_key(key, value);
  }

  task<void> delete_route_state(net::ipv4_cidr subnet) requires coordination_kv<KV> {
    const std::string key = route_state_key(kv_.network_prefix(), subnet);
    co_await kv_.delete_key(key);
  }

  task<route_state_read> route_state(net::ipv4_cidr subnet) requires coordination_kv<KV> {
    const std::string key = followed_route_state_key(subnet);
    auto got = co_await kv_.get_key(key);
    route_state_read out{std::nullopt, got.revision};
    if (got.entry) out.value = std::move(got.entry->value);
    co_return out;
  }

  task<bool> watch_route_state(net::ipv4_cidr subnet,
                               std::int64_t revision) requires coordination_kv<KV> {
    const std::string key = followed_route_state_key(subnet);
    co_return co_await kv_.watch_key(key, revision);
  }

  task<std::map<net::ipv4_cidr, std::string>> route_states() requires coordination_kv<KV> {
    const std::string dir = route_states_dir(kv_.network_prefix());
    auto entries = co_await kv_.list_keys(dir);
    std::map<net::ipv4_cidr, std::string> out;
    for (auto& e : entries)
      if (auto subnet = detail::route_state_subnet(e.key, dir)) out[*subnet] = std::move(e.value);
    co_return out;
  }

 private:
  // A follower reads and watches its own subnet's route state key, round after round (at 5,000
  // nodes, millions of rounds a week): the key of the last subnet asked is kept, not formatted
  // again. Returned as a copy, which a call in flight holds (another subnet's call may replace
  // the kept one meanwhile).
  std::string followed_route_state_key(net::ipv4_cidr subnet) requires coordination_kv<KV> {
    if (!followed_key_ || followed_key_->first != subnet)
      followed_key_.emplace(subnet, route_state_key(kv_.network_prefix(), subnet));
    return followed_key_->second;
  }

  std::string leader_key() const requires coordination_kv<KV> {
    return route_leader_key(kv_.network_prefix());
  }

  // known_ becomes the listing (of two keys for one subnet, the later one listed). In place: the
  // route leader lists every lease each pass, and at rest they are the leases already known, so
  // only what moved (expiry, revisions) is copied, not each lease's strings and JSON again.
  void refresh_known(const std::vector<lease>& listed) {
    std::vector<net::ipv4_cidr> subnets;
    subnets.reserve(listed.size());
    for (const auto& l : listed) {
      subnets.push_back(l.subnet);
      auto [it, fresh] = known_.try_emplace(l.subnet, l);
      if (fresh) continue;
      auto& k = it->second;
      if (k.attrs == l.attrs && k.ipv6_subnet == l.ipv6_subnet) {
        k.expiration = l.expiration;
        k.revision = l.revision;
        k.lease_id = l.lease_id;
        k.create_revision = l.create_revision;
        assert(k == l);  // every field of lease is copied above
      } else {
        k = l;
      }
    }
    std::sort(subnets.begin(), subnets.end());
    std::erase_if(known_, [&](const auto& kv) {
      return !std::binary_search(subnets.begin(), subnets.end(), kv.first);
    });
  }

  // A watch's changes as events, keeping known_ current (and filling in a removal's value).
  watch_result take_changes(kv_changes got, std::int64_t revision) {
    watch_result out;
    out.store = got.store;
    // Resume after the last delivered change, never at a later header revision: with a backlog
    // etcd v3 sends a batch of 1,000 revisions under the header of the newest.
    out.revision = std::max(revision, got.revision);
    for (auto& c : got.changes) {
      const auto key = c.value.subnet;
      auto it = known_.find(key);
      if (c.type == lease_event_type::added) {
        known_[key] = c.value;
      } else if (it != known_.end()) {
        if (!c.has_value) {  // the store did not say what was removed: what we knew was
          const auto removed_at = c.value.revision;
          c.value = it->second;
          c.value.revision = removed_at;
        }
        known_.erase(it);
      }
      out.events.push_back({c.type, std::move(c.value)});
    }
    return out;
  }

  // History was compacted: list afresh and report the difference from what we knew.
  task<watch_result> resync() {
    auto before = known_;
    auto now = co_await list_leases();
    watch_result out;
    out.revision = now.revision;
    out.resynced = true;
    out.store = now.store;
    out.events = detail::diff_snapshots(before, known_);
    co_return out;
  }

  KV kv_;
  std::map<net::ipv4_cidr, lease> known_;  // the last known state of every subnet key
  std::optional<std::pair<std::string, config::network_config>> parsed_config_;  // text, parsed
  std::optional<std::pair<net::ipv4_cidr, std::string>> followed_key_;  // followed_route_state_key
};

}  // namespace alivpc::lease
