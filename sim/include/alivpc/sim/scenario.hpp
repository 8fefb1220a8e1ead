// A simulator scenario: a cluster of nodes running the real backend on virtual time against the
// VPC model and the etcd model, with scheduled faults. Parsed from JSON (a fuzz target):
//
// {
//   "name": "steady-50",            "seed": 1,          "nodes": 50,
//   "strategy": "robust",           // robust | classic | leader (robust, --route-writer=leader:
//                                   // an elected leader writes every route in batches)
//   "leader_candidates": 3,         // leader: nodes 0..N-1 campaign (and hold cloud keys)
//   "duration": "2h",               // virtual time to run
//   "network": {"Network": "10.24.0.0/16", "Backend": {"Type": "ali-vpc"}},
//   "vpc_cidr": "192.168.0.0/16",   "quota": 200,       "write_delay": "2s",
//   "route_tables": 1,              // custom route tables besides the system one (0..8): every
//                                   // node's route goes into each; writes to one VPC are
//                                   // serialised, so a busy table makes the others TaskConflict
//   "latency": {"*": {"kind": "lognormal", "median": "120ms", "sigma": 0.5}},
//   "throttle_per_minute": {"*": 600},
//   "faults": [{"action": "CreateRouteEntry", "rate": 0.1, "code": "InternalError"}],
//   "reconcile_period": "5m",       "lease_ttl": "24h",  "renew_margin": "60m",
//   "start_spread": "30s",          // nodes start at random times in [0, start_spread]
//   "events": [{"at": "10m", "kind": "kill", "node": 3},
//              {"at": "12m", "kind": "restart", "node": 3},
//              {"at": "15m", "kind": "delete_route", "node": 5},
//              {"at": "20m", "kind": "etcd_outage", "for": "30s"},
//              {"at": "25m", "kind": "cloud_outage", "for": "60s"},
//              {"at": "30m", "kind": "etcd_compact"},          // history dropped: watches re-list
//              {"at": "35m", "kind": "etcd_wipe"},             // rebuilt empty, config back
//              {"at": "40m", "kind": "release_lease", "node": 2},   // `etcdctl del` of its key
//              {"at": "45m", "kind": "join", "count": 2},  // new instances, new nodes started
//              {"at": "50m", "kind": "leave", "node": 4},  // instance terminated (see below)
//              {"at": "55m", "kind": "kill_leader", "for": "2m"}], // whoever holds the route
//                                                  // leader key now; restarted after "for" if set
//   "churn": {"per_hour": 5, "from": "1h", "until": "144h"},  // node replacements (see below)
//   "stale_route_grace": "10m",     // safety: a route S -> running node N while N holds no live
//                                   // lease on S, for longer than this, is a violation
//   "ready_without_lease_grace": "30s", // safety: a ready node whose lease is gone, this long
//   "restart_policy": "Always"      // a daemon that exits is restarted with Kubernetes'
//                                   // CrashLoopBackOff (10s doubling to 5m, reset after 10m of
//                                   // running), as its DaemonSet does; "Never" leaves it down
// }
// Durations: "500ms", "30s", "5m", "2h" (combinations like "1h30m" too).
//
// Joins and leaves. Nodes are numbered in the order they join: 0..nodes-1 at the start, then
// each joined node (by a join event, "count" 1..1000, default 1, or by churn) takes the next
// index. A leave terminates the instance: the daemon stops without cleaning anything up (its
// lease stays until its TTL, its routes stay) and the instance is deleted from the VPC model,
// whose route entries pointing at it stay and count against the quota. A node that left never
// comes back: naming it in a later event is a parse error; when churn made it leave, the runner
// ignores the event. An event's node must exist at its time counting the join events before
// it (churn's joins come on top, so with churn an index may name a churn-joined node).
// Churn replaces nodes at random: a Poisson process of per_hour (0 < per_hour <= 3600) events
// from "from" (default: the end of start_spread) until "until" (default: the end of the run
// minus the settling time, so the last replacement settles); each one is the leave of a random
// running node and the join of a new one, drawn from the seed.
#pragma once

#include <alivpc/config/network_config.hpp>
#include <alivpc/detail/bounded_json.hpp>
#include <alivpc/error.hpp>
#include <alivpc/net/ipv4.hpp>
#include <alivpc/runtime/duration.hpp>
#include <alivpc/runtime/scheduler.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace alivpc::sim {

