// basic_backend: the ali-vpc logic (lease -> VPC route, kept true over time), written once over
// four policies and run unchanged by the daemon (etcd + AliCloud OpenAPI + rtnetlink + Asio)
// and by the simulator (memory etcd + VPC model + fake host + virtual time).
//
//   co_await backend.run(config);   // returns after stop(); throws on a fatal error
//
// Fatal (thrown out of run, before any lease is taken where possible): an invalid config, no
// credentials, no usable interface, a flannel Network overlapping the VPC CIDR, a renew margin
// not shorter than the TTL. Everything else (API errors, etcd outages, throttling, quota) is
// reported and retried with backoff.
//
// Two tasks, so that neither can hold up the other:
// - the lease task (lease_keeper) renews on time whatever the cloud does, watches our key, and
//   on a loss makes the node not ready and cancels route work for the old subnet at once (the
//   loss callback runs before anything else), then claims a subnet again, preferring the old one;
// - the route task reconciles every route table for the current lease, and replaces a foreign
//   entry for our subnet only under a lease etcd confirmed moments ago (fencing).
#pragma once

#include <alivpc/backend/backend_options.hpp>
#include <alivpc/cloud/route_api.hpp>
#include <alivpc/config/network_config.hpp>
#include <alivpc/error.hpp>
#include <alivpc/lease/lease_keeper.hpp>
#include <alivpc/lease/lease_store.hpp>
#include <alivpc/lease/subnet_file.hpp>
#include <alivpc/netlink/host_network.hpp>
#include <alivpc/runtime/log.hpp>
#include <alivpc/runtime/backoff.hpp>
#include <alivpc/runtime/scheduler.hpp>

#include <algorithm>
#include <functional>
#include <map>
#include <memory>

namespace alivpc::backend {

template <lease::lease_store Store, cloud::cloud_route_api Cloud, netlink::host_network Host,
          scheduler Sched>
class basic_backend {
 public:
  basic_backend(Sched& sched, Store& store, Cloud& cloud, Host& host, backend_options options,
                logger log = {})
      : sched_(sched),
        store_(store),
        cloud_(cloud),
        host_(host),
        opts_(std::move(options)),
        log_(std::move(log)),
        wake_(sched),
        lease_task_done_(sched) {}

  const backend_status& status() const noexcept { return status_; }
  const backend_options& options() const noexcept { return opts_; }
  const logger& log() const noexcept { return log_; }
  bool stopping() const noexcept { return stopping_; }
  // The instance (or ENI) our routes point at; empty before run() learned it.
  const std::string& next_hop_id() const noexcept { return next_hop_id_; }

  // Called after each change of readiness (the daemon flips /healthz, the simulator records).
  void on_ready(std::function<void(const backend_status&)> fn) { on_ready_ = std::move(fn); }

  // Ask run() to return at its next step; leaves lease and routes in place unless
  // release_on_exit.
  void stop() {
    stopping_ = true;
    wake_.set();
    if (keeper_) keeper_->stop();
  }

