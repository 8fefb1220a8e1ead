// basic_backend: the ali-vpc logic (lease -> VPC route, kept true over time), written once over
// four policies and run unchanged by the daemon (etcd + AliCloud OpenAPI + rtnetlink + Asio)
// and by the simulator (memory etcd + VPC model + fake host + virtual time).
//
//   co_await backend.run(config);   // returns after stop(); throws on a fatal error
//
// Fatal (thrown out of run, before any lease is taken where possible): an invalid config, no
// credentials, no usable interface, a flannel Network overlapping the VPC CIDR. Everything
// else (API errors, etcd outages, throttling, quota) is reported and retried with backoff.
#pragma once

#include <alivpc/backend/backend_options.hpp>
#include <alivpc/cloud/route_api.hpp>
#include <alivpc/config/network_config.hpp>
#include <alivpc/error.hpp>
#include <alivpc/lease/lease_store.hpp>
#include <alivpc/lease/subnet_file.hpp>
#include <alivpc/netlink/host_network.hpp>
#include <alivpc/runtime/log.hpp>
#include <alivpc/runtime/scheduler.hpp>

#include <algorithm>
#include <functional>
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
        wake_(sched) {}

  const backend_status& status() const noexcept { return status_; }
  const backend_options& options() const noexcept { return opts_; }
  const logger& log() const noexcept { return log_; }
  bool stopping() const noexcept { return stopping_; }

  // Called after each change of readiness (the daemon flips /healthz, the simulator records).
  void on_ready(std::function<void(const backend_status&)> fn) { on_ready_ = std::move(fn); }

  // Ask run() to return at its next step; leaves lease and routes in place unless
  // release_on_exit.
  void stop() {
    stopping_ = true;
    wake_.set();
  }

  task<void> run(config::network_config cfg) {
    // 1. Config and credentials first: a node that cannot work takes no lease.
    config::require_ali_vpc(cfg);
    cfg_ = cfg;
    co_await cloud_.ensure_credentials();
    // 2. External interface.
    ext_ = host_.select_external_interface(opts_.iface);
    log_.info("using interface " + ext_.link.name + " address " + ext_.address.to_string() +
              " public IP " + ext_.public_ip.to_string() + " MTU " + std::to_string(ext_.mtu));
    // 3. Who we are, and the VPC we are in.
    // Operations and their names are named locals: GCC 12 mishandles temporaries (strings,
    // lambdas) inside a co_await expression.
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

    // 4. The lease.
    co_await acquire_lease();
    if (stopping_) co_return co_await finish();
    // 5. The route tables.
    tables_ = co_await route_tables();
    for (auto& t : tables_)
      status_.routes[t] = route_state::unknown;
    if (opts_.mode == strategy::classic) co_return co_await run_classic();

    // 6. + 7. Routes, subnet file, ready.
    co_await reconcile_all(/*initial=*/true);
    watch_ = std::make_shared<bool>(true);
    spawn(sched_, watch_leases(watch_), [log = log_](std::exception_ptr e) {
      try {
        std::rethrow_exception(std::move(e));
      } catch (const std::exception& ex) {
        log.warn(std::string("lease watch ended: ") + ex.what());
      }
    });
    // 8. Keep it true.
    co_await keep_alive();
    *watch_ = false;
    co_return co_await finish();
  }

 private:
  using clock = std::chrono::steady_clock;

  // ---- lease ----

  task<void> acquire_lease() {
    std::optional<net::ipv4_cidr> previous;
    try {
      auto f =
          opts_.subnet_file.empty() ? std::nullopt : lease::read_subnet_file(opts_.subnet_file);
      if (f && cfg_.network->contains(f->subnet)) previous = f->subnet;
    } catch (const error& e) {
      log_.warn(std::string("ignoring the previous subnet file: ") + e.what());
    }
    lease::lease_attrs attrs{ext_.public_ip};
    attrs.backend_type = "ali-vpc";
    auto acquire = [&] { return store_.acquire_lease(cfg_, attrs, previous, opts_.lease_ttl); };
    auto l = co_await with_retry("acquire a subnet lease", acquire);
    if (!l) co_return;  // stopping
    status_.current_lease = *l;
    log_.info("acquired lease " + l->subnet.to_string() +
              (l->is_reservation() ? " (reservation)" : ""));
  }

  // Renews when due; returns false when the lease is gone (lost or unrenewable).
  task<bool> renew_if_due() {
    auto& l = *status_.current_lease;
    if (l.is_reservation() || sched_.wall_now() < renew_at_wall(l)) co_return true;
    try {
      status_.current_lease = co_await store_.renew_lease(l, opts_.lease_ttl);
      ++status_.lease_renewals;
      renew_retry_at_.reset();
      log_.debug("renewed lease " + l.subnet.to_string());
      co_return true;
    } catch (const error& e) {
      if (e.kind() == error_kind::not_found) {
        log_.error("lease " + l.subnet.to_string() + " was lost: " + e.what());
        co_return false;
      }
      ++status_.lease_renewal_failures;
      renew_retry_at_ = sched_.now() + opts_.renew_retry;
      log_.warn("renewing lease " + l.subnet.to_string() + " failed, retrying in " +
                std::to_string(opts_.renew_retry.count()) + "s: " + e.what());
      if (l.expiration && sched_.wall_now() >= *l.expiration) {
        log_.error("lease " + l.subnet.to_string() + " expired while etcd was unreachable");
        co_return false;
      }
      co_return true;
    }
  }

  wall_time renew_at_wall(const lease::lease& l) const {
    return *l.expiration - std::chrono::duration_cast<wall_time::duration>(opts_.renew_margin);
  }

  // Watches the subnets prefix: deletion of our key is a lost lease (within one round trip).
  task<void> watch_leases(std::shared_ptr<bool> alive) {
    std::int64_t revision = 0;
    try {
      auto list = co_await store_.list_leases();
      revision = list.revision;
    } catch (const error& e) {
      log_.warn(std::string("cannot list leases for the watch: ") + e.what());
      if (e.kind() == error_kind::cancelled) co_return;
    }
    clock_duration backoff = std::chrono::seconds(1);
    while (*alive && !stopping_) {
      bool failed = false;
      try {
        auto r = co_await store_.watch_leases(revision);
        if (!*alive) co_return;
        revision = r.revision;
        backoff = std::chrono::seconds(1);
        for (auto& ev : r.events) {
          if (ev.type == lease::lease_event_type::removed && status_.current_lease &&
              ev.value.subnet == status_.current_lease->subnet) {
            lease_lost_ = true;
            wake_.notify();
          }
        }
      } catch (const error& e) {
        if (!*alive || e.kind() == error_kind::cancelled) co_return;
        log_.debug(std::string("lease watch: ") + e.what());
        failed = true;
      }
      if (failed) {  // (no co_await inside a handler)
        co_await wake_.wait_until(sched_.now() + jittered(backoff));
        backoff = std::min<clock_duration>(backoff * 2, std::chrono::seconds(30));
      }
    }
  }

  // ---- the main loop ----

  task<void> keep_alive() {
    auto next_reconcile = sched_.now() + opts_.reconcile_period;
    while (!stopping_) {
      auto deadline = next_reconcile;
      if (auto& l = status_.current_lease; l && !l->is_reservation()) {
        auto due = renew_retry_at_ ? *renew_retry_at_ : to_steady(renew_at_wall(*l));
        deadline = std::min(deadline, due);
      }
      if (!lease_lost_) co_await wake_.wait_until(deadline);
      if (stopping_) break;
      bool still_ours = !lease_lost_ && co_await renew_if_due();
      if (!still_ours) {
        co_await handle_lease_loss();
        next_reconcile = sched_.now() + opts_.reconcile_period;
        continue;
      }
      if (sched_.now() >= next_reconcile) {
        co_await reconcile_all(/*initial=*/false);
        next_reconcile = sched_.now() + opts_.reconcile_period;
      }
    }
  }

  task<void> handle_lease_loss() {
    ++status_.lease_losses;
    lease_lost_ = false;
    auto old = status_.current_lease->subnet;
    set_ready(false);
    // Stop routing a subnet that may soon be another node's: remove our entries for it.
    for (auto& t : tables_) {
      // The spec lives here: tasks are lazy, so a temporary inside the lambda would dangle.
      cloud::route_spec spec{t, old, next_hop_type_, next_hop_id_};
      const std::string what = "DeleteRouteEntry " + old.to_string() + " in " + t;
      auto remove = [&] { return cloud_.delete_route_entry(spec); };
      co_await with_retry(what, remove);
      ++status_.route_deletes;
      status_.routes[t] = route_state::missing;
    }
    status_.current_lease.reset();
    co_await acquire_lease();
    if (!stopping_) co_await reconcile_all(/*initial=*/true);
  }

  task<void> finish() {
    if (opts_.release_on_exit && status_.current_lease) {
      auto l = *status_.current_lease;
      log_.info("releasing lease " + l.subnet.to_string() + " and its routes (--release-on-exit)");
      for (auto& t : tables_) {
        try {
          cloud::route_spec spec{t, l.subnet, next_hop_type_,
                                 next_hop_id_};  // named: GCC 12 mishandles temporaries in co_await
          co_await cloud_.delete_route_entry(spec);
        } catch (const error& e) {
          log_.warn("removing the route in " + t + " failed: " + e.what());
        }
      }
      try {
        co_await store_.revoke_lease(l);
      } catch (const error& e) {
        log_.warn(std::string("revoking the lease failed: ") + e.what());
      }
      status_.current_lease.reset();
    }
    set_ready(false);
    co_return;
  }

  // ---- routes ----

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
             "[\"vtb-xxx\"], got " +
                 it->dump());
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

  task<void> reconcile_all(bool initial) {
    ++status_.reconciles;
    bool all_ok = true;
    for (auto& t : tables_) {
      if (stopping_) co_return;
      all_ok = co_await reconcile_table(t, initial) && all_ok;
    }
    if (!all_ok || stopping_) co_return;
    if (initial || !status_.ready) {
      write_subnet_file();
      set_ready(true);
    }
  }

  // Makes `table` hold exactly our entry for our subnet, then waits for it to be Available.
  // Returns true when it is; on an error it reports, backs off and tries again (never throws
  // for a cloud error). Retries until stop(), so a full table recovers when a slot frees.
  task<bool> reconcile_table(const std::string& table, bool initial) {
    clock_duration backoff = opts_.route_poll_first;
    bool created_after_drift = false;
    std::optional<clock_duration> failure_wait;
    while (!stopping_ && status_.current_lease) {
      try {
        auto subnet = status_.current_lease->subnet;
        auto entries = co_await cloud_.list_route_entries(table);
        const cloud::route_entry* ours = nullptr;
        for (auto& e : entries) {
          if (e.type != cloud::route_entry_type::custom) continue;
          if (e.destination == subnet) {
            if (e.next_hop_id == next_hop_id_) {
              ours = &e;
            } else {
              // The lease (an atomic etcd claim) says this subnet is ours: an entry for it that
              // points elsewhere is a dead node's leftover and would block ours forever.
              log_.warn("route " + subnet.to_string() + " in " + table + " points at " +
                        e.next_hop_id + " (a stale entry of a previous holder): replacing it");
              cloud::route_spec spec{
                  table, e.destination, e.next_hop_type,
                  e.next_hop_id};  // named: GCC 12 mishandles temporaries in co_await
              co_await cloud_.delete_route_entry(spec);
              ++status_.route_deletes;
            }
          } else if (e.next_hop_id == next_hop_id_ && cfg_.network->contains(e.destination) &&
                     e.destination.prefix_length() != 0) {
            // A previous subnet of ours inside the flannel Network: not ours any more.
            log_.info("removing our old route " + e.destination.to_string() + " from " + table);
            cloud::route_spec spec{
                table, e.destination, e.next_hop_type,
                e.next_hop_id};  // named: GCC 12 mishandles temporaries in co_await
            co_await cloud_.delete_route_entry(spec);
            ++status_.route_deletes;
          }
        }
        if (!ours) {
          if (!initial && !created_after_drift) {
            ++status_.repairs;
            log_.warn("route " + subnet.to_string() + " in " + table + " is missing: repairing");
          }
          created_after_drift = true;
          status_.routes[table] = route_state::missing;
          cloud::route_spec spec{table, subnet, next_hop_type_,
                                 next_hop_id_};  // named: GCC 12 mishandles temporaries in co_await
          co_await cloud_.create_route_entry(spec);
          ++status_.route_creates;
          status_.routes[table] = route_state::pending;
        } else if (ours->status == cloud::route_entry_status::available) {
          if (status_.routes[table] != route_state::available)
            log_.info("route " + subnet.to_string() + " -> " + next_hop_id_ + " is Available in " +
                      table);
          status_.routes[table] = route_state::available;
          co_return true;
        } else {
          status_.routes[table] = route_state::pending;  // Pending/Modifying: wait, never recreate
        }
        co_await wake_.wait_until(sched_.now() + backoff);
        backoff = std::min<clock_duration>(backoff * 2, opts_.route_poll_max);
      } catch (const error& e) {
        if (e.kind() == error_kind::cancelled) throw;
        note_error("route table " + table, e);
        status_.routes[table] = route_state::failing;
        set_ready(false);
        // Permanent errors (quota, permissions) are retried slowly: an operator may fix them.
        bool soon = e.kind() == error_kind::transient || e.kind() == error_kind::conflict;
        failure_wait = soon ? backoff : clock_duration(opts_.error_backoff_max);
      }
      if (failure_wait) {  // (no co_await inside a handler)
        co_await wake_.wait_until(sched_.now() + jittered(*failure_wait));
        failure_wait.reset();
        backoff = std::min<clock_duration>(backoff * 2, opts_.error_backoff_max);
      }
    }
    co_return false;
  }

  // ---- the original flannel backend, step for step ----

  task<void> run_classic() {
    // Any error ends the daemon, as it did.
    const auto& table = tables_.front();
    auto subnet = status_.current_lease->subnet;
    auto entries = co_await cloud_.list_route_entries(table);
    bool keep = false;
    for (auto& e : entries) {
      if (e.type != cloud::route_entry_type::custom || e.next_hop_id != next_hop_id_) continue;
      if (e.destination == subnet && e.status == cloud::route_entry_status::available) {
        keep = true;
      } else if (e.destination.prefix_length() != 0) {  // 0.0.0.0/0 is kept (DNAT)
        cloud::route_spec spec{table, e.destination, e.next_hop_type,
                               e.next_hop_id};  // named: GCC 12 mishandles temporaries in co_await
        co_await cloud_.delete_route_entry(spec);
        ++status_.route_deletes;
      }
    }
    if (!keep) {
      cloud::route_spec spec{table, subnet, "Instance",
                             next_hop_id_};  // named: GCC 12 mishandles temporaries in co_await
      co_await cloud_.create_route_entry(spec);
      ++status_.route_creates;
    }
    // Poll the whole table every 5 s, up to 60 s, until every entry is Available.
    for (int i = 0; i < 12; ++i) {
      co_await sleep_for(sched_, std::chrono::seconds(5));
      auto now = co_await cloud_.list_route_entries(table);
      bool all = std::all_of(now.begin(), now.end(), [](auto& e) {
        return e.status == cloud::route_entry_status::available;
      });
      if (all) {
        status_.routes[table] = route_state::available;
        write_subnet_file();
        set_ready(true);
        // Then nothing more: no renewal-time check, no repair. Wait for stop.
        while (!stopping_)
          co_await wake_.wait();
        co_return co_await finish();
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
    clock_duration backoff = std::chrono::seconds(1);
    while (!stopping_) {
      try {
        co_return co_await fn();
      } catch (const error& e) {
        if (e.kind() == error_kind::invalid_argument || e.kind() == error_kind::cancelled ||
            (opts_.mode == strategy::classic))
          throw;
        note_error(what, e);
      }
      co_await wake_.wait_until(sched_.now() + jittered(backoff));  // (not inside the handler)
      backoff = std::min<clock_duration>(backoff * 2, opts_.error_backoff_max);
    }
    co_return std::nullopt;
  }
  template <class Fn>
  requires std::is_same_v<decltype(std::declval<Fn>()()), task<void>> task<void> with_retry(
      std::string what, Fn fn) {
    // Named first: a lambda temporary inside a co_await expression trips GCC 12.
    auto attempts = with_retry(std::move(what), [&]() -> task<bool> {
      co_await fn();
      co_return true;
    });
    // NOLINTNEXTLINE(bugprone-use-after-move): clang-tidy 14 counts co_await's expansion as uses.
    co_await std::move(attempts);
  }

  // An empty path writes nothing (the simulator's thousands of nodes keep no files).
  void write_subnet_file() {
    if (opts_.subnet_file.empty()) return;
    auto& l = *status_.current_lease;
    lease::write_subnet_file(opts_.subnet_file,
                             lease::subnet_file{*cfg_.network, l.subnet, ext_.mtu, opts_.ip_masq});
    log_.info("wrote " + opts_.subnet_file.string() + " for " + l.subnet.to_string());
  }

  void note_error(const std::string& what, const error& e) {
    ++status_.errors;
    status_.last_error = what + ": " + e.what();
    log_.error(status_.last_error + " (will retry)");
  }

  clock_duration jittered(clock_duration d) {
    // Equal jitter: half fixed, half random, so retries of many nodes spread out.
    auto half = d / 2;
    return half + clock_duration(static_cast<clock_duration::rep>(
                      sched_.random().below(static_cast<std::uint64_t>(half.count()) + 1)));
  }

  time_point to_steady(wall_time t) const {
    auto delta = t - sched_.wall_now();
    return sched_.now() + std::chrono::duration_cast<clock_duration>(delta);
  }

  void set_ready(bool ready) {
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
  async_event<Sched> wake_;
  std::function<void(const backend_status&)> on_ready_;

  config::network_config cfg_;
  netlink::external_interface ext_;
  cloud::instance_identity identity_;
  cloud::vpc_info vpc_;
  std::vector<std::string> tables_;
  std::string next_hop_type_, next_hop_id_;
  backend_status status_;
  std::optional<time_point> renew_retry_at_;
  std::shared_ptr<bool> watch_;
  bool stopping_ = false;
  bool lease_lost_ = false;
};

}  // namespace alivpc::backend
