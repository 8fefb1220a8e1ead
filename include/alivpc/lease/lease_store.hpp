// What the backend needs from a lease store. Models: lease::etcd_v3_store, lease::etcd_v2_store
// (real etcd over HTTP/HTTPS) and lease::memory_store (the simulator's etcd model).
#pragma once

#include <alivpc/config/network_config.hpp>
#include <alivpc/lease/lease.hpp>
#include <alivpc/runtime/task.hpp>

#include <chrono>
#include <concepts>
#include <optional>
#include <vector>

namespace alivpc::lease {

struct lease_list {
  std::vector<lease> leases;
  std::int64_t revision = 0;  // the store revision this list is a snapshot of
};

struct watch_result {
  std::vector<lease_event> events;
  std::int64_t revision = 0;  // pass to the next watch_leases call
  bool resynced = false;      // history was compacted: events are a diff against a fresh list
};

template <class S>
concept lease_store = requires(S& s, const config::network_config& cfg, const lease_attrs& attrs,
                               const lease& l, std::optional<net::ipv4_cidr> previous,
                               std::int64_t revision, std::chrono::seconds ttl) {
  // The network config at <prefix>/config; not_found with the etcdctl command when absent.
  { s.get_network_config() } -> std::same_as<task<config::network_config>>;
  // Every subnet lease (and reservation) under <prefix>/subnets.
  { s.list_leases() } -> std::same_as<task<lease_list>>;
  // flannel's order: our live lease or reservation, else `previous` if free, else a random free
  // subnet; the claim is atomic. Throws error_kind::exhausted ("out of subnets") when full.
  { s.acquire_lease(cfg, attrs, previous, ttl) } -> std::same_as<task<lease>>;
  // Extends the lease by its TTL; throws not_found when it was lost (deleted or expired).
  { s.renew_lease(l, ttl) } -> std::same_as<task<lease>>;
  // Gives the subnet back (deletes the key and the etcd lease).
  { s.revoke_lease(l) } -> std::same_as<task<void>>;
  // Changes after `revision`; returns after events or a bounded wait (an empty result is fine).
  { s.watch_leases(revision) } -> std::same_as<task<watch_result>>;
};

}  // namespace alivpc::lease
