// What the backend needs from a cloud: who am I (instance metadata), which route tables to
// program, and route entries to list, create and delete. Models: cloud::aliyun_route_api
// (the real OpenAPI over HTTPS) and the simulator's VPC model adapter.
#pragma once

#include <alivpc/cloud/api_error.hpp>
#include <alivpc/net/ipv4.hpp>
#include <alivpc/runtime/task.hpp>

#include <concepts>
#include <cstddef>
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
  // For batch creates: RouteEntryName and Description of the new entry, so that an operator
  // sees who made it (e.g. "alivpc:<subnet>"); the single create does not send them.
  std::string name{};
  std::string description{};
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

// ---- batches: CreateRouteEntries / DeleteRouteEntries (VPC API) ------------------------------

inline constexpr std::size_t max_routes_per_batch = 50;  // the service's limit per call

// What the service said about one route of a batch.
struct route_batch_item {
  route_spec route;             // as sent
  std::string failure_code;     // FailedCode; empty: accepted (being created / being deleted)
  std::string failure_message;  // FailedMessage
  bool accepted() const noexcept { return failure_code.empty(); }
  // What a failure means, by the one classifier (api_error.hpp):
  //   duplicate (VPC_ROUTE_ENTRY_CIDR_BLOCK_DUPLICATE): the destination has an entry; success
  //     only when its next hop is ours (list it), else another owner's;
  //   conflict (VPC_ROUTE_ENTRY_STATUS_ERROR): the entry is Pending or Deleting; look again later;
  //   not_found (VPC_ROUTER_ENTRY_NOT_EXIST): on delete, already gone;
  //   quota (QuotaExceeded): the table is full; bad_request: a wrong next hop, a reserved range...
  api_error_class failure_class() const { return classify(failure_code, 400); }
};

struct route_batch_result {
  std::string request_id;
  std::vector<route_batch_item> items;       // one per route sent, in the order sent
  std::vector<std::string> route_entry_ids;  // RouteEntryIds as answered
  bool dry_run = false;                      // the service validated the batch and changed nothing
  std::size_t accepted_count() const noexcept {
    std::size_t n = 0;
    for (const auto& i : items)
      n += i.accepted() ? 1 : 0;
    return n;
  }
};

// apply: write; dry_run: DryRun=true, the service validates the batch and changes nothing.
enum class batch_mode { apply, dry_run };

// A cloud that also writes up to max_routes_per_batch routes in one call (one write for the
// service's one-write-per-VPC rule). The routes may name several tables of one VPC. A batch
// fails as a whole (throws) only when the service refuses it whole; otherwise each route has its
// outcome in route_batch_result::items, in the order sent.
//
// The caller's side of the contract: a duplicate is never success by itself. The client resends
// a batch after an ambiguous failure (no answer), and batches have no ClientToken, so a
// duplicate may be this very batch's earlier copy, or another node's entry: list the entry and
// compare its next hop. Likewise "not exist" on delete is success.
template <class C>
concept batch_route_api = cloud_route_api<C> && requires(C& c, std::vector<route_spec> routes) {
  { c.create_route_entries(routes) } -> std::same_as<task<route_batch_result>>;
  { c.delete_route_entries(routes) } -> std::same_as<task<route_batch_result>>;
};

}  // namespace alivpc::cloud
