// alivpc-simulate: runs a scenario on virtual time with the production backend, for one seed
// or many (usage below). Its reports fit 80 columns (text_report.hpp).
#include <alivpc/detail/strings.hpp>
#include <alivpc/sim/html_report.hpp>
#include <alivpc/sim/scenario_runner.hpp>
#include <alivpc/sim/seed_sweep.hpp>
#include <alivpc/sim/text_report.hpp>

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>
#include <stdexcept>

namespace {

using namespace alivpc;
using wall_clock = std::chrono::steady_clock;

constexpr const char* usage =
    "usage: alivpc-simulate --scenario FILE.json [options]\n"
    "Runs a scenario on virtual time with the production backend. The same seed\n"
    "replays the same run.\n"
    "  --seed N          the seed (default: the scenario's)\n"
    "  --seeds N|A..B    N seeds from the seed, or seeds A to B: the distribution\n"
    "                    over them and the worst seeds to replay\n"
    "  --jobs J          threads for --seeds (default: one per core)\n"
    "  --strategy S      robust, leader, classic, both (robust and classic) or all\n"
    "                    (default: the scenario's)\n"
    "  --nodes N         nodes at the start, 1 to 5000 (default: the scenario's)\n"
    "  --json            the report as JSON on stdout (its fields: see the README)\n"
    "  --html OUT.html   also write the report to look at, one self-contained file\n"
    "  --verbose         every node's log on stderr\n"
    "Exit code 1 when a run violated a safety invariant or (robust, leader) did not\n"
    "converge; 2 on bad input.\n";

// Every strategy this build has, in the order reports list them.
const std::vector<std::string> all_strategies{"robust", "leader", "classic"};

// One line on stderr, rewritten in place, only when stderr is a terminal and the work has run
// for over a second (ALIVPC_PROGRESS_AFTER_S changes that: the tests set 0, so that whether the
// line appears never depends on how fast the machine is); never part of --json output (stdout).
class progress_line {
 public:
  progress_line() : tty_(::isatty(STDERR_FILENO) == 1), start_(wall_clock::now()) {
    if (const char* after = std::getenv("ALIVPC_PROGRESS_AFTER_S"); after && *after)
      after_ = std::atof(after);
  }
  ~progress_line() { clear(); }
  void show(double fraction, const std::string& what) {
    if (!tty_) return;
    const auto now = wall_clock::now();
    const double wall = std::chrono::duration<double>(now - start_).count();
    if (wall < after_ || now - last_ < std::chrono::milliseconds(200)) return;
    last_ = now;
    const double eta = fraction > 0 ? wall * (1 - fraction) / fraction : 0;
    std::fprintf(stderr, "\r\033[K%s, %.0f%%, ETA %.0f s", what.c_str(), 100 * fraction, eta);
    shown_ = true;
  }
  void clear() {
    if (shown_) std::fprintf(stderr, "\r\033[K");
    shown_ = false;
  }
  double elapsed() const {
    return std::chrono::duration<double>(wall_clock::now() - start_).count();
  }

 private:
  bool tty_, shown_ = false;
  double after_ = 1;  // seconds of work before the line shows
  wall_clock::time_point start_, last_{};
};

}  // namespace

