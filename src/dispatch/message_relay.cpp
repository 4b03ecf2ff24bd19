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
  for (const auto& lane : lanes_) queue_.EnsureLane(MessageQueueName(lane));
  // A lane the broker holds nothing of at start had its queue purged or the
  // broker's data lost: all its queued recipients are published again.
  ForgetWhatEmptyLanesLost(INT64_MAX, "the broker holds nothing of {1}; its {0} queued recipient(s) are published again");
  next_sweep_ = std::chrono::steady_clock::now() + options_.sweep;
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
  // Up to kRecipientsPerItem recipients of one lane and priority to an item, in the order they came.
  std::map<std::pair<std::string, int>, std::vector<std::int64_t>> filling;
  std::map<std::string, std::vector<queue::OutgoingItem>> items_by_lane;
  const auto close = [&items_by_lane](const std::string& lane, int priority, std::vector<std::int64_t>& recipients) {
    items_by_lane[lane].push_back({"r" + std::to_string(recipients.front()) + "+" + std::to_string(recipients.size()),
                                   MessageItemBody(recipients, priority), priority});
    recipients.clear();
  };
  for (const auto& delivery : due) {
    auto& recipients = filling[{delivery.lane, delivery.priority}];
    recipients.push_back(delivery.recipient_id);
    if (recipients.size() == static_cast<std::size_t>(kRecipientsPerItem)) close(delivery.lane, delivery.priority, recipients);
  }
  for (auto& [key, recipients] : filling) {
    if (!recipients.empty()) close(key.first, key.second, recipients);
  }
  for (const auto& [lane, items] : items_by_lane) queue_.Publish(MessageQueueName(lane), items);
  store_.MarkPublished(due);
  published_ += static_cast<std::int64_t>(due.size());
  if (on_published_) {
    for (const auto& [lane, items] : items_by_lane) on_published_(lane);
  }
  return static_cast<std::int64_t>(due.size());
}

std::int64_t MessageRelay::SweepLost() {
  return ForgetWhatEmptyLanesLost(ToUnixMillis(clock_.Now()) - options_.lost_after.count(),
                                  "{0} recipient(s) of {1} were published over {2} s ago and are still queued with "
                                  "nothing in the broker; publishing them again");
}

std::int64_t MessageRelay::ForgetWhatEmptyLanesLost(std::int64_t due_before_ms, std::string_view log_format) {
  std::int64_t forgotten = 0;
  for (const auto& lane : lanes_) {
    const auto queue_name = MessageQueueName(lane);
    // Items a consumer holds are not counted, so this may publish a copy of one
    // being sent right now: that copy finds it claimed, or final, and is dropped.
    if (queue_.Depth(queue_name) != 0) continue;
    if (const auto n = store_.ForgetPublished(lane, due_before_ms); n > 0) {
      spdlog::warn(fmt::runtime(log_format), n, queue_name, options_.lost_after.count() / 1000);
      forgotten += n;
    }
  }
  return forgotten;
}

void MessageRelay::Run() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    lock.unlock();
    std::chrono::milliseconds wait = options_.poll;
    std::int64_t relayed = 0;
    try {
      if (std::chrono::steady_clock::now() >= next_sweep_) {
        next_sweep_ = std::chrono::steady_clock::now() + options_.sweep;
        SweepLost();
      }
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
