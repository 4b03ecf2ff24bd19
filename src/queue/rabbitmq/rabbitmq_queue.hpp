// Queue on RabbitMQ: one durable queue per lane, persistent messages with
// publisher confirms awaited per batch (measured 20x the rate of one by one),
// manual acks with prefetch, so any number of processes can share the lanes.
//
// Queues of a lane L:
//   L               the work; declared with dead-letter exchange "" and routing key
//                   L.dead, so a message rejected by any client ends up in L.dead
//   L.dead          dead letters, each with its reason in the x-herald-reason header
//   L.retry.<ms>    parking for delayed retries: a queue-level TTL of <ms>, then
//                   dead-lettered back into L. Delays are rounded up to a sqrt(2)
//                   series of steps, so few such queues exist, and every message in
//                   one has the same TTL: a per-message TTL would let a long delay at
//                   the head of a shared queue hold back the short ones behind it.
//                   Each expires (x-expires) once unused for twice its TTL + 1 min.
//
// rabbitmq-c connections are not thread-safe: publishing and administration share
// one connection behind a mutex; each lane has its own consuming connection, so
// lanes consume concurrently, and takers of one lane on several threads take
// turns on it: what the broker prefetched for the lane goes to whichever thread
// takes next (a connection per thread kept it until that thread took again). A lease
// belongs to the connection it came from: acknowledge it from any thread, but if
// that connection was lost meanwhile, the broker has already handed it back and
// Ack/Retry/DeadLetter of it do nothing (logged).
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "queue/queue.hpp"
#include "queue/rabbitmq/rabbitmq_settings.hpp"

namespace herald::queue::rabbitmq {

class AmqpConnection;

class RabbitMqQueue final : public Queue {
 public:
  // Connects at once; throws std::runtime_error naming the broker (host:port, vhost,
  // reason; never the password) when it cannot.
  explicit RabbitMqQueue(RabbitMqSettings settings);
  // Closes every connection: deliveries not yet acknowledged go back to their lanes.
  ~RabbitMqQueue() override;
  RabbitMqQueue(const RabbitMqQueue&) = delete;
  RabbitMqQueue& operator=(const RabbitMqQueue&) = delete;

  void EnsureLane(const std::string& lane) override;
  // Also deletes L.dead and L.retry.*; returns the ids from L and L.retry.*.
  RemovedLane RemoveLane(const std::string& lane) override;
  // Declares the lane first if this instance has not (a lane is created on use,
  // as in the embedded queue).
  void Publish(const std::string& lane, const std::vector<OutgoingItem>& items) override;
  std::vector<Lease> Take(const std::string& lane, int max_items, std::chrono::milliseconds wait) override;
  void Ack(const std::vector<Lease>& leases) override;
  void Retry(const Lease& lease, std::chrono::milliseconds delay) override;
  // Publishes a copy with the reason to L.dead, then acks the original. Not a
  // reject: that would dead-letter a second copy, without our reason, through L's
  // dead-letter exchange.
  void DeadLetter(const Lease& lease, const std::string& reason) override;
  // Ready messages in L plus those parked in L.retry.*.
  std::int64_t Depth(const std::string& lane) override;

  // The delay a retry actually waits: `delay` rounded up to the series
  // 100 ms * sqrt(2)^k, capped at 24 h.
  static std::chrono::milliseconds RetryStep(std::chrono::milliseconds delay);
  static std::vector<std::chrono::milliseconds> RetrySteps();
  static std::string DeadQueueName(const std::string& lane) { return lane + ".dead"; }
  static std::string RetryQueueName(const std::string& lane, std::chrono::milliseconds step);

 private:
  struct Consumer;

  // The exchange and routing key a lane is published through, if routed.
  std::optional<std::pair<std::string, std::string>> RouteOf(const std::string& lane) const;
  std::shared_ptr<Consumer> ConsumerFor(const std::string& lane);
  std::shared_ptr<Consumer> ConsumerOf(const Lease& lease);
  void Forget(const std::shared_ptr<Consumer>& consumer);
  void AckOn(const std::shared_ptr<Consumer>& consumer, const Lease& lease);
  AmqpConnection& Publisher();  // caller holds publisher_mutex_
  void DeclareLane(AmqpConnection& connection, const std::string& lane);

  const RabbitMqSettings settings_;
  std::mutex publisher_mutex_;
  std::unique_ptr<AmqpConnection> publisher_;
  std::set<std::string> declared_lanes_;  // by this instance; under publisher_mutex_
  std::mutex consumers_mutex_;
  std::map<std::string, std::shared_ptr<Consumer>> consumers_;  // by lane
  std::map<std::uint32_t, std::shared_ptr<Consumer>> by_generation_;
  std::uint32_t next_generation_ = 1;  // under consumers_mutex_
};

}  // namespace herald::queue::rabbitmq