int main(int argc, char** argv) {
  std::string path, strategy, seeds_text, html_path;
  std::optional<std::uint64_t> seed;
  std::optional<int> nodes;
  unsigned jobs = std::max(1u, std::thread::hardware_concurrency());
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
    // A flag's whole value as a number, at least `least`; nothing else is accepted.
    auto number = [&]<class T>(T least, const char* expected) {
      const auto text = value();
      if (auto v = alivpc::detail::whole_number<T>(text); v && *v >= least) return *v;
      throw std::invalid_argument(std::string("expected ") + expected + ", got \"" + text + "\"");
    };
    try {
      if (a == "--scenario")
        path = value();
      else if (a == "--seed")
        seed = number(std::uint64_t{0}, "a seed, 0 or more");
      else if (a == "--seeds")
        seeds_text = value();
      else if (a == "--jobs")
        jobs = number(1u, "a number of threads, 1 or more");
      else if (a == "--strategy")
        strategy = value();
      else if (a == "--nodes")
        nodes = number(1, "a number of nodes, 1 to 5000");
      else if (a == "--json")
        json = true;
      else if (a == "--html")
        html_path = value();
      else if (a == "--verbose")
        verbose = true;
      else if (a == "--help" || a == "-h") {
        std::cout << usage;
        return 0;
      } else {
        std::cerr << "alivpc-simulate: unknown argument " << a << "\n" << usage;
        return 2;
      }
    } catch (const std::invalid_argument& e) {
      std::cerr << "alivpc-simulate: " << a << ": " << e.what() << "\n";
      return 2;
    }
  }
  if (path.empty()) {
    std::cerr << "alivpc-simulate: --scenario FILE.json is required\n" << usage;
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
  std::optional<sim::seed_range> seeds;
  const bool replaced_any = seed || nodes;
  try {
    auto replaced = nlohmann::json::object();  // checked as the file's own values are
    if (seed) replaced["seed"] = *seed;
    if (nodes) replaced["nodes"] = *nodes;
    sc = sim::parse_scenario(text.str(), replaced);
  } catch (const std::exception& e) {
    std::cerr << "alivpc-simulate: " << path << (replaced_any ? " with --seed/--nodes" : "") << ": "
              << e.what() << "\n";
    return 2;
  }
  try {
    if (!seeds_text.empty()) seeds = sim::parse_seed_range(seeds_text, sc.seed);
  } catch (const std::exception& e) {
    std::cerr << "alivpc-simulate: " << e.what() << "\n";
    return 2;
  }
  std::vector<std::string> strategies{strategy.empty() ? sc.strategy : strategy};
  if (strategy == "both") strategies = {"robust", "classic"};
  if (strategy == "all") strategies = all_strategies;
  for (auto& st : strategies)
    if (std::find(all_strategies.begin(), all_strategies.end(), st) == all_strategies.end()) {
      std::cerr << "alivpc-simulate: --strategy: expected robust, classic, leader, both or all, "
                   "got \""
                << st << "\"\n";
      return 2;
    }
  if (seeds)
    std::cerr << "alivpc-simulate: scenario " << sc.name << ", seeds " << seeds->first << ".."
              << seeds->first + seeds->count - 1 << " on " << jobs << " thread(s)\n";
  else
    std::cerr << "alivpc-simulate: scenario " << sc.name << ", seed=" << sc.seed
              << " (replay with --seed " << sc.seed << ")\n";
  int rc = 0;
  nlohmann::json all = nlohmann::json::array();
  sim::html_input html{sc.name, path, {}, {}, {}, {}, {}};
  const bool want_html = !html_path.empty();
  // A violation in any run, or (robust, leader) a cluster that did not converge, is exit code 1.
  auto failed = [](const sim::scenario_report& r) {
    return !r.safe() || (r.strategy != "classic" && !r.live);
  };
  for (auto& st : strategies) {
    sc.strategy = st;
    progress_line progress;
    if (seeds) {
      std::atomic<std::uint64_t> events{0};  // of the finished seeds, for the progress line
      auto run = [&](const sim::scenario& one) {
        auto r = sim::run_scenario(one);
        events += r.events_executed;
        return r;
      };
      auto sweep =
          sim::run_seed_sweep(sc, *seeds, jobs, run, [&](std::size_t done, std::size_t total) {
            char rate[48];
            std::snprintf(
                rate, sizeof rate, ", %.0fk events/s",
                static_cast<double>(events.load()) / std::max(1e-9, progress.elapsed()) / 1e3);
            progress.show(static_cast<double>(done) / static_cast<double>(total),
                          st + ": " + std::to_string(done) + " of " + std::to_string(total) +
                              " seeds" + rate);
          });
      progress.clear();
      auto j = sweep.to_json();
      j["wall_seconds"] = progress.elapsed();
      if (!json) std::fputs(sim::sweep_text(sweep, j, path, progress.elapsed()).c_str(), stdout);
      all.push_back(j);
      for (auto& r : sweep.runs)
        if (failed(r)) rc = 1;
      if (want_html) {
        html.nodes[st] = static_cast<std::size_t>(sc.nodes) * seeds->count;
        for (auto& r : sweep.runs) {
          auto& pooled = html.ready_seconds[st];
          pooled.insert(pooled.end(), r.ready_seconds.begin(), r.ready_seconds.end());
          for (auto& e : r.events)
            if (html.timeline.size() < 1000) html.timeline.push_back({st, r.seed, e});
        }
        // The charts over time show the worst seed, replayed with its minute samples.
        auto worst = sc;
        worst.seed = sweep.worst(1).front()->seed;
        sim::run_options ro;
        ro.record_series = true;
        html.runs.push_back(sim::run_scenario(worst, ro));
        html.ready_note = std::to_string(sc.nodes) + " nodes x " + std::to_string(seeds->count) +
                          " seeds; the charts over time show each strategy's worst seed";
      }
      continue;
    }
    sim::run_options ro;
    ro.verbose = verbose;
    ro.record_series = want_html;
    ro.progress = [&](double done, double total, std::uint64_t events) {
      char buf[96];
      std::snprintf(buf, sizeof buf, ": %s of %s virtual, %.0fk events/s",
                    sim::hours_or_days(done).c_str(), sim::hours_or_days(total).c_str(),
                    static_cast<double>(events) / std::max(1e-9, progress.elapsed()) / 1e3);
      progress.show(done / total, st + buf);
    };
    auto r = sim::run_scenario(sc, ro);
    progress.clear();
    auto j = r.to_json();
    j["wall_seconds"] = progress.elapsed();
    all.push_back(j);
    if (!json) std::fputs(sim::run_text(r, progress.elapsed()).c_str(), stdout);
    if (failed(r)) rc = 1;
    if (want_html) {
      html.ready_seconds[st] = r.ready_seconds;
      html.nodes[st] = static_cast<std::size_t>(r.nodes);
      for (auto& e : r.events)
        html.timeline.push_back({st, r.seed, e});
      html.runs.push_back(std::move(r));
    }
  }
  if (want_html) {
    std::ofstream out(html_path);
    out << sim::render_html(html);
    if (!out) {
      std::cerr << "alivpc-simulate: cannot write " << html_path << "\n";
      return 2;
    }
    std::cerr << "alivpc-simulate: wrote " << html_path << "\n";
  }
  if (!json && strategies.size() > 1)
    std::fputs(("\n" + sim::comparison_text({all.begin(), all.end()})).c_str(), stdout);
  if (json) std::cout << all.dump(2) << "\n";
  return rc;
}
