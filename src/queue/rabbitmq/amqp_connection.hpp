// One AMQP 0-9-1 connection with one channel, over rabbitmq-c, reduced to what the
// RabbitMQ queue needs: declare/delete queues, publish with batched confirms,
// consume with manual acks, drain. Recovers the channel after a channel-level
// error; after a connection-level one it reports broken() and must be replaced.
// Not thread-safe (neither is rabbitmq-c): the owner serialises calls.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "queue/rabbitmq/rabbitmq_settings.hpp"

struct amqp_connection_state_t_;

namespace herald::queue::rabbitmq {

struct QueueArgument {
  std::string key;
  std::variant<std::int64_t, std::string> value;
};

struct OutgoingMessage {
  std::string routing_key;  // a queue name (default exchange), or a key of `exchange`
  std::string exchange;     // empty: the default exchange
  std::string message_id;
  std::string body;
  std::string reason;  // x-herald-reason header when not empty (dead letters)
};

struct Delivery {
  std::string message_id;
  std::string body;
  int delivery_count = 1;
  std::uint64_t tag = 0;
};

class AmqpConnection {
 public:
  // Connects, logs in and opens the channel, in confirm mode if `confirms`.
  // Throws std::runtime_error naming host:port (never the password) on failure.
  AmqpConnection(const RabbitMqSettings& settings, bool confirms);
  ~AmqpConnection();
  AmqpConnection(const AmqpConnection&) = delete;
  AmqpConnection& operator=(const AmqpConnection&) = delete;

  // True once the connection failed; every later call would fail too.
  bool broken() const { return broken_; }

  // Durable queue; returns its ready message count.
  std::uint32_t Declare(const std::string& queue, const std::vector<QueueArgument>& arguments = {});
  // Ready message count of an existing queue, or nullopt if there is no such queue.
  std::optional<std::uint32_t> DeclarePassive(const std::string& queue);
  // A durable direct exchange, and a queue's binding to it under `routing_key`.
  void DeclareExchange(const std::string& exchange);
  void Bind(const std::string& queue, const std::string& exchange, const std::string& routing_key);
  void Delete(const std::string& queue);

  // Persistent, mandatory messages; returns once the broker confirmed all of them,
  // waiting for confirms once per `confirm_batch` messages. Throws if the broker
  // refused one (basic.nack) or could not route one (no such queue).
  void Publish(const std::vector<OutgoingMessage>& messages, std::size_t confirm_batch);

  void Consume(const std::string& queue, int prefetch);
  // The next delivery within `wait` (zero: only what has already arrived).
  std::optional<Delivery> Next(std::chrono::milliseconds wait);
  // True once the broker cancelled the consumer (its queue was deleted).
  bool cancelled() const { return cancelled_; }
  void Ack(std::uint64_t tag);

  // Removes every ready message from the queue and returns their message ids.
  std::vector<std::string> Drain(const std::string& queue);

 private:
  struct Reply;
  Reply CheckRpc(const std::string& what);
  void ExpectOk(const std::string& what);
  void OpenChannel();
  void RecoverChannel();
  void WaitForConfirms(std::uint64_t last_tag, std::vector<std::string>& unroutable, bool& refused);
  [[noreturn]] void Fail(const std::string& what);

  const RabbitMqSettings& settings_;
  const bool confirms_;
  amqp_connection_state_t_* state_ = nullptr;
  std::uint64_t published_ = 0;  // delivery tags of the channel's publisher confirms
  std::uint64_t confirmed_ = 0;
  bool broken_ = false;
  bool cancelled_ = false;
};

}  // namespace herald::queue::rabbitmq
