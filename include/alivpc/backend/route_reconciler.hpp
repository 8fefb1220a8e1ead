// route_reconciler: the robust strategy's route task. It makes every route table hold exactly
// our Available entry for the current lease, checks again every reconcile_period, repairs
// drift, removes our entries for subnets we no longer hold, and replaces a foreign entry for
// our subnet only under a lease etcd confirmed moments ago (fencing).
#pragma once

#include <alivpc/backend/detail/backend_context.hpp>
#include <alivpc/backend/lease_task.hpp>

#include <algorithm>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace alivpc::backend {

template <lease::lease_store Store, cloud::cloud_route_api Cloud, netlink::host_network Host,
          scheduler Sched>
class route_reconciler {
 public:
  route_reconciler(detail::backend_context<Store, Cloud, Host, Sched>& ctx,
                   lease_task<Store, Cloud, Host, Sched>& lease)
      : ctx_(ctx), lease_(lease) {}

  // Until stop() or a fatal error: reconciles at once for a new lease, then every
  // reconcile_period, and after a failed pass with backoff.
  task<void> run() {
    auto& sched = ctx_.sched;
    auto next = sched.now();
    auto retry = ctx_.error_backoff();
    while (!ctx_.stopping && !ctx_.fatal) {
      if (std::exchange(ctx_.reconcile_now, false)) next = sched.now();
      if (ctx_.status.current_lease && sched.now() >= next) {
        const bool ok = co_await reconcile_all();
        if (ctx_.stopping || ctx_.fatal) break;
        if (ok) {
          retry.reset();
          next = sched.now() + ctx_.opts.reconcile_period;
          co_await check_config();
        } else {
          next = sched.now() + retry.next(sched.random());
        }
        continue;
      }
      if (ctx_.reconcile_now) continue;
      co_await ctx_.wake.wait_until(ctx_.status.current_lease ? next : time_point::max());
    }
  }

 private:
  bool current(std::uint64_t generation) const {
    return !ctx_.stopping && !ctx_.fatal && generation == ctx_.lease_generation &&
           ctx_.status.current_lease.has_value();
  }

  // One pass over every table for the current lease; true when all hold our Available route
  // and the subnet file says so (then the node is ready).
  task<bool> reconcile_all() {
    const auto generation = ctx_.lease_generation;
    const auto subnet = ctx_.status.current_lease->subnet;
    ++ctx_.status.reconciles;
    bool all_ok = true;
    for (auto& t : ctx_.tables) {
      if (!current(generation)) co_return false;
      all_ok = co_await reconcile_table(t, subnet, generation) && all_ok;
    }
    if (!all_ok || !current(generation)) co_return false;
    if (ctx_.written_subnet != subnet && !ctx_.write_subnet_file()) {
      ctx_.set_ready(false);
      co_return false;
    }
    ctx_.set_ready(true);
    co_return true;
  }

  // Makes `table` hold exactly our entry for our subnet, then waits for it to be Available.
  // Returns true when it is; on an error it reports, backs off and tries again (never throws
  // for a cloud error), until the lease changes or stop(). A routine check that fails (say,
  // throttled) leaves a route last seen Available as it was: readiness follows the route and
  // the lease, not the success of one poll.
  task<bool> reconcile_table(const std::string& table, net::ipv4_cidr subnet,
                             std::uint64_t generation) {
    const auto& opts = ctx_.opts;
    auto& routes = ctx_.status.routes;
    clock_duration backoff = opts.route_poll_first;
    bool repairing = false;
    while (current(generation)) {
      std::optional<error> failure;
      try {
        const auto filter = listing_for(table, subnet);
        auto entries = co_await ctx_.cloud.list_route_entries(table, filter);
        if (filter.empty()) full_listings_[table] = {generation, ctx_.sched.now(), entries.size()};
        if (!current(generation)) co_return false;
        auto step = co_await converge(table, subnet, entries, generation, repairing);
        if (step == converge_step::available) co_return true;
      } catch (const error& e) {
        if (e.kind() == error_kind::cancelled) throw;
        failure = e;
      }
      clock_duration wait = backoff;
      if (failure) {
        ctx_.note_error("route table " + table, *failure);
        if (!repairing && routes[table] == route_state::available) co_return true;
        routes[table] = route_state::failing;
        ctx_.set_ready(false);
        // Permanent errors (quota, permissions) are retried slowly: an operator may fix them.
        const bool soon =
            failure->kind() == error_kind::transient || failure->kind() == error_kind::conflict;
        wait = ctx_.jittered(soon ? backoff : clock_duration(opts.error_backoff_max));
      }
      if (!current(generation)) co_return false;
      co_await ctx_.wake.wait_until(ctx_.sched.now() + wait);
      backoff = std::min<clock_duration>(
          backoff * 2, failure ? clock_duration(opts.error_backoff_max) : opts.route_poll_max);
    }
    co_return false;
  }

