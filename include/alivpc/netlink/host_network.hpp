// What the backend needs from the host's network stack: the external interface (flanneld's
// --iface / --iface-regex / default route rules), and routes to read and change.
// Models: netlink::rtnetlink_host (a real NETLINK_ROUTE socket) and sim's fake host network.
#pragma once

#include <alivpc/net/ipv4.hpp>

#include <concepts>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace alivpc::netlink {

struct link_info {
  int index = 0;
  std::string name;
  std::uint32_t flags = 0;  // IFF_* flags
  std::uint32_t mtu = 0;
  friend bool operator==(const link_info&, const link_info&) = default;
};

struct address_info {
  int link_index = 0;
  net::ipv4_address address;
  int prefix_length = 0;
  friend bool operator==(const address_info&, const address_info&) = default;
};

enum class route_type : std::uint8_t {
  unicast = 1,
  local = 2,
  broadcast = 3,
  blackhole = 6,
  unreachable = 7,
  prohibit = 8
};

struct route_info {
  std::uint32_t table = 254;  // RT_TABLE_MAIN
  net::ipv4_cidr destination;
  std::optional<net::ipv4_address> gateway;
  int output_link_index = 0;  // 0: none (blackhole)
  std::uint8_t scope = 0;     // RT_SCOPE_UNIVERSE
  route_type type = route_type::unicast;
  std::optional<net::ipv4_address> preferred_source;
  friend bool operator==(const route_info&, const route_info&) = default;
};

// flanneld's interface flags.
struct interface_selection {
  std::vector<std::string> ifaces;             // --iface: names or IPs, tried in order
  std::vector<std::string> iface_regexes;      // --iface-regex: tried in order
  std::optional<net::ipv4_address> public_ip;  // --public-ip
};

struct external_interface {
  link_info link;
  net::ipv4_address address;    // the interface's IPv4 address
  net::ipv4_address public_ip;  // --public-ip or address
  std::uint32_t mtu = 0;
};

template <class N>
concept host_network = requires(N& n, const interface_selection& sel, const route_info& route) {
  // The external interface, its address and MTU; throws with the reasons each candidate failed.
  { n.select_external_interface(sel) } -> std::same_as<external_interface>;
  { n.list_links() } -> std::same_as<std::vector<link_info>>;
  { n.list_ipv4_addresses() } -> std::same_as<std::vector<address_info>>;
  { n.list_ipv4_routes() } -> std::same_as<std::vector<route_info>>;
  // Add fails when the route exists; replace adds or overwrites; delete of a missing route fails.
  { n.add_route(route) } -> std::same_as<void>;
  { n.replace_route(route) } -> std::same_as<void>;
  { n.delete_route(route) } -> std::same_as<void>;
};

}  // namespace alivpc::netlink
