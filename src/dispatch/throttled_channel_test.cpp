#include "dispatch/throttled_channel.hpp"

#include <gtest/gtest.h>

#include <utility>  // before Asio: Boost 1.74 needs it under g++ 12

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>

#include <algorithm>
#include <atomic>
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

// Accepts everything (or answers throttled to `throttle@…`), noting when each
// message arrived; with `answer_after`, answers that long after the request.
class RecordingChannel final : public channels::Channel {
 public:
  struct Arrival {
    std::string to;
    Steady::time_point at;
  };
  explicit RecordingChannel(std::atomic<int>* in_flight = nullptr, std::atomic<int>* most_in_flight = nullptr,
                            milliseconds answer_after = {})
      : in_flight_(in_flight), most_in_flight_(most_in_flight), answer_after_(answer_after) {}

  boost::asio::awaitable<std::vector<DeliveryOutcome>> Send(std::span<const channels::RenderedMessage> messages,
                                                            channels::Deadline) override {
    std::vector<DeliveryOutcome> outcomes;
    {
      std::lock_guard lock(mutex_);
      for (const auto& message : messages) {
        arrivals_.push_back({message.to, Steady::now()});
        outcomes.push_back(message.to.starts_with("throttle@")
                               ? DeliveryOutcome::Throttled("HTTP 429", 429, milliseconds(600))
                               : DeliveryOutcome::Accepted("id-" + message.to));
      }
    }
    if (in_flight_) {
      const int now_in_flight = *in_flight_ += static_cast<int>(messages.size());
      int most = most_in_flight_->load();
      while (now_in_flight > most && !most_in_flight_->compare_exchange_weak(most, now_in_flight)) {
      }
    }
    if (answer_after_.count() > 0) {
      boost::asio::steady_timer timer(co_await boost::asio::this_coro::executor, answer_after_);
      co_await timer.async_wait(boost::asio::use_awaitable);
    }
    if (in_flight_) *in_flight_ -= static_cast<int>(messages.size());
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
  std::atomic<int>* in_flight_;
  std::atomic<int>* most_in_flight_;
  const milliseconds answer_after_;
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
  ThrottledChannel Throttled(ProviderThrottle throttle, milliseconds answer_after = {}) {
    auto recording = std::make_unique<RecordingChannel>(&in_flight_, &most_in_flight_, answer_after);
    recording_.push_back(recording.get());
    return ThrottledChannel(std::move(recording), std::move(throttle), clock_);
  }

  SystemClock clock_;
  IoRuntime runtime_;
  std::atomic<int> in_flight_{0};       // at the providers of every channel made here
  std::atomic<int> most_in_flight_{0};
  std::vector<RecordingChannel*> recording_;
};

TEST_F(ThrottledChannelTest, ABatchBeyondTheRateWaitsForTokensAndEveryMessageGoes) {
  auto rate = Rate(5, clock_);
  auto channel = Throttled({.provider = "ses", .rate = &rate});
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
  auto sms = Throttled({.provider = "twilio", .rate = &rate});
  auto whatsapp = Throttled({.provider = "twilio", .rate = &rate});
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
  LocalRecipientSpacing spacing(milliseconds(300));
  auto channel = Throttled({.provider = "telegram", .spacing = &spacing});
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
  auto channel = Throttled({.provider = "twilio", .rate = &rate});
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

  LocalRecipientSpacing spacing(seconds(10));
  auto spaced = Throttled({.provider = "telegram", .spacing = &spacing});
  ASSERT_EQ(SendBatch(runtime_, spaced, {To("1001")}).at(0).kind, OutcomeKind::kAccepted);
  const auto again = SendBatch(runtime_, spaced, {To("1001"), To("2002")}, seconds(4));
  EXPECT_EQ(again.at(0).kind, OutcomeKind::kThrottled);
  EXPECT_NE(again.at(0).detail.find("the next turn for this recipient"), std::string::npos) << again.at(0).detail;
  EXPECT_EQ(again.at(1).kind, OutcomeKind::kAccepted);
}

TEST_F(ThrottledChannelTest, AProvidersSlowDownHoldsTheSharedRateForEveryone) {
  auto rate = Rate(50, clock_);
  auto first = Throttled({.provider = "telegram", .rate = &rate});
  auto second = Throttled({.provider = "telegram", .rate = &rate});
  EXPECT_EQ(SendBatch(runtime_, first, {To("throttle@1")}).at(0).kind, OutcomeKind::kThrottled);
  const auto asked = Steady::now();
  EXPECT_EQ(SendBatch(runtime_, second, {To("1001")}).at(0).kind, OutcomeKind::kAccepted);
  // The provider asked for 600 ms; the other lane waited them out.
  EXPECT_GE(MsBetween(asked, recording_[1]->arrivals().at(0).at), 550.0);
}

TEST_F(ThrottledChannelTest, RequestsInFlightStayUnderTheProvidersLimitAcrossItsLanes) {
  // sms and whatsapp through one account allowing 3 requests at once, each answered after 100 ms.
  LocalInFlightLimit limit(3);
  auto sms = Throttled({.provider = "twilio", .in_flight = &limit}, milliseconds(100));
  auto whatsapp = Throttled({.provider = "twilio", .in_flight = &limit}, milliseconds(100));
  const auto started = Steady::now();
  std::vector<std::future<std::vector<DeliveryOutcome>>> sends;
  for (int i = 0; i < 6; ++i) {
    sends.push_back(std::async(std::launch::async, [&, i] { return SendBatch(runtime_, sms, {To("+1555000" + std::to_string(i))}); }));
    sends.push_back(std::async(std::launch::async, [&, i] {
      return SendBatch(runtime_, whatsapp, {To("whatsapp:+1555100" + std::to_string(i))});
    }));
  }
  for (auto& send : sends) EXPECT_EQ(send.get().at(0).kind, OutcomeKind::kAccepted);
  EXPECT_EQ(most_in_flight_.load(), 3) << "the limit was reached and never passed";
  EXPECT_EQ(limit.in_use(), 0) << "every slot came back";
  // Twelve requests, three at a time, 100 ms each: four rounds.
  EXPECT_GE(MsBetween(started, Steady::now()), 390.0);

  // A batch larger than the free slots goes in parts, in order.
  most_in_flight_ = 0;
  std::vector<channels::RenderedMessage> batch;
  for (int i = 0; i < 7; ++i) batch.push_back(To("+1555200" + std::to_string(i)));
  const auto outcomes = SendBatch(runtime_, sms, batch);
  ASSERT_EQ(outcomes.size(), 7u);
  for (std::size_t i = 0; i < 7; ++i) EXPECT_EQ(outcomes[i].provider_message_id, "id-" + batch[i].to);
  EXPECT_EQ(most_in_flight_.load(), 3);
}

TEST_F(ThrottledChannelTest, NoFreeSlotBeforeHalfTheDeadlineComesBackThrottledAndReleasesNothingItDidNotTake) {
  LocalInFlightLimit limit(1);
  ASSERT_EQ(limit.TryAcquire(1), 1);  // held elsewhere (another lane) for longer than this send may wait
  auto channel = Throttled({.provider = "sendgrid", .in_flight = &limit});
  const auto outcomes = SendBatch(runtime_, channel, {To("a@example.org"), To("b@example.org")}, milliseconds(200));
  ASSERT_EQ(outcomes.size(), 2u);
  for (const auto& outcome : outcomes) {
    EXPECT_EQ(outcome.kind, OutcomeKind::kThrottled);
    EXPECT_NE(outcome.detail.find("a free request slot (sendgrid.max_in_flight)"), std::string::npos) << outcome.detail;
  }
  EXPECT_TRUE(recording_[0]->arrivals().empty());
  EXPECT_EQ(limit.in_use(), 1);
  limit.Release(1);
  EXPECT_EQ(SendBatch(runtime_, channel, {To("a@example.org")}).at(0).kind, OutcomeKind::kAccepted);
  EXPECT_EQ(limit.in_use(), 0);
}

}  // namespace
}  // namespace herald::dispatch
