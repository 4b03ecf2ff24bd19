#include "channels/failover/failover_channel.hpp"

#include <gtest/gtest.h>

#include <deque>
#include <stdexcept>

#include "common/io_runtime.hpp"

namespace herald::channels::failover {
namespace {

using domain::DeliveryOutcome;
using domain::OutcomeKind;
using std::chrono::milliseconds;
using std::chrono::seconds;

// A provider that answers from a script (then accepts), counting its sends.
class ScriptedProvider final : public Channel {
 public:
  ScriptedProvider(std::string name, std::deque<DeliveryOutcome> script, int* sends, int max_in_flight = 16)
      : name_(std::move(name)), script_(std::move(script)), sends_(sends), max_in_flight_(max_in_flight) {}
  boost::asio::awaitable<std::vector<DeliveryOutcome>> Send(std::span<const RenderedMessage> messages,
                                                            Deadline) override {
    std::vector<DeliveryOutcome> out;
    for (std::size_t i = 0; i < messages.size(); ++i) {
      ++*sends_;
      if (script_.empty()) {
        out.push_back(DeliveryOutcome::Accepted(name_ + "-id"));
        continue;
      }
      auto next = std::move(script_.front());
      script_.pop_front();
      if (next.detail == "throw") throw std::runtime_error("adapter bug");
      out.push_back(std::move(next));
    }
    co_return out;
  }
  ChannelLimits Limits() const override { return {max_in_flight_, 8}; }
  std::string Describe() const override { return name_; }

 private:
  std::string name_;
  std::deque<DeliveryOutcome> script_;
  int* sends_;
  int max_in_flight_;
};

class FailoverTest : public ::testing::Test {
 protected:
  FailoverChannel Make(std::deque<DeliveryOutcome> first, std::deque<DeliveryOutcome> second,
                       CircuitSettings circuit = {.failures_to_open = 3, .open_for = seconds(30)}) {
    std::vector<std::unique_ptr<Channel>> providers;
    providers.push_back(std::make_unique<ScriptedProvider>("first", std::move(first), &first_sends_, 16));
    providers.push_back(std::make_unique<ScriptedProvider>("second", std::move(second), &second_sends_, 4));
    return FailoverChannel(std::move(providers), circuit, clock_);
  }
  DeliveryOutcome Send(FailoverChannel& channel) {
    return SendAndWait(runtime_.executor(), channel, RenderedMessage{.delivery_id = "d", .channel = "sms", .to = "+1"});
  }