  // What to list of `table`: the whole table on a lease's first pass and then every
  // full_listing_period, or every full_listing_spread per entry it held if that is longer (our
  // old entries for other subnets are found then, and the table's size); otherwise only our
  // subnet's entries, ours or a stale one: a routine check or a poll then costs one small answer
  // however many nodes share the table. With the spread, N nodes sharing a table of about N
  // entries read about N entries a minute between them, not N * N an hour.
  cloud::route_entry_filter listing_for(const std::string& table, net::ipv4_cidr subnet) const {
    auto it = full_listings_.find(table);
    if (it == full_listings_.end() || it->second.generation != ctx_.lease_generation) return {};
    const auto period = std::max<clock_duration>(
        ctx_.opts.full_listing_period,
        ctx_.opts.full_listing_spread * static_cast<std::int64_t>(it->second.entries));
    if (ctx_.sched.now() - it->second.at < period) return {subnet, {}};
    return {};
  }

  enum class converge_step { available, waiting };

  // One step towards "our entry, Available" from a listing of the table.
  task<converge_step> converge(const std::string& table, net::ipv4_cidr subnet,
                               std::vector<cloud::route_entry> entries, std::uint64_t generation,
                               bool& repairing) {
    const auto& next_hop_id = ctx_.next_hop_id;
    auto& status = ctx_.status;
    std::optional<cloud::route_entry> ours;
    std::vector<cloud::route_entry> foreign, old;
    for (auto& e : entries) {
      if (e.type != cloud::route_entry_type::custom) continue;
      if (e.destination == subnet) {
        if (e.next_hop_id == next_hop_id)
          ours = e;
        else
          foreign.push_back(e);
      } else if (e.next_hop_id == next_hop_id && ctx_.cfg.network->contains(e.destination) &&
                 e.destination.prefix_length() != 0) {
        old.push_back(e);
      }
    }
    if (!old.empty()) co_await remove_old_entries(table, old, generation);
    if (!foreign.empty()) {
      // The lease (an atomic etcd claim) says this subnet is ours: an entry for it that points
      // elsewhere is a previous holder's leftover and would block ours. Replace it only under a
      // lease etcd has just confirmed; a lease in doubt replaces nothing.
      const bool confirmed = co_await lease_confirmed();
      if (!confirmed || !current(generation)) {
        ++status.fenced_replacements_skipped;
        fail(error_kind::transient, "route " + subnet.to_string() + " in " + table + " points at " +
                                        foreign.front().next_hop_id +
                                        ": not replaced while our lease is not confirmed by etcd");
      }
      for (auto& f : foreign) {
        if (f.status == cloud::route_entry_status::deleting) continue;
        ctx_.log.warn("route " + subnet.to_string() + " in " + table + " points at " +
                          f.next_hop_id + " (a stale entry of a previous holder): replacing it",
                      {{"subnet", subnet.to_string()},
                       {"table", table},
                       {"route_entry_id", f.route_entry_id}});
        co_await ctx_.delete_listed(f);
      }
      status.routes[table] = route_state::missing;
      co_return converge_step::waiting;  // ours once the old one is gone (one write at a time)
    }
    if (!ours) {
      if (!repairing && status.routes[table] == route_state::available) {
        ++status.repairs;
        ctx_.log.warn("route " + subnet.to_string() + " in " + table + " is missing: repairing",
                      {{"subnet", subnet.to_string()}, {"table", table}});
      }
      repairing = true;
      status.routes[table] = route_state::missing;
      ctx_.set_ready(false);
      cloud::route_spec spec{table, subnet, ctx_.next_hop_type, next_hop_id};
      co_await ctx_.cloud.create_route_entry(spec);
      ++status.route_creates;
      status.routes[table] = route_state::pending;
      co_return converge_step::waiting;
    }
    if (ours->status == cloud::route_entry_status::available) {
      if (status.routes[table] != route_state::available)
        ctx_.log.info(
            "route " + subnet.to_string() + " -> " + next_hop_id + " is Available in " + table,
            {{"subnet", subnet.to_string()},
             {"table", table},
             {"route_entry_id", ours->route_entry_id}});
      status.routes[table] = route_state::available;
      co_return converge_step::available;
    }
    status.routes[table] = route_state::pending;  // Pending/Modifying: wait, never recreate
    co_return converge_step::waiting;
  }

