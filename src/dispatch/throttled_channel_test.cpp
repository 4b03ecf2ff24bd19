#include "dispatch/throttled_channel.hpp"

#include <gtest/gtest.h>

#include <utility>  // before Asio: Boost 1.74 needs it under g++ 12

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_future.hpp>

#include <algorithm>
#include <future>
#include <mutex>
#include <thread>
#include <vector>

#include "common/io_runtime.hpp"

namespace herald::dispatch {
namespace {

using domain::DeliveryOutcome;
using domain::OutcomeKind;
using std::chrono::milliseconds;
using std::chrono::seconds;
using Steady = std::chrono::steady_clock;

// Accepts everything (or answers throttled to `throttle@…`), noting when each message arrived.
class RecordingChannel final : public channels::Channel {
 public:
  struct Arrival {
    std::string to;
    Steady::time_point at;
  };
  boost::asio::awaitable<std::vector<DeliveryOutcome>> Send(std::span<const channels::RenderedMessage> messages,
                                                            channels::Deadline) override {
    std::vector<DeliveryOutcome> outcomes;
    std::lock_guard lock(mutex_);
    for (const auto& message : messages) {
      arrivals_.push_back({message.to, Steady::now()});
      outcomes.push_back(message.to.starts_with("throttle@")
                             ? DeliveryOutcome::Throttled("HTTP 429", 429, milliseconds(600))
                             : DeliveryOutcome::Accepted("id-" + message.to));
    }
    co_return outcomes;
  }
  channels::ChannelLimits Limits() const override { return {64, 100}; }
  std::string Describe() const override { return "recording"; }

  std::vector<Arrival> arrivals() const {
    std::lock_guard lock(mutex_);
    return arrivals_;
  }

 private:
  mutable std::mutex mutex_;
  std::vector<Arrival> arrivals_;
};

channels::RenderedMessage To(const std::string& to) {
  channels::RenderedMessage message;
  message.delivery_id = "d-" + to;
  message.to = to;
  return message;
}

// The outcomes of one Send of `messages`, due `timeout` from now.
std::vector<DeliveryOutcome> SendBatch(IoRuntime& runtime, channels::Channel& channel,
                                       std::vector<channels::RenderedMessage> messages,
                                       milliseconds timeout = seconds(30)) {
  auto future = boost::asio::co_spawn(
      runtime.executor(),
      [&]() -> boost::asio::awaitable<std::vector<DeliveryOutcome>> {
        co_return co_await channels::SendNoThrow(channel, messages, Steady::now() + timeout);
      },
      boost::asio::use_future);
  return future.get();
}

// `per_second` tokens a second, one every 1000/per_second ms, a second's worth of burst.
TokenBucket Rate(int per_second, const Clock& clock) {
  return TokenBucket(per_second, 1, milliseconds(1000 / per_second), clock.Now());
}

double MsBetween(Steady::time_point from, Steady::time_point to) {
  return std::chrono::duration<double, std::milli>(to - from).count();
}

class ThrottledChannelTest : public ::testing::Test {
 protected:
  ThrottledChannel Throttled(ProviderThrottle throttle) {
    auto recording = std::make_unique<RecordingChannel>();
    recording_.push_back(recording.get());
    return ThrottledChannel(std::move(recording), std::move(throttle), clock_);
  }

