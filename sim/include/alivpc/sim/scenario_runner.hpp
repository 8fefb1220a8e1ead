// Runs a scenario (scenario.hpp) on virtual time and reports what happened: safety once per
// virtual second (safety_checker.hpp); liveness after the last event plus a settling time (every
// running node is healthy and each table holds exactly its one route; nodes that left are not
// judged); route-table occupancy (peak and final) and the stale routes left at the end.
#pragma once

#include <alivpc/sim/churn.hpp>
#include <alivpc/sim/cluster.hpp>
#include <alivpc/sim/scenario.hpp>
#include <alivpc/sim/safety_checker.hpp>
#include <alivpc/sim/scenario_report.hpp>
#include <alivpc/sim/table_census.hpp>

#include <algorithm>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace alivpc::sim {

inline latency_distribution to_model_latency(const scenario_latency& l) {
  using std::chrono::duration_cast;
  using std::chrono::milliseconds;
  if (l.kind == "uniform")
    return latency_distribution::uniform(duration_cast<milliseconds>(l.a),
                                         duration_cast<milliseconds>(l.b));
  if (l.kind == "lognormal")
    return latency_distribution::log_normal(duration_cast<milliseconds>(l.a), l.sigma);
  return latency_distribution::fixed(duration_cast<milliseconds>(l.a));
}

inline fault_kind to_fault_kind(const std::string& code) {
  if (code == "ServiceUnavailable") return fault_kind::service_unavailable;
  if (code == "Timeout") return fault_kind::timeout;
  return fault_kind::internal_error;
}

// What a run says while it runs; all optional.
struct run_options {
  bool verbose = false;  // every node's log on stderr
  // About once per virtual minute: virtual seconds done, virtual seconds in all (the duration
  // plus the settling time), events executed so far.
  std::function<void(double done_s, double total_s, std::uint64_t events)> progress;
  // Keep a minute_sample per virtual minute in the report (for --html): a few dozen bytes a
  // minute, so off unless asked for.
  bool record_series = false;
  // Judge safety from scratch every virtual second instead of only when something it depends on
  // changed (same verdicts, slower): for the tests that show the two agree.
  bool look_every_second = false;
  // Skip, but fingerprint every input in each skipped second: a difference from the last look
  // is a safety violation (the skipping missed a change). For the same tests.
  bool verify_skips = false;
};

// Defined below, or compiled once by sim/src/instances.cpp (see "Compile time" in cluster.hpp).
ALIVPC_SIM_INLINE scenario_report run_scenario(const scenario& sc, const run_options& ro = {});

