// What the backend needs from a cloud: who am I (instance metadata), which route tables to
// program, and route entries to list, create and delete. Models: cloud::aliyun_route_api
// (the real OpenAPI over HTTPS) and the simulator's VPC model adapter.
#pragma once

#include <alivpc/net/ipv4.hpp>
#include <alivpc/runtime/task.hpp>

#include <concepts>
#include <optional>
#include <string>
#include <vector>

namespace alivpc::cloud {

// Facts about the instance this process runs on (ECS metadata).
struct instance_identity {
  std::string instance_id;
  std::string region_id;
  std::string zone_id;
  std::string vpc_id;
  std::string vswitch_id;
  net::ipv4_address private_ip;
  std::optional<net::ipv4_cidr> vpc_cidr;
};

struct vpc_info {
  std::string vpc_id;
  std::string region_id;
  std::string vrouter_id;
  net::ipv4_cidr cidr;
  std::string status;
};

enum class route_entry_status { pending, available, modifying, deleting, unknown };
enum class route_entry_type { system, custom, bgp, other };

struct route_entry {
  std::string route_table_id;
  std::string route_entry_id;  // empty when the API did not say (DescribeRouteTables)
  net::ipv4_cidr destination;
  route_entry_type type = route_entry_type::custom;
  std::string next_hop_type;  // "Instance", "NetworkInterface", "" for System entries, ...
  std::string next_hop_id;    // instance or ENI id
  route_entry_status status = route_entry_status::unknown;
  friend bool operator==(const route_entry&, const route_entry&) = default;
};

// One route a node wants (or wants gone) in one table.
struct route_spec {
  std::string route_table_id;
  net::ipv4_cidr destination;
  std::string next_hop_type = "Instance";  // or "NetworkInterface"
  std::string next_hop_id;
  // For deletes: when set, exactly this listed entry is deleted (by RouteEntryId), so a delete
  // can never hit an entry that another node created for the same destination since.
  std::string route_entry_id{};
  friend bool operator==(const route_spec&, const route_spec&) = default;
};

// Which entries of a table a listing wants. The server is asked to filter (DescribeRouteEntryList
// takes both), so a node's routine check costs one small answer however full the table is; the
// client checks every entry again, so a server that ignores a filter costs time, never safety.
struct route_entry_filter {
  std::optional<net::ipv4_cidr> destination;  // exactly this destination
  std::string next_hop_id;                    // exactly this next hop
  bool empty() const noexcept { return !destination && next_hop_id.empty(); }
  bool matches(const route_entry& e) const {
    return (!destination || e.destination == *destination) &&
           (next_hop_id.empty() || e.next_hop_id == next_hop_id);
  }
  friend bool operator==(const route_entry_filter&, const route_entry_filter&) = default;
};

template <class C>
concept cloud_route_api = requires(C& c, const std::string& id, const route_spec& route,
                                   const route_entry_filter& filter) {
  // Fails at once (error_kind::permanent) when no credentials can be had, saying how to give them.
  { c.ensure_credentials() } -> std::same_as<task<void>>;
  // Who this instance is, from the metadata service (cached).
  { c.identity() } -> std::same_as<task<instance_identity>>;
  // The VPC by id: its CIDR and VRouter.
  { c.describe_vpc(id) } -> std::same_as<task<vpc_info>>;
  // Every route table id of a VRouter, all pages.
  { c.list_route_table_ids(id) } -> std::same_as<task<std::vector<std::string>>>;
  // The entries of one route table that match `filter` (empty: every entry), all pages.
  { c.list_route_entries(id, filter) } -> std::same_as<task<std::vector<route_entry>>>;
  // Creates an entry; an identical existing entry is success, a different one a conflict error.
  { c.create_route_entry(route) } -> std::same_as<task<void>>;
  // Deletes an entry; an entry already gone is success.
  { c.delete_route_entry(route) } -> std::same_as<task<void>>;
};

}  // namespace alivpc::cloud
