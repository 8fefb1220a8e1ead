// Node churn (scenario "churn"): replacements as a Poisson process of per_hour inside the churn
// window, and which running node each one takes, drawn from a stream of its own seeded by the
// scenario's seed (so turning churn on does not move the start times or faults of a run).
#pragma once

#include <alivpc/runtime/prng.hpp>
#include <alivpc/sim/scenario.hpp>

#include <chrono>
#include <cmath>
#include <cstddef>
#include <optional>

namespace alivpc::sim {

class churn_generator {
 public:
  explicit churn_generator(const scenario& sc)
      : rng_(sc.seed ^ 0xc412'0000'0000ull),
        window_(churn_window(sc)),
        mean_gap_s_(sc.churn.per_hour > 0 ? 3600.0 / sc.churn.per_hour : 0) {}

  // The first replacement, if the window holds one.
  std::optional<clock_duration> first() { return after(window_.first); }

  // The next replacement after one at `t` (an exponential gap), if it is still in the window.
  std::optional<clock_duration> after(clock_duration t) {
    if (mean_gap_s_ <= 0) return std::nullopt;
    const double u = 1.0 - rng_.unit();  // (0, 1]: log(0) never
    const auto gap = std::chrono::duration_cast<clock_duration>(
        std::chrono::duration<double>(-std::log(u) * mean_gap_s_));
    t += gap;
    if (t >= window_.second) return std::nullopt;
    return t;
  }

  // Which of `candidates` running nodes leaves.
  std::size_t pick(std::size_t candidates) {
    return static_cast<std::size_t>(rng_.below(candidates));
  }

 private:
  prng rng_;
  std::pair<clock_duration, clock_duration> window_;
  double mean_gap_s_;
};

}  // namespace alivpc::sim
