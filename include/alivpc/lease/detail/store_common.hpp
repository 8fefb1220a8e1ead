// Rules of basic_lease_store, on their own for tests.
#pragma once

#include <alivpc/config/network_config.hpp>
#include <alivpc/lease/lease.hpp>

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace alivpc::lease {

namespace detail {

// Whether two values of one key are one claim: the same TTL lease (none on v2 and for
// reservations) and the same creation (v3 create_revision, v2 createdIndex).
inline bool same_claim(const lease& a, const lease& b) {
  return a.lease_id == b.lease_id && a.create_revision == b.create_revision;
}

// The events that turn one snapshot of the subnets (by key) into the next, for a watch that had
// to re-list (history compacted or cleared): removed keys, then new or changed ones. A key
// deleted and re-created in the gap (another claim) is a `removed` of the old claim followed by
// an `added` of the new one, so a watcher that tracks claims (e.g. routes per owner) sees the
// old owner go.
inline std::vector<lease_event> diff_snapshots(const std::map<net::ipv4_cidr, lease>& before,
                                               const std::map<net::ipv4_cidr, lease>& after) {
  std::vector<lease_event> events;
  for (const auto& [k, l] : before) {
    auto it = after.find(k);
    if (it == after.end() || !same_claim(l, it->second))
      events.push_back({lease_event_type::removed, l});
  }
  for (const auto& [k, l] : after) {
    auto it = before.find(k);
    if (it == before.end() || it->second.attrs != l.attrs || !same_claim(it->second, l))
      events.push_back({lease_event_type::added, l});
  }
  return events;
}

// What --etcd-api=auto learns from one API: the config text (nullopt: no such key), or that the
// endpoint does not serve this API at all (why: the error that showed it).
struct config_probe {
  bool api_available = true;
  std::optional<std::string> text;
  std::string why;
};

// The etcdctl command that publishes an example network config at `key` in the "v3" or "v2"
// key space.
inline std::string publish_command(std::string_view api, const std::string& key) {
  return (api == "v2" ? "ETCDCTL_API=2 etcdctl set " : "etcdctl put ") + key +
         " '{\"Network\":\"10.24.0.0/16\",\"Backend\":{\"Type\":\"ali-vpc\"}}'";
}

// Does an existing lease still fit the network config (else flannel drops and re-allocates)?
inline bool lease_fits(const config::network_config& cfg, const lease& l) {
  if (!cfg.network || !cfg.network->contains(l.subnet)) return false;
  if (l.is_reservation()) return true;  // an operator's choice of size is kept
  return l.subnet.prefix_length() == cfg.subnet_len && l.subnet.network() >= cfg.subnet_min &&
         l.subnet.network() <= cfg.subnet_max;
}

}  // namespace detail

}  // namespace alivpc::lease
