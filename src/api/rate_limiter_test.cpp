#include "api/rate_limiter.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <deque>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace herald::api {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

TEST(Tier, NamesAndLimits) {
  EXPECT_EQ(ParseTier("free"), Tier::kFree);
  EXPECT_EQ(ParseTier("basic"), Tier::kBasic);
  EXPECT_EQ(ParseTier("premium"), Tier::kPremium);
  EXPECT_EQ(ParseTier("gold"), std::nullopt);
  EXPECT_EQ(ParseTier(""), std::nullopt);
  for (const auto tier : {Tier::kFree, Tier::kBasic, Tier::kPremium}) EXPECT_EQ(ParseTier(ToString(tier)), tier);
  EXPECT_EQ(RequestsPerMinute(Tier::kFree), 60);
  EXPECT_EQ(RequestsPerMinute(Tier::kBasic), 300);
  EXPECT_EQ(RequestsPerMinute(Tier::kPremium), 1000);
}

TEST(RateLimiter, AllowsExactlyTheLimitThenDenies) {
  for (const auto tier : {Tier::kFree, Tier::kBasic, Tier::kPremium}) {
    const int limit = RequestsPerMinute(tier);
    ManualClock clock;
    RateLimiter limiter(clock);
    for (int i = 0; i < limit; ++i) {
      const auto d = limiter.Check("key", limit);
      ASSERT_TRUE(d.allowed) << ToString(tier) << " request " << i + 1;
      EXPECT_EQ(d.limit, limit);
      EXPECT_EQ(d.remaining, limit - 1 - i);
      EXPECT_EQ(d.retry_after, seconds(0));
    }
    // Still refused a moment later, and asking again does not make it worse.
    for (int i = 0; i < 5; ++i) {
      clock.Advance(milliseconds(10));
      const auto d = limiter.Check("key", limit);
      EXPECT_FALSE(d.allowed) << ToString(tier);
      EXPECT_EQ(d.limit, limit);
      EXPECT_EQ(d.remaining, 0);
      EXPECT_EQ(d.retry_after, seconds(1));
      EXPECT_EQ(d.reset, seconds(60));
    }
  }
}

TEST(RateLimiter, RemainingAndResetFollowUse) {
  ManualClock clock;
  RateLimiter limiter(clock);
  auto d = limiter.Check("k", 60);
  EXPECT_EQ(d.remaining, 59);
  EXPECT_EQ(d.reset, seconds(1));  // one request's worth, earned back in a second
  d = limiter.Check("k", 60);
  EXPECT_EQ(d.remaining, 58);
  EXPECT_EQ(d.reset, seconds(2));
  clock.Advance(milliseconds(500));
  d = limiter.Check("k", 60);
  EXPECT_EQ(d.remaining, 57);  // 57.5 available: rounded down
  EXPECT_EQ(d.reset, seconds(3));  // 2.5 s, rounded up
  clock.Advance(seconds(3));
  d = limiter.Check("k", 60);
  EXPECT_EQ(d.remaining, 59);
  EXPECT_EQ(d.reset, seconds(1));
}

TEST(RateLimiter, RetryAfterIsExactlyLongEnough) {
  // 7 a minute: one request every 8.57 s, so Retry-After must round up to 9.
  ManualClock clock;
  RateLimiter limiter(clock);
  for (int i = 0; i < 7; ++i) ASSERT_TRUE(limiter.Check("k", 7).allowed);
  const auto denied = limiter.Check("k", 7);
  ASSERT_FALSE(denied.allowed);
  EXPECT_EQ(denied.retry_after, seconds(9));
  clock.Advance(denied.retry_after - milliseconds(1000));
  EXPECT_FALSE(limiter.Check("k", 7).allowed);
  clock.Advance(milliseconds(1000));
  const auto after = limiter.Check("k", 7);
  EXPECT_TRUE(after.allowed);
  EXPECT_EQ(after.remaining, 0);
}

TEST(RateLimiter, HonouringRetryAfterIsNeverRefusedTwice) {
  for (const int limit : {1, 7, 60, 300, 1000, 1001}) {
    ManualClock clock;
    RateLimiter limiter(clock);
    while (limiter.Check("k", limit).allowed) {
    }
    for (int round = 0; round < 20; ++round) {
      const auto denied = limiter.Check("k", limit);
      ASSERT_FALSE(denied.allowed) << limit;
      ASSERT_GE(denied.retry_after, seconds(1));
      clock.Advance(denied.retry_after);
      ASSERT_TRUE(limiter.Check("k", limit).allowed) << limit << " round " << round;
      while (limiter.Check("k", limit).allowed) {
      }
    }
  }
}

