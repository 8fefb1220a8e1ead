// What /metrics shows: API calls by action and outcome (counted by observing the policies),
// and the backend's own state, in Prometheus text format.
#pragma once

#include <alivpc/backend/backend_options.hpp>
#include <alivpc/error.hpp>

#include <chrono>
#include <exception>
#include <map>
#include <string>
#include <string_view>

namespace flanneld_alivpc {

class call_counter {
 public:
  explicit call_counter(std::string system) : system_(std::move(system)) {}
  void before(std::string_view) {}
  void after(std::string_view op, const std::exception_ptr& e) {
    std::string outcome = "success";
    if (e) {
      try {
        std::rethrow_exception(e);
      } catch (const alivpc::error& err) {
        outcome = std::string(alivpc::to_string(err.kind()));
      } catch (...) {
        outcome = "other";
      }
    }
    ++counts_[{std::string(op), outcome}];
  }
  void write(std::string& out) const {
    for (auto& [key, n] : counts_)
      out += "alivpc_api_calls_total{system=\"" + system_ + "\",operation=\"" + key.first +
             "\",outcome=\"" + key.second + "\"} " + std::to_string(n) + "\n";
  }

 private:
  std::string system_;
  std::map<std::pair<std::string, std::string>, std::uint64_t> counts_;
};

inline std::string render_metrics(const alivpc::backend::backend_status& st,
                                  const call_counter& cloud, const call_counter& etcd,
                                  alivpc::wall_time now, std::uint64_t cloud_retries,
                                  std::uint64_t cloud_throttles) {
  using alivpc::backend::route_state;
  std::string out;
  auto gauge = [&](const char* name, const char* help, double v) {
    out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " gauge\n" + name +
           " " + std::to_string(v) + "\n";
  };
  auto counter = [&](const char* name, const char* help, std::uint64_t v) {
    out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " counter\n" + name +
           " " + std::to_string(v) + "\n";
  };
  gauge("alivpc_ready",
        "1 when the lease is held, routes are Available and the subnet file is written",
        st.ready ? 1 : 0);
  gauge("alivpc_healthy", "1 while lease and every route are held", st.healthy() ? 1 : 0);
  double expiry = -1;
  if (st.current_lease && st.current_lease->expiration)
    expiry = std::chrono::duration<double>(*st.current_lease->expiration - now).count();
  gauge("alivpc_lease_expiry_seconds",
        "seconds until the subnet lease expires (-1: none or reservation)", expiry);
  counter("alivpc_reconciles_total", "route reconcile rounds", st.reconciles);
  counter("alivpc_route_repairs_total", "routes recreated after drift", st.repairs);
  counter("alivpc_route_creates_total", "route entries created", st.route_creates);
  counter("alivpc_route_deletes_total", "route entries deleted", st.route_deletes);
  counter("alivpc_lease_renewals_total", "lease renewals", st.lease_renewals);
  counter("alivpc_lease_renewal_failures_total", "failed lease renewals",
          st.lease_renewal_failures);
  counter("alivpc_lease_losses_total", "leases lost (deleted or expired)", st.lease_losses);
  counter("alivpc_errors_total", "errors reported and retried", st.errors);
  counter("alivpc_cloud_retries_total", "cloud API attempts retried", cloud_retries);
  counter("alivpc_cloud_throttles_total", "Throttling answers from the cloud API", cloud_throttles);
  out +=
      "# HELP alivpc_route_state 1 for the current state of our route in each table\n# TYPE "
      "alivpc_route_state gauge\n";
  for (auto& [table, state] : st.routes) {
    for (auto s : {route_state::unknown, route_state::missing, route_state::pending,
                   route_state::available, route_state::failing})
      out += "alivpc_route_state{table=\"" + table + "\",state=\"" + std::string(to_string(s)) +
             "\"} " + (s == state ? "1" : "0") + "\n";
  }
  out +=
      "# HELP alivpc_api_calls_total calls to etcd and the cloud API by operation and outcome\n# "
      "TYPE alivpc_api_calls_total counter\n";
  cloud.write(out);
  etcd.write(out);
  return out;
}

}  // namespace flanneld_alivpc
