// The one delivery state machine every job shares (certificates, API messages,
// campaigns, the paced lane), and Decide(): the only place that chooses a
// delivery's next state from what its channel said. Stores persist the state;
// the delivery engine applies the decision; nobody else picks a next state.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "common/clock.hpp"
#include "domain/delivery_outcome.hpp"
#include "domain/retry_policy.hpp"

namespace herald::domain {

// queued -> sending -> sent | failed | unknown | dead, sending -> queued (a retry
// with a later due time), queued -> cancelled.
enum class DeliveryStatus {
  kQueued,     // waiting in its lane (also between retries)
  kSending,    // claimed: its data may be on its way; if the process dies now the outcome is unknown
  kSent,       // the provider took responsibility
  kFailed,     // refused for good, or could not be rendered
  kUnknown,    // may or may not have been delivered; never resent unless asked by name
  kDead,       // retryable failures exhausted the policy's attempts
  kCancelled,  // withdrawn before it was claimed
};

const char* ToString(DeliveryStatus status);
std::optional<DeliveryStatus> ParseDeliveryStatus(std::string_view text);
inline bool IsFinal(DeliveryStatus status) {
  return status != DeliveryStatus::kQueued && status != DeliveryStatus::kSending;
}

struct Decision {
  DeliveryStatus status = DeliveryStatus::kUnknown;  // never kSending or kCancelled
  Clock::TimePoint retry_at{};                       // when status is kQueued: not due before this
  std::string detail;                                // what to record as the reason (empty for a success)
};

// The next state of a delivery whose attempt number `attempts_made` (1 for the
// first send) ended with `outcome` at `now`. Retryable outcomes go back to
// queued after the policy's backoff (or the provider's retry_after, when that is
// longer) until its attempts are used up, then dead;
// the rest end where their kind says. `random_unit` in [0, 1) spreads retries
// (injected so schedules are testable).
Decision Decide(const RetryPolicy& policy, int attempts_made, const DeliveryOutcome& outcome, Clock::TimePoint now,
                double random_unit);

}  // namespace herald::domain
