// A portable seeded PRNG (xoshiro256** seeded by splitmix64) with our own range mapping, so
// that one seed gives the same numbers with every standard library (std::*_distribution differ).
#pragma once

#include <array>
#include <cmath>
#include <cstdint>

namespace alivpc {

constexpr std::uint64_t splitmix64(std::uint64_t& state) noexcept {
  std::uint64_t z = (state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

class prng {
 public:
  using result_type = std::uint64_t;
  explicit prng(std::uint64_t seed = 0) noexcept { reseed(seed); }

  void reseed(std::uint64_t seed) noexcept {
    seed_ = seed;
    for (auto& word : s_)
      word = splitmix64(seed);
  }
  std::uint64_t seed() const noexcept { return seed_; }

  static constexpr result_type min() noexcept { return 0; }
  static constexpr result_type max() noexcept { return ~result_type{0}; }

  result_type operator()() noexcept {
    const std::uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const std::uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }

  // Uniform in [0, bound) without modulo bias (rejection sampling); bound 0 gives 0.
  std::uint64_t below(std::uint64_t bound) noexcept {
    if (bound == 0) return 0;
    const std::uint64_t limit = max() - (max() % bound);
    std::uint64_t x;
    do {
      x = (*this)();
    } while (x >= limit);
    return x % bound;
  }
  // Uniform in [lo, hi] (inclusive).
  std::int64_t between(std::int64_t lo, std::int64_t hi) noexcept {
    if (hi <= lo) return lo;
    return lo + static_cast<std::int64_t>(below(static_cast<std::uint64_t>(hi - lo) + 1));
  }
  // Uniform in [0, 1) with 53 bits.
  double unit() noexcept { return static_cast<double>((*this)() >> 11) * 0x1.0p-53; }
  bool chance(double p) noexcept { return unit() < p; }
  // Standard normal (Box-Muller). libm's log/cos are exact enough to be stable on one platform.
  double normal() noexcept {
    double u1 = unit();
    if (u1 <= 0.0) u1 = 0x1.0p-53;
    double u2 = unit();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
  }
  // A child generator with its own stream, derived deterministically (one per simulated node).
  prng fork() noexcept { return prng((*this)()); }

 private:
  static constexpr std::uint64_t rotl(std::uint64_t x, int k) noexcept {
    return (x << k) | (x >> (64 - k));
  }
  std::array<std::uint64_t, 4> s_{};
  std::uint64_t seed_ = 0;
};

}  // namespace alivpc
