// Leader mode, every node's side: no cloud call at all. The node is ready when the route state
// the route leader published for its subnet (route_leader.hpp) says the route points at this
// node and is Available in every table. Until then it polls that key (from route_poll_first,
// doubling to route_poll_max); once ready it watches it, and follows it both ways: a route the
// leader sees gone makes the node not ready until it is back.
#pragma once

#include <alivpc/backend/detail/backend_context.hpp>
#include <alivpc/backend/route_leader.hpp>
#include <alivpc/lease/route_coordination.hpp>

#include <algorithm>
#include <string>

namespace alivpc::backend {

template <lease::lease_store Store, cloud::cloud_route_api Cloud, netlink::host_network Host,
          scheduler Sched>
requires lease::route_coordination<Store>
class route_follower {
 public:
  explicit route_follower(detail::backend_context<Store, Cloud, Host, Sched>& ctx) : ctx_(ctx) {}

  task<void> run() {
    auto& sched = ctx_.sched;
    clock_duration wait = ctx_.opts.route_poll_first;
    auto retry = ctx_.error_backoff();
    std::uint64_t generation = ctx_.lease_generation;
    while (!ctx_.stopping && !ctx_.fatal) {
      if (!ctx_.status.current_lease) {
        co_await ctx_.wake.wait();
        continue;
      }
      if (generation != ctx_.lease_generation) {  // a new lease: wait for its route afresh
        generation = ctx_.lease_generation;
        wait = ctx_.opts.route_poll_first;
        followed_.reset();
      }
      const auto subnet = ctx_.status.current_lease->subnet;
      std::optional<std::int64_t> read_at;  // the revision of a read that succeeded
      try {
        auto read = co_await ctx_.store.route_state(subnet);
        read_at = read.revision;
        // The same text as last time, with the readiness it led to, would lead to it again:
        // most reads of a ready node end here, without parsing.
        const bool same =
            followed_ && followed_->text == read.value && followed_->ready == ctx_.status.ready;
        if (generation == ctx_.lease_generation && !same) follow(subnet, read.value);
      } catch (const error& e) {
        if (e.kind() == error_kind::cancelled) throw;
        // Readiness follows the route and the lease, not the success of one read.
        ctx_.note_error("read the route state of " + subnet.to_string(), e);
      }
      if (ctx_.status.ready && read_at && generation == ctx_.lease_generation) {
        // Ready, the state changes only when the leader publishes one: a watch, not a read every
        // reconcile period (5,000 nodes would read 60,000 times an hour). It runs on its own so
        // that a new lease or a stop does not wait for it; a watch that broke is followed by a
        // read after the error backoff (the read, not the watch, sees an etcd rebuilt).
        const auto watch_id = ++watch_generation_;
        watch_ended_ = watch_failed_ = false;
        spawn(sched, watch(watch_id, subnet, *read_at), [](const std::exception_ptr&) {});
        while (!watch_ended_ && generation == ctx_.lease_generation && !ctx_.stopping &&
               !ctx_.fatal)
          co_await ctx_.wake.wait();
        ++watch_generation_;  // a watch still in flight acts on nothing
        if (!watch_failed_) {
          retry.reset();
          continue;
        }
        co_await ctx_.wake.wait_until(sched.now() + retry.next(sched.random()));
        continue;
      }
      const auto next = ctx_.status.ready ? retry.next(sched.random()) : ctx_.jittered(wait);
      if (!ctx_.status.ready) wait = std::min<clock_duration>(wait * 2, ctx_.opts.route_poll_max);
      co_await ctx_.wake.wait_until(sched.now() + next);
    }
  }

 private:
  void follow(net::ipv4_cidr subnet, const std::optional<std::string>& text) {
    auto& st = ctx_.status;
    auto state = text ? published_route::parse(*text) : std::nullopt;
    const bool ours = state && state->next_hop == ctx_.next_hop_id;
    st.routes.clear();
    if (ours)
      for (auto& [table, s] : state->tables)
        st.routes[table] = s == "Available" ? route_state::available
                           : s == "Pending" ? route_state::pending
                                            : route_state::missing;
    if (ours && state->available_everywhere()) {
      if (!st.ready) {
        if (!ctx_.write_subnet_file()) return;
        ctx_.log.info("route for " + subnet.to_string() + " Available in " +
                      std::to_string(state->tables.size()) + " table(s) (by the route leader)");
      }
      ctx_.set_ready(true);
    } else {
      if (st.ready)
        ctx_.log.warn("the route leader no longer sees our route for " + subnet.to_string());
      ctx_.set_ready(false);
    }
    followed_ = followed{text, st.ready};
  }

  // Waits for the route state to change after `revision`, watch after watch while each only
  // reaches its bound; then (unless a newer one replaced it) tells run() by ctx_.wake.
  task<void> watch(std::uint64_t id, net::ipv4_cidr subnet, std::int64_t revision) {
    bool failed = false;
    try {
      while (id == watch_generation_ && !ctx_.stopping) {
        const bool changed = co_await ctx_.store.watch_route_state(subnet, revision);
        if (changed) break;
      }
    } catch (const error& e) {
      if (e.kind() == error_kind::cancelled) co_return;
      if (id == watch_generation_)
        ctx_.note_error("watch the route state of " + subnet.to_string(), e);
      failed = true;
    }
    if (id != watch_generation_) co_return;
    watch_ended_ = true;
    watch_failed_ = failed;
    ctx_.wake.notify();
  }

  // The route state last followed to the end, and the readiness it led to.
  struct followed {
    std::optional<std::string> text;
    bool ready = false;
  };
  detail::backend_context<Store, Cloud, Host, Sched>& ctx_;
  std::optional<followed> followed_;
  std::uint64_t watch_generation_ = 0;  // of the watch run() waits for; older ones act on nothing
  bool watch_ended_ = false, watch_failed_ = false;
};

}  // namespace alivpc::backend
