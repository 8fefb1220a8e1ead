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
// This header is the startup; the jobs after it have their own, sharing a
// detail::backend_context. Two tasks, so that neither can hold up the other: the lease task
// (lease_task.hpp) and the route task (route_reconciler.hpp, or classic_strategy.hpp).
#pragma once

#include <alivpc/backend/backend_options.hpp>
#include <alivpc/backend/classic_strategy.hpp>
#include <alivpc/backend/detail/backend_context.hpp>
#include <alivpc/backend/lease_task.hpp>
#include <alivpc/backend/route_follower.hpp>
#include <alivpc/backend/route_leader.hpp>
#include <alivpc/backend/route_reconciler.hpp>
#include <alivpc/cloud/route_api.hpp>
#include <alivpc/config/network_config.hpp>
#include <alivpc/error.hpp>
#include <alivpc/lease/lease_store.hpp>
#include <alivpc/lease/subnet_file.hpp>
#include <alivpc/netlink/host_network.hpp>
#include <alivpc/runtime/log.hpp>
#include <alivpc/runtime/scheduler.hpp>

#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace alivpc::backend {

namespace detail {
// Leader mode's parts, for stores that can elect a leader; nothing otherwise.
struct no_leader_part {
  explicit no_leader_part(auto&) {}
};
template <class Store, class Cloud, class Host, class Sched,
          bool = lease::route_coordination<Store>>
struct leader_parts {
  using leader = no_leader_part;
  using follower = no_leader_part;
};
template <class Store, class Cloud, class Host, class Sched>
struct leader_parts<Store, Cloud, Host, Sched, true> {
  using leader = route_leader<Store, Cloud, Host, Sched>;
  using follower = route_follower<Store, Cloud, Host, Sched>;
};
}  // namespace detail

template <lease::lease_store Store, cloud::cloud_route_api Cloud, netlink::host_network Host,
          scheduler Sched>
class basic_backend {
 public:
  basic_backend(Sched& sched, Store& store, Cloud& cloud, Host& host, backend_options options,
                logger log = {})
      : ctx_(sched, store, cloud, host, std::move(options), std::move(log)) {}

  const backend_status& status() const noexcept { return ctx_.status; }
  const backend_options& options() const noexcept { return ctx_.opts; }
  const logger& log() const noexcept { return ctx_.log; }
  bool stopping() const noexcept { return ctx_.stopping; }
  // The instance (or ENI) our routes point at; empty before run() learned it.
  const std::string& next_hop_id() const noexcept { return ctx_.next_hop_id; }

  // Called after each change of readiness (the daemon flips /healthz, the simulator records).
  // NOLINTNEXTLINE(performance-unnecessary-value-param): moved (tidy cannot see through ctx_)
  void on_ready(std::function<void(const backend_status&)> fn) { ctx_.on_ready = std::move(fn); }

  // Ask run() to return at its next step; leaves lease and routes in place unless
  // release_on_exit.
  void stop() {
    ctx_.stopping = true;
    ctx_.wake.set();
    lease_.stop();
  }

