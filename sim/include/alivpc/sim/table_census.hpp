// Counting a VPC's route tables for the report: custom entries per table (what the quota
// counts: Pending and Deleting included) and stale routes, the custom entries inside the flannel
// Network that serve no one: their next hop is not a running node (one that left, was killed and
// not restarted, or was never there) or that node holds no live lease on exactly that subnet.
#pragma once

#include <alivpc/sim/cluster.hpp>
#include <alivpc/sim/memory_etcd.hpp>
#include <alivpc/sim/vpc_model.hpp>

#include <algorithm>
#include <cstddef>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace alivpc::sim {

// The custom entries of the fullest of `tables`.
inline std::size_t fullest_table_entries(vpc_model& model, const std::vector<std::string>& tables,
                                         time_point now) {
  std::size_t most = 0;
  for (const auto& t : tables) {
    std::size_t n = 0;
    model.for_each_entry(t, now, [&](const route_entry_record& e) { n += e.system ? 0 : 1; });
    most = std::max(most, n);
  }
  return most;
}

// Stale routes summed over `tables` (a route leaked into two tables counts twice).
inline std::size_t count_stale_routes(vpc_model& model, const std::vector<std::string>& tables,
                                      const memory_etcd<virtual_scheduler>& etcd, cluster& c,
                                      const std::optional<net::ipv4_cidr>& network,
                                      time_point now) {
  std::set<std::string> running;
  for (auto& n : c.nodes())
    if (n->running && !n->left) running.insert(n->instance_id);
  std::set<std::pair<net::ipv4_cidr, std::string>> held;  // (subnet, instance) leased in etcd
  for (auto& [key, e] : etcd.keys())
    if (e.parsed) held.emplace(e.parsed->subnet, e.instance_id());
  std::size_t stale = 0;
  for (const auto& t : tables)
    model.for_each_entry(t, now, [&](const route_entry_record& e) {
      if (e.system || (network && !network->contains(e.destination))) return;
      if (!running.count(e.next_hop_id) || !held.count({e.destination, e.next_hop_id})) ++stale;
    });
  return stale;
}

}  // namespace alivpc::sim
