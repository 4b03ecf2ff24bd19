// A provider's request slots and per-recipient turns shared through a real
// redis-server by two "workers" (two objects, each its own client): the limit
// holds between them, a killed worker's slots come back when its lease ends,
// and without Redis each keeps its own.
#include "redis/redis_provider_limits.hpp"

#include <gtest/gtest.h>

#include <thread>

#include "common/clock.hpp"
#include "tests/support/redis_server.hpp"

namespace herald::redis {
namespace {

using std::chrono::milliseconds;
using testing::RedisServer;

struct Worker {
  Worker(const RedisServer& server, int limit, milliseconds lease = std::chrono::seconds(120))
      : client(*ParseRedisUrl(server.url()), {.timeout = milliseconds(200)}),
        slots(client, "provider:twilio", limit, lease),
        turns(client, "provider:telegram", milliseconds(200)) {}
  RedisClient client;
  RedisInFlightLimit slots;
  RedisRecipientSpacing turns;
};

TEST(RedisInFlightLimitTest, TwoWorkersShareOneLimit) {
  RedisServer server;
  Worker first(server, 4);
  Worker second(server, 4);
  EXPECT_EQ(first.slots.TryAcquire(3), 3);
  EXPECT_EQ(second.slots.TryAcquire(3), 1) << "only one of the four is left";
  EXPECT_EQ(second.slots.TryAcquire(1), 0);
  EXPECT_EQ(first.slots.TryAcquire(1), 0);
  first.slots.Release(3);
  EXPECT_EQ(second.slots.TryAcquire(5), 3);
  EXPECT_EQ(server.Cli({"HGET", "herald:inflight:provider:twilio", second.slots.holder()}), "4");
  second.slots.Release(4);
  EXPECT_EQ(server.Cli({"HLEN", "herald:inflight:provider:twilio"}), "0") << "nobody holds anything";
  EXPECT_FALSE(first.slots.falling_back());
  EXPECT_FALSE(second.slots.falling_back());
}

TEST(RedisInFlightLimitTest, AKilledWorkersSlotsComeBackWhenItsLeaseEnds) {
  RedisServer server;
  {
    Worker killed(server, 4, milliseconds(400));
    ASSERT_EQ(killed.slots.TryAcquire(4), 4);
  }  // gone without giving them back
  Worker other(server, 4);
  EXPECT_EQ(other.slots.TryAcquire(2), 0) << "the lease still holds them";
  std::this_thread::sleep_for(milliseconds(500));
  EXPECT_EQ(other.slots.TryAcquire(2), 2);
}

TEST(RedisInFlightLimitTest, WithoutRedisEachWorkerKeepsItsOwnLimitAndAsksAgainLater) {
  RedisServer server;
  Worker worker(server, 4);
  server.Kill();
  EXPECT_EQ(worker.slots.TryAcquire(6), 4) << "its own limit";
  EXPECT_TRUE(worker.slots.falling_back());
  EXPECT_EQ(worker.slots.TryAcquire(1), 0);
  worker.slots.Release(4);
  server.Start();
  std::this_thread::sleep_for(milliseconds(1100));  // past the client's fail-fast and the next ask
  EXPECT_EQ(worker.slots.TryAcquire(2), 2);
  EXPECT_FALSE(worker.slots.falling_back());
  EXPECT_EQ(server.Cli({"HGET", "herald:inflight:provider:twilio", worker.slots.holder()}), "2")
      << "slots from before the outage were never in the shared count";
}

TEST(RedisRecipientSpacingTest, TwoWorkersWritingToOneChatTakeTurns) {
  RedisServer server;
  Worker first(server, 4);
  Worker second(server, 4);
  SystemClock clock;
  const auto now = clock.Now();
  const auto a = first.turns.Reserve("1001", now);
  const auto b = second.turns.Reserve("1001", now);
  const auto c = first.turns.Reserve("1001", now);
  EXPECT_LT(a - now, milliseconds(20));
  EXPECT_GE(b - now, milliseconds(170));
  EXPECT_LE(b - now, milliseconds(210));
  EXPECT_GE(c - now, milliseconds(370));
  EXPECT_LT(second.turns.Reserve("2002", now) - now, milliseconds(20)) << "another chat does not wait";
  EXPECT_FALSE(second.turns.falling_back());

  server.Kill();
  const auto later = clock.Now();
  const auto own = second.turns.Reserve("2002", later);
  EXPECT_TRUE(second.turns.falling_back());
  EXPECT_GE(own - later, milliseconds(100)) << "its own turns: 2002 had one just now";
}

}  // namespace
}  // namespace herald::redis