#if !defined(ALIVPC_SIM_PRECOMPILED) || defined(ALIVPC_SIM_INSTANCES)
ALIVPC_SIM_INLINE scenario_report run_scenario(const scenario& sc, const run_options& ro) {
  using namespace std::chrono_literals;
  const bool verbose = ro.verbose;
  scenario_report r;
  r.name = sc.name;
  r.strategy = sc.strategy;
  r.seed = sc.seed;
  r.nodes = sc.nodes;
  r.quota = sc.quota;

  virtual_scheduler s(sc.seed);
  model_config mc;
  mc.quota_per_table = static_cast<std::size_t>(sc.quota);
  mc.write_delay = sc.write_delay;
  for (auto& [action, l] : sc.latency) {
    if (action == "*")
      mc.default_latency = to_model_latency(l);
    else
      mc.latency[action] = to_model_latency(l);
  }
  mc.throttle_per_minute = sc.throttle_per_minute;
  for (auto& f : sc.faults)
    mc.faults.push_back({f.action, f.rate, to_fault_kind(f.code)});
  vpc_model model(mc, sc.seed ^ 0x5eedull);
  memory_etcd<virtual_scheduler> etcd(s);
  etcd.set_latency(2ms, 3ms);

  cluster_options co;
  co.vpc_cidr = sc.vpc_cidr;
  co.network_config = config::to_json(sc.network).dump();
  co.backend.reconcile_period =
      std::chrono::duration_cast<std::chrono::seconds>(sc.reconcile_period);
  co.backend.lease_ttl = std::chrono::duration_cast<std::chrono::seconds>(sc.lease_ttl);
  co.backend.renew_margin = std::chrono::duration_cast<std::chrono::seconds>(sc.renew_margin);
  co.backend.mode =
      sc.strategy == "classic" ? backend::strategy::classic : backend::strategy::robust;
  if (sc.strategy == "leader") co.backend.writer = backend::route_writer::leader;
  co.leader_candidates = sc.leader_candidates;
  if (sc.restart_always) co.supervisor = crash_loop_policy{};
  co.verbose = verbose;
  auto c = std::make_unique<cluster>(s, model, etcd, co);
  const std::string table = model.find_vpc(c->vpc_id())->system_table_id;
  for (int i = 0; i < sc.route_tables; ++i)
    model.add_custom_table(c->vpc_id());
  // Safety is checked on the system table; liveness on every table.
  const std::vector<std::string> tables = model.find_vpc(c->vpc_id())->table_ids;

  for (int i = 0; i < sc.nodes; ++i)
    c->add_node();
  for (auto& n : c->nodes()) {
    auto at = s.now() + clock_duration(static_cast<clock_duration::rep>(s.random().below(
                            static_cast<std::uint64_t>(sc.start_spread.count()) + 1)));
    s.call_at(at, [&c, node = n.get()] { c->start(*node); });
  }
  // A new instance in the VPC with its node started; a node leaves with its instance.
  auto join = [&] {
    c->start(c->add_node());
    ++r.joins;
  };
  auto leave = [&](cluster::node& n) {
    if (n.left) return;
    c->leave(n);
    ++r.leaves;
  };
  clock_duration last_event{};
  for (auto& ev : sc.events) {
    last_event = std::max(last_event, ev.at + ev.duration);
    s.call_at(time_point{} + ev.at, [&, ev] {
      auto& nodes = c->nodes();
      // A node that churn made leave (the parser refuses the others) is not acted on again.
      if (ev.node >= 0 &&
          (static_cast<std::size_t>(ev.node) >= nodes.size() || nodes[ev.node]->left))
        return;
      switch (ev.kind) {
        case scenario_event_kind::kill:
          c->kill(*nodes[ev.node]);
          break;
        case scenario_event_kind::restart:
          if (!nodes[ev.node]->running) c->start(*nodes[ev.node]);
          break;
        case scenario_event_kind::delete_route:
          if (auto* b = nodes[ev.node]->backend; b && b->status().current_lease)
            model.force_delete(table, b->status().current_lease->subnet);
          break;
        case scenario_event_kind::etcd_outage:
          etcd.set_outage(true);
          s.call_at(s.now() + ev.duration, [&etcd] { etcd.set_outage(false); });
          break;
        case scenario_event_kind::cloud_outage:
          model.config().outages.push_back(
              {s.now(), s.now() + ev.duration, "*", fault_kind::service_unavailable});
          break;
        case scenario_event_kind::etcd_compact:
          etcd.compact();
          break;
        case scenario_event_kind::etcd_wipe:
          if (auto cfg = etcd.config()) {
            auto text = *cfg;
            etcd.wipe();
            etcd.put_config(std::move(text));
          } else {
            etcd.wipe();
          }
          break;
        case scenario_event_kind::release_lease:
          if (auto* b = nodes[ev.node]->backend; b && b->status().current_lease)
            etcd.erase(b->status().current_lease->subnet);
          break;
        case scenario_event_kind::join:
          for (int i = 0; i < ev.count; ++i)
            join();
          break;
        case scenario_event_kind::leave:
          leave(*nodes[ev.node]);
          break;
        case scenario_event_kind::kill_leader:
          if (auto holder = etcd.route_leader())
            for (auto& n : nodes)
              if (n->running && holder->starts_with(n->instance_id + " ")) {
                c->kill(*n);
                ++r.leaders_killed;
                if (ev.duration > clock_duration::zero())
                  s.call_at(s.now() + ev.duration, [&c, &killed = *n] {
                    if (!killed.running && !killed.left) c->start(killed);
                  });
                break;
              }
          break;
      }
    });
  }
  // Churn: one timer at a time (the next replacement is drawn when one happens).
  churn_generator churn(sc);
  std::function<void()> replace = [&] {
    std::vector<cluster::node*> running;
    for (auto& n : c->nodes())
      if (n->running && !n->left) running.push_back(n.get());
    if (!running.empty()) leave(*running[churn.pick(running.size())]);
    join();
    if (auto next = churn.after(s.now().time_since_epoch()))
      s.call_at(time_point{} + *next, replace);
  };
  if (sc.churn.per_hour > 0) {
    last_event = std::max(last_event, churn_window(sc).second);
    if (auto first = churn.first()) s.call_at(time_point{} + *first, replace);
  }

  auto seconds_now = [&] {
    return std::chrono::duration<double>(s.now().time_since_epoch()).count();
  };
  safety_checker safety(sc, s, model, etcd, *c, table, r, ro.look_every_second, ro.verify_skips);

  std::map<std::string, std::uint64_t> calls_before;  // by outcome bucket, at the last sample
  auto sample_minute = [&](double now_s) {
    minute_sample m;
    m.t_s = now_s;
    model.for_each_entry(table, s.now(), [&](const route_entry_record& e) {
      if (!e.system) ++m.table_entries;
    });
    for (auto& [key, e] : etcd.keys())
      if (e.parsed) ++m.leases;
    for (auto& n : c->nodes())
      if (n->running && n->backend && n->backend->status().ready) ++m.ready;
    std::map<std::string, std::uint64_t> calls;
    for (const auto& [action, outcomes] : model.stats().by_action)
      for (const auto& [outcome, count] : outcomes)
        calls[outcome_bucket(outcome)] += count;
    auto delta = [&](const char* bucket) {
      return static_cast<std::uint32_t>(calls[bucket] - calls_before[bucket]);
    };
    m.success = delta("success");
    m.conflict = delta("conflict");
    m.throttled = delta("throttled");
    m.error = delta("error");
    calls_before = std::move(calls);
    return m;
  };

  const auto end = time_point{} + std::max(sc.duration, last_event + settling_time(sc));
  const double total_s = std::chrono::duration<double>(end.time_since_epoch()).count();
  std::uint64_t counted_tables_at = ~std::uint64_t{0};  // model version of the last count
  auto count_tables = [&] {
    counted_tables_at = model.version();
    r.table_entries_final = static_cast<int>(fullest_table_entries(model, tables, s.now()));
    r.table_entries_peak = std::max(r.table_entries_peak, r.table_entries_final);
    if (r.table_entries_final >= sc.quota && r.table_full_at_s < 0)
      r.table_full_at_s = seconds_now();
  };
  while (s.now() < end) {
    s.run_for(1s);
    if (model.version() != counted_tables_at) count_tables();
    if (s.now().time_since_epoch() % 60s == clock_duration::zero()) {
      const double now_s = seconds_now();
      if (ro.record_series) r.samples.push_back(sample_minute(now_s));
      if (ro.progress) ro.progress(now_s, total_s, s.executed());
    }
    safety.second();
  }

  // Liveness: every running node healthy, with exactly its one route, Available.
  int unhealthy = 0;
  std::string first_problem;
  std::map<std::string, std::vector<net::ipv4_cidr>> routes_by_node;  // in each table
  for (const auto& t : tables)
    for (auto& e : model.entries(t, s.now()))
      if (!e.system) routes_by_node[e.next_hop_id].push_back(e.destination);
  // What a user needs to act on: what is missing, and the daemon's last error when it has one.
  auto why_not_converged = [&](const cluster::node& n, const std::vector<net::ipv4_cidr>& routes) {
    if (n.finished) return "exited: " + n.fatal;
    if (!n.backend) return std::string("not converged: no backend");
    const auto& st = n.backend->status();
    std::string what;
    if (!st.current_lease)
      what = "no lease";
    else if (!st.healthy())
      what = st.ready ? "a route not Available" : "not ready";
    else if (routes.size() != tables.size())
      what = std::to_string(routes.size()) + " route(s) to it in " + std::to_string(tables.size()) +
             " table(s), one in each expected";
    else  // as many as tables, so (a destination being unique in a table) one is another subnet
      for (auto& d : routes)
        if (d != st.current_lease->subnet)
          what = "a route " + d.to_string() + " to it, its lease is " +
                 st.current_lease->subnet.to_string();
    return "not converged: " + what +
           (st.last_error.empty() ? "; no error reported" : "; last error: " + st.last_error);
  };
  for (auto& n : c->nodes()) {
    if (n->first_ready_at && n->started_at)
      r.ready_seconds.push_back(
          std::chrono::duration<double>(*n->first_ready_at - *n->started_at).count());
    else if (n->left)
      ++r.left_never_ready;
    else
      ++r.never_ready;
    r.restarts.push_back(n->restarts);
    if (!n->first_fatal.empty()) {
      ++r.fatal_exits;
      if (r.fatal_messages.size() < 3)
        r.fatal_messages.push_back(n->instance_id + ": " + n->first_fatal);
    }
    if (!n->running) continue;
    auto* b = n->backend;
    if (b) r.backend_errors += b->status().errors;
    const auto& routes = routes_by_node[n->instance_id];
    bool ok = b && !n->finished && b->status().healthy() && routes.size() == tables.size() &&
              std::all_of(routes.begin(), routes.end(), [&](const net::ipv4_cidr& d) {
                return d == b->status().current_lease->subnet;
              });
    if (!ok) {
      ++unhealthy;
      if (first_problem.empty())
        first_problem = n->instance_id + " " + why_not_converged(*n, routes);
    }
  }
  count_tables();
  r.stale_routes =
      static_cast<int>(count_stale_routes(model, tables, etcd, *c, sc.network.network, s.now()));
  r.live = unhealthy == 0;
  r.liveness_detail =
      r.live ? "every running node converged"
             : std::to_string(unhealthy) + " node(s) not converged; first: " + first_problem;
  // Leader mode promises routes while a candidate runs (only a candidate may write, and holds
  // the credentials): with every candidate down for good there is nothing to judge.
  if (!r.live && sc.strategy == "leader" &&
      std::none_of(c->nodes().begin(), c->nodes().end(),
                   [](auto& n) { return n->candidate && n->running && !n->finished; })) {
    r.live = true;
    r.liveness_detail = "not judged: no route leader candidate runs (leader mode needs one); " +
                        std::to_string(unhealthy) + " node(s) wait for one";
  }
  if (!r.live) r.events.push_back({seconds_now(), "liveness", r.liveness_detail});
  r.api_calls = model.stats().by_action;
  r.events_executed = s.executed();
  r.virtual_seconds = seconds_now();
  c.reset();  // drains the coroutines on virtual time
  return r;
}
#endif

}  // namespace alivpc::sim
