#include "dispatch/shaper.hpp"

#include <gtest/gtest.h>

namespace herald::dispatch {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

const Clock::TimePoint kStart = FromUnixMillis(1'800'000'000'000);

TEST(TokenBucket, NPerIntervalReleasesWholeWindows) {
  TokenBucket bucket(2, 2, seconds(120), kStart);
  EXPECT_EQ(bucket.Available(kStart), 2);
  bucket.Consume(2, kStart);
  EXPECT_EQ(bucket.Available(kStart + seconds(119)), 0);
  EXPECT_EQ(bucket.NextAvailable(kStart + seconds(60)), kStart + seconds(120));
  EXPECT_EQ(bucket.Available(kStart + seconds(120)), 2);
  // Idle windows do not pile up beyond the capacity.
  EXPECT_EQ(bucket.Available(kStart + seconds(3600)), 2);
}

TEST(TokenBucket, ASmoothRateRefillsOneAtATime) {
  TokenBucket bucket(30, 1, milliseconds(33), kStart);
  bucket.Consume(30, kStart);
  EXPECT_EQ(bucket.Available(kStart + milliseconds(32)), 0);
  EXPECT_EQ(bucket.Available(kStart + milliseconds(33)), 1);
  EXPECT_EQ(bucket.Available(kStart + milliseconds(330)), 10);
}

TEST(TokenBucket, AThrottledProviderGetsNothingUntilTheNextRefill) {
  TokenBucket bucket(5, 5, seconds(1), kStart);
  bucket.OnThrottled(kStart);
  EXPECT_EQ(bucket.Available(kStart + milliseconds(999)), 0);
  EXPECT_EQ(bucket.Available(kStart + seconds(1)), 5);
}

TEST(TokenBucket, AProviderThatSaysHowLongToWaitIsLeftAloneThatLong) {
  TokenBucket bucket(5, 5, seconds(1), kStart);
  bucket.OnThrottled(kStart, seconds(7));
  EXPECT_EQ(bucket.Available(kStart + seconds(6)), 0);
  EXPECT_EQ(bucket.NextAvailable(kStart + seconds(2)), kStart + seconds(7));
  EXPECT_EQ(bucket.Available(kStart + seconds(7)), 5);
  // A later, shorter answer does not cut a longer pause short.
  bucket.OnThrottled(kStart + seconds(8), seconds(30));
  bucket.OnThrottled(kStart + seconds(9), seconds(1));
  EXPECT_EQ(bucket.Available(kStart + seconds(37)), 0);
  EXPECT_EQ(bucket.Available(kStart + seconds(38)), 5);
}

}  // namespace
}  // namespace herald::dispatch
