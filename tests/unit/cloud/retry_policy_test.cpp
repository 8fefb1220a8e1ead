// Retry decisions and the client-wide rate limiter, on a deterministic PRNG.
#include <alivpc/cloud/retry_policy.hpp>

#include <gtest/gtest.h>

namespace cloud = alivpc::cloud;
using namespace std::chrono_literals;
using alivpc::error;
using alivpc::error_kind;

namespace {
cloud::api_error api(const char* code, unsigned status = 400) {
  return cloud::api_error("CreateRouteEntry", "https://vpc.x", status, code, "", "");
}
}  // namespace

TEST(DecideRetry, TransientUsesCappedExponentialBackoffWithFullJitter) {
  cloud::retry_options o;
  o.initial_backoff = 100ms;
  o.max_backoff = 1000ms;
  o.max_transient_attempts = 100;
  alivpc::prng rng(7);
  error timeout(error_kind::transient, "connect timeout");
  for (int attempt = 1; attempt <= 10; ++attempt) {
    auto cap = std::min<std::chrono::nanoseconds>(100ms * (1 << (attempt - 1)), 1000ms);
    std::chrono::nanoseconds max_seen{0}, min_seen = cap;
    for (int i = 0; i < 300; ++i) {
      auto d = cloud::decide_retry(o, timeout, attempt, rng);
      ASSERT_TRUE(d);
      EXPECT_EQ(d->reason, cloud::retry_reason::transient);
      EXPECT_LE(d->wait, cap);
      EXPECT_GE(d->wait, 0ns);
      max_seen = std::max(max_seen, d->wait);
      min_seen = std::min(min_seen, d->wait);
    }
    // Full jitter: the waits spread over the whole interval, not around its end.
    EXPECT_GT(max_seen, cap * 8 / 10) << attempt;
    EXPECT_LT(min_seen, cap * 2 / 10) << attempt;
  }
}

TEST(DecideRetry, StopsAfterTheAttemptBudget) {
  cloud::retry_options o;
  o.max_transient_attempts = 3;
  o.max_conflict_attempts = 5;
  alivpc::prng rng(1);
  EXPECT_TRUE(cloud::decide_retry(o, api("Throttling"), 2, rng));
  EXPECT_FALSE(cloud::decide_retry(o, api("Throttling"), 3, rng));
  EXPECT_TRUE(cloud::decide_retry(o, api("TaskConflict"), 4, rng));
  EXPECT_FALSE(cloud::decide_retry(o, api("TaskConflict"), 5, rng));
}

TEST(DecideRetry, ConflictsWaitAtLeastTheConflictWait) {
  cloud::retry_options o;
  o.conflict_wait = 500ms;
  alivpc::prng rng(3);
  for (auto code : {"TaskConflict", "IncorrcetRouteEntryStatus", "OperationConflict"}) {
    auto d = cloud::decide_retry(o, api(code), 1, rng);
    ASSERT_TRUE(d) << code;
    EXPECT_EQ(d->reason, cloud::retry_reason::conflict);
    EXPECT_GE(d->wait, 500ms);
    EXPECT_LE(d->wait, 1000ms);
  }
}

TEST(DecideRetry, PermanentClassesAreNotRetried) {
  cloud::retry_options o;
  alivpc::prng rng(3);
  for (auto code : {"InvalidCIDRBlock.Duplicate", "InvalidRouteEntry.NotFound", "QuotaExceeded",
                    "SignatureDoesNotMatch", "MissingParameter", "Forbidden.RAM"})
    EXPECT_FALSE(cloud::decide_retry(o, api(code), 1, rng)) << code;
  EXPECT_FALSE(cloud::decide_retry(o, error(error_kind::parse, "bad json"), 1, rng));
  EXPECT_FALSE(cloud::decide_retry(o, error(error_kind::permanent, "no creds"), 1, rng));
  // A plain conflict error that is not a "busy" answer is not waited on either.
  EXPECT_FALSE(cloud::decide_retry(o, error(error_kind::conflict, "not ours"), 1, rng));
}

TEST(RateLimiter, NoGapUntilThrottledThenGrowsAndRecoversGradually) {
  cloud::retry_options o;
  o.throttle_min_interval = 100ms;
  o.throttle_max_interval = 1000ms;
  cloud::rate_limiter rl(o);
  alivpc::time_point t0{};
  EXPECT_EQ(rl.reserve(t0), t0);
  EXPECT_EQ(rl.reserve(t0), t0);  // no gap while never throttled
  rl.on_throttled();
  EXPECT_EQ(rl.gap(), 100ms);
  rl.on_throttled();
  EXPECT_EQ(rl.gap(), 200ms);
  for (int i = 0; i < 10; ++i)
    rl.on_throttled();
  EXPECT_EQ(rl.gap(), 1000ms);  // capped
  // Requests are spaced by the gap.
  alivpc::time_point t1 = t0 + 10s;
  auto a = rl.reserve(t1), b = rl.reserve(t1), c = rl.reserve(t1);
  EXPECT_EQ(a, t1);
  EXPECT_EQ(b - a, 1000ms);
  EXPECT_EQ(c - b, 1000ms);
  // Recovery is gradual: one success does not remove the gap, many do.
  rl.on_success();
  EXPECT_GT(rl.gap(), 500ms);
  EXPECT_LT(rl.gap(), 1000ms);
  int successes = 1;
  while (rl.gap() > 0ns && successes < 1000) {
    rl.on_success();
    ++successes;
  }
  EXPECT_EQ(rl.gap(), 0ns);
  EXPECT_GT(successes, 5);
  EXPECT_EQ(rl.throttled_count(), 12u);
}
