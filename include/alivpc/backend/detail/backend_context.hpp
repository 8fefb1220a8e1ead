// What the jobs of basic_backend share: the four policies, the settings, what startup learned
// about this node, and the state the lease task and the route task meet on (the lease
// generation, the wake event, the stopping and fatal flags).
#pragma once

#include <alivpc/backend/backend_options.hpp>
#include <alivpc/cloud/route_api.hpp>
#include <alivpc/config/network_config.hpp>
#include <alivpc/error.hpp>
#include <alivpc/lease/lease_store.hpp>
#include <alivpc/lease/subnet_file.hpp>
#include <alivpc/netlink/host_network.hpp>
#include <alivpc/runtime/backoff.hpp>
#include <alivpc/runtime/log.hpp>
#include <alivpc/runtime/scheduler.hpp>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace alivpc::backend::detail {

template <lease::lease_store Store, cloud::cloud_route_api Cloud, netlink::host_network Host,
          scheduler Sched>
struct backend_context {
  backend_context(Sched& s, Store& st, Cloud& c, Host& h, backend_options o, logger l)
      : sched(s), store(st), cloud(c), host(h), opts(std::move(o)), log(std::move(l)), wake(s) {}

  Sched& sched;
  Store& store;
  Cloud& cloud;
  Host& host;
  backend_options opts;
  logger log;
  // Every wait of every job is on this event (notified on a loss, a new lease; set by stop()),
  // so that none sleeps through a change.
  async_event<Sched> wake;
  std::function<void(const backend_status&)> on_ready;

  // Learned by startup, before the lease is taken.
  config::network_config cfg;
  netlink::external_interface ext;
  cloud::instance_identity identity;
  lease::lease_attrs attrs;
  std::vector<std::string> tables;
  std::string next_hop_type, next_hop_id;

  backend_status status;
  std::optional<net::ipv4_cidr> written_subnet;
  std::optional<error> fatal;  // run() ends and throws it
  // Bumped on every loss or release of the lease: route work for an older one stops.
  std::uint64_t lease_generation = 0;
  bool stopping = false, reconcile_now = false;

  void set_ready(bool ready) {
    if (ready && !status.current_lease) ready = false;
    if (status.ready == ready) return;
    status.ready = ready;
    if (on_ready) on_ready(status);
  }

  void note_error(const std::string& what, const error& e) {
    ++status.errors;
    status.last_error = what + ": " + e.what();
    log.error(status.last_error + " (will retry)");
  }

  // Retries after errors: from 1 s, doubling up to --error-backoff-max, with equal jitter (half
  // fixed, half random) so that many nodes spread out but none retries at once.
  backoff error_backoff() const {
    return backoff({std::chrono::seconds(1), opts.error_backoff_max, jitter::equal});
  }
  clock_duration jittered(clock_duration d) {
    return backoff_delay({d, d, jitter::equal}, 0, sched.random());
  }

  // The subnet file for the current lease; false (reported, retried by the caller) when it
  // cannot be written. An empty path writes nothing (the simulator's nodes keep no files).
  bool write_subnet_file() {
    auto& l = *status.current_lease;
    if (opts.subnet_file.empty()) {
      written_subnet = l.subnet;
      return true;
    }
    try {
      lease::write_subnet_file(opts.subnet_file,
                               lease::subnet_file{*cfg.network, l.subnet, ext.mtu, opts.ip_masq});
    } catch (const std::exception& e) {  // alivpc::error, and anything the filesystem throws
      ++status.errors;
      status.last_error = "writing " + opts.subnet_file.string() + ": " + e.what();
      log.error(status.last_error + " (will retry)");
      return false;
    }
    written_subnet = l.subnet;
    log.info("wrote " + opts.subnet_file.string() + " for " + l.subnet.to_string());
    return true;
  }

  // Deletes exactly one listed entry (by its RouteEntryId when the listing gave one).
  task<void> delete_listed(const cloud::route_entry& e) {
    cloud::route_spec spec{e.route_table_id, e.destination, e.next_hop_type, e.next_hop_id,
                           e.route_entry_id};
    co_await cloud.delete_route_entry(spec);
    ++status.route_deletes;
  }
};

}  // namespace alivpc::backend::detail
