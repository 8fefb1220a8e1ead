// Many seeds of one scenario, run in parallel over the cores, and the distribution of what
// happened: the planning question ("how often, and how bad?") that one seed cannot answer.
// Each run is deterministic and shares nothing with the others, so the answer is the same for
// any number of threads; the worst seeds are named so that one replays them alone. The runner
// is a parameter (alivpc-simulate passes run_scenario), so this header needs only the report.
#pragma once

#include <alivpc/detail/strings.hpp>
#include <alivpc/error.hpp>
#include <alivpc/sim/scenario.hpp>
#include <alivpc/sim/scenario_report.hpp>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <tuple>
#include <vector>

namespace alivpc::sim {

struct seed_range {
  std::uint64_t first = 1;
  std::uint64_t count = 1;
  friend bool operator==(const seed_range&, const seed_range&) = default;
};

// "N" (N seeds from `first`) or "A..B" (A to B, both included).
inline seed_range parse_seed_range(std::string_view text, std::uint64_t first) {
  auto number = [&](std::string_view t) {
    if (auto v = alivpc::detail::whole_number<std::uint64_t>(t)) return *v;
    fail(error_kind::invalid_argument,
         "--seeds: expected a count like 100 or a range like 1..100, got \"" + std::string(text) +
             "\"");
  };
  seed_range r;
  if (auto dots = text.find(".."); dots != std::string_view::npos) {
    r.first = number(text.substr(0, dots));
    auto last = number(text.substr(dots + 2));
    if (last < r.first)
      fail(error_kind::invalid_argument,
           "--seeds: the range " + std::string(text) + " ends before it starts");
    r.count = last - r.first + 1;
  } else {
    r.first = first;
    r.count = number(text);
  }
  if (r.count == 0 || r.count > 1'000'000)
    fail(error_kind::invalid_argument,
         "--seeds: expected 1 to 1000000 seeds, got " + std::to_string(r.count));
  return r;
}

// Nearest-rank percentiles of a sample: p50, p95 and max, as {"p50", "p95", "max"}.
inline nlohmann::json distribution(const std::vector<double>& v) {
  return {{"p50", scenario_report::percentile(v, 0.5)},
          {"p95", scenario_report::percentile(v, 0.95)},
          {"max", scenario_report::percentile(v, 1.0)}};
}

struct seed_sweep {
  std::string scenario_name, strategy;
  seed_range seeds;
  std::vector<scenario_report> runs;  // in seed order

  // Worse first: violations, then not live, then exits, then nodes never ready, then the
  // slowest p95. Ties keep seed order (stable), so the list is the same on every run.
  std::vector<const scenario_report*> worst(std::size_t n) const {
    std::vector<const scenario_report*> v;
    for (const auto& r : runs)
      v.push_back(&r);
    auto key = [](const scenario_report* r) {
      return std::tuple(r->safety_violation_count, !r->live, r->fatal_exits, r->never_ready,
                        scenario_report::percentile(r->ready_seconds, 0.95));
    };
    std::stable_sort(v.begin(), v.end(), [&](auto* a, auto* b) { return key(a) > key(b); });
    v.resize(std::min(n, v.size()));
    return v;
  }

  // Why a run is among the worst, in a few words.
  static std::string why(const scenario_report& r) {
    if (!r.safe()) return std::to_string(r.safety_violation_count) + " safety violation(s)";
    if (!r.live) return "did not converge";
    if (r.fatal_exits) return std::to_string(r.fatal_exits) + " node(s) exited";
    if (r.never_ready) return std::to_string(r.never_ready) + " node(s) never ready";
    char buf[48];
    std::snprintf(buf, sizeof buf, "ready p95 %.1f s",
                  scenario_report::percentile(r.ready_seconds, 0.95));
    return buf;
  }