  task<void> run(config::network_config cfg) {
    // 1. Config and credentials first: a node that cannot work takes no lease.
    config::require_ali_vpc(cfg);
    cfg_ = cfg;
    keeper_ = std::make_unique<keeper_type>(store_, sched_, keeper_options());  // checks TTLs
    keeper_->on_loss = [this](const lease::lease_loss& loss) { lease_lost(loss); };
    keeper_->on_renewed = [this](const lease::lease& l) {
      ++status_.lease_renewals;
      if (status_.current_lease && status_.current_lease->subnet == l.subnet)
        status_.current_lease = l;
      log_.debug("renewed lease " + l.subnet.to_string());
    };
    keeper_->on_store_reset = [this](const std::string& why) { log_.warn(why); };
    keeper_->on_watch_error = [this](const error& e) {
      log_.debug(std::string("lease watch: ") + e.what());
    };
    keeper_->on_acquire_retry = [this](const error& e) { note_error("acquire a subnet lease", e); };
    co_await cloud_.ensure_credentials();
    // 2. External interface.
    ext_ = host_.select_external_interface(opts_.iface);
    log_.info("using interface " + ext_.link.name + " address " + ext_.address.to_string() +
              " public IP " + ext_.public_ip.to_string() + " MTU " + std::to_string(ext_.mtu));
    // 3. Who we are, and the VPC we are in.
    // Operations and their names are named locals (GCC 12: see task.hpp).
    auto read_identity = [&] { return cloud_.identity(); };
    auto identity = co_await with_retry("read instance metadata", read_identity);
    if (!identity) co_return co_await finish();
    identity_ = *identity;
    const std::string describe_what = "DescribeVpcs " + identity_.vpc_id;
    auto describe = [&] { return cloud_.describe_vpc(identity_.vpc_id); };
    auto vpc = co_await with_retry(describe_what, describe);
    if (!vpc) co_return co_await finish();
    vpc_ = *vpc;
    auto vpc_cidr = identity_.vpc_cidr.value_or(vpc_.cidr);
    if (cfg_.network->overlaps(vpc_cidr))
      fail(error_kind::invalid_argument, "network config: Network: " + cfg_.network->to_string() +
                                             " overlaps the VPC CIDR " + vpc_cidr.to_string() +
                                             " of " + identity_.vpc_id +
                                             ": choose a flannel Network outside the VPC (e.g. "
                                             "10.24.0.0/16 for a 192.168.0.0/16 VPC)");
    next_hop_type_ = opts_.next_hop_type.empty() ? "Instance" : opts_.next_hop_type;
    next_hop_id_ = opts_.next_hop_id.empty() ? identity_.instance_id : opts_.next_hop_id;
    if (next_hop_type_ != "Instance" && opts_.next_hop_id.empty())
      fail(error_kind::invalid_argument,
           "next hop type " + next_hop_type_ + " needs a next hop id (the ENI id)");
    log_.info("instance " + identity_.instance_id + " in " + identity_.region_id + " VPC " +
              identity_.vpc_id + " (" + vpc_cidr.to_string() + ") VRouter " + vpc_.vrouter_id);

    // 4. The route tables (a permission problem shows before a lease is taken).
    tables_ = co_await route_tables();
    if (stopping_) co_return co_await finish();
    for (auto& t : tables_)
      status_.routes[t] = route_state::unknown;
    // 5. The lease, kept by its own task from here on.
    attrs_ = lease::lease_attrs{ext_.public_ip};
    attrs_.backend_type = "ali-vpc";
    attrs_.backend_data = {{"InstanceId", identity_.instance_id}, {"NextHopType", next_hop_type_}};
    if (!co_await acquire_lease(previous_subnet())) co_return co_await finish();
    lease_task_running_ = true;
    spawn(sched_, keep_lease(), [this](std::exception_ptr e) {
      lease_task_running_ = false;
      lease_task_done_.notify();
      try {
        std::rethrow_exception(std::move(e));
      } catch (const std::exception& ex) {
        log_.error(std::string("lease task ended: ") + ex.what());
      }
    });
    // 6. Routes, subnet file, ready; then keep it true.
    if (opts_.mode == strategy::classic)
      co_await run_classic();
    else
      co_await keep_routes();
    co_await finish();
    if (fatal_) fail(fatal_->kind(), fatal_->what());
  }

 private:
  using clock = std::chrono::steady_clock;
  using keeper_type = lease::lease_keeper<Store, Sched>;

  lease::keeper_options keeper_options() const {
    lease::keeper_options k;
    k.ttl = opts_.lease_ttl;
    k.renew_margin = opts_.renew_margin;
    k.backoff.initial = std::chrono::seconds(1);
    k.backoff.max = std::chrono::duration_cast<std::chrono::milliseconds>(opts_.renew_retry);
    return k;
  }

  // ---- the lease ----

  std::optional<net::ipv4_cidr> previous_subnet() {
    try {
      auto f =
          opts_.subnet_file.empty() ? std::nullopt : lease::read_subnet_file(opts_.subnet_file);
      if (f && cfg_.network->contains(f->subnet)) return f->subnet;
    } catch (const error& e) {
      log_.warn(std::string("ignoring the previous subnet file: ") + e.what());
    }
    return std::nullopt;
  }

