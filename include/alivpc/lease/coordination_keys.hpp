// Where the route leader mode keeps its keys in etcd: beside flannel's <prefix>/config and
// <prefix>/subnets/, under <prefix>/alivpc/, so nothing flannel reads or watches ever sees them.
// One function per path, so that the daemon's documentation names the same ones.
#pragma once

#include <alivpc/lease/lease.hpp>
#include <alivpc/net/ipv4.hpp>

#include <string>
#include <string_view>

namespace alivpc::lease {

// The route leader's claim: "<prefix>/alivpc/route-leader", a key with a TTL.
inline std::string route_leader_key(std::string_view prefix) {
  return std::string(prefix) + "/alivpc/route-leader";
}

// Every route state lives under "<prefix>/alivpc/routes/" (no TTL).
inline std::string route_states_dir(std::string_view prefix) {
  return std::string(prefix) + "/alivpc/routes/";
}

// One subnet's route state: "<prefix>/alivpc/routes/10.24.5.0-24" (the subnet as flannel names
// its lease key).
inline std::string route_state_key(std::string_view prefix, const net::ipv4_cidr& subnet) {
  return route_states_dir(prefix) + subnet_key(subnet);
}

}  // namespace alivpc::lease
