// lease_task: the backend's lease, kept by a task of its own so that the cloud cannot hold it
// up. lease::lease_keeper renews on time and watches our key; on a loss this makes the node not
// ready and stops route work for the old subnet at once, then claims a subnet again, preferring
// the old one. Our routes for a lost subnet stay for lost_route_hold, then are withdrawn until
// it is ours again.
#pragma once

#include <alivpc/backend/detail/backend_context.hpp>
#include <alivpc/lease/lease_keeper.hpp>

#include <algorithm>
#include <chrono>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace alivpc::backend {

template <lease::lease_store Store, cloud::cloud_route_api Cloud, netlink::host_network Host,
          scheduler Sched>
class lease_task {
 public:
  using keeper_type = lease::lease_keeper<Store, Sched>;

  explicit lease_task(detail::backend_context<Store, Cloud, Host, Sched>& ctx)
      : ctx_(ctx), done_(ctx.sched), loss_backoff_(ctx.error_backoff()) {}

  // Throws invalid_argument for TTLs the keeper refuses (before any lease is taken).
  void make_keeper() {
    keeper_ = std::make_unique<keeper_type>(ctx_.store, ctx_.sched, keeper_options());
    keeper_->on_loss = [this](const lease::lease_loss& loss) { lease_lost(loss); };
    keeper_->on_renewed = [this](const lease::lease& l) {
      ++ctx_.status.lease_renewals;
      if (ctx_.status.current_lease && ctx_.status.current_lease->subnet == l.subnet)
        ctx_.status.current_lease = l;
      ctx_.log.debug("renewed lease " + l.subnet.to_string());
    };
    keeper_->on_store_reset = [this](const std::string& why) { ctx_.log.warn(why); };
    keeper_->on_watch_error = [this](const error& e) {
      ctx_.log.debug(std::string("lease watch: ") + e.what());
    };
    keeper_->on_acquire_retry = [this](const error& e) {
      ctx_.note_error("acquire a subnet lease", e);
    };
  }
  keeper_type& keeper() { return *keeper_; }

  // Claims a lease (flannel's order, `previous` first when free); retries until it has one or
  // stop(). Returns false when stopped.
  task<bool> acquire(std::optional<net::ipv4_cidr> previous) {
    while (!ctx_.stopping) {
      // A claim never overlaps a withdrawal's delete: a delete sent before the claim could land
      // after it and take the route of the subnet we hold again. Withdrawals check `claiming_`
      // before each delete; here we wait for the one in flight.
      while (deletes_in_flight_ > 0)
        co_await done_.wait();
      if (ctx_.stopping) co_return false;
      std::optional<error> failure;
      claiming_ = true;
      try {
        auto l = co_await keeper_->acquire(ctx_.cfg, ctx_.attrs, previous);
        claiming_ = false;
        if (ctx_.stopping) co_return false;
        ctx_.status.current_lease = l;
        ctx_.log.info(
            "acquired lease " + l.subnet.to_string() + (l.is_reservation() ? " (reservation)" : ""),
            {{"subnet", l.subnet.to_string()}});
        co_return true;
      } catch (const error& e) {
        claiming_ = false;
        if (e.kind() == error_kind::cancelled || e.kind() == error_kind::invalid_argument) throw;
        failure = e;  // out of subnets, a lost race too often: wait and try again
      }
      ctx_.note_error("acquire a subnet lease", *failure);
      co_await ctx_.wake.wait_until(ctx_.sched.now() + ctx_.jittered(ctx_.opts.error_backoff_max));
    }
    co_return false;
  }

  // Keeps the lease acquire() took, from now until stop() (or, in classic mode, its loss).
  void start() {
    running_ = true;
    spawn(ctx_.sched, keep_lease(), [this](std::exception_ptr e) {
      running_ = false;
      done_.notify();
      try {
        std::rethrow_exception(std::move(e));
      } catch (const std::exception& ex) {
        ctx_.log.error(std::string("lease task ended: ") + ex.what());
      }
    });
  }

  void stop() {
    if (keeper_) keeper_->stop();
  }

  // Waits until the lease task and every route withdrawal have ended (after stop()).
  task<void> join() {
    while (running_ || withdrawals_running_ > 0)
      co_await done_.wait();
  }

