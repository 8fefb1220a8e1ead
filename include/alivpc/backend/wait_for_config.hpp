// Waiting for the network config, as flanneld does: a node may start before the config is
// published or while etcd is unreachable, so "not found" and transient errors are retried with
// growing waits (and logged); anything else (a malformed config) is thrown. nullopt when stopped.
#pragma once

#include <alivpc/config/network_config.hpp>
#include <alivpc/error.hpp>
#include <alivpc/lease/lease_store.hpp>
#include <alivpc/runtime/log.hpp>
#include <alivpc/runtime/scheduler.hpp>

#include <optional>

namespace alivpc::backend {

template <lease::lease_store Store, scheduler S>
task<std::optional<config::network_config>> wait_for_network_config(
    Store& store, S& sched, async_event<S>& stop, logger log,
    clock_duration max_wait = std::chrono::seconds(30)) {
  clock_duration wait = std::chrono::seconds(1);
  for (;;) {
    std::string problem;
    try {
      auto cfg = co_await store.get_network_config();
      co_return cfg;
    } catch (const error& e) {
      if (e.kind() != error_kind::not_found && e.kind() != error_kind::transient) throw;
      problem = e.what();
    }
    log.warn(problem + " (retrying)");  // (not inside the handler: no co_await there)
    if (co_await stop.wait_until(sched.now() + wait)) co_return std::nullopt;
    wait = std::min<clock_duration>(wait * 2, max_wait);
  }
}

}  // namespace alivpc::backend
