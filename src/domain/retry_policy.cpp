#include "domain/retry_policy.hpp"

#include <algorithm>
#include <cmath>

#include "domain/delivery_outcome.hpp"

namespace herald::domain {

std::optional<std::chrono::milliseconds> RetryPolicy::NextDelay(int attempts_made, double random_unit) const {
  if (attempts_made >= max_attempts) return std::nullopt;
  const int exponent = std::clamp(attempts_made - 1, 0, 30);
  const double raw = static_cast<double>(base_delay.count()) * std::pow(2.0, exponent);
  const double capped = std::min(raw, static_cast<double>(max_delay.count()));
  const double spread = capped * jitter * (2.0 * random_unit - 1.0);
  const double delay = std::clamp(capped + spread, 0.0, static_cast<double>(max_delay.count()));
  return std::chrono::milliseconds(static_cast<long long>(delay));
}

const char* ToString(OutcomeKind kind) {
  switch (kind) {
    case OutcomeKind::kAccepted: return "accepted";
    case OutcomeKind::kTransient: return "transient";
    case OutcomeKind::kThrottled: return "throttled";
    case OutcomeKind::kPermanent: return "permanent";
    case OutcomeKind::kUnknown: return "unknown";
  }
  return "unknown";
}

}  // namespace herald::domain