  // Claims a lease (flannel's order, `previous` first when free); retries until it has one or
  // stop(). Returns false when stopped.
  task<bool> acquire_lease(std::optional<net::ipv4_cidr> previous) {
    while (!stopping_) {
      std::optional<error> failure;
      try {
        auto l = co_await keeper_->acquire(cfg_, attrs_, previous);
        if (stopping_) co_return false;
        status_.current_lease = l;
        log_.info(
            "acquired lease " + l.subnet.to_string() + (l.is_reservation() ? " (reservation)" : ""),
            {{"subnet", l.subnet.to_string()}});
        co_return true;
      } catch (const error& e) {
        if (e.kind() == error_kind::cancelled || e.kind() == error_kind::invalid_argument) throw;
        failure = e;  // out of subnets, a lost race too often: wait and try again
      }
      note_error("acquire a subnet lease", *failure);
      co_await wake_.wait_until(sched_.now() + jittered(opts_.error_backoff_max));
    }
    co_return false;
  }

  // Runs synchronously inside the keeper, before any other step: from here on nothing may act
  // for the old subnet (route work checks the generation) and the node is not ready.
  void lease_lost(const lease::lease_loss& loss) {
    ++status_.lease_losses;
    ++lease_generation_;
    lost_subnet_ = loss.last.subnet;
    status_.current_lease.reset();
    status_.last_error = "lease " + loss.last.subnet.to_string() + " " +
                         std::string(lease::to_string(loss.reason)) + ": " + loss.detail;
    log_.error(status_.last_error, {{"subnet", loss.last.subnet.to_string()},
                                    {"reason", std::string(lease::to_string(loss.reason))}});
    if (loss.taken_by && loss.taken_by->attrs.public_ip == attrs_.public_ip) {
      auto other = lease::lease_instance_id(loss.taken_by->attrs);
      log_.error("two nodes claim PublicIP " + attrs_.public_ip.to_string() + ": this one (" +
                 identity_.instance_id + ") and " + (other.empty() ? "another" : other) +
                 "; give each node its own --public-ip (or --iface) so that their leases stay "
                 "apart");
    }
    set_ready(false);
    wake_.notify();
  }

  // The lease task: keep, and after a loss claim again (the old subnet first, so that a lease
  // lost to an etcd that lost its data comes back with the route untouched).
  task<void> keep_lease() {
    while (!stopping_) {
      auto loss = co_await keeper_->keep();
      if (!loss || stopping_) break;
      if (opts_.mode == strategy::classic) {  // flanneld exits when its lease is gone
        fatal_ = error(error_kind::not_found, "lease lost: " + status_.last_error);
        wake_.notify();
        break;
      }
      const auto old = loss->last.subnet;
      spawn_route_withdrawal(old);
      // Losses in quick succession (two nodes that take each other's claims) back off instead
      // of fighting at etcd's speed.
      if (last_loss_ && sched_.now() - *last_loss_ < std::chrono::minutes(1))
        co_await wake_.wait_until(sched_.now() + loss_backoff_.next(sched_.random()));
      else
        loss_backoff_.reset();
      last_loss_ = sched_.now();
      if (stopping_) break;
      if (!co_await acquire_lease(old)) break;
      if (status_.current_lease->subnet == old) {
        ++status_.lease_reclaims;
        log_.info("claimed " + old.to_string() + " again: its routes stay",
                  {{"subnet", old.to_string()}});
      }
      reconcile_now_ = true;
      wake_.notify();
    }
    lease_task_running_ = false;
    lease_task_done_.notify();
  }

  // After lost_route_hold without a lease on `subnet`, removes our entries for it from every
  // table (retrying) until they are gone or the subnet is ours again.
  void spawn_route_withdrawal(net::ipv4_cidr subnet) {
    ++withdrawals_running_;
    spawn(sched_, withdraw_routes(subnet), [this](std::exception_ptr e) {
      --withdrawals_running_;
      lease_task_done_.notify();
      try {
        std::rethrow_exception(std::move(e));
      } catch (const std::exception& ex) {
        log_.debug(std::string("route withdrawal ended: ") + ex.what());
      }
    });
  }

  bool holding(net::ipv4_cidr subnet) const {
    return status_.current_lease && status_.current_lease->subnet == subnet;
  }