  // Whether etcd said, moments ago, that the lease is ours; asks it when it has not.
  task<bool> lease_confirmed() {
    auto& keeper = lease_.keeper();
    const auto window = ctx_.opts.fence_window;
    if (auto at = keeper.confirmed_at(); at && ctx_.sched.now() - *at <= window) co_return true;
    const bool ours = co_await keeper.confirm();
    auto at = keeper.confirmed_at();
    co_return ours&& at&& ctx_.sched.now() - *at <= window;
  }

  // Entries with our next hop for other subnets of the Network: a previous subnet of ours. One
  // is removed unless a live lease on that subnet names this instance (another daemon here,
  // whose route it is). A subnet another instance holds now is removed too: an entry there that
  // points at us misroutes that node's pods (its own daemon would replace it, fenced, anyway).
  task<void> remove_old_entries(const std::string& table, std::vector<cloud::route_entry> old,
                                std::uint64_t generation) {
    auto listing = co_await ctx_.store.list_leases();
    if (!current(generation)) co_return;
    for (auto& e : old) {
      const lease::lease* holder = nullptr;
      for (auto& l : listing.leases)
        if (l.subnet == e.destination) holder = &l;
      if (holder && holds_here(*holder)) {
        ctx_.log.debug("route " + e.destination.to_string() + " in " + table +
                       " points here and is held by another daemon of this instance: left alone");
        continue;
      }
      ctx_.log.info(
          "removing our old route " + e.destination.to_string() + " from " + table +
              (holder ? " (its subnet is held by " + holder->attrs.public_ip.to_string() + ")"
                      : " (no lease holds it)"),
          {{"subnet", e.destination.to_string()},
           {"table", table},
           {"route_entry_id", e.route_entry_id}});
      co_await ctx_.delete_listed(e);
    }
  }

  // A live lease whose node runs on this instance (recorded in BackendData), or, for a lease
  // without that record (flannel, older versions), one with our PublicIP.
  bool holds_here(const lease::lease& l) const {
    auto id = lease::lease_instance_id(l.attrs);
    return id.empty() ? l.attrs.public_ip == ctx_.attrs.public_ip : id == ctx_.identity.instance_id;
  }

  // A changed Network or backend type cannot be applied to a running node: give the old
  // subnet's routes and lease back, then end with an error so that the supervisor restarts
  // the daemon with the new config (flanneld needs a restart too).
  task<void> check_config() {
    const auto& cfg = ctx_.cfg;
    std::optional<config::network_config> now;
    try {
      now = co_await ctx_.store.get_network_config();
    } catch (const error& e) {
      ctx_.log.debug(std::string("re-reading the network config: ") + e.what());
    }
    if (!now || ctx_.stopping) co_return;
    std::string change;
    if (now->network != cfg.network)
      change = "Network " + cfg.network->to_string() + " -> " +
               (now->network ? now->network->to_string() : std::string("none"));
    else if (now->backend.type != cfg.backend.type)
      change = "Backend.Type " + cfg.backend.type + " -> " + now->backend.type;
    else if (now->subnet_len != cfg.subnet_len)
      change =
          "SubnetLen " + std::to_string(cfg.subnet_len) + " -> " + std::to_string(now->subnet_len);
    if (change.empty()) co_return;
    ctx_.log.error("the network config changed (" + change +
                   "): giving back this node's subnet and routes, then exiting so that a restart "
                   "applies the new config");
    co_await lease_.release();
    ctx_.fatal.emplace(error_kind::invalid_argument,
                       "network config changed (" + change + "): restart to apply it");
  }

  detail::backend_context<Store, Cloud, Host, Sched>& ctx_;
  lease_task<Store, Cloud, Host, Sched>& lease_;
  struct full_listing {
    std::uint64_t generation = 0;
    time_point at{};
    std::size_t entries = 0;  // what the table held then
  };
  std::map<std::string, full_listing> full_listings_;  // by route table id
};

}  // namespace alivpc::backend
