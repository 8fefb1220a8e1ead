// netlink::rtnetlink_host: the host_network policy over a real NETLINK_ROUTE socket, acting on
// the network namespace of the thread that constructs it. Not thread-safe.
#pragma once

#include <alivpc/netlink/host_network.hpp>
#include <alivpc/netlink/interface_selection.hpp>
#include <alivpc/netlink/messages.hpp>
#include <alivpc/netlink/netlink_error.hpp>
#include <alivpc/netlink/socket.hpp>

#include <string>
#include <variant>
#include <vector>

namespace alivpc::netlink {

class rtnetlink_host {
 public:
  rtnetlink_host() = default;

  std::vector<link_info> list_links() {
    return collect<link_info>(link_dump_request(), "list links");
  }

  std::vector<address_info> list_ipv4_addresses() {
    return collect<address_info>(address_dump_request(), "list IPv4 addresses");
  }

  // All IPv4 routes of every table (main, local, ...); route_info::table tells them apart.
  std::vector<route_info> list_ipv4_routes() {
    return collect<route_info>(route_dump_request(), "list IPv4 routes");
  }

  // The route the kernel would use to reach destination (RTM_GETROUTE); ENETUNREACH when none.
  route_info get_route_to(net::ipv4_address destination) {
    std::string op = "get route to " + destination.to_string();
    auto reply = socket_.request_one(route_lookup_request(destination), op);
    if (auto* r = std::get_if<route_info>(&reply)) return *r;
    fail(error_kind::parse, "netlink: " + op + ": the kernel answered with an unexpected message");
  }

  external_interface select_external_interface(const interface_selection& sel) {
    return netlink::select_external_interface(sel, list_links(), list_ipv4_addresses(),
                                              list_ipv4_routes());
  }

  // Fails with EEXIST (error_kind::conflict) when a route with this key already exists.
  void add_route(const route_info& route) { change(route_change::add, route); }
  void replace_route(const route_info& route) { change(route_change::replace, route); }
  // Fails with ESRCH (error_kind::not_found) when no such route exists.
  void delete_route(const route_info& route) { change(route_change::remove, route); }

  // A blackhole route for destination in table: packets to it are dropped silently.
  static route_info blackhole(net::ipv4_cidr destination, std::uint32_t table = 254) {
    route_info r;
    r.table = table;
    r.destination = destination;
    r.type = route_type::blackhole;
    return r;
  }

  // A separate socket receiving link and IPv4 address change notifications.
  change_subscription subscribe_changes() { return change_subscription(); }

 private:
  template <class T>
  std::vector<T> collect(const message_builder& request, std::string_view operation) {
    std::vector<T> out;
    for (auto& m : socket_.dump(request, operation))
      if (auto* v = std::get_if<T>(&m)) out.push_back(std::move(*v));
    return out;
  }

  void change(route_change c, const route_info& route) {
    socket_.request_ack(route_change_request(c, route),
                        std::string(to_string(c)) + " route " + to_string(route));
  }

  route_socket socket_;
};

static_assert(host_network<rtnetlink_host>);

}  // namespace alivpc::netlink