  task<void> withdraw_routes(net::ipv4_cidr subnet) {
    const auto until = sched_.now() + opts_.lost_route_hold;
    while (!stopping_ && !holding(subnet) && sched_.now() < until)
      co_await wake_.wait_until(until);
    auto backoff = error_backoff();
    std::vector<std::string> left = tables_;
    bool said = false;
    while (!stopping_ && !holding(subnet) && !left.empty()) {
      if (!std::exchange(said, true))
        log_.warn("no lease on " + subnet.to_string() + " for " +
                  std::to_string(opts_.lost_route_hold.count()) +
                  " s: removing its routes to this node");
      const std::string what = "removing the route of the lost lease " + subnet.to_string();
      std::function<bool()> abandon = [this, subnet] { return stopping_ || holding(subnet); };
      left = co_await remove_our_routes(subnet, left, what, abandon);
      if (left.empty()) break;
      co_await wake_.wait_until(sched_.now() + backoff.next(sched_.random()));
    }
    --withdrawals_running_;
    lease_task_done_.notify();
  }

  // One pass over `tables`: deletes our entries for `subnet` (each by the RouteEntryId listed;
  // one already Deleting is left to finish), until `abandon()` says to stop. Returns the tables
  // where one may remain (still there, still Deleting, or the listing failed).
  task<std::vector<std::string>> remove_our_routes(net::ipv4_cidr subnet,
                                                   std::vector<std::string> tables,
                                                   std::string what,
                                                   std::function<bool()> abandon) {
    std::vector<std::string> still;
    for (auto& t : tables) {
      std::optional<error> failure;
      bool gone = true;
      try {
        const cloud::route_entry_filter ours{subnet, next_hop_id_};
        auto entries = co_await cloud_.list_route_entries(t, ours);
        for (auto& e : entries) {
          if (abandon()) break;
          if (e.type != cloud::route_entry_type::custom) continue;
          gone = false;
          if (e.status != cloud::route_entry_status::deleting) co_await delete_listed(e);
        }
      } catch (const error& e) {
        failure = e;
        gone = false;
      }
      if (failure) {
        std::string context = what;
        context.append(": route table ").append(t);
        note_error(context, *failure);
      }
      if (!gone) still.push_back(t);
    }
    co_return still;
  }

  // Whether etcd said, moments ago, that the lease is ours; asks it when it has not.
  task<bool> lease_confirmed() {
    if (auto at = keeper_->confirmed_at(); at && sched_.now() - *at <= opts_.fence_window)
      co_return true;
    const bool ours = co_await keeper_->confirm();
    auto at = keeper_->confirmed_at();
    co_return ours&& at&& sched_.now() - *at <= opts_.fence_window;
  }

  // ---- the route task ----

  task<void> keep_routes() {
    auto next = sched_.now();
    auto retry = error_backoff();
    while (!stopping_ && !fatal_) {
      if (std::exchange(reconcile_now_, false)) next = sched_.now();
      if (status_.current_lease && sched_.now() >= next) {
        const bool ok = co_await reconcile_all();
        if (stopping_ || fatal_) break;
        if (ok) {
          retry.reset();
          next = sched_.now() + opts_.reconcile_period;
          co_await check_config();
        } else {
          next = sched_.now() + retry.next(sched_.random());
        }
        continue;
      }
      if (reconcile_now_) continue;
      co_await wake_.wait_until(status_.current_lease ? next : time_point::max());
    }
  }

  bool current(std::uint64_t generation) const {
    return !stopping_ && !fatal_ && generation == lease_generation_ &&
           status_.current_lease.has_value();
  }

  // One pass over every table for the current lease; true when all hold our Available route
  // and the subnet file says so (then the node is ready).
  task<bool> reconcile_all() {
    const auto generation = lease_generation_;
    const auto subnet = status_.current_lease->subnet;
    ++status_.reconciles;
    bool all_ok = true;
    for (auto& t : tables_) {
      if (!current(generation)) co_return false;
      all_ok = co_await reconcile_table(t, subnet, generation) && all_ok;
    }
    if (!all_ok || !current(generation)) co_return false;
    if (written_subnet_ != subnet && !write_subnet_file()) {
      set_ready(false);
      co_return false;
    }
    set_ready(true);
    co_return true;
  }

