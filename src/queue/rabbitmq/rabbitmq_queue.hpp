// Queue on RabbitMQ through rabbitmq-c: one durable queue per lane, persistent
// messages, publisher confirms awaited per batch (20x the rate of one-by-one),
// manual acks with prefetch. Delayed retries park a message in a per-delay
// "<lane>.retry.<ms>" queue whose TTL dead-letters it back into the lane; dead
// letters go to "<lane>.dead". rabbitmq-c connections are not thread-safe, so
// each consuming lane has its own connection and publishing has another.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "common/result.hpp"
#include "queue/queue.hpp"

namespace herald::queue::rabbitmq {

struct RabbitMqSettings {
  std::string host = "127.0.0.1";
  int port = 5672;
  std::string vhost = "/";
  std::string username = "guest";
  std::string password = "guest";
  int prefetch = 64;
  std::chrono::milliseconds timeout{10000};

  std::string Describe() const { return "amqp://" + host + ":" + std::to_string(port); }
};

// amqp://user:pass@host:port/vhost (vhost percent-encoded; "%2f" is "/").
Result<RabbitMqSettings> ParseAmqpUrl(std::string_view url);

class AmqpConnection;

class RabbitMqQueue final : public Queue {
 public:
  // Connects at once; throws std::runtime_error naming the broker when it cannot.
  explicit RabbitMqQueue(RabbitMqSettings settings);
  ~RabbitMqQueue() override;

  void EnsureLane(const std::string& lane) override;
  RemovedLane RemoveLane(const std::string& lane) override;
  void Publish(const std::string& lane, const std::vector<OutgoingItem>& items) override;
  std::vector<Lease> Take(const std::string& lane, int max_items, std::chrono::milliseconds wait) override;
  void Ack(const std::vector<Lease>& leases) override;
  void Retry(const Lease& lease, std::chrono::milliseconds delay) override;
  void DeadLetter(const Lease& lease, const std::string& reason) override;
  std::int64_t Depth(const std::string& lane) override;

  // The per-delay queue a retry of `delay` waits in: delays are rounded up to a
  // step of a sqrt(2) series so that few queues exist and every message in one
  // has the same TTL (no head-of-line blocking).
  static std::chrono::milliseconds RetryStep(std::chrono::milliseconds delay);

 private:
  AmqpConnection& ConsumerFor(const std::string& lane);

  RabbitMqSettings settings_;
  std::mutex publisher_mutex_;
  std::unique_ptr<AmqpConnection> publisher_;
  std::mutex consumers_mutex_;
  std::map<std::string, std::unique_ptr<AmqpConnection>> consumers_;
};

}  // namespace herald::queue::rabbitmq
