#include "domain/delivery_state.hpp"

#include <gtest/gtest.h>

namespace herald::domain {
namespace {

using std::chrono::milliseconds;

const RetryPolicy kPolicy{.max_attempts = 3, .base_delay = milliseconds(1000), .max_delay = milliseconds(8000),
                          .jitter = 0};
const Clock::TimePoint kNow = FromUnixMillis(1'800'000'000'000);

TEST(DeliveryStatus, NamesRoundTripAndOnlyQueuedAndSendingAreOpen) {
  for (auto status : {DeliveryStatus::kQueued, DeliveryStatus::kSending, DeliveryStatus::kSent, DeliveryStatus::kFailed,
                      DeliveryStatus::kUnknown, DeliveryStatus::kDead, DeliveryStatus::kCancelled}) {
    EXPECT_EQ(ParseDeliveryStatus(ToString(status)), status);
    EXPECT_EQ(IsFinal(status), status != DeliveryStatus::kQueued && status != DeliveryStatus::kSending);
  }
  EXPECT_FALSE(ParseDeliveryStatus("unsent").has_value());
  EXPECT_FALSE(ParseDeliveryStatus("").has_value());
}

TEST(Decide, FinalOutcomesEndWhereTheirKindSays) {
  const auto sent = Decide(kPolicy, 1, DeliveryOutcome::Accepted("q1", "250 ok"), kNow, 0.5);
  EXPECT_EQ(sent.status, DeliveryStatus::kSent);
  EXPECT_EQ(sent.detail, "");
  const auto failed = Decide(kPolicy, 1, DeliveryOutcome::Permanent("550 no such user", 550), kNow, 0.5);
  EXPECT_EQ(failed.status, DeliveryStatus::kFailed);
  EXPECT_EQ(failed.detail, "550 no such user");
  const auto unknown = Decide(kPolicy, 1, DeliveryOutcome::Unknown("lost after data"), kNow, 0.5);
  EXPECT_EQ(unknown.status, DeliveryStatus::kUnknown);
  EXPECT_EQ(unknown.detail, "lost after data");
  // Even on the last attempt, an unknown outcome is never turned into a retry.
  EXPECT_EQ(Decide(kPolicy, 3, DeliveryOutcome::Unknown("x"), kNow, 0.5).status, DeliveryStatus::kUnknown);
}

TEST(Decide, RetryableOutcomesBackOffThenDie) {
  const auto first = Decide(kPolicy, 1, DeliveryOutcome::Transient("451 try later", 451), kNow, 0.5);
  EXPECT_EQ(first.status, DeliveryStatus::kQueued);
  EXPECT_EQ(first.retry_at, kNow + milliseconds(1000));
  EXPECT_EQ(first.detail, "451 try later");
  DeliveryOutcome throttled{OutcomeKind::kThrottled, "", "429 slow down", 429};
  const auto second = Decide(kPolicy, 2, throttled, kNow, 0.5);
  EXPECT_EQ(second.status, DeliveryStatus::kQueued);
  EXPECT_EQ(second.retry_at, kNow + milliseconds(2000));
  const auto last = Decide(kPolicy, 3, DeliveryOutcome::Transient("451 try later", 451), kNow, 0.5);
  EXPECT_EQ(last.status, DeliveryStatus::kDead);
  EXPECT_EQ(last.detail, "gave up after 3 attempts: 451 try later");
}

TEST(Decide, AProvidersRetryAfterLongerThanTheBackoffIsHonoured) {
  const auto asked = Decide(kPolicy, 1, DeliveryOutcome::Throttled("429", 429, milliseconds(7000)), kNow, 0.5);
  EXPECT_EQ(asked.status, DeliveryStatus::kQueued);
  EXPECT_EQ(asked.retry_at, kNow + milliseconds(7000));
  // A shorter one never shortens the policy's own backoff.
  const auto shorter = Decide(kPolicy, 2, DeliveryOutcome::Throttled("429", 429, milliseconds(10)), kNow, 0.5);
  EXPECT_EQ(shorter.retry_at, kNow + milliseconds(2000));
  // Nor does it keep a delivery past its last attempt.
  EXPECT_EQ(Decide(kPolicy, 3, DeliveryOutcome::Throttled("429", 429, milliseconds(7000)), kNow, 0.5).status,
            DeliveryStatus::kDead);
}

TEST(Decide, ASingleAttemptPolicyDiesAtOnce) {
  const RetryPolicy once{.max_attempts = 1};
  const auto decision = Decide(once, 1, DeliveryOutcome::Transient("connection refused"), kNow, 0.5);
  EXPECT_EQ(decision.status, DeliveryStatus::kDead);
  EXPECT_EQ(decision.detail, "gave up after 1 attempt: connection refused");
}

}  // namespace
}  // namespace herald::domain