  // Makes `table` hold exactly our entry for our subnet, then waits for it to be Available.
  // Returns true when it is; on an error it reports, backs off and tries again (never throws
  // for a cloud error), until the lease changes or stop(). A routine check that fails (say,
  // throttled) leaves a route last seen Available as it was: readiness follows the route and
  // the lease, not the success of one poll.
  task<bool> reconcile_table(const std::string& table, net::ipv4_cidr subnet,
                             std::uint64_t generation) {
    clock_duration backoff = opts_.route_poll_first;
    bool repairing = false;
    while (current(generation)) {
      std::optional<error> failure;
      try {
        const auto filter = listing_for(table, subnet);
        auto entries = co_await cloud_.list_route_entries(table, filter);
        if (filter.empty()) full_listings_[table] = {generation, sched_.now()};
        if (!current(generation)) co_return false;
        auto step = co_await converge(table, subnet, entries, generation, repairing);
        if (step == converge_step::available) co_return true;
      } catch (const error& e) {
        if (e.kind() == error_kind::cancelled) throw;
        failure = e;
      }
      clock_duration wait = backoff;
      if (failure) {
        note_error("route table " + table, *failure);
        if (!repairing && status_.routes[table] == route_state::available) co_return true;
        status_.routes[table] = route_state::failing;
        set_ready(false);
        // Permanent errors (quota, permissions) are retried slowly: an operator may fix them.
        const bool soon =
            failure->kind() == error_kind::transient || failure->kind() == error_kind::conflict;
        wait = jittered(soon ? backoff : clock_duration(opts_.error_backoff_max));
      }
      if (!current(generation)) co_return false;
      co_await wake_.wait_until(sched_.now() + wait);
      backoff = std::min<clock_duration>(
          backoff * 2, failure ? clock_duration(opts_.error_backoff_max) : opts_.route_poll_max);
    }
    co_return false;
  }

  // What to list of `table`: the whole table on a lease's first pass and every
  // full_listing_period (our old entries for other subnets are found then, and the table's size);
  // otherwise only our subnet's entries, ours or a stale one: a routine check or a poll then
  // costs one small answer however many nodes share the table.
  cloud::route_entry_filter listing_for(const std::string& table, net::ipv4_cidr subnet) const {
    auto it = full_listings_.find(table);
    if (it != full_listings_.end() && it->second.generation == lease_generation_ &&
        sched_.now() - it->second.at < opts_.full_listing_period)
      return {subnet, {}};
    return {};
  }

  enum class converge_step { available, waiting };

  // One step towards "our entry, Available" from a listing of the table.
  task<converge_step> converge(const std::string& table, net::ipv4_cidr subnet,
                               std::vector<cloud::route_entry> entries, std::uint64_t generation,
                               bool& repairing) {
    std::optional<cloud::route_entry> ours;
    std::vector<cloud::route_entry> foreign, old;
    for (auto& e : entries) {
      if (e.type != cloud::route_entry_type::custom) continue;
      if (e.destination == subnet) {
        if (e.next_hop_id == next_hop_id_)
          ours = e;
        else
          foreign.push_back(e);
      } else if (e.next_hop_id == next_hop_id_ && cfg_.network->contains(e.destination) &&
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
        ++status_.fenced_replacements_skipped;
        fail(error_kind::transient, "route " + subnet.to_string() + " in " + table + " points at " +
                                        foreign.front().next_hop_id +
                                        ": not replaced while our lease is not confirmed by etcd");
      }
      for (auto& f : foreign) {
        if (f.status == cloud::route_entry_status::deleting) continue;
        log_.warn("route " + subnet.to_string() + " in " + table + " points at " + f.next_hop_id +
                      " (a stale entry of a previous holder): replacing it",
                  {{"subnet", subnet.to_string()},
                   {"table", table},
                   {"route_entry_id", f.route_entry_id}});
        co_await delete_listed(f);
      }
      status_.routes[table] = route_state::missing;
      co_return converge_step::waiting;  // ours once the old one is gone (one write at a time)
    }
    if (!ours) {
      if (!repairing && status_.routes[table] == route_state::available) {
        ++status_.repairs;
        log_.warn("route " + subnet.to_string() + " in " + table + " is missing: repairing",
                  {{"subnet", subnet.to_string()}, {"table", table}});
      }
      repairing = true;
      status_.routes[table] = route_state::missing;
      set_ready(false);
      cloud::route_spec spec{table, subnet, next_hop_type_, next_hop_id_};
      co_await cloud_.create_route_entry(spec);
      ++status_.route_creates;
      status_.routes[table] = route_state::pending;
      co_return converge_step::waiting;
    }
    if (ours->status == cloud::route_entry_status::available) {
      if (status_.routes[table] != route_state::available)
        log_.info(
            "route " + subnet.to_string() + " -> " + next_hop_id_ + " is Available in " + table,
            {{"subnet", subnet.to_string()},
             {"table", table},
             {"route_entry_id", ours->route_entry_id}});
      status_.routes[table] = route_state::available;
      co_return converge_step::available;
    }
    status_.routes[table] = route_state::pending;  // Pending/Modifying: wait, never recreate
    co_return converge_step::waiting;
  }

