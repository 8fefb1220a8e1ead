// sim::fake_host_network: an in-memory host network (links, IPv4 addresses, routes) modelling
// the host_network policy the way the Linux kernel behaves for what the backend does:
//  - adding an address adds its connected route (main table, scope link, preferred source) and
//    its local route (local table 255);
//  - a route's key is (table, destination); add fails with EEXIST when the key exists, replace
//    overwrites or creates, delete fails with ESRCH when nothing matches the key, type and, when
//    given, gateway and output interface;
//  - a gateway must lie in a connected subnet (ENETUNREACH), an output link must exist (ENODEV).
// Errors are netlink_error with the kernel's errno, exactly as rtnetlink_host throws them.
// Interface selection is the same pure function the real host uses.
#pragma once

#include <alivpc/netlink/host_network.hpp>
#include <alivpc/netlink/interface_selection.hpp>
#include <alivpc/netlink/messages.hpp>
#include <alivpc/netlink/netlink_error.hpp>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <net/if.h>

namespace alivpc::sim {

class fake_host_network {
 public:
  static constexpr std::uint32_t main_table = 254;
  static constexpr std::uint32_t local_table = 255;
  static constexpr std::uint32_t default_link_flags =
      IFF_UP | IFF_BROADCAST | IFF_RUNNING | IFF_MULTICAST;

  // Starts like a fresh namespace with loopback up: lo (index 1, MTU 65536) holding 127.0.0.1/8.
  fake_host_network() {
    int lo = add_link("lo", 65536, IFF_UP | IFF_LOOPBACK | IFF_RUNNING);
    add_address(lo, net::ipv4_address::parse("127.0.0.1"), 8);
  }

  // ---- setting the scene ----

  int add_link(const std::string& name, std::uint32_t mtu = 1500,
               std::uint32_t flags = default_link_flags) {
    if (find_link_by_name(name))
      throw netlink::netlink_error::from_errno(EEXIST, "add link " + name);
    netlink::link_info l;
    l.index = next_index_++;
    l.name = name;
    l.mtu = mtu;
    l.flags = flags;
    links_.push_back(l);
    return l.index;
  }

  void set_mtu(int link_index, std::uint32_t mtu) { link(link_index, "set MTU").mtu = mtu; }

  // Removes the link with its addresses and every route through it, as the kernel does.
  void remove_link(int link_index) {
    link(link_index, "remove link");
    std::erase_if(links_, [&](const auto& l) { return l.index == link_index; });
    std::erase_if(addresses_, [&](const auto& a) { return a.link_index == link_index; });
    std::erase_if(routes_, [&](const auto& r) { return r.output_link_index == link_index; });
  }

  void add_address(int link_index, net::ipv4_address address, int prefix_length) {
    std::string op = "add address " + address.to_string() + "/" + std::to_string(prefix_length);
    if (prefix_length < 0 || prefix_length > 32)
      throw netlink::netlink_error::from_errno(EINVAL, op);
    link(link_index, op);
    for (const auto& a : addresses_)
      if (a.link_index == link_index && a.address == address)
        throw netlink::netlink_error::from_errno(EEXIST, op);
    addresses_.push_back({link_index, address, prefix_length});
    netlink::route_info local;
    local.table = local_table;
    local.destination = net::ipv4_cidr(address, 32);
    local.output_link_index = link_index;
    local.scope = 254;  // RT_SCOPE_HOST
    local.type = netlink::route_type::local;
    local.preferred_source = address;
    upsert(local);
    if (prefix_length < 32) {
      // The prefix route: main table, except on loopback where the whole prefix is local.
      bool loopback = link(link_index, op).flags & IFF_LOOPBACK;
      netlink::route_info prefix;
      prefix.table = loopback ? local_table : main_table;
      prefix.destination = net::ipv4_cidr(address, prefix_length);
      prefix.output_link_index = link_index;
      prefix.scope = loopback ? 254 : 253;  // RT_SCOPE_HOST : RT_SCOPE_LINK
      prefix.type = loopback ? netlink::route_type::local : netlink::route_type::unicast;
      prefix.preferred_source = address;
      if (!find_route(prefix.table, prefix.destination)) routes_.push_back(prefix);
    }
  }

  // The next `count` route changes (add/replace/delete) fail with errno_value, for fault tests.
  void fail_next_route_changes(int errno_value, int count = 1) {
    injected_errno_ = errno_value;
    injected_count_ = count;
  }

  // ---- host_network ----

  std::vector<netlink::link_info> list_links() { return links_; }
  std::vector<netlink::address_info> list_ipv4_addresses() { return addresses_; }
  std::vector<netlink::route_info> list_ipv4_routes() { return routes_; }

