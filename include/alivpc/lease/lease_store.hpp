// What the backend needs from a lease store. Models: lease::etcd_v3_store, lease::etcd_v2_store
// (real etcd over HTTP/HTTPS) and sim::memory_store (the simulator's etcd model), each
// basic_lease_store over a lease_kv, and lease::etcd_store, which picks one of the two etcd stores.
#pragma once

#include <alivpc/config/network_config.hpp>
#include <alivpc/lease/lease.hpp>
#include <alivpc/runtime/task.hpp>

#include <algorithm>
#include <chrono>
#include <concepts>
#include <optional>
#include <string>
#include <vector>

namespace alivpc::lease {

// Who answered: a store whose cluster id changes, or whose revision goes backwards, is a new or
// rebuilt etcd that may have lost our lease (the keeper then checks and re-claims at once).
struct store_identity {
  std::string cluster_id;  // v3 header.cluster_id, v2 X-Etcd-Cluster-Id; empty: unknown
  std::int64_t store_revision =
      0;  // the store's revision (v3 header) or index (v2) when it answered
};

// Follows who answers: a store whose cluster id changes, or whose revision goes back below one
// seen before, is another etcd (rebuilt, or restored from a backup).
class store_tracker {
 public:
  // Empty while `id` is the store seen so far, else why it is not; `id` is the store from now on.
  std::string note(const store_identity& id) {
    std::string why;
    if (!id.cluster_id.empty()) {
      if (!cluster_id_.empty() && id.cluster_id != cluster_id_)
        why = "etcd's cluster id changed from " + cluster_id_ + " to " + id.cluster_id;
      cluster_id_ = id.cluster_id;
    }
    if (id.store_revision > 0) {
      if (id.store_revision < max_revision_ && why.empty())
        why = "etcd's revision went back from " + std::to_string(max_revision_) + " to " +
              std::to_string(id.store_revision);
      max_revision_ = why.empty() ? std::max(max_revision_, id.store_revision) : id.store_revision;
    }
    return why;
  }

 private:
  std::string cluster_id_;
  std::int64_t max_revision_ = 0;
};

struct lease_list {
  std::vector<lease> leases;
  std::int64_t revision = 0;  // the store revision this list is a snapshot of
  store_identity store;
};

struct watch_result {
  std::vector<lease_event> events;
  // Pass to the next watch_leases call: every event up to and including this revision has been
  // delivered (the last event's mod_revision, never a later header revision), so none is skipped.
  std::int64_t revision = 0;
  // History was compacted (or the v2 index cleared): events are a diff against a fresh list, in
  // which a key deleted and re-created since is a `removed` followed by an `added`.
  bool resynced = false;
  store_identity store;
};

template <class S>
concept lease_store = requires(S& s, const config::network_config& cfg, const lease_attrs& attrs,
                               const lease& l, std::optional<net::ipv4_cidr> previous,
                               net::ipv4_cidr subnet, std::int64_t revision,
                               std::chrono::seconds ttl) {
  // The network config at <prefix>/config; not_found with the etcdctl command when absent.
  { s.get_network_config() } -> std::same_as<task<config::network_config>>;
  // Every subnet lease (and reservation) under <prefix>/subnets, in one read: who holds what,
  // not until when (an expiration only tells a lease from a reservation: lease_kv::list).
  { s.list_leases() } -> std::same_as<task<lease_list>>;
  // One subnet's key: the listing of that key alone (empty when it does not exist).
  { s.list_lease(subnet) } -> std::same_as<task<lease_list>>;
  // flannel's order: our live lease or reservation, else `previous` if free, else a random free
  // subnet; the claim is atomic. Throws error_kind::exhausted ("out of subnets") when full.
  { s.acquire_lease(cfg, attrs, previous, ttl) } -> std::same_as<task<lease>>;
  // Extends the lease by its TTL; throws not_found when it was lost (deleted or expired).
  { s.renew_lease(l, ttl) } -> std::same_as<task<lease>>;
  // Gives the subnet back (deletes the key and the etcd lease).
  { s.revoke_lease(l) } -> std::same_as<task<void>>;
  // Changes after `revision`; returns after events or a bounded wait (an empty result is fine).
  { s.watch_leases(revision) } -> std::same_as<task<watch_result>>;
  // Changes of one subnet's key after `revision`. A node watches its own claim this way: a
  // watch of every subnet costs each node, and etcd, work and memory that grow with the
  // cluster (5,000 nodes: every join wakes 5,000 watchers). After compaction: resynced, no
  // events; list the key again.
  { s.watch_lease(subnet, revision) } -> std::same_as<task<watch_result>>;
};

}  // namespace alivpc::lease