  // Entries with our next hop for other subnets of the Network: a previous subnet of ours. One
  // is removed unless a live lease on that subnet names this instance (another daemon here,
  // whose route it is). A subnet another instance holds now is removed too: an entry there that
  // points at us misroutes that node's pods (its own daemon would replace it, fenced, anyway).
  task<void> remove_old_entries(const std::string& table, std::vector<cloud::route_entry> old,
                                std::uint64_t generation) {
    auto listing = co_await store_.list_leases();
    if (!current(generation)) co_return;
    for (auto& e : old) {
      const lease::lease* holder = nullptr;
      for (auto& l : listing.leases)
        if (l.subnet == e.destination) holder = &l;
      if (holder && holds_here(*holder)) {
        log_.debug("route " + e.destination.to_string() + " in " + table +
                   " points here and is held by another daemon of this instance: left alone");
        continue;
      }
      log_.info("removing our old route " + e.destination.to_string() + " from " + table +
                    (holder ? " (its subnet is held by " + holder->attrs.public_ip.to_string() + ")"
                            : " (no lease holds it)"),
                {{"subnet", e.destination.to_string()},
                 {"table", table},
                 {"route_entry_id", e.route_entry_id}});
      co_await delete_listed(e);
    }
  }

  // A live lease whose node runs on this instance (recorded in BackendData), or, for a lease
  // without that record (flannel, older versions), one with our PublicIP.
  bool holds_here(const lease::lease& l) const {
    auto id = lease::lease_instance_id(l.attrs);
    return id.empty() ? l.attrs.public_ip == attrs_.public_ip : id == identity_.instance_id;
  }

  // Deletes exactly one listed entry (by its RouteEntryId when the listing gave one).
  task<void> delete_listed(const cloud::route_entry& e) {
    cloud::route_spec spec{e.route_table_id, e.destination, e.next_hop_type, e.next_hop_id,
                           e.route_entry_id};
    co_await cloud_.delete_route_entry(spec);
    ++status_.route_deletes;
  }

  // A changed Network or backend type cannot be applied to a running node: give the old
  // subnet's routes and lease back, then end with an error so that the supervisor restarts
  // the daemon with the new config (flanneld needs a restart too).
  task<void> check_config() {
    std::optional<config::network_config> now;
    try {
      now = co_await store_.get_network_config();
    } catch (const error& e) {
      log_.debug(std::string("re-reading the network config: ") + e.what());
    }
    if (!now || stopping_) co_return;
    std::string change;
    if (now->network != cfg_.network)
      change = "Network " + cfg_.network->to_string() + " -> " +
               (now->network ? now->network->to_string() : std::string("none"));
    else if (now->backend.type != cfg_.backend.type)
      change = "Backend.Type " + cfg_.backend.type + " -> " + now->backend.type;
    else if (now->subnet_len != cfg_.subnet_len)
      change =
          "SubnetLen " + std::to_string(cfg_.subnet_len) + " -> " + std::to_string(now->subnet_len);
    if (change.empty()) co_return;
    log_.error("the network config changed (" + change +
               "): giving back this node's subnet and routes, then exiting so that a restart "
               "applies the new config");
    co_await release();
    fatal_ = error(error_kind::invalid_argument,
                   "network config changed (" + change + "): restart to apply it");
  }

  task<void> finish() {
    if (opts_.release_on_exit && status_.current_lease && !fatal_) co_await release();
    set_ready(false);
    if (keeper_) keeper_->stop();
    while (lease_task_running_ || withdrawals_running_ > 0)
      co_await lease_task_done_.wait();
  }

