#include "queue/rabbitmq/rabbitmq_queue.hpp"

#include <atomic>
#include <future>

#include "queue/queue_contract_test.hpp"
#include "tests/support/rabbitmq_server.hpp"

namespace herald::queue::testing {
namespace {

herald::testing::RabbitMqServer& Broker() { return herald::testing::SharedRabbitMqServer(); }

class RabbitMqBackend final : public QueueBackend {
 public:
  std::unique_ptr<Queue> Open() override {
    return std::make_unique<rabbitmq::RabbitMqQueue>(rabbitmq::ParseAmqpUrl(Broker().amqp_url()).value());
  }
  void Advance(std::chrono::milliseconds) override {}  // real time: Take waits for the delay
  std::string LaneName(const std::string& base) override {
    static std::atomic<int> counter{0};
    return "herald.test." + base + "." + std::to_string(counter++);
  }
};

INSTANTIATE_TEST_SUITE_P(RabbitMq, QueueContractTest,
                         ::testing::Values([] { return std::unique_ptr<QueueBackend>(new RabbitMqBackend()); }));

TEST(RabbitMqQueue, LanesAreDurableQueuesVisibleToTheBroker) {
  rabbitmq::RabbitMqQueue queue(rabbitmq::ParseAmqpUrl(Broker().amqp_url()).value());
  queue.EnsureLane("herald.certificates.visible");
  queue.Publish("herald.certificates.visible", {{"a", "{}", 0}, {"b", "{}", 0}});
  const auto listing = Broker().Ctl({"list_queues", "name", "messages", "durable"});
  EXPECT_NE(listing.find("herald.certificates.visible\t2\ttrue"), std::string::npos) << listing;
}

// A routed lane is bound to its exchange under its key, is published to
// through it, and is taken from, retried and dead-lettered like any other.
TEST(RabbitMqQueue, ARoutedLaneGoesThroughItsExchangeUnderItsKey) {
  auto settings = rabbitmq::ParseAmqpUrl(Broker().amqp_url()).value();
  settings.routed_exchanges = {"herald.routed"};
  rabbitmq::RabbitMqQueue queue(settings);
  queue.EnsureLane("herald.routed.sms");
  queue.Publish("herald.routed.sms", {{"a", "{}", 0}, {"b", "{}", 0}});
  const auto bindings = Broker().Ctl({"list_bindings", "source_name", "destination_name", "routing_key"});
  EXPECT_NE(bindings.find("herald.routed\therald.routed.sms\tsms"), std::string::npos) << bindings;
  const auto exchanges = Broker().Ctl({"list_exchanges", "name", "type", "durable"});
  EXPECT_NE(exchanges.find("herald.routed\tdirect\ttrue"), std::string::npos) << exchanges;
  auto taken = queue.Take("herald.routed.sms", 2, std::chrono::seconds(5));
  ASSERT_EQ(taken.size(), 2u);
  queue.Retry(taken[0], std::chrono::milliseconds(0));
  queue.DeadLetter(taken[1], "refused");
  const auto again = queue.Take("herald.routed.sms", 1, std::chrono::seconds(5));
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].message_id, "a");
  queue.Ack(again);
  EXPECT_EQ(queue.Depth("herald.routed.sms"), 0);
  EXPECT_TRUE(queue.Take("herald.routed.sms", 1, std::chrono::milliseconds(200)).empty());
  const auto listing = Broker().Ctl({"list_queues", "name", "messages"});
  EXPECT_NE(listing.find("herald.routed.sms.dead\t1"), std::string::npos) << listing;
}

// The engine takes from whichever thread of its pool is free. What the broker
// prefetched for a lane is there for the next take from any thread: a consumer
// of its own per thread would keep items it prefetched until that thread took
// again, and near the end of a run they would wait for seconds while the lane
// had nothing to do.
TEST(RabbitMqQueue, WhatALaneHasPrefetchedIsTakenFromAnyThread) {
  rabbitmq::RabbitMqQueue queue(rabbitmq::ParseAmqpUrl(Broker().amqp_url()).value());
  const std::string lane = "herald.test.any-thread";
  queue.EnsureLane(lane);
  queue.Publish(lane, {{"a", "{}", 0}, {"b", "{}", 0}, {"c", "{}", 0}});
  const auto first = queue.Take(lane, 1, std::chrono::seconds(5));
  ASSERT_EQ(first.size(), 1u);
  auto elsewhere = std::async(std::launch::async, [&] {
    std::vector<Lease> taken;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(3);
    while (taken.size() < 2 && std::chrono::steady_clock::now() < deadline) {
      for (auto& lease : queue.Take(lane, 2, std::chrono::milliseconds(500))) taken.push_back(std::move(lease));
    }
    return taken;
  });
  const auto rest = elsewhere.get();
  ASSERT_EQ(rest.size(), 2u);
  queue.Ack(first);
  queue.Ack(rest);
  EXPECT_EQ(queue.Depth(lane), 0);
}

TEST(RabbitMqQueue, RetryStepsGrowBySquareRootOfTwo) {
  using std::chrono::milliseconds;
  EXPECT_EQ(rabbitmq::RabbitMqQueue::RetryStep(milliseconds(0)), milliseconds(100));
  EXPECT_EQ(rabbitmq::RabbitMqQueue::RetryStep(milliseconds(100)), milliseconds(100));
  EXPECT_EQ(rabbitmq::RabbitMqQueue::RetryStep(milliseconds(101)), milliseconds(141));
  const auto step = rabbitmq::RabbitMqQueue::RetryStep(milliseconds(2000));
  EXPECT_GE(step, milliseconds(2000));
  EXPECT_LT(step, milliseconds(2829));
}

TEST(AmqpUrl, ParsesCredentialsHostPortAndVhost) {
  auto settings = rabbitmq::ParseAmqpUrl("amqp://user:p%40ss@broker.example.org:5673/prod");
  ASSERT_TRUE(settings) << settings.error().message;
  EXPECT_EQ(settings->host, "broker.example.org");
  EXPECT_EQ(settings->port, 5673);
  EXPECT_EQ(settings->username, "user");
  EXPECT_EQ(settings->password, "p@ss");
  EXPECT_EQ(settings->vhost, "prod");
  EXPECT_EQ(rabbitmq::ParseAmqpUrl("amqp://h/%2f")->vhost, "/");
  EXPECT_FALSE(rabbitmq::ParseAmqpUrl("http://nope"));
}

TEST(RabbitMqQueue, UnreachableBrokerIsAnErrorNamingIt) {
  auto settings = rabbitmq::ParseAmqpUrl("amqp://guest:guest@127.0.0.1:" +
                                         std::to_string(herald::testing::FreePort()) + "/%2f").value();
  try {
    rabbitmq::RabbitMqQueue queue(settings);
    FAIL() << "expected an exception";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find(settings.Describe()), std::string::npos) << e.what();
    EXPECT_EQ(std::string(e.what()).find("guest"), std::string::npos);
  }
}

}  // namespace
}  // namespace herald::queue::testing
