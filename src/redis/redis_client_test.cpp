#include "redis/redis_client.hpp"

#include <gtest/gtest.h>

#include <chrono>

#include "tests/support/redis_server.hpp"
#include "tests/support/shared_server.hpp"

namespace herald::redis {
namespace {

using testing::RedisServer;

RedisUrl UrlOf(const RedisServer& server) {
  auto url = ParseRedisUrl(server.url());
  EXPECT_TRUE(url) << url.error().message;
  return *url;
}

TEST(RedisUrlTest, NamesEveryPart) {
  const auto url = ParseRedisUrl("redis://user:p%40ss@cache.internal:6380/3");
  ASSERT_TRUE(url) << url.error().message;
  EXPECT_EQ(url->host, "cache.internal");
  EXPECT_EQ(url->port, 6380);
  EXPECT_EQ(url->username, "user");
  EXPECT_EQ(url->password, "p@ss");
  EXPECT_EQ(url->db, 3);

  const auto bare = ParseRedisUrl("redis://127.0.0.1");
  ASSERT_TRUE(bare);
  EXPECT_EQ(bare->port, 6379);
  EXPECT_EQ(bare->db, 0);
  EXPECT_TRUE(bare->password.empty());

  const auto token = ParseRedisUrl("redis://:secret@localhost:7000/");
  ASSERT_TRUE(token);
  EXPECT_EQ(token->password, "secret");
  EXPECT_TRUE(token->username.empty());
}

TEST(RedisUrlTest, RefusesWhatItCannotUseWithTheReason) {
  for (const auto& [url, why] : std::vector<std::pair<std::string, std::string>>{
           {"http://localhost:6379", "does not start with redis://"},
           {"rediss://localhost:6379", "TLS"},
           {"redis://localhost:99999", "port \"99999\""},
           {"redis://localhost:6379/x", "database \"x\""},
           {"redis://:pw@:6379", "no host"}}) {
    const auto parsed = ParseRedisUrl(url);
    ASSERT_FALSE(parsed) << url;
    EXPECT_NE(parsed.error().message.find(why), std::string::npos) << parsed.error().message;
    EXPECT_EQ(parsed.error().message.find("pw"), std::string::npos) << "no secret in the error";
  }
}

TEST(RedisClientTest, RunsCommandsAndPipelinesWithEveryReplyType) {
  RedisServer server;
  RedisClient client(UrlOf(server));
  EXPECT_EQ(client.Run({"SET", "greeting", std::string("hi\0there", 8)}).text, "OK");
  const auto value = client.Run({"GET", "greeting"});
  EXPECT_EQ(value.type, Reply::Type::kString);
  EXPECT_EQ(value.text, std::string("hi\0there", 8)) << "binary safe";
  EXPECT_EQ(client.Run({"GET", "nothing"}).type, Reply::Type::kNil);
  EXPECT_EQ(client.Run({"INCRBY", "n", "41"}).integer, 41);

  const auto piped = client.Pipeline({{"INCR", "n"}, {"LPUSH", "greeting", "x"}, {"MGET", "n", "nothing"}});
  ASSERT_EQ(piped.replies.size(), 3u);
  EXPECT_EQ(piped.replies[0].integer, 42);
  EXPECT_NE(piped.errors[1].find("WRONGTYPE"), std::string::npos) << "an error reply is the command's, not the pipeline's";
  ASSERT_EQ(piped.replies[2].type, Reply::Type::kArray);
  EXPECT_EQ(piped.replies[2].elements.at(0).text, "42");
  EXPECT_EQ(piped.replies[2].elements.at(1).type, Reply::Type::kNil);

  EXPECT_THROW(client.Run({"NOSUCHCOMMAND"}), RedisError);
  EXPECT_TRUE(client.last_error().empty()) << "an error reply is no outage";
}

TEST(RedisClientTest, AnOutageFailsFastWithItsReasonAndTheClientRecoversWhenTheServerIsBack) {
  RedisServer server;
  RedisClient client(UrlOf(server), {.timeout = std::chrono::milliseconds(300), .retry_after = std::chrono::milliseconds(500)});
  client.Run({"SET", "k", "v"});
  server.Kill();
  EXPECT_THROW(client.Run({"GET", "k"}), RedisError) << "the pooled connection is gone";
  EXPECT_THROW(client.Run({"GET", "k"}), RedisError);
  EXPECT_NE(client.last_error().find(std::to_string(server.port())), std::string::npos) << client.last_error();

  // Within retry_after, callers are answered at once rather than after a connect attempt each.
  const auto started = std::chrono::steady_clock::now();
  for (int i = 0; i < 20; ++i) EXPECT_THROW(client.Run({"GET", "k"}), RedisError);
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::milliseconds(400));

  server.Start();
  std::this_thread::sleep_for(std::chrono::milliseconds(600));
  EXPECT_EQ(client.Run({"SET", "k", "again"}).text, "OK");
  EXPECT_TRUE(client.last_error().empty());
}

TEST(RedisClientTest, AuthenticatesAndSelectsTheDatabaseOfTheUrl) {
  RedisServer server;
  server.Cli({"CONFIG", "SET", "requirepass", "s3cret"});
  RedisClient wrong(*ParseRedisUrl(server.url() + "/2"));
  EXPECT_THROW(wrong.Run({"PING"}), RedisError) << "no password";

  RedisClient client(*ParseRedisUrl("redis://:s3cret@127.0.0.1:" + std::to_string(server.port()) + "/2"));
  client.Run({"SET", "where", "db2"});
  EXPECT_EQ(server.Cli({"-a", "s3cret", "--no-auth-warning", "-n", "2", "GET", "where"}), "db2");
  EXPECT_EQ(client.Describe().find("s3cret"), std::string::npos);
}

}  // namespace
}  // namespace herald::redis