  // Removes our routes for the current lease from every table, checks that none is left, and
  // only then gives the lease back: a lease released while its route is still in a table lets
  // another node take a subnet that still routes here. Bounded by release_timeout.
  task<void> release() {
    if (!status_.current_lease) co_return;
    const auto l = *status_.current_lease;
    const auto deadline = sched_.now() + opts_.release_timeout;
    log_.info("releasing lease " + l.subnet.to_string() + " and its routes");
    std::vector<std::string> left = tables_;
    // No jitter: nothing else waits on the same service at this moment.
    backoff retry({std::chrono::milliseconds(500), std::chrono::seconds(5), jitter::none});
    const std::string what = "release";
    std::function<bool()> never = [] { return false; };
    while (!left.empty() && sched_.now() < deadline) {
      left = co_await remove_our_routes(l.subnet, left, what, never);
      if (left.empty()) break;
      co_await sleep_until(sched_, std::min(deadline, sched_.now() + retry.next(sched_.random())));
    }
    if (!left.empty()) {
      std::string tables;
      for (auto& t : left)
        tables += (tables.empty() ? "" : ", ") + t;
      status_.last_error = "release: the route " + l.subnet.to_string() + " is still in " + tables +
                           ": the lease is kept so that no other node takes a subnet "
                           "that still routes here";
      log_.error(status_.last_error);
      co_return;
    }
    keeper_->stop();
    if (!holding(l.subnet)) co_return;  // lost meanwhile: the key is someone else's now
    std::optional<error> failure;
    try {
      co_await store_.revoke_lease(l);
    } catch (const error& e) {
      failure = e;
    }
    if (failure) {
      status_.last_error = std::string("release: giving the lease back failed: ") +
                           failure->what() + " (it expires after its TTL)";
      log_.error(status_.last_error);
      co_return;
    }
    ++lease_generation_;
    status_.current_lease.reset();
    status_.released = true;
    log_.info("released lease " + l.subnet.to_string() + "; no route of it is left");
  }

  // ---- routes in the route tables ----

  task<std::vector<std::string>> route_tables() {
    if (!opts_.route_table_ids.empty()) co_return opts_.route_table_ids;
    if (auto it = cfg_.backend.settings.find("RouteTableIDs"); it != cfg_.backend.settings.end()) {
      std::vector<std::string> ids;
      if (it->is_array())
        for (auto& v : *it)
          if (v.is_string()) ids.push_back(v.template get<std::string>());
      if (ids.empty() || !it->is_array() || ids.size() != it->size())
        fail(error_kind::invalid_argument,
             "network config: Backend.RouteTableIDs: expected a list of route table ids like "
             "[\"vtb-xxx\"]");
      co_return ids;
    }
    const std::string list_what = "list route tables of " + vpc_.vrouter_id;
    auto list = [&] { return cloud_.list_route_table_ids(vpc_.vrouter_id); };
    auto ids = co_await with_retry(list_what, list);
    if (ids && ids->empty())
      fail(error_kind::not_found, "VRouter " + vpc_.vrouter_id + " has no route tables");
    if (!ids) co_return std::vector<std::string>{};
    if (opts_.mode == strategy::classic) ids->resize(1);  // the original looked at the first only
    co_return *ids;
  }

  // ---- the original flannel backend, step for step ----

  task<void> run_classic() {
    // Any error ends the daemon, as it did.
    const auto& table = tables_.front();
    auto subnet = status_.current_lease->subnet;
    const cloud::route_entry_filter whole{};
    auto entries = co_await cloud_.list_route_entries(table, whole);
    bool keep = false;
    for (auto& e : entries) {
      if (e.type != cloud::route_entry_type::custom || e.next_hop_id != next_hop_id_) continue;
      if (e.destination == subnet && e.status == cloud::route_entry_status::available) {
        keep = true;
      } else if (e.destination.prefix_length() != 0) {  // 0.0.0.0/0 is kept (DNAT)
        cloud::route_spec spec{table, e.destination, e.next_hop_type, e.next_hop_id};
        co_await cloud_.delete_route_entry(spec);
        ++status_.route_deletes;
      }
    }
    if (!keep) {
      cloud::route_spec spec{table, subnet, "Instance", next_hop_id_};
      co_await cloud_.create_route_entry(spec);
      ++status_.route_creates;
    }
    // Poll the whole table every 5 s, up to 60 s, until every entry is Available.
    for (int i = 0; i < 12; ++i) {
      co_await sleep_for(sched_, std::chrono::seconds(5));
      auto now = co_await cloud_.list_route_entries(table, whole);
      bool all = std::all_of(now.begin(), now.end(), [](auto& e) {
        return e.status == cloud::route_entry_status::available;
      });
      if (all) {
        status_.routes[table] = route_state::available;
        if (!write_subnet_file())
          fail(error_kind::permanent, "classic: cannot write the subnet file");
        set_ready(true);
        // Then nothing more: no renewal-time check, no repair (flanneld still keeps the lease,
        // and exits when it is lost). Wait for stop.
        while (!stopping_ && !fatal_)
          co_await wake_.wait();
        co_return;
      }
    }
    fail(error_kind::transient,
         "classic: route table " + table + " did not become Available within 60 s");
  }

