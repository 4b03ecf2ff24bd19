// MessageRelay: the outbox relay of the message lanes when a broker carries
// them (queue.kind = rabbitmq). Messages are committed to the store first; the
// relay then hands every due, queued recipient not yet handed over to its
// lane's broker queue, in batches, and marks it published once the broker has
// confirmed the batch. A crash between the two publishes the batch again: the
// lane sends each recipient once, because only one copy can claim it.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "common/clock.hpp"
#include "queue/queue.hpp"
#include "store/message_delivery_store.hpp"

namespace herald::dispatch {

struct MessageRelayOptions {
  int batch = 1000;                                   // recipients per publish (one confirm round)
  std::chrono::milliseconds poll{100};                // longest wait for scheduled work to become due
  std::chrono::milliseconds error_backoff{1000};      // wait after the broker or the store failed
  // How often a lane the broker holds nothing of is checked for recipients
  // published and still queued that long after their time: a copy the broker
  // or a consumer lost is published again (the claim keeps it to one send).
  std::chrono::milliseconds sweep{30000};
  std::chrono::milliseconds lost_after{30000};
};

class MessageRelay {
 public:
  // Called with a lane's name after recipients of it were published.
  using PublishedCallback = std::function<void(const std::string& lane)>;

  MessageRelay(store::MessageDeliveryStore& store, queue::Queue& queue, std::vector<std::string> lanes,
               const Clock& clock, PublishedCallback on_published = {}, MessageRelayOptions options = {});
  ~MessageRelay();
  MessageRelay(const MessageRelay&) = delete;
  MessageRelay& operator=(const MessageRelay&) = delete;

  // Declares the lanes; a lane the broker holds nothing of gets its queued
  // recipients again (its queue was purged or the broker's data lost), then
  // relays in the background until Stop.
  void Start();
  void Stop();
  // New work was committed: relay it now rather than at the next poll.
  void Wake();

  // One round: publishes what is due, up to one batch; returns how many.
  std::int64_t RelayOnce();
  // For each lane the broker holds nothing of: its recipients published, still
  // queued and due more than lost_after ago are published again. Returns how many.
  std::int64_t SweepLost();

  std::int64_t published() const { return published_; }
  // Empty while the last round succeeded; else why it failed (for /health).
  std::string last_error() const;

 private:
  void Run();
  // Publishes again the recipients of every lane whose broker queue is empty
  // that were published and are due before due_before_ms; logs each lane with
  // log_format ({0} count, {1} queue, {2} lost_after in seconds).
  std::int64_t ForgetWhatEmptyLanesLost(std::int64_t due_before_ms, std::string_view log_format);
  std::chrono::steady_clock::time_point next_sweep_;

  store::MessageDeliveryStore& store_;
  queue::Queue& queue_;
  const std::vector<std::string> lanes_;
  const Clock& clock_;
  const PublishedCallback on_published_;
  const MessageRelayOptions options_;
  std::atomic<std::int64_t> published_{0};
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  bool woken_ = false;
  bool stopping_ = false;
  std::string last_error_;
  std::thread thread_;
};

}  // namespace herald::dispatch
