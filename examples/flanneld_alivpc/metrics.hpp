// What /metrics shows: API calls by action and outcome (counted by observing the policies),
// and the backend's own state, in Prometheus text format.
#pragma once

#include <alivpc/backend/backend_options.hpp>
#include <alivpc/cloud/rpc_client.hpp>
#include <alivpc/error.hpp>

#include <chrono>
#include <exception>
#include <map>
#include <optional>
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

// What the alerting rules (deploy/prometheus/) need beyond the backend's status: build info,
// absolute times (alerts compare them with time()), the renew margin, and per route table how
// many custom entries it holds (counted whenever the backend lists it) and its quota when the
// operator told us (--route-table-quota; the VPC API does not say).
struct operator_facts {
  std::string version, commit, openssl;
  std::chrono::seconds renew_margin{0};
  std::optional<alivpc::wall_time> credentials_expiry;  // STS keys of a RAM role only
  std::map<std::string, std::size_t> route_table_entries;
  int route_table_quota = 0;  // 0: not known
};

inline std::string label_value(std::string_view v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

inline double unix_seconds(alivpc::wall_time t) {
  return std::chrono::duration<double>(t.time_since_epoch()).count();
}

inline std::string render_metrics(const alivpc::backend::backend_status& st,
                                  const call_counter& cloud, const call_counter& etcd,
                                  alivpc::wall_time now,
                                  const alivpc::cloud::client_counters& client,
                                  const operator_facts& facts = {}) {
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
  auto family = [&](const char* name, const char* type, const char* help) {
    out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
  };
  if (st.current_lease && st.current_lease->expiration) {
    family("alivpc_lease_expiry_timestamp_seconds", "gauge",
           "Unix time at which the subnet lease expires unless renewed");
    out += "alivpc_lease_expiry_timestamp_seconds " +
           std::to_string(unix_seconds(*st.current_lease->expiration)) + "\n";
  }
  gauge("alivpc_lease_renew_margin_seconds",
        "how long before expiry the lease is renewed (--subnet-lease-renew-margin)",
        static_cast<double>(facts.renew_margin.count()));
  if (facts.credentials_expiry) {
    family("alivpc_credentials_expiry_timestamp_seconds", "gauge",
           "Unix time at which the RAM role's STS credentials in use expire");
    out += "alivpc_credentials_expiry_timestamp_seconds " +
           std::to_string(unix_seconds(*facts.credentials_expiry)) + "\n";
  }
  if (!facts.route_table_entries.empty()) {
    family("alivpc_route_table_entries", "gauge",
           "custom entries in each route table, as last listed");
    for (auto& [table, n] : facts.route_table_entries)
      out += "alivpc_route_table_entries{table=\"" + label_value(table) + "\"} " +
             std::to_string(n) + "\n";
    if (facts.route_table_quota > 0) {
      family("alivpc_route_table_quota", "gauge",
             "custom entries each route table may hold (--route-table-quota)");
      for (auto& [table, n] : facts.route_table_entries)
        out += "alivpc_route_table_quota{table=\"" + label_value(table) + "\"} " +
               std::to_string(facts.route_table_quota) + "\n";
    }
  }
  if (!facts.version.empty()) {
    family("alivpc_build_info", "gauge", "always 1; the labels say what this daemon is built from");
    out += "alivpc_build_info{version=\"" + label_value(facts.version) + "\",commit=\"" +
           label_value(facts.commit) + "\",openssl=\"" + label_value(facts.openssl) + "\"} 1\n";
  }
  counter("alivpc_reconciles_total", "route reconcile rounds", st.reconciles);
  counter("alivpc_route_repairs_total", "routes recreated after drift", st.repairs);
  counter("alivpc_route_creates_total", "route entries created", st.route_creates);
  counter("alivpc_route_deletes_total", "route entries deleted", st.route_deletes);
  gauge("alivpc_route_leader", "1 while this daemon is the route leader (--route-writer=leader)",
        st.route_leader ? 1 : 0);
  counter("alivpc_stale_routes_collected_total",
          "stale routes (no lease on their subnet) the route leader deleted",
          st.stale_routes_collected);
  counter("alivpc_lease_renewals_total", "lease renewals", st.lease_renewals);
  counter("alivpc_lease_renewal_failures_total", "failed lease renewals",
          st.lease_renewal_failures);
  counter("alivpc_lease_losses_total",
          "leases lost (deleted, expired, taken, or gone with etcd's data)", st.lease_losses);
  counter("alivpc_lease_reclaims_total", "losses after which the same subnet was claimed again",
          st.lease_reclaims);
  counter("alivpc_fenced_replacements_skipped_total",
          "stale entries for our subnet left alone while our lease was not confirmed by etcd",
          st.fenced_replacements_skipped);
  counter("alivpc_errors_total", "errors reported and retried", st.errors);
  counter("alivpc_cloud_retries_total", "cloud API attempts retried", client.retries);
  counter("alivpc_cloud_throttles_total", "Throttling answers from the cloud API",
          client.throttled);
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
