// What lease::basic_lease_store needs from a key-value store: the etcd operations flannel's
// subnet claim is built on. Models: lease::etcd_v3_kv (v3 JSON gateway), lease::etcd_v2_kv (v2
// keys API), sim::memory_kv (the simulator's etcd model). A KV names keys by subnet and turns
// what it stores into leases; the algorithm and the state a watcher keeps are the store's.
#pragma once

#include <alivpc/lease/lease.hpp>
#include <alivpc/lease/lease_store.hpp>
#include <alivpc/runtime/prng.hpp>
#include <alivpc/runtime/task.hpp>

#include <chrono>
#include <concepts>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace alivpc::lease {

// One change a watch delivered, as the store recorded it.
struct kv_change {
  lease_event_type type = lease_event_type::added;
  lease value;  // for removed without its previous value: the subnet and revision only
  bool has_value = true;
};

struct kv_changes {
  std::vector<kv_change> changes;
  std::int64_t revision = 0;  // of the last change delivered, subnet key or not (0: none)
  bool compacted = false;     // the history after the asked revision is gone: list afresh
  store_identity store;
};

template <class K>
concept lease_kv = requires(K& k, const K& ck, const lease& l, net::ipv4_cidr subnet,
                            const std::string& value, std::chrono::seconds ttl,
                            std::int64_t revision) {
  // Who we talk to, for messages ("etcd v3 at http://127.0.0.1:2379").
  { ck.describe() } -> std::convertible_to<std::string>;
  // The key space, "v3" or "v2": which etcdctl command publishes a config.
  { ck.api() } -> std::convertible_to<std::string_view>;
  { ck.config_key() } -> std::convertible_to<std::string>;
  // How often a claim is tried again after losing a race.
  { ck.max_claim_attempts() } -> std::convertible_to<int>;
  // The random source for choosing a free subnet.
  { k.random() } -> std::same_as<prng&>;
  // Whether a failed call showed that this endpoint does not serve this API at all.
  { ck.api_absent() } -> std::convertible_to<bool>;

  // get: the config text, nullopt when the key does not exist.
  { k.get_config() } -> std::same_as<task<std::optional<std::string>>>;
  // get: the subnet's key as it is now, nullopt when it does not exist.
  { k.get(subnet) } -> std::same_as<task<std::optional<lease>>>;
  // list with revision: every subnet key, the revision it is a snapshot of, who answered. Who
  // holds what, not until when: a lease's expiration only says whether its key has a TTL (set,
  // v3: a placeholder) or is a reservation (unset). Its real expiry costs v3 one TTL lookup per
  // etcd lease - 5,000 round trips for a route leader's pass at 5,000 nodes - and no caller of a
  // whole listing needs it; a node's own lease comes from list_one.
  { k.list() } -> std::same_as<task<lease_list>>;
  // The same for one subnet's key (no lease or one, with its expiry): what a node needs to
  // know about its own claim, at a price that does not grow with the cluster.
  { k.list_one(subnet) } -> std::same_as<task<lease_list>>;
  // create-if-absent: the subnet's key with `value` and a fresh TTL; nullopt when it exists.
  { k.create(subnet, value, ttl) } -> std::same_as<task<std::optional<lease>>>;
  // compare-and-swap: rewrites l's key with `value` and a fresh TTL only while its revision is
  // still l.revision (the claim stays, its old TTL lease goes); nullopt when it changed.
  { k.replace(l, value, ttl) } -> std::same_as<task<std::optional<lease>>>;
  // compare-and-delete: deletes l's key only while its revision is still l.revision.
  { k.remove(l) } -> std::same_as<task<void>>;
  // TTL: extends l's TTL (never called for a reservation) and says when it now expires; throws
  // not_found when the TTL already ended.
  { k.keepalive(l, ttl) } -> std::same_as<task<wall_time>>;
  // TTL: ends l's TTL and with it the key, if the key still holds l's claim.
  { k.release(l) } -> std::same_as<task<void>>;
  // watch from revision: the changes after `revision`, or an empty result after a bounded wait.
  { k.watch(revision) } -> std::same_as<task<kv_changes>>;
  // The same for one subnet's key only.
  { k.watch_one(subnet, revision) } -> std::same_as<task<kv_changes>>;
};

}  // namespace alivpc::lease
