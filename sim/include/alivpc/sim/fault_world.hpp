// A random fault world from one seed, for seed sweeps: a few nodes on a small Network, a lease
// TTL from an hour to a day, API latency, error rates and throttling, and every kind of event
// (kills and restarts, deleted routes, etcd and cloud outages up to several hours, compaction,
// an etcd that loses its data, a released lease, the route leader killed), spread over days of
// virtual time. The same seed gives the same scenario; `alivpc-simulate --scenario` replays its
// JSON.
#pragma once

#include <alivpc/runtime/prng.hpp>

#include <nlohmann/json.hpp>

#include <chrono>
#include <string>

namespace alivpc::sim {

inline nlohmann::json fault_world(std::uint64_t seed, std::chrono::hours duration) {
  prng rng(seed * 0x9e3779b97f4a7c15ull + 1);
  auto pick = [&](std::int64_t lo, std::int64_t hi) { return rng.between(lo, hi); };
  auto secs = [](std::int64_t s) { return std::to_string(s) + "s"; };
  const int nodes = static_cast<int>(pick(2, 8));
  const std::int64_t total = std::chrono::duration_cast<std::chrono::seconds>(duration).count();
  static const std::int64_t ttls[] = {3600, 7200, 6 * 3600, 24 * 3600};
  const std::int64_t ttl = ttls[pick(0, 3)];
  const std::int64_t margin = pick(ttl / 10, ttl / 2);

  // kill_leader acts in leader mode only (no one holds the key otherwise).
  static const char* kinds[] = {"kill",        "restart",       "delete_route",
                                "etcd_outage", "cloud_outage",  "etcd_compact",
                                "etcd_wipe",   "release_lease", "kill_leader"};
  nlohmann::json events = nlohmann::json::array();
  const int n_events = static_cast<int>(pick(2, 14));
  for (int i = 0; i < n_events; ++i) {
    const std::string kind = kinds[pick(0, 8)];
    nlohmann::json e{{"at", secs(pick(60, total * 8 / 10))}, {"kind", kind}};
    if (kind == "etcd_outage")
      e["for"] = secs(pick(5, 2 * 3600));
    else if (kind == "cloud_outage")
      e["for"] = secs(pick(5, 4 * 3600));  // longer than TTL - margin for the short TTLs
    else if (kind == "kill_leader")
      e["for"] = secs(pick(5, 3600));  // it comes back (a kill without one is "kill")
    else if (kind != "etcd_compact" && kind != "etcd_wipe")
      e["node"] = pick(0, nodes - 1);
    events.push_back(e);
  }
  return nlohmann::json{
      {"name", "fault-world-" + std::to_string(seed)},
      {"seed", seed},
      {"nodes", nodes},
      {"duration", secs(total)},
      {"network",
       {{"Network", "10.24.0.0/22"}, {"SubnetLen", 26}, {"Backend", {{"Type", "ali-vpc"}}}}},
      {"quota", pick(nodes, 48)},
      {"write_delay", std::to_string(pick(0, 5000)) + "ms"},
      {"latency", {{"*", {{"kind", "uniform"}, {"min", "10ms"}, {"max", "500ms"}}}}},
      {"throttle_per_minute", {{"*", pick(20, 600)}}},
      {"faults",
       {{{"action", "*"},
         {"rate", static_cast<double>(pick(0, 30)) / 100.0},
         {"code", "InternalError"}}}},
      {"reconcile_period", secs(pick(60, 300))},
      {"lease_ttl", secs(ttl)},
      {"renew_margin", secs(margin)},
      {"start_spread", "20s"},
      {"events", events}};
}

}  // namespace alivpc::sim
