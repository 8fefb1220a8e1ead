// Rules every lease_store model shares (etcd v3, etcd v2, memory).
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

// The events that turn one snapshot of the subnets (by key) into the next, for a watch that had
// to re-list (history compacted or cleared): removed keys, then new or changed ones. `same`
// says whether two values of one key are the same claim (v3: lease id and create_revision; v2:
// createdIndex; memory: the lease id). A key deleted and re-created in the gap (not the same
// claim) is a `removed` of the old claim followed by an `added` of the new one, so a watcher
// that tracks claims (e.g. routes per owner) sees the old owner go.
template <class Same>
std::vector<lease_event> diff_snapshots(const std::map<std::string, lease>& before,
                                        const std::map<std::string, lease>& after, Same same) {
  std::vector<lease_event> events;
  for (const auto& [k, l] : before) {
    auto it = after.find(k);
    if (it == after.end() || !same(l, it->second)) events.push_back({lease_event_type::removed, l});
  }
  for (const auto& [k, l] : after) {
    auto it = before.find(k);
    if (it == before.end() || it->second.attrs != l.attrs || !same(it->second, l))
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
