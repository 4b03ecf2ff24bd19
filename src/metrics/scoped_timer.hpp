// Times a scope (an HTTP request, a delivery attempt) and observes the elapsed
// seconds into a histogram when it ends, so every exit path, including an
// exception or a coroutine unwinding, is measured the same way.
#pragma once

#include <chrono>

#include "metrics/histogram.hpp"

namespace herald::metrics {

// steady_clock, not the injectable herald::Clock: a duration must not jump when
// the wall clock is adjusted, and nothing schedules work from these values.
class ScopedTimer {
 public:
  explicit ScopedTimer(Histogram& histogram) noexcept
      : histogram_(&histogram), start_(std::chrono::steady_clock::now()) {}
  ~ScopedTimer() { Stop(); }
  ScopedTimer(const ScopedTimer&) = delete;
  ScopedTimer& operator=(const ScopedTimer&) = delete;

  double ElapsedSeconds() const noexcept {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  }
  // Observes now instead of at the end of the scope; only the first call (or the
  // destructor) observes. Returns the elapsed seconds, e.g. for a log line.
  double Stop() {
    const double seconds = ElapsedSeconds();
    if (histogram_ != nullptr) {
      histogram_->Observe(seconds);
      histogram_ = nullptr;
    }
    return seconds;
  }
  // For work that turned out not to be what the histogram measures (e.g. a
  // request rejected before processing): nothing is observed.
  void Cancel() noexcept { histogram_ = nullptr; }

 private:
  Histogram* histogram_;
  std::chrono::steady_clock::time_point start_;
};

}  // namespace herald::metrics
