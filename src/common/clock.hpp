// Injectable time source. Retry schedules, leases and pacing read time through a
// Clock so tests can move time forward without sleeping.
#pragma once

#include <chrono>
#include <mutex>

namespace herald {

class Clock {
 public:
  using TimePoint = std::chrono::system_clock::time_point;
  virtual ~Clock() = default;
  virtual TimePoint Now() const = 0;
};

class SystemClock final : public Clock {
 public:
  TimePoint Now() const override { return std::chrono::system_clock::now(); }
};

// A clock that only moves when told to; for tests.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(TimePoint start = TimePoint{} + std::chrono::hours(24 * 365 * 50)) : now_(start) {}
  TimePoint Now() const override {
    std::lock_guard lock(mutex_);
    return now_;
  }
  void Advance(std::chrono::milliseconds step) {
    std::lock_guard lock(mutex_);
    now_ += step;
  }

 private:
  mutable std::mutex mutex_;
  TimePoint now_;
};

inline long long ToUnixMillis(Clock::TimePoint t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

inline Clock::TimePoint FromUnixMillis(long long ms) {
  return Clock::TimePoint{std::chrono::milliseconds(ms)};
}

}  // namespace herald
