// When to retry a failed OpenAPI call, how long to wait, and how fast the whole client may send.
//
// - transient (throttling, 5xx, timeouts, resets): capped exponential backoff with full jitter,
//   wait = uniform[0, min(max_backoff, initial_backoff * 2^attempt)].
// - conflict (another write to the VPC in progress): wait conflict_wait plus jitter up to the
//   same again, growing like the transient backoff; more attempts, since it always clears.
// - everything else (duplicate, not found, quota, auth, bad request, parse): no retry here; the
//   caller decides what it means.
// On Throttling, rate_limiter widens the gap between any two requests of the client
// (multiplicative) and narrows it again with every success (gradual recovery).
#pragma once

#include <alivpc/cloud/api_error.hpp>
#include <alivpc/error.hpp>
#include <alivpc/runtime/backoff.hpp>
#include <alivpc/runtime/prng.hpp>
#include <alivpc/runtime/scheduler.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <optional>

namespace alivpc::cloud {

using std::chrono::milliseconds;

struct retry_options {
  int max_transient_attempts = 6;  // total attempts of one call when failures are transient
  int max_conflict_attempts = 12;  // total attempts when the VPC is busy with another write
  milliseconds initial_backoff{200};
  milliseconds max_backoff{20000};
  milliseconds conflict_wait{1000};
  // Client-wide rate limiting after Throttling.
  milliseconds throttle_min_interval{250};    // the gap right after the first Throttling
  milliseconds throttle_max_interval{10000};  // never slower than this
  double throttle_growth = 2.0;               // gap *= growth on each Throttling
  double recovery_factor = 0.8;               // gap *= factor on each success

  // One attempt per call and no retry, as the original flannel backend (the classic strategy).
  static retry_options single_attempt() {
    retry_options o;
    o.max_transient_attempts = 1;
    o.max_conflict_attempts = 1;
    return o;
  }
};

enum class retry_reason { transient, conflict };

struct retry_decision {
  retry_reason reason;
  clock_duration wait;
};

// What to do after attempt number `attempt` (1 = the first try) failed with `e`.
inline std::optional<retry_decision> decide_retry(const retry_options& o, const error& e,
                                                  int attempt, prng& rng) {
  // base * 2^(attempt-1), capped at max_backoff.
  auto policy = [&](milliseconds base, jitter spread) {
    return backoff_policy{base, o.max_backoff, spread};
  };
  const auto retry_number = static_cast<unsigned>(std::max(attempt - 1, 0));
  if (e.kind() == error_kind::transient) {
    if (attempt >= o.max_transient_attempts) return std::nullopt;
    return retry_decision{
        retry_reason::transient,
        backoff_delay(policy(o.initial_backoff, jitter::full), retry_number, rng)};
  }
  // Only the service's "busy" conflicts are retried: a duplicate entry is a conflict too, but
  // waiting does not make it go away.
  auto* api = dynamic_cast<const api_error*>(&e);
  if (api && api->error_class() == api_error_class::conflict) {
    if (attempt >= o.max_conflict_attempts) return std::nullopt;
    // The wait plus up to the same again: equal jitter over twice the wait.
    auto base = backoff_ceiling(policy(o.conflict_wait, jitter::equal), retry_number);
    return retry_decision{retry_reason::conflict,
                          backoff_delay({2 * base, 2 * base, jitter::equal}, 0, rng)};
  }
  return std::nullopt;
}

// Spaces requests of one client: zero gap normally; after Throttling a gap that grows with each
// Throttling and shrinks with each success until it is gone.
class rate_limiter {
 public:
  explicit rate_limiter(const retry_options& o = {}) : o_(o) {}

  // The time at which the next request may go out; reserves that slot.
  time_point reserve(time_point now) {
    time_point at = std::max(now, next_free_);
    next_free_ = at + gap_;
    return at;
  }
  void on_throttled() {
    auto min_gap = std::chrono::duration_cast<clock_duration>(o_.throttle_min_interval);
    auto max_gap = std::chrono::duration_cast<clock_duration>(o_.throttle_max_interval);
    auto grown = clock_duration(
        static_cast<clock_duration::rep>(static_cast<double>(gap_.count()) * o_.throttle_growth));
    gap_ = std::clamp(std::max(grown, min_gap), min_gap, max_gap);
    ++throttled_;
  }
  void on_success() {
    if (gap_ == clock_duration::zero()) return;
    gap_ = clock_duration(
        static_cast<clock_duration::rep>(static_cast<double>(gap_.count()) * o_.recovery_factor));
    // Below a few milliseconds the gap no longer protects anything: drop it.
    if (gap_ < std::chrono::milliseconds(5)) gap_ = clock_duration::zero();
  }
  clock_duration gap() const noexcept { return gap_; }
  std::uint64_t throttled_count() const noexcept { return throttled_; }

 private:
  retry_options o_;
  clock_duration gap_{0};
  time_point next_free_{};
  std::uint64_t throttled_ = 0;
};

}  // namespace alivpc::cloud
