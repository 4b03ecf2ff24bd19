// Seed 002's fast path in a worker: takes e-mail jobs that other services
// publish to the durable queue `email-jobs` (RabbitMQ's queue, or Redis's list
// through redis::RedisListQueue), stores the valid ones as messages
// (with their outbox rows, so the relay hands them to the e-mail lane like any
// API message) and acknowledges them only after that commit. A job that cannot
// be a message goes to `email-jobs.invalid` as {"reason", "job", "received_at"}.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "common/clock.hpp"
#include "queue/queue.hpp"
#include "store/campaign_store.hpp"
#include "store/message_store.hpp"

namespace herald::cli {

inline constexpr const char* kEmailJobsQueue = "email-jobs";
inline constexpr const char* kInvalidEmailJobsQueue = "email-jobs.invalid";

class EmailJobConsumer {
 public:
  // `owner_key_id`: the API key the jobs' messages belong to (their templates
  // are that key's; the messages are listed to it).
  // `stored` runs after each batch that stored messages (to wake their lane).
  EmailJobConsumer(queue::Queue& queue, store::MessageStore& messages, store::TemplateStore& templates,
                   std::int64_t owner_key_id, const Clock& clock, std::function<void()> stored = {});
  ~EmailJobConsumer();
  EmailJobConsumer(const EmailJobConsumer&) = delete;
  EmailJobConsumer& operator=(const EmailJobConsumer&) = delete;

  void Start();
  // Finishes the batch in hand; what is not acknowledged goes back to the queue.
  void Stop();

  std::int64_t stored() const { return stored_; }
  std::int64_t invalid() const { return invalid_; }
  // Empty while jobs go through; else why the latest batch did not.
  std::string last_error() const;

  // One batch: take, validate, store, acknowledge. Returns the jobs taken.
  int RunOnce(std::chrono::milliseconds wait);

 private:
  std::optional<std::int64_t> TemplateNamed(const std::string& name);

  queue::Queue& queue_;
  store::MessageStore& messages_;
  store::TemplateStore& templates_;
  const std::int64_t owner_;
  const Clock& clock_;
  const std::function<void()> on_stored_;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
  std::atomic<std::int64_t> stored_{0};
  std::atomic<std::int64_t> invalid_{0};
  mutable std::mutex mutex_;
  std::string last_error_;
};

}  // namespace herald::cli