  // ---- helpers ----

  // Retries fn with capped exponential backoff and jitter until it succeeds or stop() (then
  // nullopt). Bad input (invalid_argument) is fatal at once; so is every error in classic mode.
  template <class Fn>
  auto with_retry(std::string what, Fn fn)
      -> task<std::optional<typename decltype(fn())::value_type>> {
    auto retry = error_backoff();
    while (!stopping_) {
      try {
        co_return co_await fn();
      } catch (const error& e) {
        if (e.kind() == error_kind::invalid_argument || e.kind() == error_kind::cancelled ||
            (opts_.mode == strategy::classic))
          throw;
        note_error(what, e);
      }
      co_await wake_.wait_until(sched_.now() +
                                retry.next(sched_.random()));  // (not in the handler)
    }
    co_return std::nullopt;
  }

  // The subnet file for the current lease; false (reported, retried by the caller) when it
  // cannot be written. An empty path writes nothing (the simulator's nodes keep no files).
  bool write_subnet_file() {
    auto& l = *status_.current_lease;
    if (opts_.subnet_file.empty()) {
      written_subnet_ = l.subnet;
      return true;
    }
    try {
      lease::write_subnet_file(
          opts_.subnet_file, lease::subnet_file{*cfg_.network, l.subnet, ext_.mtu, opts_.ip_masq});
    } catch (const std::exception& e) {  // alivpc::error, and anything the filesystem throws
      ++status_.errors;
      status_.last_error = "writing " + opts_.subnet_file.string() + ": " + e.what();
      log_.error(status_.last_error + " (will retry)");
      return false;
    }
    written_subnet_ = l.subnet;
    log_.info("wrote " + opts_.subnet_file.string() + " for " + l.subnet.to_string());
    return true;
  }

  void note_error(const std::string& what, const error& e) {
    ++status_.errors;
    status_.last_error = what + ": " + e.what();
    log_.error(status_.last_error + " (will retry)");
  }

  // Retries after errors: from 1 s, doubling up to --error-backoff-max, with equal jitter (half
  // fixed, half random) so that many nodes spread out but none retries at once.
  backoff error_backoff() const {
    return backoff({std::chrono::seconds(1), opts_.error_backoff_max, jitter::equal});
  }
  clock_duration jittered(clock_duration d) {
    return backoff_delay({d, d, jitter::equal}, 0, sched_.random());
  }

  void set_ready(bool ready) {
    if (ready && !status_.current_lease) ready = false;
    if (status_.ready == ready) return;
    status_.ready = ready;
    if (on_ready_) on_ready_(status_);
  }

  Sched& sched_;
  Store& store_;
  Cloud& cloud_;
  Host& host_;
  backend_options opts_;
  logger log_;
  async_event<Sched> wake_, lease_task_done_;
  std::function<void(const backend_status&)> on_ready_;
  std::unique_ptr<keeper_type> keeper_;

  config::network_config cfg_;
  netlink::external_interface ext_;
  cloud::instance_identity identity_;
  cloud::vpc_info vpc_;
  lease::lease_attrs attrs_;
  std::vector<std::string> tables_;
  std::string next_hop_type_, next_hop_id_;
  backend_status status_;
  std::optional<net::ipv4_cidr> lost_subnet_, written_subnet_;
  std::optional<error> fatal_;
  std::uint64_t lease_generation_ = 0;
  struct full_listing {
    std::uint64_t generation = 0;
    time_point at{};
  };
  std::map<std::string, full_listing> full_listings_;  // by route table id
  int withdrawals_running_ = 0;
  std::optional<time_point> last_loss_;
  backoff loss_backoff_ = error_backoff();
  bool stopping_ = false, reconcile_now_ = false, lease_task_running_ = false;
};

}  // namespace alivpc::backend