  netlink::external_interface select_external_interface(const netlink::interface_selection& sel) {
    return netlink::select_external_interface(sel, links_, addresses_, routes_);
  }

  void add_route(const netlink::route_info& route) {
    auto op = "add route " + netlink::to_string(route);
    inject(op);
    auto stored = validated(route, op);
    if (find_route(route.table, route.destination))
      throw netlink::netlink_error::from_errno(EEXIST, op);
    routes_.push_back(stored);
  }

  void replace_route(const netlink::route_info& route) {
    auto op = "replace route " + netlink::to_string(route);
    inject(op);
    upsert(validated(route, op));
  }

  void delete_route(const netlink::route_info& route) {
    auto op = "delete route " + netlink::to_string(route);
    inject(op);
    auto it = std::find_if(routes_.begin(), routes_.end(), [&](const auto& r) {
      return r.table == route.table && r.destination == route.destination && r.type == route.type &&
             (!route.gateway || r.gateway == route.gateway) &&
             (route.output_link_index == 0 || r.output_link_index == route.output_link_index);
    });
    if (it == routes_.end()) throw netlink::netlink_error::from_errno(ESRCH, op);
    routes_.erase(it);
  }

  // Longest-prefix match, local table before main (the kernel's default rules).
  netlink::route_info get_route_to(net::ipv4_address destination) {
    auto op = "get route to " + destination.to_string();
    for (auto table : {local_table, main_table}) {
      const netlink::route_info* best = nullptr;
      for (const auto& r : routes_)
        if (r.table == table && r.destination.contains(destination) &&
            (!best || r.destination.prefix_length() > best->destination.prefix_length()))
          best = &r;
      if (!best) continue;
      if (best->type == netlink::route_type::unreachable)
        throw netlink::netlink_error::from_errno(EHOSTUNREACH, op);
      if (best->type == netlink::route_type::prohibit)
        throw netlink::netlink_error::from_errno(EACCES, op);
      if (best->type == netlink::route_type::blackhole)
        throw netlink::netlink_error::from_errno(EINVAL, op);
      auto out = *best;
      out.destination = net::ipv4_cidr(destination, 32);
      if (!out.preferred_source)
        for (const auto& a : addresses_)
          if (a.link_index == out.output_link_index) {
            out.preferred_source = a.address;
            break;
          }
      return out;
    }
    throw netlink::netlink_error::from_errno(ENETUNREACH, op);
  }

 private:
  netlink::link_info& link(int index, const std::string& op) {
    for (auto& l : links_)
      if (l.index == index) return l;
    throw netlink::netlink_error::from_errno(ENODEV, op);
  }
  const netlink::link_info* find_link_by_name(const std::string& name) const {
    for (const auto& l : links_)
      if (l.name == name) return &l;
    return nullptr;
  }
  netlink::route_info* find_route(std::uint32_t table, net::ipv4_cidr destination) {
    for (auto& r : routes_)
      if (r.table == table && r.destination == destination) return &r;
    return nullptr;
  }
  void upsert(const netlink::route_info& route) {
    if (auto* existing = find_route(route.table, route.destination))
      *existing = route;
    else
      routes_.push_back(route);
  }
  void inject(const std::string& op) {
    if (injected_count_ <= 0) return;
    --injected_count_;
    throw netlink::netlink_error::from_errno(injected_errno_, op, "injected by fake_host_network");
  }

  // Checks the next hop like the kernel and fills in the output link of a gateway route.
  netlink::route_info validated(netlink::route_info route, const std::string& op) {
    if (route.type != netlink::route_type::unicast) {
      route.gateway.reset();
      route.output_link_index = 0;
      return route;
    }
    if (route.output_link_index != 0) link(route.output_link_index, op);
    if (route.gateway) {
      const netlink::address_info* via = nullptr;
      for (const auto& a : addresses_)
        if ((route.output_link_index == 0 || a.link_index == route.output_link_index) &&
            net::ipv4_cidr(a.address, a.prefix_length).contains(*route.gateway) &&
            a.prefix_length < 32) {
          via = &a;
          break;
        }
      if (!via)
        throw netlink::netlink_error::from_errno(ENETUNREACH, op, "Nexthop has invalid gateway");
      route.output_link_index = via->link_index;
    } else if (route.output_link_index == 0) {
      throw netlink::netlink_error::from_errno(ENODEV, op,
                                               "a unicast route needs a gateway or a device");
    }
    return route;
  }

  std::vector<netlink::link_info> links_;
  std::vector<netlink::address_info> addresses_;
  std::vector<netlink::route_info> routes_;
  int next_index_ = 1;
  int injected_errno_ = 0;
  int injected_count_ = 0;
};

static_assert(netlink::host_network<fake_host_network>);

}  // namespace alivpc::sim