  // Removes our routes for the current lease from every table, checks that none is left, and
  // only then gives the lease back: a lease released while its route is still in a table lets
  // another node take a subnet that still routes here. Bounded by release_timeout.
  task<void> release() {
    if (!ctx_.status.current_lease) co_return;
    const auto l = *ctx_.status.current_lease;
    const auto deadline = ctx_.sched.now() + ctx_.opts.release_timeout;
    ctx_.log.info("releasing lease " + l.subnet.to_string() + " and its routes");
    // Leader mode: the route leader collects the route once the lease is gone (it writes them
    // all); this node writes none.
    std::vector<std::string> left;
    if (ctx_.opts.writer == route_writer::self) left = ctx_.tables;
    // No jitter: nothing else waits on the same service at this moment.
    backoff retry({std::chrono::milliseconds(500), std::chrono::seconds(5), jitter::none});
    const std::string what = "release";
    std::function<bool()> never = [] { return false; };
    while (!left.empty() && ctx_.sched.now() < deadline) {
      left = co_await remove_our_routes(l.subnet, left, what, never);
      if (left.empty()) break;
      co_await sleep_until(ctx_.sched,
                           std::min(deadline, ctx_.sched.now() + retry.next(ctx_.sched.random())));
    }
    if (!left.empty()) {
      std::string tables;
      for (auto& t : left)
        tables += (tables.empty() ? "" : ", ") + t;
      ctx_.status.last_error = "release: the route " + l.subnet.to_string() + " is still in " +
                               tables +
                               ": the lease is kept so that no other node takes a subnet "
                               "that still routes here";
      ctx_.log.error(ctx_.status.last_error);
      co_return;
    }
    keeper_->stop();
    if (!holding(l.subnet)) co_return;  // lost meanwhile: the key is someone else's now
    std::optional<error> failure;
    try {
      co_await ctx_.store.revoke_lease(l);
    } catch (const error& e) {
      failure = e;
    }
    if (failure) {
      ctx_.status.last_error = std::string("release: giving the lease back failed: ") +
                               failure->what() + " (it expires after its TTL)";
      ctx_.log.error(ctx_.status.last_error);
      co_return;
    }
    ++ctx_.lease_generation;
    ctx_.status.current_lease.reset();
    ctx_.status.released = true;
    ctx_.log.info("released lease " + l.subnet.to_string() + "; no route of it is left");
  }

 private:
  lease::keeper_options keeper_options() const {
    lease::keeper_options k;
    k.ttl = ctx_.opts.lease_ttl;
    k.renew_margin = ctx_.opts.renew_margin;
    k.backoff.initial = std::chrono::seconds(1);
    k.backoff.max = std::chrono::duration_cast<std::chrono::milliseconds>(ctx_.opts.renew_retry);
    return k;
  }

  // Runs synchronously inside the keeper, before any other step: from here on nothing may act
  // for the old subnet (route work checks the generation) and the node is not ready.
  void lease_lost(const lease::lease_loss& loss) {
    auto& status = ctx_.status;
    ++status.lease_losses;
    ++ctx_.lease_generation;
    status.current_lease.reset();
    status.last_error = "lease " + loss.last.subnet.to_string() + " " +
                        std::string(lease::to_string(loss.reason)) + ": " + loss.detail;
    ctx_.log.error(status.last_error, {{"subnet", loss.last.subnet.to_string()},
                                       {"reason", std::string(lease::to_string(loss.reason))}});
    if (loss.taken_by && loss.taken_by->attrs.public_ip == ctx_.attrs.public_ip) {
      auto other = lease::lease_instance_id(loss.taken_by->attrs);
      ctx_.log.error("two nodes claim PublicIP " + ctx_.attrs.public_ip.to_string() +
                     ": this one (" + ctx_.identity.instance_id + ") and " +
                     (other.empty() ? "another" : other) +
                     "; give each node its own --public-ip (or --iface) so that their leases "
                     "stay apart");
    }
    ctx_.set_ready(false);
    ctx_.wake.notify();
  }

