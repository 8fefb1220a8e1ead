#include <alivpc/runtime/backoff.hpp>

#include <gtest/gtest.h>

using namespace std::chrono_literals;
using alivpc::backoff;
using alivpc::backoff_policy;
using alivpc::jitter;

TEST(Backoff, DoublesFromInitialUpToMaxWithoutOverflow) {
  backoff_policy p{1s, 30s, jitter::none};
  EXPECT_EQ(alivpc::backoff_ceiling(p, 0), 1s);
  EXPECT_EQ(alivpc::backoff_ceiling(p, 1), 2s);
  EXPECT_EQ(alivpc::backoff_ceiling(p, 4), 16s);
  EXPECT_EQ(alivpc::backoff_ceiling(p, 5), 30s);
  EXPECT_EQ(alivpc::backoff_ceiling(p, 1000000), 30s);
}

TEST(Backoff, EachJitterStaysInItsRangeAndSpreads) {
  alivpc::prng rng(11);
  for (unsigned attempt = 0; attempt < 8; ++attempt) {
    backoff_policy full{100ms, 3s, jitter::full}, equal{100ms, 3s, jitter::equal};
    auto d = alivpc::backoff_ceiling(full, attempt);
    alivpc::clock_duration lo_full = d, hi_full{}, lo_equal = d, hi_equal{};
    for (int i = 0; i < 400; ++i) {
      auto f = alivpc::backoff_delay(full, attempt, rng);
      auto e = alivpc::backoff_delay(equal, attempt, rng);
      ASSERT_GE(f, 0ns);
      ASSERT_LE(f, d);
      ASSERT_GE(e, d / 2);
      ASSERT_LE(e, d);
      lo_full = std::min(lo_full, f), hi_full = std::max(hi_full, f);
      lo_equal = std::min(lo_equal, e), hi_equal = std::max(hi_equal, e);
    }
    EXPECT_LT(lo_full, d / 5) << attempt;
    EXPECT_GT(hi_full, d * 4 / 5) << attempt;
    EXPECT_LT(lo_equal, d * 6 / 10) << attempt;
    EXPECT_GT(hi_equal, d * 9 / 10) << attempt;
  }
}

// Kubernetes' CrashLoopBackOff: 10 s, 20 s, 40 s, ... 5 min, and again from 10 s after a reset.
TEST(Backoff, CountsItsFailuresUntilReset) {
  alivpc::prng rng(1);
  backoff b({10s, 5min, jitter::none});
  std::vector<alivpc::clock_duration> waits;
  for (int i = 0; i < 7; ++i)
    waits.push_back(b.next(rng));
  EXPECT_EQ(waits, (std::vector<alivpc::clock_duration>{10s, 20s, 40s, 80s, 160s, 5min, 5min}));
  EXPECT_EQ(b.failures(), 7u);
  b.reset();
  EXPECT_EQ(b.next(rng), 10s);
}
