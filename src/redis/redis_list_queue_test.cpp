#include "redis/redis_list_queue.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <set>

#include "queue/queue_contract_test.hpp"
#include "tests/support/redis_server.hpp"
#include "tests/support/shared_server.hpp"

namespace herald::redis {

testing::RedisServer& Server() { return testing::SharedPerTestBinary<testing::RedisServer>(); }

RedisClient& Client() {
  static RedisClient client(*ParseRedisUrl(Server().url()));
  return client;
}

namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using testing::RedisServer;

std::vector<std::string> Bodies(const std::vector<queue::Lease>& leases) {
  std::vector<std::string> bodies;
  for (const auto& lease : leases) bodies.push_back(lease.body);
  return bodies;
}

// Another service's LPUSH: bare JSON, no id. Each item gets an id of its own,
// the oldest comes out first, and the body is exactly what was pushed.
TEST(RedisListQueueTest, ItemsOtherServicesPushAreTakenOldestFirstWithIdsOfTheirOwn) {
  const std::string lane = "jobs.plain";
  Server().Cli({"LPUSH", lane, R"({"n":1})", R"({"n":2})"});
  Server().Cli({"LPUSH", lane, "{\"n\":3,\n\"text\":\"two lines\"}"});
  RedisListQueue queue(Client(), {.plain_lanes = {lane}});
  auto leases = queue.Take(lane, 10, seconds(1));
  ASSERT_EQ(leases.size(), 3u);
  EXPECT_EQ(Bodies(leases), (std::vector<std::string>{R"({"n":1})", R"({"n":2})", "{\"n\":3,\n\"text\":\"two lines\"}"}));
  std::set<std::string> ids;
  for (const auto& lease : leases) {
    ids.insert(lease.message_id);
    EXPECT_EQ(lease.delivery_count, 1);
  }
  EXPECT_EQ(ids.size(), 3u);
  queue.Ack(leases);
  EXPECT_EQ(Server().Cli({"LLEN", lane + ":herald:taken:" + queue.consumer_id()}), "0");
  EXPECT_EQ(queue.Depth(lane), 0);

  // What Herald writes to a plain lane is the bare body, for others to read;
  // elsewhere its items carry their id.
  RedisListQueue writer(Client(), {.plain_lanes = {lane + ".invalid"}});
  writer.Publish(lane + ".invalid", {{"", R"({"reason":"bad"})", 0}});
  writer.Publish(lane + ".own", {{"m1", R"({"n":4})", 0}});
  EXPECT_EQ(Server().Cli({"RPOP", lane + ".invalid"}), R"({"reason":"bad"})");
  EXPECT_EQ(Server().Cli({"RPOP", lane + ".own"}).rfind("\x01herald 1 m1\n", 0), 0u);
}

// An emptied Redis (FLUSHALL, a new server) starts a new generation of ids, so
// an id already stored as an idempotency key is never handed out again.
TEST(RedisListQueueTest, IdsAreNeverRepeatedAfterRedisIsEmptied) {
  RedisServer server;
  RedisClient client(*ParseRedisUrl(server.url()));
  RedisListQueue queue(client);
  server.Cli({"LPUSH", "jobs", "a"});
  auto first = queue.Take("jobs", 1, seconds(1));
  ASSERT_EQ(first.size(), 1u);
  queue.Ack(first);
  server.Cli({"FLUSHALL"});
  server.Cli({"LPUSH", "jobs", "a"});
  auto second = queue.Take("jobs", 1, seconds(1));
  ASSERT_EQ(second.size(), 1u);
  EXPECT_NE(second[0].message_id, first[0].message_id);
  queue.Ack(second);
}

// A consumer that dies leaves its items in its taken list with a lease nobody
// renews; once the lease is gone the next Take of any consumer gets them back
// under the same ids, counted as a second delivery. A live consumer's items stay its own.
TEST(RedisListQueueTest, ItemsOfAConsumerThatDiedAreTakenAgainUnderTheirIdsAndALiveOnesAreNot) {
  const std::string lane = "jobs.crash";
  Server().Cli({"LPUSH", lane, "one", "two", "three"});
  const RedisListQueueOptions quick{.consumer_lease = milliseconds(400), .recovery_interval = milliseconds(0)};
  RedisListQueue holder(Client(), quick);
  auto held = holder.Take(lane, 2, seconds(1));
  ASSERT_EQ(Bodies(held), (std::vector<std::string>{"one", "two"}));

  RedisListQueue other(Client(), quick);
  auto rest = other.Take(lane, 10, seconds(1));
  ASSERT_EQ(Bodies(rest), (std::vector<std::string>{"three"})) << "the holder's lease is alive";
  other.Ack(rest);

  // The holder dies: its taken list stays, its lease is never renewed.
  const auto ghost_taken = lane + ":herald:taken:ghost";
  Server().Cli({"RENAME", lane + ":herald:taken:" + holder.consumer_id(), ghost_taken});
  Server().Cli({"SET", lane + ":herald:consumer:ghost", "1", "PX", "400"});
  EXPECT_TRUE(other.Take(lane, 10, milliseconds(0)).empty()) << "the ghost's lease still runs";
  std::this_thread::sleep_for(milliseconds(600));
  auto again = other.Take(lane, 10, seconds(2));
  ASSERT_EQ(again.size(), 2u);
  EXPECT_EQ(Bodies(again), (std::vector<std::string>{"one", "two"}));
  EXPECT_EQ(again[0].message_id, held[0].message_id);
  EXPECT_EQ(again[1].message_id, held[1].message_id);
  EXPECT_EQ(again[0].delivery_count, 2);
  other.Ack(again);
  EXPECT_EQ(Server().Cli({"EXISTS", ghost_taken}), "0");
  EXPECT_EQ(other.Depth(lane), 0);
}

// An item retried, or acknowledged, after another consumer took it over is
// not put back a second time.
TEST(RedisListQueueTest, AStaleLeaseNeitherRetriesNorAcknowledgesAnotherConsumersItem) {
  const std::string lane = "jobs.stale";
  Server().Cli({"LPUSH", lane, "x"});
  RedisListQueue first(Client(), {.consumer_lease = milliseconds(200), .recovery_interval = milliseconds(0)});
  auto leases = first.Take(lane, 1, seconds(1));
  ASSERT_EQ(leases.size(), 1u);
  std::this_thread::sleep_for(milliseconds(400));
  RedisListQueue second(Client(), {.recovery_interval = milliseconds(0)});
  auto taken_over = second.Take(lane, 1, seconds(1));
  ASSERT_EQ(taken_over.size(), 1u);
  first.Retry(leases[0], milliseconds(0));
  first.Ack(leases);
  EXPECT_EQ(second.Depth(lane), 0) << "the stale retry added nothing";
  second.Ack(taken_over);
  EXPECT_TRUE(second.Take(lane, 1, milliseconds(100)).empty());
}

TEST(RedisListQueueTest, RefusesMessageIdsItCouldNotReadBack) {
  RedisListQueue queue(Client());
  EXPECT_THROW(queue.Publish("jobs.ids", {{"has space", "{}", 0}}), std::invalid_argument);
  EXPECT_THROW(queue.Publish("jobs.ids", {{"", "{}", 0}}), std::invalid_argument);
  EXPECT_EQ(queue.Depth("jobs.ids"), 0);
}

}  // namespace
}  // namespace herald::redis

namespace herald::queue::testing {
namespace {

class RedisListBackend final : public QueueBackend {
 public:
  std::unique_ptr<Queue> Open() override { return std::make_unique<redis::RedisListQueue>(redis::Client()); }
  void Advance(std::chrono::milliseconds) override {}  // real time: Take waits for the delay
  std::string LaneName(const std::string& base) override {
    static std::atomic<int> counter{0};
    return "test." + base + "." + std::to_string(counter++);
  }
};

INSTANTIATE_TEST_SUITE_P(RedisList, QueueContractTest,
                         ::testing::Values([] { return std::unique_ptr<QueueBackend>(new RedisListBackend()); }));

}  // namespace
}  // namespace herald::queue::testing
