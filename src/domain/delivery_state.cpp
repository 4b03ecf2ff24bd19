#include "domain/delivery_state.hpp"

#include <algorithm>
#include <array>
#include <utility>

namespace herald::domain {
namespace {

constexpr std::array<std::pair<DeliveryStatus, const char*>, 7> kStatusNames{{
    {DeliveryStatus::kQueued, "queued"},
    {DeliveryStatus::kSending, "sending"},
    {DeliveryStatus::kSent, "sent"},
    {DeliveryStatus::kFailed, "failed"},
    {DeliveryStatus::kUnknown, "unknown"},
    {DeliveryStatus::kDead, "dead"},
    {DeliveryStatus::kCancelled, "cancelled"},
}};

}  // namespace

const char* ToString(DeliveryStatus status) {
  for (const auto& [value, name] : kStatusNames) {
    if (value == status) return name;
  }
  return "unknown";
}

std::optional<DeliveryStatus> ParseDeliveryStatus(std::string_view text) {
  for (const auto& [value, name] : kStatusNames) {
    if (text == name) return value;
  }
  return std::nullopt;
}

Decision Decide(const RetryPolicy& policy, int attempts_made, const DeliveryOutcome& outcome, Clock::TimePoint now,
                double random_unit) {
  switch (outcome.kind) {
    case OutcomeKind::kAccepted: return {DeliveryStatus::kSent, {}, {}};
    case OutcomeKind::kPermanent: return {DeliveryStatus::kFailed, {}, outcome.detail};
    case OutcomeKind::kUnknown: return {DeliveryStatus::kUnknown, {}, outcome.detail};
    case OutcomeKind::kTransient:
    case OutcomeKind::kThrottled: break;
  }
  if (const auto delay = policy.NextDelay(attempts_made, random_unit)) {
    return {DeliveryStatus::kQueued, now + std::max(*delay, outcome.retry_after), outcome.detail};
  }
  return {DeliveryStatus::kDead, {},
          "gave up after " + std::to_string(attempts_made) + (attempts_made == 1 ? " attempt: " : " attempts: ") +
              outcome.detail};
}

}  // namespace herald::domain
