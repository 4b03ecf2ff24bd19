// Shaping rules: how many sends a lane may start now. The engine asks before
// every claim, so a rule holds across every job on the lane. A token bucket
// covers per-lane and per-provider rates and the paced sender of seed 001
// (N sends per interval); rules that must survive a restart keep their state
// where their lane's store can write it with the claims.
#pragma once

#include <algorithm>
#include <chrono>
#include <climits>
#include <mutex>

#include "common/clock.hpp"

namespace herald::dispatch {

class Shaper {
 public:
  virtual ~Shaper() = default;
  // Sends that may start now (INT_MAX when unlimited).
  virtual int Available(Clock::TimePoint now) = 0;
  virtual void Consume(int sends, Clock::TimePoint now) = 0;
  // When Available says 0: the time worth looking again.
  virtual Clock::TimePoint NextAvailable(Clock::TimePoint now) = 0;
  // The provider answered "slow down", perhaps saying for how long.
  virtual void OnThrottled(Clock::TimePoint, std::chrono::milliseconds /*retry_after*/ = {}) {}
};

// `refill` tokens every `interval`, holding at most `capacity`; starts full.
// refill = capacity gives "N per interval" windows (2 per 120 s for seed 001);
// refill = 1 with a short interval gives a smooth rate. Thread-safe.
class TokenBucket final : public Shaper {
 public:
  TokenBucket(int capacity, int refill, std::chrono::milliseconds interval, Clock::TimePoint start)
      : capacity_(std::max(1, capacity)), refill_(std::max(1, refill)),
        interval_(std::max(interval, std::chrono::milliseconds(1))), tokens_(capacity_), last_refill_(start) {}

  int Available(Clock::TimePoint now) override {
    std::lock_guard lock(mutex_);
    Refill(now);
    return now < paused_until_ ? 0 : tokens_;
  }
  void Consume(int sends, Clock::TimePoint now) override {
    std::lock_guard lock(mutex_);
    Refill(now);
    tokens_ = std::max(0, tokens_ - sends);
  }
  Clock::TimePoint NextAvailable(Clock::TimePoint now) override {
    std::lock_guard lock(mutex_);
    Refill(now);
    if (now < paused_until_) return paused_until_;
    return tokens_ > 0 ? now : last_refill_ + interval_;
  }
  // A throttled provider gets nothing more until the next refill, or until
  // the time it asked for when that is later.
  void OnThrottled(Clock::TimePoint now, std::chrono::milliseconds retry_after = {}) override {
    std::lock_guard lock(mutex_);
    Refill(now);
    tokens_ = 0;
    paused_until_ = std::max(paused_until_, now + retry_after);
  }

 private:
  void Refill(Clock::TimePoint now) {
    if (now < last_refill_) return;
    const auto steps = (now - last_refill_) / interval_;
    if (steps == 0) return;
    tokens_ = static_cast<int>(std::min<long long>(capacity_, tokens_ + static_cast<long long>(steps) * refill_));
    last_refill_ += steps * interval_;
  }

  const int capacity_;
  const int refill_;
  const std::chrono::milliseconds interval_;
  std::mutex mutex_;
  int tokens_;
  Clock::TimePoint last_refill_;
  Clock::TimePoint paused_until_{};
};

}  // namespace herald::dispatch
