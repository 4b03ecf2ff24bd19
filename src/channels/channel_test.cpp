#include "channels/channel.hpp"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_future.hpp>
#include <stdexcept>

#include "common/io_runtime.hpp"

namespace herald::channels {
namespace {

using domain::DeliveryOutcome;
using domain::OutcomeKind;

// Adapters with the faults SendNoThrow exists for.
class BrokenChannel final : public Channel {
 public:
  enum class Fault { kThrowsBeforeAnswering, kThrowsSomethingOdd, kAnswersTooFew };
  explicit BrokenChannel(Fault fault) : fault_(fault) {}
  boost::asio::awaitable<std::vector<DeliveryOutcome>> Send(std::span<const RenderedMessage> messages,
                                                            Deadline) override {
    switch (fault_) {
      case Fault::kThrowsBeforeAnswering: throw std::runtime_error("socket exploded");
      case Fault::kThrowsSomethingOdd: throw 42;
      case Fault::kAnswersTooFew: break;
    }
    co_return std::vector<DeliveryOutcome>{DeliveryOutcome::Accepted("only-one")};
  }
  ChannelLimits Limits() const override { return {}; }
  std::string Describe() const override { return "broken"; }

 private:
  Fault fault_;
};

std::vector<DeliveryOutcome> SendThree(IoRuntime& runtime, Channel& channel) {
  static const std::vector<RenderedMessage> kMessages(3);
  return boost::asio::co_spawn(runtime.executor(),
                               SendNoThrow(channel, kMessages, std::chrono::steady_clock::now() + std::chrono::seconds(5)),
                               boost::asio::use_future)
      .get();
}

TEST(SendNoThrow, AnExceptionInsideAnAdapterBecomesUnknownForEveryMessage) {
  IoRuntime runtime;
  for (auto fault : {BrokenChannel::Fault::kThrowsBeforeAnswering, BrokenChannel::Fault::kThrowsSomethingOdd}) {
    BrokenChannel channel(fault);
    const auto outcomes = SendThree(runtime, channel);
    ASSERT_EQ(outcomes.size(), 3u);
    for (const auto& outcome : outcomes) {
      // Its data may have left: never a retry, never a crash.
      EXPECT_EQ(outcome.kind, OutcomeKind::kUnknown);
      EXPECT_NE(outcome.detail.find("broken channel failed"), std::string::npos) << outcome.detail;
    }
  }
  EXPECT_NE(SendThree(runtime, *std::make_unique<BrokenChannel>(BrokenChannel::Fault::kThrowsBeforeAnswering))[0]
                .detail.find("socket exploded"),
            std::string::npos);
}

TEST(SendNoThrow, MissingOutcomesAreUnknownAndTheGivenOnesAreKept) {
  IoRuntime runtime;
  BrokenChannel channel(BrokenChannel::Fault::kAnswersTooFew);
  const auto outcomes = SendThree(runtime, channel);
  ASSERT_EQ(outcomes.size(), 3u);
  EXPECT_EQ(outcomes[0].kind, OutcomeKind::kAccepted);
  EXPECT_EQ(outcomes[1].kind, OutcomeKind::kUnknown);
  EXPECT_NE(outcomes[2].detail.find("answered 1 outcomes for 3 messages"), std::string::npos) << outcomes[2].detail;
}

}  // namespace
}  // namespace herald::channels
