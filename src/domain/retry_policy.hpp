// Exponential backoff with jitter and a cap on attempts. Used for every retryable
// delivery outcome; after max_attempts the message is dead-lettered, never requeued forever.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>

namespace herald::domain {

struct RetryPolicy {
  int max_attempts = 5;
  std::chrono::milliseconds base_delay{1000};
  std::chrono::milliseconds max_delay{5 * 60 * 1000};
  double jitter = 0.2;  // +/- fraction of the delay, spreads retries of a failed batch

  // Delay before attempt `attempts_made + 1`, or nullopt when no attempt is left.
  // `random_unit` is a number in [0, 1): injected so schedules are testable.
  std::optional<std::chrono::milliseconds> NextDelay(int attempts_made, double random_unit) const;
};

}  // namespace herald::domain
