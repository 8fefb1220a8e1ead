// classic_strategy: the route step of strategy::classic, the original flannel ali-vpc backend
// step for step, kept to compare the robust strategy with.
#pragma once

#include <alivpc/backend/detail/backend_context.hpp>

#include <algorithm>
#include <chrono>

namespace alivpc::backend {

template <lease::lease_store Store, cloud::cloud_route_api Cloud, netlink::host_network Host,
          scheduler Sched>
class classic_strategy {
 public:
  explicit classic_strategy(detail::backend_context<Store, Cloud, Host, Sched>& ctx) : ctx_(ctx) {}

  // Any error ends the daemon, as it did. Returns after stop() or a lost lease.
  task<void> run() {
    auto& status = ctx_.status;
    const auto& table = ctx_.tables.front();
    auto subnet = status.current_lease->subnet;
    const cloud::route_entry_filter whole{};
    auto entries = co_await ctx_.cloud.list_route_entries(table, whole);
    bool keep = false;
    for (auto& e : entries) {
      if (e.type != cloud::route_entry_type::custom || e.next_hop_id != ctx_.next_hop_id) continue;
      if (e.destination == subnet && e.status == cloud::route_entry_status::available) {
        keep = true;
      } else if (e.destination.prefix_length() != 0) {  // 0.0.0.0/0 is kept (DNAT)
        cloud::route_spec spec{table, e.destination, e.next_hop_type, e.next_hop_id};
        co_await ctx_.cloud.delete_route_entry(spec);
        ++status.route_deletes;
      }
    }
    if (!keep) {
      cloud::route_spec spec{table, subnet, "Instance", ctx_.next_hop_id};
      co_await ctx_.cloud.create_route_entry(spec);
      ++status.route_creates;
    }
    // Poll the whole table every 5 s, up to 60 s, until every entry is Available.
    for (int i = 0; i < 12; ++i) {
      co_await sleep_for(ctx_.sched, std::chrono::seconds(5));
      auto now = co_await ctx_.cloud.list_route_entries(table, whole);
      bool all = std::all_of(now.begin(), now.end(), [](auto& e) {
        return e.status == cloud::route_entry_status::available;
      });
      if (all) {
        status.routes[table] = route_state::available;
        if (!ctx_.write_subnet_file())
          fail(error_kind::permanent, "classic: cannot write the subnet file");
        ctx_.set_ready(true);
        // Then nothing more: no renewal-time check, no repair (flanneld still keeps the lease,
        // and exits when it is lost). Wait for stop.
        while (!ctx_.stopping && !ctx_.fatal)
          co_await ctx_.wake.wait();
        co_return;
      }
    }
    fail(error_kind::transient,
         "classic: route table " + table + " did not become Available within 60 s");
  }

 private:
  detail::backend_context<Store, Cloud, Host, Sched>& ctx_;
};

}  // namespace alivpc::backend
