// flanneld's external interface selection as a pure function over the host's links, IPv4
// addresses and routes, so the real host and the simulator's fake host choose identically.
//
// Rules (flanneld main.go LookupExtIface):
//  - --iface values in order: an IP picks the interface holding that address (and that address),
//    anything else is an interface name;
//  - then --iface-regex values in order: first an interface with an IPv4 address matching the
//    pattern (unanchored search), else an interface whose name matches;
//  - with neither flag: the interface of the first default IPv4 route in the main table;
//  - the address is the interface's first global unicast IPv4 address, else its first
//    link-local one (unless chosen by --iface IP); --public-ip overrides the public address;
//  - an MTU of 0 is an error.
// Deliberate difference: an invalid --iface-regex is an error instead of being skipped.
#pragma once

#include <alivpc/error.hpp>
#include <alivpc/net/ipv4.hpp>
#include <alivpc/netlink/host_network.hpp>

#include <algorithm>
#include <optional>
#include <regex>
#include <string>
#include <vector>

namespace alivpc::netlink {

namespace detail {

inline bool is_link_local(net::ipv4_address a) {
  return (a.value() >> 16) == 0xa9feu;
}  // 169.254/16

// Go's net.IP.IsGlobalUnicast for IPv4.
inline bool is_global_unicast(net::ipv4_address a) {
  auto v = a.value();
  if (v == 0 || v == 0xffffffffu) return false;  // unspecified, limited broadcast
  if ((v >> 24) == 127) return false;            // loopback
  if ((v >> 28) == 0xe) return false;            // multicast
  return !is_link_local(a);
}

inline std::string join(const std::vector<std::string>& parts, std::string_view sep) {
  std::string out;
  for (std::size_t i = 0; i < parts.size(); ++i)
    out += (i ? std::string(sep) : "") + parts[i];
  return out;
}

}  // namespace detail

// The link's usable IPv4 addresses in flanneld's preference: global unicast, then link-local.
inline std::vector<net::ipv4_address> usable_ipv4_addresses(
    int link_index, const std::vector<address_info>& addresses) {
  std::vector<net::ipv4_address> global, link_local;
  for (const auto& a : addresses) {
    if (a.link_index != link_index) continue;
    if (detail::is_global_unicast(a.address))
      global.push_back(a.address);
    else if (detail::is_link_local(a.address))
      link_local.push_back(a.address);
  }
  global.insert(global.end(), link_local.begin(), link_local.end());
  return global;
}

// Chooses the external interface; throws alivpc::error(not_found) listing every interface
// considered and why it was rejected, or (invalid_argument) for a bad --iface-regex.
inline external_interface select_external_interface(const interface_selection& sel,
                                                    std::vector<link_info> links,
                                                    const std::vector<address_info>& addresses,
                                                    const std::vector<route_info>& routes) {
  std::sort(links.begin(), links.end(),
            [](const auto& a, const auto& b) { return a.index < b.index; });
  std::vector<std::string> rejected;  // "what was tried: why it failed"

  auto describe_link = [&](const link_info& l) {
    auto addrs = usable_ipv4_addresses(l.index, addresses);
    std::string s = l.name + " (";
    if (addrs.empty()) s += "no usable IPv4 address";
    for (std::size_t i = 0; i < addrs.size(); ++i)
      s += (i ? ", " : "") + addrs[i].to_string();
    return s + ", mtu " + std::to_string(l.mtu) + ")";
  };
  auto all_links = [&] {
    std::vector<std::string> parts;
    parts.reserve(links.size());
    for (const auto& l : links)
      parts.push_back(describe_link(l));
    return parts.empty() ? std::string("none") : detail::join(parts, ", ");
  };

  // Completes a candidate (address, MTU); on failure records why and returns nullopt.
  auto finish = [&](const std::string& how, const link_info& link,
                    std::optional<net::ipv4_address> address) -> std::optional<external_interface> {
    if (!address) {
      auto addrs = usable_ipv4_addresses(link.index, addresses);
      if (addrs.empty()) {
        rejected.push_back(how + ": interface " + link.name + " has no usable IPv4 address");
        return std::nullopt;
      }
      address = addrs.front();
    }
    if (link.mtu == 0) {
      rejected.push_back(how + ": interface " + link.name + " has MTU 0");
      return std::nullopt;
    }
    external_interface out;
    out.link = link;
    out.address = *address;
    out.public_ip = sel.public_ip.value_or(*address);
    out.mtu = link.mtu;
    return out;
  };

  auto by_iface = [&](const std::string& value) -> std::optional<external_interface> {
    std::string how = "--iface " + value;
    if (auto ip = net::ipv4_address::try_parse(value)) {
      for (const auto& l : links) {
        auto addrs = usable_ipv4_addresses(l.index, addresses);
        if (std::find(addrs.begin(), addrs.end(), *ip) != addrs.end()) return finish(how, l, *ip);
      }
      rejected.push_back(how + ": no interface has this IPv4 address");
      return std::nullopt;
    }
    for (const auto& l : links)
      if (l.name == value) return finish(how, l, std::nullopt);
    rejected.push_back(how + ": no interface with this name");
    return std::nullopt;
  };

  auto by_regex = [&](const std::string& pattern) -> std::optional<external_interface> {
    std::string how = "--iface-regex " + pattern;
    std::regex re;
    try {
      re = std::regex(pattern, std::regex::ECMAScript);
    } catch (const std::regex_error& e) {
      fail(error_kind::invalid_argument,
           "--iface-regex \"" + pattern + "\" is not a valid regular expression: " + e.what());
    }
    for (const auto& l : links)
      for (auto a : usable_ipv4_addresses(l.index, addresses))
        if (std::regex_search(a.to_string(), re)) return finish(how, l, a);
    for (const auto& l : links)
      if (std::regex_search(l.name, re)) return finish(how, l, std::nullopt);
    rejected.push_back(how + ": matches no interface name or IPv4 address");
    return std::nullopt;
  };

  auto by_default_route = [&]() -> std::optional<external_interface> {
    std::string how = "default route";
    for (const auto& r : routes) {
      if (r.table != 254 || r.destination.prefix_length() != 0) continue;
      if (r.output_link_index <= 0) {
        rejected.push_back(
            how + ": the default IPv4 route (" +
            std::string(r.type == route_type::blackhole ? "blackhole" : "no output interface") +
            ") has no interface");
        return std::nullopt;
      }
      for (const auto& l : links)
        if (l.index == r.output_link_index) return finish(how, l, std::nullopt);
      rejected.push_back(how + ": its interface index " + std::to_string(r.output_link_index) +
                         " does not exist");
      return std::nullopt;
    }
    rejected.push_back(how + ": there is no default IPv4 route in the main table");
    return std::nullopt;
  };

  if (sel.ifaces.empty() && sel.iface_regexes.empty()) {
    if (auto found = by_default_route()) return *found;
  } else {
    for (const auto& v : sel.ifaces)
      if (auto found = by_iface(v)) return *found;
    for (const auto& p : sel.iface_regexes)
      if (auto found = by_regex(p)) return *found;
  }
  fail(error_kind::not_found, "no usable external interface: " + detail::join(rejected, "; ") +
                                  "; interfaces on this host: " + all_links());
}

}  // namespace alivpc::netlink