  task<void> run(config::network_config cfg) {
    // 1. Config and credentials first: a node that cannot work takes no lease.
    config::require_ali_vpc(cfg);
    ctx_.cfg = cfg;
    lease_.make_keeper();  // checks TTLs
    const bool leader_mode = ctx_.opts.writer == route_writer::leader;
    if (leader_mode && !lease::route_coordination<Store>)
      fail(error_kind::invalid_argument,
           "route writer leader: this lease store cannot elect a route leader");
    if (leader_mode && ctx_.opts.mode == strategy::classic)
      fail(error_kind::invalid_argument,
           "route writer leader: not with the classic strategy (it writes its own route)");
    // A leader-mode node that is never a candidate makes no cloud call: it needs no credentials.
    const bool cloud_free = leader_mode && !ctx_.opts.leader_candidate;
    if (!cloud_free) co_await ctx_.cloud.ensure_credentials();
    // 2. External interface.
    ctx_.ext = ctx_.host.select_external_interface(ctx_.opts.iface);
    ctx_.log.info("using interface " + ctx_.ext.link.name + " address " +
                  ctx_.ext.address.to_string() + " public IP " + ctx_.ext.public_ip.to_string() +
                  " MTU " + std::to_string(ctx_.ext.mtu));
    // 3. Who we are, and the VPC we are in.
    // Operations and their names are named locals (GCC 12: see task.hpp).
    const std::string identity_what = "read instance metadata";
    auto read_identity = [&] { return ctx_.cloud.identity(); };
    auto identity = co_await with_retry(identity_what, read_identity);
    if (!identity) co_return co_await finish();
    ctx_.identity = *identity;
    std::optional<net::ipv4_cidr> vpc_cidr = ctx_.identity.vpc_cidr;
    if (!cloud_free) {
      const std::string describe_what = "DescribeVpcs " + ctx_.identity.vpc_id;
      auto describe = [&] { return ctx_.cloud.describe_vpc(ctx_.identity.vpc_id); };
      auto vpc = co_await with_retry(describe_what, describe);
      if (!vpc) co_return co_await finish();
      vpc_ = *vpc;
      vpc_cidr = ctx_.identity.vpc_cidr.value_or(vpc_.cidr);
    }
    if (vpc_cidr && ctx_.cfg.network->overlaps(*vpc_cidr))
      fail(error_kind::invalid_argument,
           "network config: Network: " + ctx_.cfg.network->to_string() + " overlaps the VPC CIDR " +
               vpc_cidr->to_string() + " of " + ctx_.identity.vpc_id +
               ": choose a flannel Network outside the VPC (e.g. "
               "10.24.0.0/16 for a 192.168.0.0/16 VPC)");
    ctx_.next_hop_type = ctx_.opts.next_hop_type.empty() ? "Instance" : ctx_.opts.next_hop_type;
    ctx_.next_hop_id =
        ctx_.opts.next_hop_id.empty() ? ctx_.identity.instance_id : ctx_.opts.next_hop_id;
    if (ctx_.next_hop_type != "Instance" && ctx_.opts.next_hop_id.empty())
      fail(error_kind::invalid_argument,
           "next hop type " + ctx_.next_hop_type + " needs a next hop id (the ENI id)");
    ctx_.log.info(
        "instance " + ctx_.identity.instance_id + " in " + ctx_.identity.region_id + " VPC " +
        ctx_.identity.vpc_id + (vpc_cidr ? " (" + vpc_cidr->to_string() + ")" : std::string()) +
        (cloud_free ? std::string(", routes by the route leader") : " VRouter " + vpc_.vrouter_id));

    // 4. The route tables (a permission problem shows before a lease is taken).
    if (!cloud_free) ctx_.tables = co_await route_tables();
    if (ctx_.stopping) co_return co_await finish();
    for (auto& t : ctx_.tables)
      ctx_.status.routes[t] = route_state::unknown;
    // 5. The lease, kept by its own task from here on.
    ctx_.attrs = lease::lease_attrs{ctx_.ext.public_ip};
    ctx_.attrs.backend_type = "ali-vpc";
    ctx_.attrs.backend_data = {{"InstanceId", ctx_.identity.instance_id},
                               {"NextHopType", ctx_.next_hop_type}};
    const auto previous = previous_subnet();
    if (!co_await lease_.acquire(previous)) co_return co_await finish();
    lease_.start();
    // 6. Routes, subnet file, ready; then keep it true.
    if (ctx_.opts.mode == strategy::classic) {
      co_await classic_.run();
    } else if (leader_mode) {
      if constexpr (lease::route_coordination<Store>) {
        if (ctx_.opts.leader_candidate) {
          leader_running_ = true;
          spawn(ctx_.sched, run_leader(), [](const std::exception_ptr&) {});
        }
        co_await follower_.run();
      }
    } else {
      co_await routes_.run();
    }
    co_await finish();
    if (ctx_.fatal) fail(ctx_.fatal->kind(), ctx_.fatal->what());
  }

