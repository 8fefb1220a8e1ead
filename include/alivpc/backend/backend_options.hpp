// Settings of the ali-vpc backend, and what it reports about itself (for /healthz, /metrics
// and the simulator's checks).
#pragma once

#include <alivpc/cloud/route_api.hpp>
#include <alivpc/lease/lease.hpp>
#include <alivpc/netlink/host_network.hpp>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace alivpc::backend {

// robust: every route table, all pages, keep/repair, wait for our entry only, retry forever.
// classic: the original flannel backend step for step (first table only, delete-then-create of
// an own entry that is not Available, wait for the whole table, no repair, any error is fatal).
enum class strategy { robust, classic };

inline std::string_view to_string(strategy s) {
  return s == strategy::robust ? "robust" : "classic";
}

// Who writes the VPC routes. self: each node its own (flannel's way). leader: one elected route
// leader writes every node's route in batches and publishes each route's state in etcd; the
// other nodes make no cloud write and learn from etcd when their route is Available
// (route_leader.hpp).
enum class route_writer { self, leader };

inline std::string_view to_string(route_writer w) {
  return w == route_writer::self ? "self" : "leader";
}

struct backend_options {
  netlink::interface_selection iface;
  std::filesystem::path subnet_file = "/run/flannel/subnet.env";
  bool ip_masq = false;
  std::chrono::seconds lease_ttl = std::chrono::hours(24);
  std::chrono::seconds renew_margin = std::chrono::minutes(60);
  std::chrono::seconds renew_retry =
      std::chrono::minutes(1);  // flannel's retry after a failed renewal
  std::chrono::seconds reconcile_period = std::chrono::minutes(5);
  // A reconcile lists each table whole this often, or every full_listing_spread per entry the
  // table held if that is longer (and on a lease's first pass); otherwise only the entries for
  // our subnet: see route_reconciler::listing_for. Enough for the route-table-entries gauge:
  // every node samples it, so a cluster of N nodes reports a fresh count about every
  // max(1 h / N, 1 min), and a table fills no faster than nodes join (each join lists it whole).
  std::chrono::seconds full_listing_period = std::chrono::hours(1);
  std::chrono::seconds full_listing_spread = std::chrono::minutes(1);
  strategy mode = strategy::robust;
  bool release_on_exit = false;
  // Tables to program; empty: Backend.RouteTableIDs, else every table of the VPC's VRouter.
  std::vector<std::string> route_table_ids;
  // Next hop: the instance (default), or an ENI with next_hop_type "NetworkInterface".
  std::string next_hop_type = "Instance";
  std::string next_hop_id;                           // empty: the instance id from metadata
  std::chrono::milliseconds route_poll_first{1000};  // wait for Available: first poll interval
  std::chrono::milliseconds route_poll_max{10000};   // ... growing to this
  std::chrono::seconds error_backoff_max = std::chrono::minutes(2);
  // Fencing: a route for our subnet that points elsewhere is replaced only when etcd confirmed
  // our lease (acquired, renewed or listed) this recently, and never while it is in doubt.
  std::chrono::milliseconds fence_window{5000};
  // After a loss, our routes for the old subnet stay this long while we try to claim it again
  // (an etcd that lost its data, a short partition), then they are removed until we hold it:
  // no route may point at a node that holds no lease on its subnet for long.
  std::chrono::seconds lost_route_hold = std::chrono::seconds(60);
  // --release-on-exit: the time the route removal and lease release may take after a stop.
  std::chrono::seconds release_timeout = std::chrono::seconds(20);

  // Leader mode (route_writer::leader; see route_leader.hpp).
  route_writer writer = route_writer::self;
  // Campaigns for route leader. A node that never does needs no cloud credentials at all.
  bool leader_candidate = true;
  // The leadership key's TTL: a dead leader is replaced within it; a leader writes only within
  // half of it after confirming the key.
  std::chrono::seconds leader_ttl = std::chrono::seconds(30);
  // Changes (new leases, lost ones) gathered this long into one batch.
  std::chrono::milliseconds batch_window{1000};
  // Custom entries in the Network whose subnet has had no live lease this long are deleted by
  // the leader (0: two reconcile periods).
  std::chrono::seconds stale_route_grace{0};
  // The leader logs what it would collect and deletes nothing.
  bool collect_dry_run = false;
  // Custom entries each route table may hold (0: unknown until a QuotaExceeded answer).
  std::size_t route_table_quota = 0;
};

enum class route_state { unknown, missing, pending, available, failing };

inline std::string_view to_string(route_state s) {
  switch (s) {
    case route_state::unknown:
      return "unknown";
    case route_state::missing:
      return "missing";
    case route_state::pending:
      return "pending";
    case route_state::available:
      return "available";
    case route_state::failing:
      return "failing";
  }
  return "?";
}

struct backend_status {
  bool ready = false;  // lease held, routes Available, subnet file written
  std::optional<lease::lease> current_lease;
  std::map<std::string, route_state> routes;  // by route table id
  std::string last_error;
  std::uint64_t reconciles = 0;
  std::uint64_t repairs = 0;  // routes recreated after drift
  std::uint64_t route_creates = 0;
  std::uint64_t route_deletes = 0;
  std::uint64_t lease_renewals = 0;
  std::uint64_t lease_renewal_failures = 0;
  std::uint64_t lease_losses = 0;
  std::uint64_t lease_reclaims = 0;  // losses after which the same subnet was claimed again
  std::uint64_t fenced_replacements_skipped =
      0;  // foreign entries left while the lease was in doubt
  std::uint64_t errors = 0;
  // --release-on-exit finished: routes gone from every table, then the lease given back.
  bool released = false;
  // Leader mode: whether this node leads now, how often it came to, what it collected, and the
  // tables as it last listed them (custom entries; quota 0: unknown).
  bool route_leader = false;
  std::uint64_t leader_terms = 0;
  std::uint64_t stale_routes_collected = 0;
  struct table_usage {
    std::size_t entries = 0;
    std::size_t quota = 0;
  };
  std::map<std::string, table_usage> tables;
  bool healthy() const {
    if (!ready || !current_lease) return false;
    for (auto& [table, state] : routes)
      if (state != route_state::available) return false;
    return true;
  }
};

}  // namespace alivpc::backend
