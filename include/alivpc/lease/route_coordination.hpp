// The etcd side of the route leader mode: the daemons elect one route leader through a key with
// a TTL, the leader publishes each route's state, followers read and watch it.
//
// Two levels, as for subnet leases (kv.hpp / lease_store.hpp): coordination_kv is what a
// key-value store must offer (a few generic key operations; models etcd_v3_kv, etcd_v2_kv,
// sim::memory_kv), route_coordination what the leader and followers call (models
// basic_lease_store over such a KV, observed_store over that, etcd_store). Key paths:
// coordination_keys.hpp.
#pragma once

#include <alivpc/error.hpp>
#include <alivpc/lease/coordination_keys.hpp>
#include <alivpc/net/ipv4.hpp>
#include <alivpc/runtime/scheduler.hpp>
#include <alivpc/runtime/task.hpp>

#include <chrono>
#include <concepts>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace alivpc::lease {

// The route leader's claim: one key, <prefix>/alivpc/route-leader, bound to a TTL (v3: an etcd
// lease, created in a txn only if absent; v2: a TTL key created with prevExist=false).
struct leadership {
  std::string holder;  // the value: who holds it ("<instance id> <nonce>")
  std::int64_t revision =
      0;  // v3: the key's create_revision; v2: its modifiedIndex as we last wrote it
  std::int64_t lease_id = 0;  // v3: the etcd lease; 0 on v2
  wall_time expiration{};     // when it ends unless renewed
  friend bool operator==(const leadership&, const leadership&) = default;
};

// A route state as read, with the store revision the read is a snapshot of (watch from there).
struct route_state_read {
  std::optional<std::string> value;  // nullopt: no state published for the subnet
  std::int64_t revision = 0;
};

template <class S>
concept route_coordination = requires(S& s, const std::string& holder, std::chrono::seconds ttl,
                                      const leadership& l, net::ipv4_cidr subnet,
                                      const std::string& value, std::int64_t revision) {
  // Becomes the leader if nobody is: nullopt when the key exists (someone else leads).
  { s.campaign(holder, ttl) } -> std::same_as<task<std::optional<leadership>>>;
  // Who leads now (nullopt: nobody). A claim whose TTL ended but whose key etcd has not removed
  // yet (its expiry sweep lags by up to a second) is still reported, with expiration <= now: a
  // campaign fails until the key is gone.
  { s.current_leader() } -> std::same_as<task<std::optional<leadership>>>;
  // Extends l's TTL, only while the key still holds l's claim (same holder and revision; v3 also
  // the same etcd lease). Returns the renewed claim (v2's index changes). Throws
  // alivpc::error(error_kind::not_found) when the claim is gone or another's: the leader's
  // "confirm before every write".
  { s.renew_leadership(l, ttl) } -> std::same_as<task<leadership>>;
  // Gives it up (deletes the key only if it still holds l's claim; v3 also revokes the lease).
  { s.resign(l) } -> std::same_as<task<void>>;
  // Route states: <prefix>/alivpc/routes/<subnet key>, no TTL; the value is opaque text.
  { s.put_route_state(subnet, value) } -> std::same_as<task<void>>;
  { s.delete_route_state(subnet) } -> std::same_as<task<void>>;  // absent is fine
  { s.route_state(subnet) } -> std::same_as<task<route_state_read>>;
  // Waits until the route state of `subnet` changes after `revision` (a route_state read's):
  // true then, or when the history after it is gone (read it again either way); false when the
  // watch's bound (etcd_options::watch_wait) passed with no change. Throws when the watch broke.
  { s.watch_route_state(subnet, revision) } -> std::same_as<task<bool>>;
  { s.route_states() } -> std::same_as<task<std::map<net::ipv4_cidr, std::string>>>;
};

// One key as a coordination_kv stores it.
struct kv_entry {
  std::string key, value;
  // What a conditional write compares: v3 create_revision (the claim's identity; keepalives do
  // not change it), v2 modifiedIndex (every refresh changes it).
  std::int64_t revision = 0;
  std::int64_t lease_id = 0;            // v3: the etcd lease it is attached to; 0 otherwise
  std::optional<wall_time> expiration;  // for a key with a TTL
};

// One key as read (nullopt: absent), with the store revision the read is a snapshot of.
struct kv_read {
  std::optional<kv_entry> entry;
  std::int64_t revision = 0;
};

template <class K>
concept coordination_kv = requires(K& k, const K& ck, const std::string& key,
                                   const std::string& value, std::chrono::seconds ttl,
                                   const kv_entry& e, std::int64_t revision) {
  { ck.describe() } -> std::convertible_to<std::string>;
  // The network prefix (etcd_options::prefix): the coordination keys' paths start with it.
  { ck.network_prefix() } -> std::convertible_to<std::string>;
  // create-if-absent with a TTL; nullopt when the key exists.
  { k.create_ttl_key(key, value, ttl) } -> std::same_as<task<std::optional<kv_entry>>>;
  // get: no entry when the key does not exist (or its TTL just ended).
  { k.get_key(key) } -> std::same_as<task<kv_read>>;
  // watch one key: true once it changed after `revision` (or that history is gone), false when
  // the watch's bound passed with no change; throws when the stream broke.
  { k.watch_key(key, revision) } -> std::same_as<task<bool>>;
  // refresh-if-unchanged: extends e's TTL while e.key still holds e's claim (revision, value
  // and, v3, lease); the refreshed entry, or nullopt when the key is gone or another claim's.
  { k.refresh_ttl_key(e, ttl) } -> std::same_as<task<std::optional<kv_entry>>>;
  // delete-if-unchanged: deletes e.key only while it holds e's claim; ends e's TTL lease (v3).
  { k.delete_key_if_unchanged(e) } -> std::same_as<task<void>>;
  // put without TTL; delete (absent is fine).
  { k.put_key(key, value) } -> std::same_as<task<void>>;
  { k.delete_key(key) } -> std::same_as<task<void>>;
  // Every key directly under the directory `key` (ending in '/'); empty when there is none.
  { k.list_keys(key) } -> std::same_as<task<std::vector<kv_entry>>>;
};

namespace detail {

inline leadership leadership_of(const kv_entry& e) {
  return {e.value, e.revision, e.lease_id, e.expiration.value_or(wall_time{})};
}

inline kv_entry entry_of(const leadership& l, std::string key) {
  return {std::move(key), l.holder, l.revision, l.lease_id, l.expiration};
}

// "10.24.5.0-24" (the last path segment of a route state key) -> the subnet; nullopt for a name
// that is not a plain IPv4 subnet key (not ours to interpret).
inline std::optional<net::ipv4_cidr> route_state_subnet(std::string_view key,
                                                        std::string_view dir) {
  if (key.substr(0, dir.size()) != dir) return std::nullopt;
  auto name = key.substr(dir.size());
  if (name.empty() || name.find_first_of("/&") != std::string_view::npos) return std::nullopt;
  try {
    return parse_subnet_key(name).subnet;
  } catch (const error&) {
    return std::nullopt;
  }
}

}  // namespace detail

}  // namespace alivpc::lease
