#include "redis/redis_rate_limiter.hpp"

#include <gtest/gtest.h>

#include <thread>

#include "common/clock.hpp"
#include "tests/support/redis_server.hpp"

namespace herald::redis {
namespace {

using testing::RedisServer;

TEST(RedisRateLimiterTest, TwoProcessesSpendOneQuotaPerKey) {
  RedisServer server;
  // Two clients and two limiters: what two herald api processes hold.
  RedisClient first_client(*ParseRedisUrl(server.url()));
  RedisClient second_client(*ParseRedisUrl(server.url()));
  SystemClock clock;
  api::RateLimiter first_local(clock), second_local(clock);
  RedisRateLimiter first(first_client, first_local);
  RedisRateLimiter second(second_client, second_local);

  int allowed = 0;
  for (int i = 0; i < 30; ++i) {
    allowed += first.Check("key:7", 60).allowed;
    allowed += second.Check("key:7", 60).allowed;
  }
  EXPECT_EQ(allowed, 60);
  const auto refused = second.Check("key:7", 60);
  EXPECT_FALSE(refused.allowed);
  EXPECT_EQ(refused.limit, 60);
  EXPECT_EQ(refused.remaining, 0);
  EXPECT_GE(refused.retry_after.count(), 1);
  EXPECT_LE(refused.retry_after.count(), 2) << "one request comes back every second";
  EXPECT_TRUE(first.Check("key:8", 60).allowed) << "another key has its own quota";
  EXPECT_EQ(first_local.KeyCount(), 0u) << "the local limiters were not used";

  // Denied requests cost nothing; after the announced wait one more goes through.
  std::this_thread::sleep_for(std::chrono::seconds(refused.retry_after.count()));
  EXPECT_TRUE(first.Check("key:7", 60).allowed);
  EXPECT_FALSE(second.Check("key:7", 60).allowed);
}

TEST(RedisRateLimiterTest, AnswersInTheShapeOfTheLocalLimiter) {
  RedisServer server;
  RedisClient client(*ParseRedisUrl(server.url()));
  SystemClock clock;
  api::RateLimiter fallback(clock), reference(clock);
  RedisRateLimiter shared(client, fallback);
  for (int i = 0; i < 5; ++i) {
    const auto a = shared.Check("k", 300);
    const auto b = reference.Check("k", 300);
    EXPECT_EQ(a.allowed, b.allowed);
    EXPECT_EQ(a.limit, b.limit);
    EXPECT_EQ(a.remaining, b.remaining) << i;
    EXPECT_EQ(a.reset, b.reset) << i;
  }
  EXPECT_THROW(shared.Check("k", 0), std::invalid_argument);
  EXPECT_THROW(shared.Check("k", api::kMaxLimitPerMinute + 1), std::invalid_argument);
  EXPECT_NE(server.Cli({"PTTL", "herald:rate:k"}), "-1") << "keys expire once they would be answered like new ones";
}

TEST(RedisRateLimiterTest, WhenRedisIsDownTheProcessLimitsOnItsOwn) {
  auto server = std::make_unique<RedisServer>();
  RedisClient client(*ParseRedisUrl(server->url()),
                     {.timeout = std::chrono::milliseconds(200), .retry_after = std::chrono::milliseconds(200)});
  SystemClock clock;
  api::RateLimiter fallback(clock);
  RedisRateLimiter limiter(client, fallback);
  EXPECT_TRUE(limiter.Check("key:1", 60).allowed);
  server->Kill();
  int allowed = 0;
  for (int i = 0; i < 70; ++i) allowed += limiter.Check("key:1", 60).allowed;
  EXPECT_EQ(allowed, 60) << "the local limiter, fresh for this key: neither everything nor nothing";
  EXPECT_FALSE(client.last_error().empty());
}

}  // namespace
}  // namespace herald::redis