TEST(RateLimiter, CapacityComesBackAsTheWindowSlides) {
  ManualClock clock;
  RateLimiter limiter(clock);
  for (int i = 0; i < 60; ++i) ASSERT_TRUE(limiter.Check("k", 60).allowed);
  ASSERT_FALSE(limiter.Check("k", 60).allowed);

  clock.Advance(seconds(30));
  int allowed = 0;
  while (limiter.Check("k", 60).allowed) ++allowed;
  EXPECT_EQ(allowed, 30);

  clock.Advance(seconds(60));
  allowed = 0;
  while (limiter.Check("k", 60).allowed) ++allowed;
  EXPECT_EQ(allowed, 60);
}

TEST(RateLimiter, NoDoubleBurstAtAMinuteBoundary) {
  // A fixed per-minute window would allow 60 at 59.9 s and 60 more at 60.1 s.
  ManualClock clock;
  RateLimiter limiter(clock);
  clock.Advance(milliseconds(59'900));
  for (int i = 0; i < 60; ++i) ASSERT_TRUE(limiter.Check("k", 60).allowed);
  clock.Advance(milliseconds(200));
  EXPECT_FALSE(limiter.Check("k", 60).allowed);
}

TEST(RateLimiter, ClientAtTheSteadyRateIsNeverRefused) {
  ManualClock clock;
  RateLimiter limiter(clock);
  for (int i = 0; i < 600; ++i) {
    ASSERT_TRUE(limiter.Check("k", 300).allowed) << i;
    clock.Advance(milliseconds(200));
  }
}

TEST(RateLimiter, HammeringClientGetsTheSteadyRateAfterItsBurst) {
  // A request every 250 ms for 10 minutes against 60 a minute: the first 60 at
  // once, then one a second. Any 60 s span holds at most 2 x 60 - 1.
  ManualClock clock;
  RateLimiter limiter(clock);
  std::deque<int> allowed_at;  // in quarter seconds
  int total = 0;
  size_t busiest_minute = 0;
  for (int quarter = 0; quarter < 4 * 600; ++quarter) {
    if (limiter.Check("k", 60).allowed) {
      ++total;
      allowed_at.push_back(quarter);
      while (allowed_at.front() <= quarter - 240) allowed_at.pop_front();
      busiest_minute = std::max(busiest_minute, allowed_at.size());
    }
    clock.Advance(milliseconds(250));
  }
  EXPECT_EQ(total, 659);  // 60 up front + one per second for 599.75 s
  EXPECT_EQ(busiest_minute, 119u);
}

TEST(RateLimiter, KeysAreIndependent) {
  ManualClock clock;
  RateLimiter limiter(clock);
  for (int i = 0; i < 60; ++i) ASSERT_TRUE(limiter.Check("tenant-a", 60).allowed);
  EXPECT_FALSE(limiter.Check("tenant-a", 60).allowed);
  const auto b = limiter.Check("tenant-b", 300);
  EXPECT_TRUE(b.allowed);
  EXPECT_EQ(b.remaining, 299);
  EXPECT_TRUE(limiter.Check("tenant-c", 60).allowed);
  EXPECT_TRUE(limiter.Check(std::string("tenant-a\0x", 10), 60).allowed);  // not a prefix match
  EXPECT_FALSE(limiter.Check("tenant-a", 60).allowed);
}

TEST(RateLimiter, RejectsLimitsOutsideTheSupportedRange) {
  ManualClock clock;
  RateLimiter limiter(clock);
  EXPECT_THROW(limiter.Check("k", 0), std::invalid_argument);
  EXPECT_THROW(limiter.Check("k", -5), std::invalid_argument);
  EXPECT_THROW(limiter.Check("k", RateLimiter::kMaxLimitPerMinute + 1), std::invalid_argument);
  EXPECT_TRUE(limiter.Check("k", RateLimiter::kMaxLimitPerMinute).allowed);
}

TEST(RateLimiter, ClockSetBackDoesNotLockAKeyOut) {
  ManualClock clock;
  RateLimiter limiter(clock);
  while (limiter.Check("k", 60).allowed) {
  }
  clock.Advance(-std::chrono::hours(1));
  const auto d = limiter.Check("k", 60);
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.retry_after, seconds(1));
  EXPECT_EQ(d.reset, seconds(60));
}

TEST(RateLimiter, IdleKeysAreForgottenAndBusyOnesKept) {
  ManualClock clock;
  RateLimiter limiter(clock);
  for (int i = 0; i < 1000; ++i) ASSERT_TRUE(limiter.Check("old-" + std::to_string(i), 60).allowed);
  while (limiter.Check("busy", 60).allowed) {
  }
  EXPECT_EQ(limiter.KeyCount(), 1001u);

  // Shards sweep at most once a minute unless they grow: at 30 s the paid-back
  // old keys are still there, at 61 s everything before "newer" has paid back.
  clock.Advance(seconds(30));
  for (int i = 0; i < 1000; ++i) ASSERT_TRUE(limiter.Check("new-" + std::to_string(i), 60).allowed);
  EXPECT_EQ(limiter.KeyCount(), 2001u);
  clock.Advance(seconds(31));
  for (int i = 0; i < 1000; ++i) ASSERT_TRUE(limiter.Check("newer-" + std::to_string(i), 60).allowed);
  // Every shard saw a new key after its sweep interval, so only keys with a TAT
  // still ahead of the clock survive: the 1000 "newer" ones.
  EXPECT_EQ(limiter.KeyCount(), 1000u);

  // Forgetting a key changes nothing: it comes back with a full quota, as it would have.
  const auto back = limiter.Check("old-1", 60);
  EXPECT_TRUE(back.allowed);
  EXPECT_EQ(back.remaining, 59);
}

TEST(RateLimiter, SweepKeepsKeysThatStillOwe) {
  ManualClock clock;
  RateLimiter limiter(clock);
  while (limiter.Check("busy", 60).allowed) {
  }
  clock.Advance(seconds(61));
  while (limiter.Check("busy", 60).allowed) {
  }
  clock.Advance(seconds(30));
  // Enough new keys to trigger size- and time-based sweeps in every shard.
  for (int i = 0; i < 5000; ++i) ASSERT_TRUE(limiter.Check("k" + std::to_string(i), 60).allowed);
  int allowed = 0;
  while (limiter.Check("busy", 60).allowed) ++allowed;
  EXPECT_EQ(allowed, 30);
}

TEST(RateLimiter, MemoryStaysBoundedUnderAFloodOfKeys) {
  ManualClock clock;
  RateLimiter limiter(clock, RateLimiterOptions{.max_keys = 64 * 16});
  for (int i = 0; i < 50'000; ++i) {
    limiter.Check("flood-" + std::to_string(i), 60);
    if (i % 1000 == 0) {
      ASSERT_LE(limiter.KeyCount(), 64u * 16u) << i;
    }
  }
  EXPECT_LE(limiter.KeyCount(), 64u * 16u);
  EXPECT_GT(limiter.KeyCount(), 64u * 8u);
}

TEST(RateLimiter, ConcurrentChecksNeverAllowMoreThanTheLimit) {
  ManualClock clock;
  RateLimiter limiter(clock);
  const std::vector<std::string> keys = {"alpha", "beta", "gamma", "delta"};
  constexpr int kThreads = 8;
  constexpr int kRounds = 250;  // 8 x 250 = 2000 attempts per key against a limit of 1000 / 300
  std::vector<std::atomic<int>> allowed(keys.size());
  std::atomic<int> ready{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      ++ready;
      while (ready.load() < kThreads) {
      }
      for (int round = 0; round < kRounds; ++round) {
        for (size_t k = 0; k < keys.size(); ++k) {
          const size_t key = (k + static_cast<size_t>(t)) % keys.size();
          const int limit = key % 2 == 0 ? 1000 : 300;
          if (limiter.Check(keys[key], limit).allowed) ++allowed[key];
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(allowed[0].load(), 1000);
  EXPECT_EQ(allowed[1].load(), 300);
  EXPECT_EQ(allowed[2].load(), 1000);
  EXPECT_EQ(allowed[3].load(), 300);
}

TEST(RateLimiter, ConcurrentChecksWhileTimeMovesStayWithinTheRate) {
  ManualClock clock;
  RateLimiter limiter(clock);
  std::atomic<bool> done{false};
  std::atomic<int> allowed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      while (!done.load()) {
        if (limiter.Check("shared", 60).allowed) ++allowed;
      }
    });
  }
  for (int i = 0; i < 100; ++i) {
    clock.Advance(milliseconds(100));  // 10 s in all
    std::this_thread::yield();
  }
  done = true;
  for (auto& thread : threads) thread.join();
  EXPECT_LE(allowed.load(), 60 + 10);
}

}  // namespace
}  // namespace herald::api