  IoRuntime runtime_;
  ManualClock clock_;
  int first_sends_ = 0;
  int second_sends_ = 0;
};

TEST_F(FailoverTest, ATransientOrThrottledAnswerMovesTheMessageToTheNextProvider) {
  auto channel = Make({DeliveryOutcome::Transient("503 busy", 503),
                       DeliveryOutcome::Throttled("429", 429, seconds(5))},
                      {});
  const auto outcome = Send(channel);
  EXPECT_EQ(outcome.kind, OutcomeKind::kAccepted);
  EXPECT_EQ(outcome.provider_message_id, "second-id");
  EXPECT_NE(outcome.detail.find("after first: 503 busy"), std::string::npos) << outcome.detail;
  EXPECT_EQ(Send(channel).provider_message_id, "second-id");
  EXPECT_EQ(first_sends_, 2);
  EXPECT_EQ(second_sends_, 2);
  EXPECT_EQ(Send(channel).provider_message_id, "first-id");  // the first is asked first again
}

TEST_F(FailoverTest, UnknownAndPermanentAnswersNeverMoveOn) {
  auto channel = Make({DeliveryOutcome::Unknown("lost after the request"), DeliveryOutcome::Permanent("21211", 21211),
                       DeliveryOutcome{OutcomeKind::kTransient, {}, "throw", 0}},
                      {});
  EXPECT_EQ(Send(channel).kind, OutcomeKind::kUnknown);
  EXPECT_EQ(Send(channel).kind, OutcomeKind::kPermanent);
  // An adapter that throws may have sent: unknown, and not handed to another provider.
  EXPECT_EQ(Send(channel).kind, OutcomeKind::kUnknown);
  EXPECT_EQ(second_sends_, 0);
}

TEST_F(FailoverTest, WhenEveryProviderFailsTheLastAnswerDecidesTheRetry) {
  auto channel = Make({DeliveryOutcome::Transient("first down")}, {DeliveryOutcome::Throttled("slow", 429, seconds(9))});
  const auto outcome = Send(channel);
  EXPECT_EQ(outcome.kind, OutcomeKind::kThrottled);
  EXPECT_EQ(outcome.retry_after, seconds(9));
  EXPECT_NE(outcome.detail.find("every provider failed: first: first down; second: slow"), std::string::npos)
      << outcome.detail;
}

TEST_F(FailoverTest, AnOpenCircuitSkipsItsProviderUntilAProbeSucceeds) {
  auto channel = Make({DeliveryOutcome::Transient("a"), DeliveryOutcome::Transient("b"), DeliveryOutcome::Unknown("c"),
                       DeliveryOutcome::Transient("probe fails")},
                      {});
  EXPECT_EQ(Send(channel).provider_message_id, "second-id");
  EXPECT_EQ(Send(channel).provider_message_id, "second-id");
  EXPECT_EQ(Send(channel).kind, OutcomeKind::kUnknown);  // the third failure in a row opens the circuit
  EXPECT_EQ(channel.Health()[0].state, CircuitState::kOpen);
  const auto skipped = Send(channel);
  EXPECT_EQ(skipped.provider_message_id, "second-id");
  EXPECT_NE(skipped.detail.find("first: circuit open"), std::string::npos) << skipped.detail;
  EXPECT_EQ(first_sends_, 3);

  clock_.Advance(seconds(30));
  EXPECT_EQ(channel.Health()[0].state, CircuitState::kHalfOpen);
  EXPECT_EQ(Send(channel).provider_message_id, "second-id");  // the probe failed: open again
  EXPECT_EQ(first_sends_, 4);
  EXPECT_EQ(channel.Health()[0].state, CircuitState::kOpen);
  EXPECT_EQ(Send(channel).provider_message_id, "second-id");
  EXPECT_EQ(first_sends_, 4);

  clock_.Advance(seconds(30));
  EXPECT_EQ(Send(channel).provider_message_id, "first-id");  // the probe succeeded: closed
  EXPECT_EQ(channel.Health()[0].state, CircuitState::kClosed);
  EXPECT_EQ(channel.Health()[0].consecutive_failures, 0);
}

TEST_F(FailoverTest, WithEveryCircuitOpenNothingIsSentAndTheRetryWaitsForTheFirstProbe) {
  auto channel = Make({DeliveryOutcome::Transient("a")}, {DeliveryOutcome::Transient("b")},
                      {.failures_to_open = 1, .open_for = seconds(30)});
  EXPECT_EQ(Send(channel).kind, OutcomeKind::kTransient);
  clock_.Advance(seconds(10));
  const auto outcome = Send(channel);
  EXPECT_EQ(outcome.kind, OutcomeKind::kTransient);
  EXPECT_EQ(outcome.retry_after, seconds(20));
  EXPECT_NE(outcome.detail.find("every provider's circuit is open"), std::string::npos) << outcome.detail;
  EXPECT_EQ(first_sends_ + second_sends_, 2);
}

TEST_F(FailoverTest, LimitsAreOneMessagePerCallAndTheSmallestInFlight) {
  auto channel = Make({}, {});
  EXPECT_EQ(channel.Limits().max_in_flight, 4);
  EXPECT_EQ(channel.Limits().max_batch, 1);
  EXPECT_EQ(channel.Describe(), "failover(first, second)");
  EXPECT_THROW(FailoverChannel({}, {}, clock_), std::invalid_argument);
}

}  // namespace
}  // namespace herald::channels::failover
