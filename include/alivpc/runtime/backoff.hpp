// The one backoff of the project: capped exponential growth, initial * 2^attempt up to max,
// with a choice of jitter so that many nodes retrying at once spread out.
//   full:  uniform in [0, d]            (AWS architecture blog; most spread)
//   equal: d/2 + uniform in [0, d/2]    (never retries at once)
//   none:  d                            (as Kubernetes' CrashLoopBackOff)
#pragma once

#include <alivpc/runtime/prng.hpp>
#include <alivpc/runtime/scheduler.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>

namespace alivpc {

enum class jitter { full, equal, none };

struct backoff_policy {
  clock_duration initial = std::chrono::seconds(1);
  clock_duration max = std::chrono::seconds(30);
  jitter spread = jitter::full;
};

// min(max, initial * 2^attempt), without overflow.
inline clock_duration backoff_ceiling(const backoff_policy& p, unsigned attempt) {
  clock_duration d = std::max(p.initial, clock_duration::zero());
  for (unsigned i = 0; i < attempt && d < p.max; ++i)
    d *= 2;
  return std::min(d, p.max);
}

// The wait before retry number `attempt` (0: after the first failure).
inline clock_duration backoff_delay(const backoff_policy& p, unsigned attempt, prng& rng) {
  auto d = backoff_ceiling(p, attempt);
  auto uniform = [&](clock_duration up_to) {
    return clock_duration(static_cast<clock_duration::rep>(rng.below(
        static_cast<std::uint64_t>(std::max<clock_duration::rep>(up_to.count(), 0)) + 1)));
  };
  switch (p.spread) {
    case jitter::full:
      return uniform(d);
    case jitter::equal:
      return d / 2 + uniform(d - d / 2);
    case jitter::none:
      break;
  }
  return d;
}

// A backoff that counts its own failures: next() after each failure, reset() after a success.
class backoff {
 public:
  explicit backoff(backoff_policy p = {}) : p_(p) {}
  clock_duration next(prng& rng) { return backoff_delay(p_, attempt_++, rng); }
  void reset() noexcept { attempt_ = 0; }
  unsigned failures() const noexcept { return attempt_; }
  const backoff_policy& policy() const noexcept { return p_; }

 private:
  backoff_policy p_;
  unsigned attempt_ = 0;
};

}  // namespace alivpc
