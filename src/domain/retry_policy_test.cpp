#include "domain/retry_policy.hpp"

#include <gtest/gtest.h>

namespace herald::domain {
namespace {

using std::chrono::milliseconds;

TEST(RetryPolicy, DoublesFromBaseUntilCapWithoutJitter) {
  RetryPolicy policy{.max_attempts = 10, .base_delay = milliseconds(100), .max_delay = milliseconds(1000), .jitter = 0};
  EXPECT_EQ(policy.NextDelay(1, 0.5), milliseconds(100));
  EXPECT_EQ(policy.NextDelay(2, 0.5), milliseconds(200));
  EXPECT_EQ(policy.NextDelay(3, 0.5), milliseconds(400));
  EXPECT_EQ(policy.NextDelay(4, 0.5), milliseconds(800));
  EXPECT_EQ(policy.NextDelay(5, 0.5), milliseconds(1000));
  EXPECT_EQ(policy.NextDelay(9, 0.5), milliseconds(1000));
}

TEST(RetryPolicy, GivesUpAfterMaxAttempts) {
  RetryPolicy policy{.max_attempts = 3};
  EXPECT_TRUE(policy.NextDelay(2, 0.1).has_value());
  EXPECT_FALSE(policy.NextDelay(3, 0.1).has_value());
}

TEST(RetryPolicy, JitterStaysWithinItsFraction) {
  RetryPolicy policy{.max_attempts = 10, .base_delay = milliseconds(1000), .max_delay = milliseconds(60000), .jitter = 0.2};
  EXPECT_EQ(policy.NextDelay(1, 0.0), milliseconds(800));
  EXPECT_EQ(policy.NextDelay(1, 0.999999), milliseconds(1199));
  EXPECT_NE(policy.NextDelay(1, 0.3), policy.NextDelay(1, 0.7));
}

}  // namespace
}  // namespace herald::domain
