// The service-side behaviour knobs of the VPC model: latency distributions, token buckets,
// injected faults and scheduled outages. All draw from alivpc::prng and take `now`; none owns a
// clock, so they work on virtual and on real time alike.
#pragma once

#include <alivpc/runtime/prng.hpp>
#include <alivpc/runtime/scheduler.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <string>
#include <vector>

namespace alivpc::sim {

using std::chrono::milliseconds;

// How long the service takes to answer one request.
struct latency_distribution {
  enum class shape { fixed, uniform, log_normal };
  shape kind = shape::fixed;
  milliseconds a{0};   // fixed: the value; uniform: low; log_normal: median
  milliseconds b{0};   // uniform: high; log_normal: unused
  double sigma = 0.5;  // log_normal: spread of log(latency)

  static latency_distribution fixed(milliseconds v) { return {shape::fixed, v, v, 0}; }
  static latency_distribution uniform(milliseconds lo, milliseconds hi) {
    return {shape::uniform, lo, hi, 0};
  }
  static latency_distribution log_normal(milliseconds median, double sigma) {
    return {shape::log_normal, median, median, sigma};
  }

  clock_duration draw(prng& rng) const {
    switch (kind) {
      case shape::fixed:
        return a;
      case shape::uniform:
        return milliseconds(rng.between(a.count(), std::max(a, b).count()));
      case shape::log_normal: {
        double ms = static_cast<double>(a.count()) * std::exp(sigma * rng.normal());
        return std::chrono::microseconds(static_cast<std::int64_t>(ms * 1000.0));
      }
    }
    return a;
  }
};

// N requests per period, refilled continuously; capacity N (a burst of N is allowed).
class token_bucket {
 public:
  token_bucket(double per_period, clock_duration period, time_point start)
      : capacity_(per_period),
        tokens_(per_period),
        rate_per_ns_(per_period / static_cast<double>(period.count())),
        last_(start) {}
  bool try_take(time_point now) {
    if (now > last_) {
      tokens_ =
          std::min(capacity_, tokens_ + rate_per_ns_ * static_cast<double>((now - last_).count()));
      last_ = now;
    }
    if (tokens_ < 1.0) return false;
    tokens_ -= 1.0;
    return true;
  }

 private:
  double capacity_, tokens_, rate_per_ns_;
  time_point last_;
};

// What an injected fault does to a request.
// drop: the connection closes without an answer; timeout: no answer at all (the client's
// deadline decides).
enum class fault_kind { internal_error, service_unavailable, throttling, drop, timeout };

struct fault_rule {
  std::string action = "*";  // "*" = every action
  double rate = 0;           // probability per request
  fault_kind kind = fault_kind::internal_error;
};

// A window during which every request of `action` ("*" = all) fails with `kind`.
struct outage {
  time_point from;
  time_point to;
  std::string action = "*";
  fault_kind kind = fault_kind::service_unavailable;
};

}  // namespace alivpc::sim
