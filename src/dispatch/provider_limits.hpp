// What a provider allows beside its rate: requests awaiting an answer at once
// (<provider>.max_in_flight) and a spacing between two sends to the same
// recipient (Telegram: one message a second to a chat). Each is one object per
// provider for the whole process, so sms and whatsapp share Twilio's; the Redis
// versions (redis/redis_provider_limits.hpp) make it one for every worker.
#pragma once

#include <algorithm>
#include <chrono>
#include <map>
#include <mutex>
#include <string>

#include "common/clock.hpp"

namespace herald::dispatch {

class InFlightLimit {
 public:
  virtual ~InFlightLimit() = default;
  // Up to `wanted` request slots, taken now; 0 when none is free.
  virtual int TryAcquire(int wanted) = 0;
  // Gives back slots TryAcquire granted, once their requests are answered.
  virtual void Release(int slots) = 0;
};

// This process's own count. Thread-safe.
class LocalInFlightLimit final : public InFlightLimit {
 public:
  explicit LocalInFlightLimit(int limit) : limit_(std::max(1, limit)) {}

  int TryAcquire(int wanted) override {
    std::lock_guard lock(mutex_);
    const int granted = std::clamp(limit_ - in_use_, 0, std::max(0, wanted));
    in_use_ += granted;
    return granted;
  }
  void Release(int slots) override {
    std::lock_guard lock(mutex_);
    in_use_ = std::max(0, in_use_ - slots);
  }
  int in_use() const {
    std::lock_guard lock(mutex_);
    return in_use_;
  }

 private:
  const int limit_;
  mutable std::mutex mutex_;
  int in_use_ = 0;
};

class RecipientSpacing {
 public:
  virtual ~RecipientSpacing() = default;
  // The earliest time a send to `to` may go, at or after `now`; that turn is
  // reserved for the caller, so the next one goes an interval later.
  virtual Clock::TimePoint Reserve(const std::string& to, Clock::TimePoint now) = 0;
  virtual std::chrono::milliseconds interval() const = 0;
};

// Turns kept by this process. Thread-safe.
class LocalRecipientSpacing final : public RecipientSpacing {
 public:
  explicit LocalRecipientSpacing(std::chrono::milliseconds interval) : interval_(interval) {}

  Clock::TimePoint Reserve(const std::string& to, Clock::TimePoint now) override {
    std::lock_guard lock(mutex_);
    if (next_turn_.size() > kRecipientsBeforePruning) {
      std::erase_if(next_turn_, [&](const auto& entry) { return entry.second <= now; });
    }
    auto& next = next_turn_[to];
    const auto turn = std::max(now, next);
    next = turn + interval_;
    return turn;
  }
  std::chrono::milliseconds interval() const override { return interval_; }

 private:
  // Past this many recipients remembered, turns already gone are forgotten.
  static constexpr std::size_t kRecipientsBeforePruning = 4096;

  const std::chrono::milliseconds interval_;
  std::mutex mutex_;
  std::map<std::string, Clock::TimePoint> next_turn_;
};

}  // namespace herald::dispatch
