#include "dispatch/message_relay.hpp"

#include <spdlog/spdlog.h>

#include <map>

#include "dispatch/message_lane.hpp"

namespace herald::dispatch {

MessageRelay::MessageRelay(store::MessageDeliveryStore& store, queue::Queue& queue, std::vector<std::string> lanes,
                           const Clock& clock, PublishedCallback on_published, MessageRelayOptions options)
    : store_(store),
      queue_(queue),
      lanes_(std::move(lanes)),
      clock_(clock),
      on_published_(std::move(on_published)),
      options_(options) {}

MessageRelay::~MessageRelay() { Stop(); }

void MessageRelay::Start() {
  for (const auto& lane : lanes_) {
    const auto queue_name = MessageQueueName(lane);
    queue_.EnsureLane(queue_name);
    // Leased items are not counted, so a lane another worker is draining may
    // look empty: its recipients are published again and sent once all the same.
    if (queue_.Depth(queue_name) == 0) {
      if (const auto forgotten = store_.ForgetPublished(lane); forgotten > 0) {
        spdlog::info("relay: the broker holds nothing of {}; its {} queued recipient(s) are published again",
                     queue_name, forgotten);
      }
    }
  }
  thread_ = std::thread([this] { Run(); });
}

void MessageRelay::Stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_one();
  if (thread_.joinable()) thread_.join();
}

void MessageRelay::Wake() {
  {
    std::lock_guard lock(mutex_);
    woken_ = true;
  }
  wake_.notify_one();
}

std::string MessageRelay::last_error() const {
  std::lock_guard lock(mutex_);
  return last_error_;
}

std::int64_t MessageRelay::RelayOnce() {
  const auto due = store_.TakeUnpublished(options_.batch, ToUnixMillis(clock_.Now()));
  if (due.empty()) return 0;
  std::map<std::string, std::vector<queue::OutgoingItem>> items_by_lane;
  std::vector<std::int64_t> ids;
  ids.reserve(due.size());
  for (const auto& delivery : due) {
    items_by_lane[delivery.lane].push_back(
        {"r" + std::to_string(delivery.recipient_id), MessageItemBody(delivery.recipient_id), delivery.priority});
    ids.push_back(delivery.recipient_id);
  }
  for (const auto& [lane, items] : items_by_lane) queue_.Publish(MessageQueueName(lane), items);
  store_.MarkPublished(ids);
  published_ += static_cast<std::int64_t>(ids.size());
  if (on_published_) {
    for (const auto& [lane, items] : items_by_lane) on_published_(lane);
  }
  return static_cast<std::int64_t>(ids.size());
}

void MessageRelay::Run() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    lock.unlock();
    std::chrono::milliseconds wait = options_.poll;
    std::int64_t relayed = 0;
    try {
      relayed = RelayOnce();
      lock.lock();
      last_error_.clear();
    } catch (const std::exception& e) {
      lock.lock();
      if (last_error_ != e.what()) spdlog::error("relay: cannot hand messages to the broker: {}", e.what());
      last_error_ = e.what();
      wait = options_.error_backoff;
    }
    // A full batch means more is waiting: go on at once.
    if (relayed >= options_.batch) continue;
    wake_.wait_for(lock, wait, [this] { return stopping_ || woken_; });
    woken_ = false;
  }
}

}  // namespace herald::dispatch
