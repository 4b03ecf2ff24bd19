// A lane's rate shared through a real redis-server: two shapers (two workers)
// at 50 per second send 50 a second between them, a throttle seen by one
// slows both, and without Redis each falls back to its own bucket.
#include "redis/redis_shaper.hpp"

#include <gtest/gtest.h>

#include <thread>

#include "common/clock.hpp"
#include "tests/support/redis_server.hpp"

namespace herald::redis {
namespace {

using std::chrono::milliseconds;
using testing::RedisServer;

constexpr int kPerSecond = 50;

// Takes what `shaper` allows, as the engine does before each claim, for `span`.
int SendFor(dispatch::Shaper& shaper, std::chrono::milliseconds span) {
  SystemClock clock;
  int sent = 0;
  const auto end = clock.Now() + span;
  while (clock.Now() < end) {
    const auto now = clock.Now();
    const int n = shaper.Available(now);
    shaper.Consume(n, now);
    sent += n;
    std::this_thread::sleep_for(milliseconds(1));
  }
  return sent;
}

dispatch::TokenBucket OwnBucket() {
  SystemClock clock;
  return dispatch::TokenBucket(kPerSecond, 1, milliseconds(1000 / kPerSecond), clock.Now());
}

// What one herald worker holds for a lane: its connection, its own bucket and the shared rate.
struct Worker {
  Worker(const RedisServer& server, const std::string& lane)
      : client(*ParseRedisUrl(server.url())), shaper(client, lane, kPerSecond, own) {}
  RedisClient client;
  dispatch::TokenBucket own = OwnBucket();
  RedisShaper shaper;
};

TEST(RedisShaperTest, TwoWorkersShareOneRate) {
  RedisServer server;
  Worker first(server, "sms");
  Worker second(server, "sms");

  int first_sent = 0;
  std::thread other([&] { first_sent = SendFor(first.shaper, milliseconds(2000)); });
  const int second_sent = SendFor(second.shaper, milliseconds(2000));
  other.join();
  // One second's burst (50) and two seconds at 50: 150 in all, not 150 each.
  const int total = first_sent + second_sent;
  EXPECT_GE(total, 135) << first_sent << " + " << second_sent;
  EXPECT_LE(total, 155) << first_sent << " + " << second_sent;
  EXPECT_GT(first_sent, 30);
  EXPECT_GT(second_sent, 30);
  EXPECT_FALSE(first.shaper.falling_back());
  EXPECT_EQ(first.own.Available(SystemClock().Now()), kPerSecond) << "the own bucket was not used";

  Worker email(server, "email");
  const int email_sent = SendFor(email.shaper, milliseconds(50));
  EXPECT_GE(email_sent, kPerSecond) << "another lane has its own bucket: its full burst";
  EXPECT_LE(email_sent, kPerSecond + 5);
}

TEST(RedisShaperTest, AThrottleSeenByOneWorkerSlowsTheOther) {
  RedisServer server;
  Worker first(server, "telegram");
  Worker second(server, "telegram");
  first.shaper.OnThrottled(SystemClock().Now());
  // The shared bucket is empty: the other worker gets about 100 ms' worth in 100 ms, not a burst of 50.
  EXPECT_LE(SendFor(second.shaper, milliseconds(100)), 10);
}

TEST(RedisShaperTest, WithoutRedisEachWorkerShapesOnItsOwnAndRedisIsAskedAgain) {
  RedisServer server;
  RedisClient client(*ParseRedisUrl(server.url()), {.timeout = milliseconds(100)});
  auto own = OwnBucket();
  RedisShaper shaper(client, "sms", kPerSecond, own);
  server.Kill();
  SystemClock clock;
  const int sent = SendFor(shaper, milliseconds(500));
  EXPECT_TRUE(shaper.falling_back());
  // The own bucket's burst and half a second at 50.
  EXPECT_GE(sent, 60);
  EXPECT_LE(sent, 80);
  EXPECT_LT(own.Available(clock.Now()), kPerSecond) << "the own bucket shaped";
}

}  // namespace
}  // namespace herald::redis
