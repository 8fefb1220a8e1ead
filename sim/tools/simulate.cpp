// alivpc-simulate: runs a scenario on virtual time with the real backend.
//   alivpc-simulate --scenario sim/scenarios/steady.json [--seed N] [--strategy
//   robust|classic|both]
//                   [--nodes N] [--json] [--verbose]
// Prints the seed first; the same seed replays the same run exactly. Exit code 1 when a safety
// invariant was violated or (robust strategy) the cluster did not converge after the faults.
#include <alivpc/sim/scenario_runner.hpp>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>

int main(int argc, char** argv) {
  using namespace alivpc;
  std::string path, strategy;
  std::optional<std::uint64_t> seed;
  std::optional<int> nodes;
  bool json = false, verbose = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::cerr << "alivpc-simulate: " << a << " needs a value\n";
        std::exit(2);
      }
      return argv[++i];
    };
    try {
      if (a == "--scenario")
        path = value();
      else if (a == "--seed")
        seed = std::stoull(value());
      else if (a == "--strategy")
        strategy = value();
      else if (a == "--nodes")
        nodes = std::stoi(value());
      else if (a == "--json")
        json = true;
      else if (a == "--verbose")
        verbose = true;
      else if (a == "--help" || a == "-h") {
        std::cout << "usage: alivpc-simulate --scenario FILE.json [--seed N] [--strategy "
                     "robust|classic|both] "
                     "[--nodes N] [--json] [--verbose]\n";
        return 0;
      } else {
        std::cerr << "alivpc-simulate: unknown argument " << a << "\n";
        return 2;
      }
    } catch (const std::exception&) {
      std::cerr << "alivpc-simulate: " << a << ": expected a number\n";
      return 2;
    }
  }
  if (path.empty()) {
    std::cerr << "alivpc-simulate: --scenario FILE.json is required\n";
    return 2;
  }
  std::ifstream in(path);
  if (!in) {
    std::cerr << "alivpc-simulate: cannot read " << path << "\n";
    return 2;
  }
  std::stringstream text;
  text << in.rdbuf();
  sim::scenario sc;
  try {
    sc = sim::parse_scenario(text.str());
  } catch (const std::exception& e) {
    std::cerr << "alivpc-simulate: " << path << ": " << e.what() << "\n";
    return 2;
  }
  if (seed) sc.seed = *seed;
  if (nodes) sc.nodes = *nodes;
  std::vector<std::string> strategies{strategy.empty() ? sc.strategy : strategy};
  if (strategy == "both") strategies = {"robust", "classic"};
  for (auto& st : strategies)
    if (st != "robust" && st != "classic") {
      std::cerr << "alivpc-simulate: --strategy must be robust, classic or both\n";
      return 2;
    }
  std::cerr << "alivpc-simulate: scenario " << sc.name << ", seed=" << sc.seed
            << " (replay with --seed " << sc.seed << ")\n";
  int rc = 0;
  nlohmann::json all = nlohmann::json::array();
  for (auto& st : strategies) {
    sc.strategy = st;
    auto wall_start = std::chrono::steady_clock::now();
    auto r = sim::run_scenario(sc, verbose);
    double wall =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();
    auto j = r.to_json();
    j["wall_seconds"] = wall;
    all.push_back(j);
    if (!json) {
      std::uint64_t calls = 0, failed = 0;
      for (auto& [action, outcomes] : r.api_calls)
        for (auto& [outcome, n] : outcomes) {
          calls += n;
          if (outcome != "Success") failed += n;
        }
      std::printf(
          "%-8s nodes=%d ready p50=%.1fs p95=%.1fs max=%.1fs never=%d fatal=%d restarts=%d | "
          "api calls=%llu "
          "failed=%llu | "
          "safety=%s misrouted=%llu node-s | live=%s | %.0f virtual s, %llu events, %.2f wall s\n",
          st.c_str(), r.nodes, sim::scenario_report::percentile(r.ready_seconds, 0.5),
          sim::scenario_report::percentile(r.ready_seconds, 0.95),
          sim::scenario_report::percentile(r.ready_seconds, 1.0), r.never_ready, r.fatal_exits,
          j["restarts_total"].get<int>(), static_cast<unsigned long long>(calls),
          static_cast<unsigned long long>(failed), r.safe() ? "ok" : "VIOLATED",
          static_cast<unsigned long long>(r.misrouted_node_seconds), r.live ? "yes" : "no",
          r.virtual_seconds, static_cast<unsigned long long>(r.events_executed), wall);
      if (!r.live) std::printf("         liveness: %s\n", r.liveness_detail.c_str());
      for (auto& v : r.safety_violations)
        std::printf("         safety: %s\n", v.c_str());
      for (auto& f : r.fatal_messages)
        std::printf("         fatal: %s\n", f.c_str());
    }
    if (!r.safe() || (st == "robust" && !r.live)) rc = 1;
  }
  if (json) std::cout << all.dump(2) << "\n";
  return rc;
}