struct scenario_latency {
  std::string kind = "fixed";  // fixed | uniform | lognormal
  clock_duration a{};          // fixed: value; uniform: min; lognormal: median
  clock_duration b{};          // uniform: max
  double sigma = 0.5;          // lognormal
};

struct scenario_fault {
  std::string action = "*";
  double rate = 0;
  std::string code = "InternalError";  // InternalError | ServiceUnavailable | Timeout
};

enum class scenario_event_kind {
  kill,
  restart,
  delete_route,
  etcd_outage,
  cloud_outage,
  etcd_compact,
  etcd_wipe,
  release_lease,
  join,
  leave,
  kill_leader
};

struct scenario_event {
  clock_duration at{};
  scenario_event_kind kind{};
  int node = -1;
  clock_duration duration{};  // outages
  int count = 1;              // join
};

struct scenario_churn {
  double per_hour = 0;                  // 0: no churn
  std::optional<clock_duration> from;   // default: start_spread
  std::optional<clock_duration> until;  // default: the end of the run minus the settling time
};

struct scenario {
  std::string name = "scenario";
  std::uint64_t seed = 1;
  int nodes = 3;
  std::string strategy = "robust";
  clock_duration duration = std::chrono::hours(1);
  config::network_config network;
  net::ipv4_cidr vpc_cidr = net::ipv4_cidr::parse("192.168.0.0/16");
  int quota = 200;
  int route_tables = 0;  // custom ones, besides the system table
  clock_duration write_delay = std::chrono::seconds(2);
  std::map<std::string, scenario_latency> latency;
  std::map<std::string, double> throttle_per_minute;
  std::vector<scenario_fault> faults;
  clock_duration reconcile_period = std::chrono::minutes(5);
  clock_duration lease_ttl = std::chrono::hours(24);
  clock_duration renew_margin = std::chrono::minutes(60);
  clock_duration start_spread = std::chrono::seconds(30);
  std::vector<scenario_event> events;
  clock_duration stale_route_grace = std::chrono::minutes(10);
  clock_duration ready_without_lease_grace = std::chrono::seconds(30);
  bool restart_always = true;  // "restart_policy"
  int leader_candidates = 3;   // strategy leader: nodes 0..N-1 may lead
  scenario_churn churn;
};

// How long the runner waits after the last event before judging liveness: two reconcile
// periods and five minutes, at least ten minutes.
inline clock_duration settling_time(const scenario& s) {
  return std::max<clock_duration>(2 * s.reconcile_period + std::chrono::minutes(5),
                                  std::chrono::minutes(10));
}

// The window in which churn replaces nodes (the defaults filled in); empty when there is none.
inline std::pair<clock_duration, clock_duration> churn_window(const scenario& s) {
  return {s.churn.from.value_or(s.start_spread),
          s.churn.until.value_or(std::max(s.duration - settling_time(s), clock_duration::zero()))};
}

namespace detail {

[[noreturn]] inline void scenario_error(const std::string& field, const std::string& what) {
  fail(error_kind::invalid_argument, "scenario: " + field + ": " + what);
}

inline clock_duration parse_scenario_duration(const std::string& field, const nlohmann::json& j) {
  if (!j.is_string())
    scenario_error(field, "expected a duration string like \"30s\", got " + j.dump());
  const auto text = j.get<std::string>();
  auto d = parse_go_duration(text);
  if (!d)
    scenario_error(
        field, "\"" + text +
                   "\" is not a duration (e.g. 30s, 5m, 2h; units ms, s, m, h; at most 400 days)");
  return *d;
}

template <class T>
T scenario_number(const std::string& field, const nlohmann::json& j, T lo, T hi) {
  if (!j.is_number()) scenario_error(field, "expected a number, got " + j.dump());
  auto d = j.get<double>();
  if (!(d >= static_cast<double>(lo) && d <= static_cast<double>(hi)))
    scenario_error(field,
                   j.dump() + " is out of range " + std::to_string(lo) + ".." + std::to_string(hi));
  if constexpr (std::is_integral_v<T>) {
    if (!j.is_number_integer() && !j.is_number_unsigned())
      scenario_error(field, "expected a whole number, got " + j.dump());
    return static_cast<T>(j.get<long long>());
  } else {
    return static_cast<T>(d);
  }
}

// Every node an event names exists at that time (the nodes at the start and those of the join
// events before it, in time order; ties in list order, as the runner runs them) and has not left.
inline void check_event_nodes(const scenario& s) {
  std::vector<std::size_t> order(s.events.size());
  for (std::size_t i = 0; i < order.size(); ++i)
    order[i] = i;
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return s.events[a].at < s.events[b].at; });
  long long known = s.nodes;
  std::map<int, std::size_t> left;  // node -> the leave event
  for (auto i : order) {
    const auto& ev = s.events[i];
    const std::string field = "events[" + std::to_string(i) + "].node";
    if (ev.kind == scenario_event_kind::join) known += ev.count;
    if (ev.node < 0) continue;
    if (ev.node >= known)
      scenario_error(field, std::to_string(ev.node) + " is not a node (there are " +
                                std::to_string(known) + ")");
    if (auto l = left.find(ev.node); l != left.end())
      scenario_error(field, std::to_string(ev.node) + " left at events[" +
                                std::to_string(l->second) + "] and never comes back");
    if (ev.kind == scenario_event_kind::leave) left.emplace(ev.node, i);
  }
}

}  // namespace detail