 private:
  // The subnet of the last run on this node (from its subnet file), to claim again first.
  std::optional<net::ipv4_cidr> previous_subnet() {
    try {
      auto f = ctx_.opts.subnet_file.empty() ? std::nullopt
                                             : lease::read_subnet_file(ctx_.opts.subnet_file);
      if (f && ctx_.cfg.network->contains(f->subnet)) return f->subnet;
    } catch (const error& e) {
      ctx_.log.warn(std::string("ignoring the previous subnet file: ") + e.what());
    }
    return std::nullopt;
  }

  task<std::vector<std::string>> route_tables() {
    const auto& opts = ctx_.opts;
    if (!opts.route_table_ids.empty()) co_return opts.route_table_ids;
    const auto& settings = ctx_.cfg.backend.settings;
    if (auto it = settings.find("RouteTableIDs"); it != settings.end()) {
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
    auto list = [&] { return ctx_.cloud.list_route_table_ids(vpc_.vrouter_id); };
    auto ids = co_await with_retry(list_what, list);
    if (ids && ids->empty())
      fail(error_kind::not_found, "VRouter " + vpc_.vrouter_id + " has no route tables");
    if (!ids) co_return std::vector<std::string>{};
    if (opts.mode == strategy::classic) ids->resize(1);  // the original looked at the first only
    co_return *ids;
  }

  // Retries fn with capped exponential backoff and jitter until it succeeds or stop() (then
  // nullopt). Bad input (invalid_argument) is fatal at once; so is every error in classic mode.
  template <class Fn>
  auto with_retry(std::string what, Fn fn)
      -> task<std::optional<typename decltype(fn())::value_type>> {
    auto retry = ctx_.error_backoff();
    while (!ctx_.stopping) {
      try {
        co_return co_await fn();
      } catch (const error& e) {
        if (e.kind() == error_kind::invalid_argument || e.kind() == error_kind::cancelled ||
            (ctx_.opts.mode == strategy::classic))
          throw;
        ctx_.note_error(what, e);
      }
      co_await ctx_.wake.wait_until(ctx_.sched.now() +
                                    retry.next(ctx_.sched.random()));  // (not in the handler)
    }
    co_return std::nullopt;
  }

  // The route leader's task; finish() waits until it has ended however it ends (spawn's
  // handler sees only an exception, and a leader that resigns returns normally).
  task<void> run_leader() {
    if constexpr (lease::route_coordination<Store>) {
      try {
        co_await leader_.run();
      } catch (const error&) {  // cancelled: the process died; run() handles every other error
      }
    }
    leader_running_ = false;
    leader_done_.notify();
  }

  // On the way out: --release-on-exit gives routes and lease back; then the lease task ends.
  task<void> finish() {
    if (ctx_.opts.release_on_exit && ctx_.status.current_lease && !ctx_.fatal)
      co_await lease_.release();
    ctx_.set_ready(false);
    lease_.stop();
    co_await lease_.join();
    ctx_.stopping = true;  // the route leader resigns and ends
    ctx_.wake.set();
    while (leader_running_)
      co_await leader_done_.wait();
  }

  detail::backend_context<Store, Cloud, Host, Sched> ctx_;
  lease_task<Store, Cloud, Host, Sched> lease_{ctx_};
  route_reconciler<Store, Cloud, Host, Sched> routes_{ctx_, lease_};
  classic_strategy<Store, Cloud, Host, Sched> classic_{ctx_};
  typename detail::leader_parts<Store, Cloud, Host, Sched>::leader leader_{ctx_};
  typename detail::leader_parts<Store, Cloud, Host, Sched>::follower follower_{ctx_};
  bool leader_running_ = false;
  async_event<Sched> leader_done_{ctx_.sched};
  cloud::vpc_info vpc_;
};

}  // namespace alivpc::backend