  // The task: keep, and after a loss claim again (the old subnet first, so that a lease lost to
  // an etcd that lost its data comes back with the route untouched).
  task<void> keep_lease() {
    while (!ctx_.stopping) {
      auto loss = co_await keeper_->keep();
      if (!loss || ctx_.stopping) break;
      if (ctx_.opts.mode == strategy::classic) {  // flanneld exits when its lease is gone
        ctx_.fatal.emplace(error_kind::not_found, "lease lost: " + ctx_.status.last_error);
        ctx_.wake.notify();
        break;
      }
      const auto old = loss->last.subnet;
      if (ctx_.opts.writer == route_writer::self) spawn_route_withdrawal(old);
      // Losses in quick succession (two nodes that take each other's claims) back off instead
      // of fighting at etcd's speed.
      auto& sched = ctx_.sched;
      if (last_loss_ && sched.now() - *last_loss_ < std::chrono::minutes(1))
        co_await ctx_.wake.wait_until(sched.now() + loss_backoff_.next(sched.random()));
      else
        loss_backoff_.reset();
      last_loss_ = sched.now();
      if (ctx_.stopping) break;
      if (!co_await acquire(old)) break;
      if (ctx_.status.current_lease->subnet == old) {
        ++ctx_.status.lease_reclaims;
        ctx_.log.info("claimed " + old.to_string() + " again: its routes stay",
                      {{"subnet", old.to_string()}});
      }
      ctx_.reconcile_now = true;
      ctx_.wake.notify();
    }
    running_ = false;
    done_.notify();
  }

  // After lost_route_hold without a lease on `subnet`, removes our entries for it from every
  // table (retrying) until they are gone or the subnet is ours again.
  void spawn_route_withdrawal(net::ipv4_cidr subnet) {
    ++withdrawals_running_;
    spawn(ctx_.sched, withdraw_routes(subnet), [this](std::exception_ptr e) {
      --withdrawals_running_;
      done_.notify();
      try {
        std::rethrow_exception(std::move(e));
      } catch (const std::exception& ex) {
        ctx_.log.debug(std::string("route withdrawal ended: ") + ex.what());
      }
    });
  }

  bool holding(net::ipv4_cidr subnet) const {
    return ctx_.status.current_lease && ctx_.status.current_lease->subnet == subnet;
  }

  task<void> withdraw_routes(net::ipv4_cidr subnet) {
    auto& sched = ctx_.sched;
    const auto until = sched.now() + ctx_.opts.lost_route_hold;
    while (!ctx_.stopping && !holding(subnet) && sched.now() < until)
      co_await ctx_.wake.wait_until(until);
    auto backoff = ctx_.error_backoff();
    std::vector<std::string> left = ctx_.tables;
    bool said = false;
    while (!ctx_.stopping && !holding(subnet) && !left.empty()) {
      if (!std::exchange(said, true))
        ctx_.log.warn("no lease on " + subnet.to_string() + " for " +
                      std::to_string(ctx_.opts.lost_route_hold.count()) +
                      " s: removing its routes to this node");
      const std::string what = "removing the route of the lost lease " + subnet.to_string();
      std::function<bool()> abandon = [this, subnet] {
        return ctx_.stopping || holding(subnet) || claiming_;
      };
      left = co_await remove_our_routes(subnet, left, what, abandon);
      if (left.empty()) break;
      co_await ctx_.wake.wait_until(sched.now() + backoff.next(sched.random()));
    }
    --withdrawals_running_;
    done_.notify();
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
        const cloud::route_entry_filter ours{subnet, ctx_.next_hop_id};
        auto entries = co_await ctx_.cloud.list_route_entries(t, ours);
        for (auto& e : entries) {
          if (abandon()) break;
          if (e.type != cloud::route_entry_type::custom) continue;
          gone = false;
          if (e.status == cloud::route_entry_status::deleting) continue;
          ++deletes_in_flight_;
          std::exception_ptr delete_failure;
          try {
            co_await ctx_.delete_listed(e);
          } catch (...) {
            delete_failure = std::current_exception();
          }
          --deletes_in_flight_;
          done_.notify();
          if (delete_failure) std::rethrow_exception(delete_failure);
        }
      } catch (const error& e) {
        failure = e;
        gone = false;
      }
      if (failure) {
        std::string context = what;
        context.append(": route table ").append(t);
        ctx_.note_error(context, *failure);
      }
      if (!gone) still.push_back(t);
    }
    co_return still;
  }

  detail::backend_context<Store, Cloud, Host, Sched>& ctx_;
  async_event<Sched> done_;  // notified when the task, a withdrawal or a route delete ends
  std::unique_ptr<keeper_type> keeper_;
  bool running_ = false;
  int withdrawals_running_ = 0;
  int deletes_in_flight_ = 0;  // route deletes sent and not yet answered
  bool claiming_ = false;      // a lease claim is under way
  std::optional<time_point> last_loss_;
  backoff loss_backoff_;
};

}  // namespace alivpc::backend