inline scenario parse_scenario_json(const nlohmann::json& j) {
  using detail::parse_scenario_duration;
  using detail::scenario_error;
  using detail::scenario_number;
  if (!j.is_object()) scenario_error("(top)", "expected a JSON object");
  scenario s;
  s.network = config::parse_network_config_json(
      nlohmann::json{{"Network", "10.24.0.0/16"}, {"Backend", {{"Type", "ali-vpc"}}}});
  static const char* known[] = {"name",
                                "seed",
                                "nodes",
                                "strategy",
                                "leader_candidates",
                                "duration",
                                "network",
                                "vpc_cidr",
                                "quota",
                                "route_tables",
                                "write_delay",
                                "latency",
                                "throttle_per_minute",
                                "faults",
                                "reconcile_period",
                                "lease_ttl",
                                "renew_margin",
                                "start_spread",
                                "stale_route_grace",
                                "ready_without_lease_grace",
                                "restart_policy",
                                "events",
                                "churn"};
  for (auto& [key, value] : j.items()) {
    if (std::find(std::begin(known), std::end(known), key) == std::end(known))
      scenario_error(key, "unknown field");
    if (key == "name") {
      if (!value.is_string()) scenario_error(key, "expected a string");
      s.name = value.get<std::string>();
    } else if (key == "seed") {
      s.seed = scenario_number<std::uint64_t>(key, value, 0, 1ull << 53);
    } else if (key == "nodes") {
      s.nodes = scenario_number<int>(key, value, 1, 5000);
    } else if (key == "strategy") {
      if (!value.is_string() || (value != "robust" && value != "classic" && value != "leader"))
        scenario_error(key, "expected \"robust\", \"classic\" or \"leader\", got " + value.dump());
      s.strategy = value.get<std::string>();
    } else if (key == "leader_candidates") {
      s.leader_candidates = scenario_number<int>(key, value, 1, 5000);
    } else if (key == "duration") {
      s.duration = parse_scenario_duration(key, value);
    } else if (key == "network") {
      s.network = config::parse_network_config_json(value);
      config::require_ali_vpc(s.network);
    } else if (key == "vpc_cidr") {
      if (!value.is_string()) scenario_error(key, "expected a CIDR string");
      auto c = net::ipv4_cidr::try_parse(value.get<std::string>());
      if (!c) scenario_error(key, value.dump() + " is not an IPv4 CIDR block");
      s.vpc_cidr = *c;
    } else if (key == "quota") {
      s.quota = scenario_number<int>(key, value, 0, 100000);
    } else if (key == "route_tables") {
      s.route_tables = scenario_number<int>(key, value, 0, 8);
    } else if (key == "write_delay") {
      s.write_delay = parse_scenario_duration(key, value);
    } else if (key == "latency" || key == "throttle_per_minute") {
      if (!value.is_object())
        scenario_error(key, "expected an object keyed by action (\"*\" for all)");
      for (auto& [action, v] : value.items()) {
        std::string field = key;
        field += '.';
        field += action;
        if (key == "throttle_per_minute") {
          s.throttle_per_minute[action] = scenario_number<double>(field, v, 0.0, 1e9);
          continue;
        }
        if (!v.is_object()) scenario_error(field, "expected {\"kind\":...}");
        scenario_latency l;
        if (auto k = v.find("kind"); k != v.end()) {
          if (!k->is_string() || (*k != "fixed" && *k != "uniform" && *k != "lognormal"))
            scenario_error(field + ".kind", "expected fixed, uniform or lognormal");
          l.kind = k->get<std::string>();
        }
        const nlohmann::json& spec = v;  // clang 14 cannot capture a structured binding
        auto dur = [&](const char* name) -> clock_duration {
          auto it = spec.find(name);
          if (it == spec.end()) scenario_error(field, std::string("missing \"") + name + "\"");
          return parse_scenario_duration(field + "." + name, *it);
        };
        if (l.kind == "fixed") l.a = dur("value");
        if (l.kind == "uniform") {
          l.a = dur("min");
          l.b = dur("max");
          if (l.b < l.a) scenario_error(field, "max is below min");
        }
        if (l.kind == "lognormal") {
          l.a = dur("median");
          if (auto sg = v.find("sigma"); sg != v.end())
            l.sigma = scenario_number<double>(field + ".sigma", *sg, 0.0, 5.0);
        }
        s.latency[action] = l;
      }
    } else if (key == "faults") {
      if (!value.is_array()) scenario_error(key, "expected a list");
      for (std::size_t i = 0; i < value.size(); ++i) {
        auto& f = value[i];
        std::string field = "faults[" + std::to_string(i) + "]";
        if (!f.is_object()) scenario_error(field, "expected an object");
        scenario_fault out;
        if (auto a = f.find("action"); a != f.end()) {
          if (!a->is_string()) scenario_error(field + ".action", "expected a string");
          out.action = a->get<std::string>();
        }
        auto r = f.find("rate");
        if (r == f.end()) scenario_error(field, "missing \"rate\"");
        out.rate = scenario_number<double>(field + ".rate", *r, 0.0, 1.0);
        if (auto c = f.find("code"); c != f.end()) {
          if (!c->is_string() ||
              (*c != "InternalError" && *c != "ServiceUnavailable" && *c != "Timeout"))
            scenario_error(field + ".code",
                           "expected InternalError, ServiceUnavailable or Timeout");
          out.code = c->get<std::string>();
        }
        s.faults.push_back(out);
      }
    } else if (key == "reconcile_period") {
      s.reconcile_period = parse_scenario_duration(key, value);
      if (s.reconcile_period < std::chrono::seconds(1)) scenario_error(key, "must be at least 1s");
    } else if (key == "lease_ttl") {
      s.lease_ttl = parse_scenario_duration(key, value);
    } else if (key == "renew_margin") {
      s.renew_margin = parse_scenario_duration(key, value);
    } else if (key == "start_spread") {
      s.start_spread = parse_scenario_duration(key, value);
    } else if (key == "stale_route_grace") {
      s.stale_route_grace = parse_scenario_duration(key, value);
    } else if (key == "ready_without_lease_grace") {
      s.ready_without_lease_grace = parse_scenario_duration(key, value);
    } else if (key == "restart_policy") {
      if (!value.is_string() || (value != "Always" && value != "Never"))
        scenario_error(key, "expected \"Always\" or \"Never\", got " + value.dump().substr(0, 64));
      s.restart_always = value == "Always";
    } else if (key == "churn") {
      if (!value.is_object())
        scenario_error(key, "expected {\"per_hour\": N, \"from\": \"1h\", \"until\": \"144h\"}");
      for (auto& [name, v] : value.items()) {
        const std::string field = "churn." + name;
        if (name == "per_hour") {
          if (!v.is_number() || !(v.get<double>() > 0 && v.get<double>() <= 3600))
            scenario_error(
                field, "expected replacements per hour, above 0 and at most 3600, got " + v.dump());
          s.churn.per_hour = v.get<double>();
        } else if (name == "from") {
          s.churn.from = parse_scenario_duration(field, v);
        } else if (name == "until") {
          s.churn.until = parse_scenario_duration(field, v);
        } else {
          scenario_error(field, "unknown field (expected per_hour, from, until)");
        }
      }
      if (s.churn.per_hour == 0) scenario_error("churn", "missing \"per_hour\"");
    } else if (key == "events") {
      if (!value.is_array()) scenario_error(key, "expected a list");
      for (std::size_t i = 0; i < value.size(); ++i) {
        auto& e = value[i];
        std::string field = "events[" + std::to_string(i) + "]";
        if (!e.is_object()) scenario_error(field, "expected an object");
        scenario_event ev;
        auto at = e.find("at");
        if (at == e.end()) scenario_error(field, "missing \"at\"");
        ev.at = parse_scenario_duration(field + ".at", *at);
        auto kind = e.find("kind");
        if (kind == e.end() || !kind->is_string()) scenario_error(field, "missing \"kind\"");
        static const std::map<std::string, scenario_event_kind> kinds = {
            {"kill", scenario_event_kind::kill},
            {"restart", scenario_event_kind::restart},
            {"delete_route", scenario_event_kind::delete_route},
            {"etcd_outage", scenario_event_kind::etcd_outage},
            {"cloud_outage", scenario_event_kind::cloud_outage},
            {"etcd_compact", scenario_event_kind::etcd_compact},
            {"etcd_wipe", scenario_event_kind::etcd_wipe},
            {"release_lease", scenario_event_kind::release_lease},
            {"join", scenario_event_kind::join},
            {"leave", scenario_event_kind::leave},
            {"kill_leader", scenario_event_kind::kill_leader}};
        auto k = kinds.find(kind->get<std::string>());
        if (k == kinds.end())
          scenario_error(field + ".kind", kind->dump() +
                                              " is not one of kill, restart, delete_route, "
                                              "etcd_outage, cloud_outage, etcd_compact, "
                                              "etcd_wipe, release_lease, join, leave, kill_leader");
        ev.kind = k->second;
        bool needs_node =
            ev.kind == scenario_event_kind::kill || ev.kind == scenario_event_kind::restart ||
            ev.kind == scenario_event_kind::delete_route ||
            ev.kind == scenario_event_kind::release_lease || ev.kind == scenario_event_kind::leave;
        bool needs_length = ev.kind == scenario_event_kind::etcd_outage ||
                            ev.kind == scenario_event_kind::cloud_outage;
        if (ev.kind == scenario_event_kind::kill_leader) {
          if (auto d = e.find("for"); d != e.end())
            ev.duration = parse_scenario_duration(field + ".for", *d);
        } else if (ev.kind == scenario_event_kind::join) {
          if (auto n = e.find("count"); n != e.end())
            ev.count = scenario_number<int>(field + ".count", *n, 1, 1000);
        } else if (!needs_node && !needs_length) {
          // etcd_compact, etcd_wipe: an instant
        } else if (needs_node) {
          auto n = e.find("node");
          if (n == e.end()) scenario_error(field, "missing \"node\"");
          ev.node = scenario_number<int>(field + ".node", *n, 0, 4999);
        } else {
          auto d = e.find("for");
          if (d == e.end()) scenario_error(field, "missing \"for\" (the outage's length)");
          ev.duration = parse_scenario_duration(field + ".for", *d);
        }
        s.events.push_back(ev);
      }
    }
  }
  detail::check_event_nodes(s);
  if (s.renew_margin >= s.lease_ttl)
    scenario_error("renew_margin", "must be shorter than lease_ttl");
  if (s.churn.per_hour > 0) {
    auto [from, until] = churn_window(s);
    if (from >= until)
      scenario_error(
          s.churn.until ? "churn.until" : "churn.from",
          "churn would end (" +
              std::to_string(std::chrono::duration_cast<std::chrono::seconds>(until).count()) +
              " s) before it starts (" +
              std::to_string(std::chrono::duration_cast<std::chrono::seconds>(from).count()) +
              " s); the default end is the duration minus the settling time");
  }
  return s;
}

// `replaced`: top-level fields that take the place of the text's (alivpc-simulate's --seed and
// --nodes), checked as if the text said them (an event naming node 40 of a cluster cut to 10
// nodes is an error, not a run that ignores it).
inline scenario parse_scenario(std::string_view text,
                               const nlohmann::json& replaced = nlohmann::json::object()) {
  auto j = alivpc::detail::parse_json_bounded(text, error_kind::invalid_argument, "scenario");
  if (j.is_discarded()) fail(error_kind::invalid_argument, "scenario: not valid JSON");
  if (j.is_object())
    for (auto& [key, value] : replaced.items())
      j[key] = value;
  return parse_scenario_json(j);
}

}  // namespace alivpc::sim
