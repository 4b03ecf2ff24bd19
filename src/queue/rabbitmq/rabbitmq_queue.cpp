#include "queue/rabbitmq/rabbitmq_queue.hpp"

#include <spdlog/spdlog.h>

#include <cmath>

#include "queue/rabbitmq/amqp_connection.hpp"

namespace herald::queue::rabbitmq {
namespace {

// A lease's tag carries the consumer it came from in its top bits, so it can be
// acknowledged on that consumer's channel (delivery tags are per channel).
constexpr int kGenerationShift = 40;
constexpr std::uint64_t kDeliveryTagMask = (std::uint64_t{1} << kGenerationShift) - 1;
constexpr std::uint32_t kGenerationLimit = 1u << 24;

constexpr std::chrono::milliseconds kFirstRetryStep{100};
constexpr std::chrono::milliseconds kLongestRetryStep = std::chrono::hours(24);
// A parking queue outlives the TTL of anything published to it since it was last
// declared (each Retry declares it again).
constexpr std::chrono::milliseconds kParkingGrace = std::chrono::minutes(1);

std::uint32_t GenerationOf(const Lease& lease) { return static_cast<std::uint32_t>(lease.tag >> kGenerationShift); }

void WarnStale(const Lease& lease, std::string_view action) {
  spdlog::warn("queue=rabbitmq lane={} message_id={} action={} skipped: the connection that delivered it is gone, "
               "so the broker has already queued it again",
               lease.lane, lease.message_id, action);
}

}  // namespace

struct RabbitMqQueue::Consumer {
  std::string lane;
  std::uint32_t generation = 0;
  std::unique_ptr<AmqpConnection> connection;
  std::mutex mutex;  // guards connection
};

RabbitMqQueue::RabbitMqQueue(RabbitMqSettings settings)
    : settings_(std::move(settings)), publisher_(std::make_unique<AmqpConnection>(settings_, true)) {}

RabbitMqQueue::~RabbitMqQueue() = default;

std::vector<std::chrono::milliseconds> RabbitMqQueue::RetrySteps() {
  std::vector<std::chrono::milliseconds> steps;
  for (int k = 0;; ++k) {
    const auto step = std::chrono::milliseconds(
        std::llround(static_cast<double>(kFirstRetryStep.count()) * std::pow(2.0, k / 2.0)));
    if (step >= kLongestRetryStep) {
      steps.push_back(kLongestRetryStep);
      return steps;
    }
    steps.push_back(step);
  }
}

std::chrono::milliseconds RabbitMqQueue::RetryStep(std::chrono::milliseconds delay) {
  static const auto steps = RetrySteps();
  for (const auto step : steps) {
    if (step >= delay) return step;
  }
  return steps.back();
}

std::string RabbitMqQueue::RetryQueueName(const std::string& lane, std::chrono::milliseconds step) {
  return lane + ".retry." + std::to_string(step.count());
}

AmqpConnection& RabbitMqQueue::Publisher() {
  if (!publisher_ || publisher_->broken()) {
    publisher_.reset();
    declared_lanes_.clear();
    publisher_ = std::make_unique<AmqpConnection>(settings_, true);
  }
  return *publisher_;
}

std::optional<std::pair<std::string, std::string>> RabbitMqQueue::RouteOf(const std::string& lane) const {
  for (const auto& exchange : settings_.routed_exchanges) {
    if (lane.size() > exchange.size() + 1 && lane.compare(0, exchange.size(), exchange) == 0 &&
        lane[exchange.size()] == '.') {
      return std::pair{exchange, lane.substr(exchange.size() + 1)};
    }
  }
  return std::nullopt;
}

void RabbitMqQueue::DeclareLane(AmqpConnection& connection, const std::string& lane) {
  connection.Declare(DeadQueueName(lane));
  connection.Declare(lane, {{"x-dead-letter-exchange", std::string()},
                            {"x-dead-letter-routing-key", DeadQueueName(lane)}});
  if (const auto route = RouteOf(lane)) {
    connection.DeclareExchange(route->first);
    connection.Bind(lane, route->first, route->second);
  }
}

void RabbitMqQueue::EnsureLane(const std::string& lane) {
  std::lock_guard lock(publisher_mutex_);
  DeclareLane(Publisher(), lane);
  declared_lanes_.insert(lane);
}

RemovedLane RabbitMqQueue::RemoveLane(const std::string& lane) {
  // This instance's consumer goes first: closing it hands what they hold back
  // to the lane, where the drain below finds it.
  std::vector<std::shared_ptr<Consumer>> closing;  // closed outside the lock
  {
    std::lock_guard lock(consumers_mutex_);
    if (auto it = consumers_.find(lane); it != consumers_.end()) {
      by_generation_.erase(it->second->generation);
      closing.push_back(std::move(it->second));
      consumers_.erase(it);
    }
  }
  closing.clear();

  std::lock_guard lock(publisher_mutex_);
  auto& publisher = Publisher();
  declared_lanes_.erase(lane);
  RemovedLane removed{lane, {}};
  auto drain = [&](const std::string& queue) {
    if (!publisher.DeclarePassive(queue)) return;
    auto ids = publisher.Drain(queue);
    removed.pending_message_ids.insert(removed.pending_message_ids.end(), ids.begin(), ids.end());
    publisher.Delete(queue);
  };
  // Parked retries first, so that none expires back into the lane after it was drained.
  for (const auto step : RetrySteps()) drain(RetryQueueName(lane, step));
  drain(lane);
  publisher.Delete(DeadQueueName(lane));
  return removed;
}

void RabbitMqQueue::Publish(const std::string& lane, const std::vector<OutgoingItem>& items) {
  if (items.empty()) return;
  std::vector<OutgoingMessage> messages;
  messages.reserve(items.size());
  // No priority: RabbitMQ honours it only on queues declared with x-max-priority,
  // which cost more per message, and nothing in a lane needs it yet.
  const auto route = RouteOf(lane);
  for (const auto& item : items) {
    messages.push_back(route ? OutgoingMessage{.routing_key = route->second, .exchange = route->first,
                                               .message_id = item.message_id, .body = item.body}
                             : OutgoingMessage{.routing_key = lane, .message_id = item.message_id, .body = item.body});
  }
  std::lock_guard lock(publisher_mutex_);
  auto& publisher = Publisher();
  if (!declared_lanes_.contains(lane)) {
    DeclareLane(publisher, lane);
    declared_lanes_.insert(lane);
  }
  try {
    publisher.Publish(messages, settings_.confirm_batch);
  } catch (...) {
    declared_lanes_.erase(lane);  // e.g. deleted by another process: declare it again next time
    throw;
  }
}

std::shared_ptr<RabbitMqQueue::Consumer> RabbitMqQueue::ConsumerFor(const std::string& lane) {
  {
    std::lock_guard lock(consumers_mutex_);
    if (auto it = consumers_.find(lane); it != consumers_.end()) return it->second;
  }
  // Connecting takes milliseconds: not under the lock other lanes need.
  auto consumer = std::make_shared<Consumer>();
  consumer->lane = lane;
  consumer->connection = std::make_unique<AmqpConnection>(settings_, false);
  DeclareLane(*consumer->connection, lane);
  consumer->connection->Consume(lane, settings_.prefetch);
  std::lock_guard lock(consumers_mutex_);
  // Another thread connected for this lane meanwhile: one consumer per lane,
  // so ours closes (nothing was taken from it; the broker hands on what it sent).
  if (auto it = consumers_.find(lane); it != consumers_.end()) return it->second;
  do {
    consumer->generation = next_generation_;
    next_generation_ = next_generation_ % (kGenerationLimit - 1) + 1;
  } while (by_generation_.contains(consumer->generation));
  by_generation_[consumer->generation] = consumer;
  consumers_[lane] = consumer;
  return consumer;
}

std::shared_ptr<RabbitMqQueue::Consumer> RabbitMqQueue::ConsumerOf(const Lease& lease) {
  std::lock_guard lock(consumers_mutex_);
  const auto it = by_generation_.find(GenerationOf(lease));
  if (it == by_generation_.end() || it->second->lane != lease.lane) return nullptr;
  return it->second;
}

void RabbitMqQueue::Forget(const std::shared_ptr<Consumer>& consumer) {
  std::lock_guard lock(consumers_mutex_);
  if (auto it = consumers_.find(consumer->lane); it != consumers_.end() && it->second == consumer) consumers_.erase(it);
  if (auto it = by_generation_.find(consumer->generation); it != by_generation_.end() && it->second == consumer) {
    by_generation_.erase(it);
  }
}

std::vector<Lease> RabbitMqQueue::Take(const std::string& lane, int max_items, std::chrono::milliseconds wait) {
  std::vector<Lease> leases;
  if (max_items <= 0) return leases;
  const auto consumer = ConsumerFor(lane);
  std::lock_guard lock(consumer->mutex);
  auto& connection = *consumer->connection;
  try {
    auto delivery = connection.Next(wait);
    while (delivery) {
      leases.push_back({lane, std::move(delivery->message_id), std::move(delivery->body), delivery->delivery_count,
                        (std::uint64_t{consumer->generation} << kGenerationShift) | delivery->tag});
      if (static_cast<int>(leases.size()) >= max_items) break;
      // More only if already prefetched: the first one was worth waiting for, the rest are not.
      delivery = connection.Next(std::chrono::milliseconds(0));
    }
  } catch (...) {
    Forget(consumer);
    throw;
  }
  if (connection.cancelled()) {
    // The lane was deleted; whatever this consumer held went with it.
    Forget(consumer);
    leases.clear();
  }
  return leases;
}

void RabbitMqQueue::AckOn(const std::shared_ptr<Consumer>& consumer, const Lease& lease) {
  try {
    std::lock_guard lock(consumer->mutex);
    consumer->connection->Ack(lease.tag & kDeliveryTagMask);
  } catch (...) {
    Forget(consumer);
    throw;
  }
}

void RabbitMqQueue::Ack(const std::vector<Lease>& leases) {
  for (const auto& lease : leases) {
    const auto consumer = ConsumerOf(lease);
    if (!consumer) {
      WarnStale(lease, "ack");
      continue;
    }
    AckOn(consumer, lease);
  }
}

void RabbitMqQueue::Retry(const Lease& lease, std::chrono::milliseconds delay) {
  const auto consumer = ConsumerOf(lease);
  if (!consumer) {
    WarnStale(lease, "retry");
    return;
  }
  const auto step = RetryStep(delay);
  const auto parking = RetryQueueName(lease.lane, step);
  {
    std::lock_guard lock(publisher_mutex_);
    auto& publisher = Publisher();
    publisher.Declare(parking, {{"x-message-ttl", step.count()},
                                {"x-dead-letter-exchange", std::string()},
                                {"x-dead-letter-routing-key", lease.lane},
                                {"x-expires", (2 * step + kParkingGrace).count()}});
    publisher.Publish({{.routing_key = parking, .message_id = lease.message_id, .body = lease.body}},
                      settings_.confirm_batch);
  }
  // Acknowledged only once the copy is safely parked.
  AckOn(consumer, lease);
}

void RabbitMqQueue::DeadLetter(const Lease& lease, const std::string& reason) {
  const auto consumer = ConsumerOf(lease);
  if (!consumer) {
    WarnStale(lease, "dead-letter");
    return;
  }
  {
    std::lock_guard lock(publisher_mutex_);
    auto& publisher = Publisher();
    publisher.Declare(DeadQueueName(lease.lane));
    publisher.Publish({{.routing_key = DeadQueueName(lease.lane),
                        .message_id = lease.message_id,
                        .body = lease.body,
                        .reason = reason}},
                      settings_.confirm_batch);
  }
  AckOn(consumer, lease);
}

std::int64_t RabbitMqQueue::Depth(const std::string& lane) {
  std::lock_guard lock(publisher_mutex_);
  auto& publisher = Publisher();
  std::int64_t depth = publisher.DeclarePassive(lane).value_or(0);
  for (const auto step : RetrySteps()) depth += publisher.DeclarePassive(RetryQueueName(lane, step)).value_or(0);
  return depth;
}

}  // namespace herald::queue::rabbitmq
