#include "redis/redis_sent_cache.hpp"

#include <gtest/gtest.h>

#include "tests/support/redis_server.hpp"

namespace herald::redis {
namespace {

using testing::RedisServer;

TEST(RedisSentCacheTest, RemembersSendsAndRecallsThemInOneLookup) {
  RedisServer server;
  RedisClient client(*ParseRedisUrl(server.url()));
  RedisSentCache cache(client, std::chrono::seconds(3600));
  cache.Remember({{1, "SM-1", 1'764'000'000'000}, {3, "SM-3", 1'764'000'000'500}});
  const auto recalled = cache.Recall({1, 2, 3});
  ASSERT_TRUE(recalled);
  ASSERT_EQ(recalled->size(), 3u);
  ASSERT_TRUE((*recalled)[0]);
  EXPECT_EQ((*recalled)[0]->provider_message_id, "SM-1");
  EXPECT_EQ((*recalled)[0]->sent_at_ms, 1'764'000'000'000);
  EXPECT_FALSE((*recalled)[1]);
  ASSERT_TRUE((*recalled)[2]);
  EXPECT_EQ((*recalled)[2]->message_id, 3);
  EXPECT_EQ((*recalled)[2]->provider_message_id, "SM-3");

  const auto ttl = std::stoll(server.Cli({"TTL", "herald:sent:1"}));
  EXPECT_GT(ttl, 3000);
  EXPECT_LE(ttl, 3600);
  EXPECT_NE(server.Cli({"GET", "herald:sent:3"}).find("\"provider_message_id\":\"SM-3\""), std::string::npos);
  EXPECT_TRUE(cache.Health().empty());
}

TEST(RedisSentCacheTest, AValueItDidNotWriteIsAMiss) {
  RedisServer server;
  RedisClient client(*ParseRedisUrl(server.url()));
  RedisSentCache cache(client);
  server.Cli({"SET", "herald:sent:5", "not json"});
  server.Cli({"SET", "herald:sent:6", "{\"provider_message_id\":7}"});
  server.Cli({"LPUSH", "herald:sent:8", "a list"});
  const auto recalled = cache.Recall({5, 6, 8});
  ASSERT_TRUE(recalled);
  for (const auto& entry : *recalled) EXPECT_FALSE(entry);
}

TEST(RedisSentCacheTest, AnOutageCostsOnlyTheCache) {
  RedisServer server;
  RedisClient client(*ParseRedisUrl(server.url()),
                     {.timeout = std::chrono::milliseconds(200), .retry_after = std::chrono::milliseconds(100)});
  RedisSentCache cache(client);
  cache.Remember({{1, "SM-1", 1}});
  server.Kill();
  EXPECT_NO_THROW(cache.Remember({{2, "SM-2", 2}}));
  EXPECT_FALSE(cache.Recall({1, 2})) << "cannot answer: the caller reads the store";
  EXPECT_NE(cache.Health().find("redis at 127.0.0.1:" + std::to_string(server.port())), std::string::npos)
      << cache.Health();
  server.Start();
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  cache.Remember({{2, "SM-2", 2}});
  const auto recalled = cache.Recall({1, 2});
  ASSERT_TRUE(recalled);
  EXPECT_FALSE((*recalled)[0]) << "the restarted server is empty";
  ASSERT_TRUE((*recalled)[1]);
  EXPECT_TRUE(cache.Health().empty());
}

}  // namespace
}  // namespace herald::redis