  nlohmann::json to_json(std::size_t worst_n = 5) const {
    std::vector<double> p95, max, restarts, per_join, stale;
    std::uint64_t violations = 0, violating = 0, not_live = 0, never = 0, never_seeds = 0,
                  fatal = 0;
    nlohmann::json per_seed = nlohmann::json::array();
    for (const auto& r : runs) {
      auto j = r.to_json();
      p95.push_back(j["ready_p95_s"].get<double>());
      max.push_back(j["ready_max_s"].get<double>());
      restarts.push_back(j["restarts_total"].get<double>());
      per_join.push_back(r.api_calls_per_join());
      stale.push_back(r.stale_routes);
      violations += r.safety_violation_count;
      violating += r.safe() ? 0 : 1;
      not_live += r.live ? 0 : 1;
      never += static_cast<std::uint64_t>(r.never_ready);
      never_seeds += r.never_ready ? 1 : 0;
      fatal += static_cast<std::uint64_t>(r.fatal_exits);
      per_seed.push_back({{"seed", r.seed},
                          {"ready_p95_s", j["ready_p95_s"]},
                          {"ready_max_s", j["ready_max_s"]},
                          {"safety_violations", r.safety_violation_count},
                          {"live", r.live},
                          {"never_ready", r.never_ready},
                          {"fatal_exits", r.fatal_exits},
                          {"restarts_total", j["restarts_total"]},
                          {"api_calls_per_join", r.api_calls_per_join()},
                          {"stale_routes", r.stale_routes},
                          {"table_entries_peak", r.table_entries_peak}});
    }
    nlohmann::json worst_seeds = nlohmann::json::array();
    for (auto* r : worst(worst_n))
      worst_seeds.push_back({{"seed", r->seed}, {"why", why(*r)}});
    return {{"name", scenario_name},
            {"strategy", strategy},
            {"seeds", {{"first", seeds.first}, {"count", seeds.count}}},
            {"ready_p95_s", distribution(p95)},
            {"ready_max_s", distribution(max)},
            {"safety_violations", violations},
            {"seeds_with_violations", violating},
            {"seeds_not_live", not_live},
            {"never_ready", {{"nodes", never}, {"seeds", never_seeds}}},
            {"fatal_exits", fatal},
            {"restarts_total", distribution(restarts)},
            {"api_calls_per_join", distribution(per_join)},
            {"stale_routes", distribution(stale)},
            {"worst_seeds", worst_seeds},
            {"per_seed", per_seed}};
  }
};

// Runs `seeds` of `sc` (its seed replaced by each) on `jobs` threads; `run(scenario)` returns
// a scenario_report and must share nothing between calls. `done(n, total)` is called, from one
// thread at a time, after each run.
template <class Run>
seed_sweep run_seed_sweep(const scenario& sc, seed_range seeds, unsigned jobs, Run run,
                          const std::function<void(std::size_t, std::size_t)>& done = {}) {
  seed_sweep out{sc.name, sc.strategy, seeds, {}};
  out.runs.resize(seeds.count);
  std::atomic<std::uint64_t> next{0};
  std::mutex m;
  std::size_t finished = 0;
  std::exception_ptr failure;
  auto work = [&] {
    for (std::uint64_t i; (i = next.fetch_add(1)) < seeds.count;) {
      try {
        scenario one = sc;
        one.seed = seeds.first + i;
        out.runs[i] = run(one);
      } catch (...) {
        std::lock_guard lock(m);
        if (!failure) failure = std::current_exception();
        next = seeds.count;
      }
      std::lock_guard lock(m);
      ++finished;
      if (done) done(finished, seeds.count);
    }
  };
  jobs = std::clamp<unsigned>(
      jobs, 1,
      static_cast<unsigned>(std::min<std::uint64_t>(
          seeds.count, std::uint64_t{std::thread::hardware_concurrency()} * 4)));
  std::vector<std::thread> threads;
  for (unsigned t = 1; t < jobs; ++t)
    threads.emplace_back(work);
  work();
  for (auto& t : threads)
    t.join();
  if (failure) std::rethrow_exception(failure);
  return out;
}

}  // namespace alivpc::sim
