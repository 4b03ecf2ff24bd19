// A value that goes up and down (connections open, messages in flight). Set and
// adjusted from any thread without a lock; for values that already live elsewhere
// (a queue's depth), declare a callback gauge on the Registry instead.
#pragma once

#include <atomic>

namespace herald::metrics {

class Gauge {
 public:
  Gauge() = default;
  Gauge(const Gauge&) = delete;
  Gauge& operator=(const Gauge&) = delete;

  void Set(double value) noexcept { value_.store(value, std::memory_order_relaxed); }
  void Increment(double by = 1) noexcept { value_.fetch_add(by, std::memory_order_relaxed); }
  void Decrement(double by = 1) noexcept { value_.fetch_sub(by, std::memory_order_relaxed); }
  double Value() const noexcept { return value_.load(std::memory_order_relaxed); }

 private:
  static_assert(std::atomic<double>::is_always_lock_free);
  std::atomic<double> value_{0};
};

}  // namespace herald::metrics
