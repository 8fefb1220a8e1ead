// What one scenario run reports (alivpc-simulate --json prints it; the fields are listed in the
// README's "Running a scenario"). Plain data: the sweep and the HTML report read it without the
// runner.
#pragma once

#include <alivpc/cloud/api_error.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <map>
#include <numeric>
#include <string>
#include <vector>

namespace alivpc::sim {

// One virtual minute of a run, for the HTML report (run_options::record_series).
struct minute_sample {
  double t_s = 0;                   // virtual seconds at the end of the minute
  std::uint32_t table_entries = 0;  // custom entries in the system route table
  std::uint32_t leases = 0;         // subnet leases etcd holds
  std::uint32_t ready = 0;          // nodes ready
  std::uint32_t success = 0, conflict = 0, throttled = 0, error = 0;  // API calls this minute
};

// A safety violation or liveness failure, when it happened.
struct report_event {
  double t_s = 0;
  std::string kind;  // "safety" or "liveness"
  std::string what;
};

// The bucket of an API outcome ("Success" or an error code) in the report's call chart; the
// client's own classifier decides what a conflict is.
inline const char* outcome_bucket(const std::string& outcome) {
  if (outcome == "Success") return "success";
  if (outcome.starts_with("Throttling")) return "throttled";
  if (cloud::classify(outcome, 400) == cloud::api_error_class::conflict) return "conflict";
  return "error";
}

struct scenario_report {
  std::string name, strategy;
  std::uint64_t seed = 0;
  int nodes = 0;
  std::vector<double> ready_seconds;        // per node that became ready: start -> first ready
  int never_ready = 0;                      // nodes still there at the end that never became ready
  int fatal_exits = 0;                      // nodes whose daemon exited with an error at least once
  std::vector<int> restarts;                // per node: daemons restarted by the supervisor
  std::uint64_t backend_errors = 0;         // errors the running daemons reported (and retried)
  std::vector<std::string> fatal_messages;  // first few
  std::vector<std::string> safety_violations;  // first few
  std::uint64_t safety_violation_count = 0;
  std::uint64_t misrouted_node_seconds = 0;
  bool live = false;  // liveness after the settling time
  std::string liveness_detail;
  std::map<std::string, std::map<std::string, std::uint64_t>> api_calls;  // action -> outcome -> n
  std::uint64_t events_executed = 0;
  double virtual_seconds = 0;
  int quota = 0;              // custom entries per route table
  int joins = 0, leaves = 0;  // nodes added and terminated during the run
  int leaders_killed = 0;     // kill_leader events that found a leader to kill
  int left_never_ready = 0;   // nodes that left before they ever became ready
  // Custom entries of the fullest route table (Pending and Deleting count, as for the quota):
  // the most at any second, and at the end.
  int table_entries_peak = 0, table_entries_final = 0;
  double table_full_at_s = -1;         // when a table first held `quota` custom entries; -1: never
  int stale_routes = 0;                // at the end, summed over the tables (table_census.hpp)
  std::vector<minute_sample> samples;  // per virtual minute, only with record_series
  std::vector<report_event> events;    // the first 100 safety violations, a liveness failure

  bool safe() const { return safety_violation_count == 0; }
  std::uint64_t api_calls_total() const {
    std::uint64_t n = 0;
    for (const auto& [action, outcomes] : api_calls)
      for (const auto& [outcome, count] : outcomes)
        n += count;
    return n;
  }
  // Every API call of the run over the nodes that became ready (a join): what a join costs.
  double api_calls_per_join() const {
    return static_cast<double>(api_calls_total()) /
           static_cast<double>(std::max<std::size_t>(1, ready_seconds.size()));
  }
  static double percentile(std::vector<double> v, double p) {
    if (v.empty()) return 0;
    std::sort(v.begin(), v.end());
    auto i = static_cast<std::size_t>(std::llround(p * static_cast<double>(v.size() - 1)));
    return v[std::min(i, v.size() - 1)];
  }
  nlohmann::json to_json() const {
    nlohmann::json j{{"name", name},
                     {"strategy", strategy},
                     {"seed", seed},
                     {"nodes", nodes},
                     {"ready_p50_s", percentile(ready_seconds, 0.5)},
                     {"ready_p95_s", percentile(ready_seconds, 0.95)},
                     {"ready_max_s", percentile(ready_seconds, 1.0)},
                     {"never_ready", never_ready},
                     {"fatal_exits", fatal_exits},
                     {"backend_errors", backend_errors},
                     {"restarts_total", std::accumulate(restarts.begin(), restarts.end(), 0)},
                     {"restarts_max_per_node",
                      restarts.empty() ? 0 : *std::max_element(restarts.begin(), restarts.end())},
                     {"fatal_messages", fatal_messages},
                     {"safety_violations", safety_violation_count},
                     {"safety_examples", safety_violations},
                     {"misrouted_node_seconds", misrouted_node_seconds},
                     {"joins", joins},
                     {"leaves", leaves},
                     {"leaders_killed", leaders_killed},
                     {"left_never_ready", left_never_ready},
                     {"quota", quota},
                     {"table_entries_peak", table_entries_peak},
                     {"table_entries_final", table_entries_final},
                     {"table_full_at_s", table_full_at_s < 0 ? nlohmann::json(nullptr)
                                                             : nlohmann::json(table_full_at_s)},
                     {"stale_routes", stale_routes},
                     {"live", live},
                     {"liveness_detail", liveness_detail},
                     {"api_calls", api_calls},
                     {"api_calls_total", api_calls_total()},
                     {"api_calls_per_join", api_calls_per_join()},
                     {"events_executed", events_executed},
                     {"virtual_seconds", virtual_seconds}};
    return j;
  }
};

}  // namespace alivpc::sim
