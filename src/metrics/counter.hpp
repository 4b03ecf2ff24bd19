// A monotonically increasing count (messages sent, requests served). Incremented
// on hot paths from many threads, so it is one relaxed atomic add; the registry
// reads it only when rendering a scrape.
#pragma once

#include <atomic>
#include <cstdint>

namespace herald::metrics {

// Whole numbers only: every counter Herald keeps counts events or bytes, and an
// integer stays exact where a double would stop counting past 2^53.
class Counter {
 public:
  Counter() = default;
  Counter(const Counter&) = delete;
  Counter& operator=(const Counter&) = delete;

  void Increment(std::uint64_t by = 1) noexcept { value_.fetch_add(by, std::memory_order_relaxed); }
  std::uint64_t Value() const noexcept { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> value_{0};
};

}  // namespace herald::metrics