  SystemClock clock_;
  IoRuntime runtime_;
  std::vector<RecordingChannel*> recording_;
};

TEST_F(ThrottledChannelTest, ABatchBeyondTheRateWaitsForTokensAndEveryMessageGoes) {
  auto rate = Rate(5, clock_);
  auto channel = Throttled({.rate = &rate, .rate_setting = "ses.per_second"});
  std::vector<channels::RenderedMessage> batch;
  for (int i = 0; i < 8; ++i) batch.push_back(To("user" + std::to_string(i) + "@example.org"));
  const auto started = Steady::now();
  const auto outcomes = SendBatch(runtime_, channel, batch);
  ASSERT_EQ(outcomes.size(), 8u);
  for (const auto& outcome : outcomes) EXPECT_EQ(outcome.kind, OutcomeKind::kAccepted) << outcome.detail;
  const auto arrivals = recording_[0]->arrivals();
  ASSERT_EQ(arrivals.size(), 8u);
  // A second's burst at once, then one every 200 ms: the eighth no sooner than 600 ms in.
  EXPECT_LT(MsBetween(started, arrivals[4].at), 150.0);
  EXPECT_GE(MsBetween(started, arrivals[5].at), 190.0);
  EXPECT_GE(MsBetween(started, arrivals[7].at), 590.0);
  for (std::size_t i = 0; i < 8; ++i) EXPECT_EQ(outcomes[i].provider_message_id, "id-" + batch[i].to) << "order kept";
}

TEST_F(ThrottledChannelTest, OneRateHoldsAcrossTheLanesSharingTheProvider) {
  // sms and whatsapp both through one account at 4 a second.
  auto rate = Rate(4, clock_);
  auto sms = Throttled({.rate = &rate, .rate_setting = "twilio.per_second"});
  auto whatsapp = Throttled({.rate = &rate, .rate_setting = "twilio.per_second"});
  const auto started = Steady::now();
  std::vector<std::future<std::vector<DeliveryOutcome>>> sends;
  for (int i = 0; i < 4; ++i) {
    sends.push_back(std::async(std::launch::async, [&, i] { return SendBatch(runtime_, sms, {To("+1555000" + std::to_string(i))}); }));
    sends.push_back(std::async(std::launch::async, [&, i] {
      return SendBatch(runtime_, whatsapp, {To("whatsapp:+1555100" + std::to_string(i))});
    }));
  }
  for (auto& send : sends) EXPECT_EQ(send.get().at(0).kind, OutcomeKind::kAccepted);
  std::vector<Steady::time_point> all;
  for (auto* recording : recording_) {
    for (const auto& arrival : recording->arrivals()) all.push_back(arrival.at);
  }
  ASSERT_EQ(all.size(), 8u);
  std::sort(all.begin(), all.end());
  // Four at once between them, then one every 250 ms: the eighth a second in.
  EXPECT_GE(MsBetween(started, all[4]), 240.0);
  EXPECT_GE(MsBetween(started, all[7]), 990.0);
}

TEST_F(ThrottledChannelTest, TheSameRecipientIsSpacedWhileOthersGoAtOnce) {
  auto channel = Throttled({.per_recipient = milliseconds(300)});
  const auto started = Steady::now();
  std::vector<std::future<std::vector<DeliveryOutcome>>> sends;
  for (const auto* chat : {"1001", "1001", "1001", "2002"}) {
    sends.push_back(std::async(std::launch::async, [&, chat] { return SendBatch(runtime_, channel, {To(chat)}); }));
  }
  for (auto& send : sends) EXPECT_EQ(send.get().at(0).kind, OutcomeKind::kAccepted);
  std::vector<Steady::time_point> same;
  for (const auto& arrival : recording_[0]->arrivals()) {
    if (arrival.to == "1001") {
      same.push_back(arrival.at);
    } else {
      EXPECT_LT(MsBetween(started, arrival.at), 150.0) << "another chat does not wait";
    }
  }
  ASSERT_EQ(same.size(), 3u);
  EXPECT_GE(MsBetween(same[0], same[1]), 290.0);
  EXPECT_GE(MsBetween(same[1], same[2]), 290.0);
}

TEST_F(ThrottledChannelTest, AWaitPastHalfTheDeadlineComesBackThrottledWithNothingSent) {
  auto rate = TokenBucket(1, 1, seconds(10), clock_.Now());
  auto channel = Throttled({.rate = &rate, .rate_setting = "twilio.per_second"});
  ASSERT_EQ(SendBatch(runtime_, channel, {To("+15550001")}).at(0).kind, OutcomeKind::kAccepted);
  const auto outcomes = SendBatch(runtime_, channel, {To("+15550002"), To("+15550003")}, seconds(4));
  ASSERT_EQ(outcomes.size(), 2u);
  for (const auto& outcome : outcomes) {
    EXPECT_EQ(outcome.kind, OutcomeKind::kThrottled);
    EXPECT_NE(outcome.detail.find("recording: not sent; waiting for its rate (twilio.per_second)"), std::string::npos)
        << outcome.detail;
    EXPECT_GT(outcome.retry_after, seconds(8)) << "retried once the token is there";
  }
  EXPECT_EQ(recording_[0]->arrivals().size(), 1u);

  auto spaced = Throttled({.per_recipient = seconds(10)});
  ASSERT_EQ(SendBatch(runtime_, spaced, {To("1001")}).at(0).kind, OutcomeKind::kAccepted);
  const auto again = SendBatch(runtime_, spaced, {To("1001"), To("2002")}, seconds(4));
  EXPECT_EQ(again.at(0).kind, OutcomeKind::kThrottled);
  EXPECT_NE(again.at(0).detail.find("the next turn for this recipient"), std::string::npos) << again.at(0).detail;
  EXPECT_EQ(again.at(1).kind, OutcomeKind::kAccepted);
}

TEST_F(ThrottledChannelTest, AProvidersSlowDownHoldsTheSharedRateForEveryone) {
  auto rate = Rate(50, clock_);
  auto first = Throttled({.rate = &rate, .rate_setting = "telegram.per_second"});
  auto second = Throttled({.rate = &rate, .rate_setting = "telegram.per_second"});
  EXPECT_EQ(SendBatch(runtime_, first, {To("throttle@1")}).at(0).kind, OutcomeKind::kThrottled);
  const auto asked = Steady::now();
  EXPECT_EQ(SendBatch(runtime_, second, {To("1001")}).at(0).kind, OutcomeKind::kAccepted);
  // The provider asked for 600 ms; the other lane waited them out.
  EXPECT_GE(MsBetween(asked, recording_[1]->arrivals().at(0).at), 550.0);
}

}  // namespace
}  // namespace herald::dispatch
