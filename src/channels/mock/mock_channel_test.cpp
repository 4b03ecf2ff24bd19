#include "channels/mock/mock_channel.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <set>
#include <stdexcept>
#include <thread>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_future.hpp>

#include "common/io_runtime.hpp"

namespace herald::channels::mock {
namespace {

using domain::DeliveryOutcome;
using domain::OutcomeKind;

RenderedMessage Message(int i) {
  RenderedMessage message;
  message.delivery_id = "r" + std::to_string(i);
  message.channel = "sms";
  message.to = "+4915112345" + std::to_string(i % 1000);
  message.text = "Your code is 1234";
  return message;
}

IoRuntime& Runtime() {
  static IoRuntime runtime;
  return runtime;
}

DeliveryOutcome Send(MockChannel& channel, const RenderedMessage& message) {
  return SendAndWait(Runtime().executor(), channel, message);
}

std::map<OutcomeKind, int> CountKinds(MockChannel& channel, int sends) {
  std::map<OutcomeKind, int> counts;
  for (int i = 0; i < sends; ++i) ++counts[Send(channel, Message(i)).kind];
  return counts;
}

TEST(MockChannel, SuccessRateIsCloseToTheSettingOverTenThousandSends) {
  for (const double rate : {0.95, 0.5, 0.1}) {
    MockChannel channel({.success_rate = rate, .seed = 42});
    const auto counts = CountKinds(channel, 10000);
    const double accepted = counts.count(OutcomeKind::kAccepted) ? counts.at(OutcomeKind::kAccepted) / 10000.0 : 0.0;
    // Five standard deviations of a binomial at p = 0.5 and n = 10,000 is 0.025.
    EXPECT_NEAR(accepted, rate, 0.025) << "success_rate=" << rate;
  }
}

TEST(MockChannel, ExtremeRatesAreExact) {
  MockChannel always({.success_rate = 1.0, .seed = 7});
  EXPECT_EQ(CountKinds(always, 2000)[OutcomeKind::kAccepted], 2000);
  MockChannel never({.success_rate = 0.0, .seed = 7});
  EXPECT_EQ(CountKinds(never, 2000)[OutcomeKind::kAccepted], 0);
}

TEST(MockChannel, FailuresFollowTheDocumentedMix) {
  MockChannel channel({.success_rate = 0.0, .seed = 3});
  std::map<OutcomeKind, int> counts;
  for (int i = 0; i < 10000; ++i) {
    const auto outcome = Send(channel, Message(i));
    ++counts[outcome.kind];
    EXPECT_TRUE(outcome.provider_message_id.empty());
    EXPECT_FALSE(outcome.detail.empty());
    switch (outcome.kind) {
      case OutcomeKind::kTransient:
        EXPECT_EQ(outcome.detail, "provider temporarily unavailable");
        EXPECT_EQ(outcome.code, 503);
        break;
      case OutcomeKind::kThrottled:
        EXPECT_EQ(outcome.code, 429);
        break;
      case OutcomeKind::kPermanent:
        EXPECT_EQ(outcome.detail, "invalid recipient");
        EXPECT_FALSE(outcome.IsRetryable());
        break;
      case OutcomeKind::kUnknown:
        EXPECT_FALSE(outcome.IsRetryable());
        break;
      case OutcomeKind::kAccepted:
        ADD_FAILURE() << "accepted at success_rate 0";
        break;
    }
  }
  EXPECT_NEAR(counts[OutcomeKind::kTransient] / 10000.0, kTransientShare, 0.025);
  EXPECT_NEAR(counts[OutcomeKind::kThrottled] / 10000.0, kThrottledShare, 0.02);
  EXPECT_NEAR(counts[OutcomeKind::kPermanent] / 10000.0, kPermanentShare, 0.02);
  EXPECT_NEAR(counts[OutcomeKind::kUnknown] / 10000.0, 1.0 - kTransientShare - kThrottledShare - kPermanentShare, 0.02);
}

TEST(MockChannel, AcceptedSendsCarryUniqueMockIds) {
  MockChannel channel({.success_rate = 1.0, .seed = 11});
  std::set<std::string> ids;
  for (int i = 0; i < 5000; ++i) {
    const auto outcome = Send(channel, Message(i));
    ASSERT_EQ(outcome.kind, OutcomeKind::kAccepted);
    ASSERT_EQ(outcome.provider_message_id.size(), 5u + 16u) << outcome.provider_message_id;
    ASSERT_EQ(outcome.provider_message_id.rfind("mock-", 0), 0u) << outcome.provider_message_id;
    ASSERT_EQ(outcome.provider_message_id.find_first_not_of("0123456789abcdef", 5), std::string::npos);
    ids.insert(outcome.provider_message_id);
  }
  EXPECT_EQ(ids.size(), 5000u);
}

std::vector<DeliveryOutcome> SendMany(std::uint64_t seed, int sends) {
  MockChannel channel({.success_rate = 0.7, .seed = seed});
  std::vector<DeliveryOutcome> outcomes;
  for (int i = 0; i < sends; ++i) outcomes.push_back(Send(channel, Message(i)));
  return outcomes;
}

bool SameOutcome(const DeliveryOutcome& a, const DeliveryOutcome& b) {
  return a.kind == b.kind && a.provider_message_id == b.provider_message_id && a.detail == b.detail && a.code == b.code;
}

TEST(MockChannel, SameSeedGivesTheSameSequence) {
  const auto first = SendMany(2024, 1000);
  const auto second = SendMany(2024, 1000);
  ASSERT_EQ(first.size(), second.size());
  for (size_t i = 0; i < first.size(); ++i) EXPECT_TRUE(SameOutcome(first[i], second[i])) << "send " << i;

  const auto other = SendMany(2025, 1000);
  int differences = 0;
  for (size_t i = 0; i < first.size(); ++i) differences += SameOutcome(first[i], other[i]) ? 0 : 1;
  EXPECT_GT(differences, 500);
}

TEST(MockChannel, ConcurrentSendersGetTheSameOutcomesAsOneThread) {
  constexpr int kThreads = 4;
  constexpr int kPerThread = 2500;
  const auto sequential = SendMany(99, kThreads * kPerThread);

  MockChannel channel({.success_rate = 0.7, .seed = 99});
  std::vector<std::vector<DeliveryOutcome>> per_thread(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) per_thread[t].push_back(Send(channel, Message(t * kPerThread + i)));
    });
  }
  for (auto& thread : threads) thread.join();

  // Which message gets which outcome depends on the interleaving; the outcomes do not.
  std::multiset<std::string> expected;
  std::multiset<std::string> actual;
  auto key = [](const DeliveryOutcome& o) { return std::string(domain::ToString(o.kind)) + "|" + o.provider_message_id; };
  for (const auto& o : sequential) expected.insert(key(o));
  for (const auto& outcomes : per_thread) {
    for (const auto& o : outcomes) actual.insert(key(o));
  }
  EXPECT_EQ(actual, expected);
}

TEST(MockChannel, EmptyRecipientIsAlwaysRefused) {
  MockChannel channel({.success_rate = 1.0, .seed = 1});
  auto message = Message(1);
  message.to.clear();
  const auto outcome = Send(channel, message);
  EXPECT_EQ(outcome.kind, OutcomeKind::kPermanent);
  EXPECT_NE(outcome.detail.find("invalid recipient"), std::string::npos);
}

TEST(MockChannel, InvalidSettingsAreRejected) {
  EXPECT_THROW(MockChannel({.success_rate = -0.01}), std::invalid_argument);
  EXPECT_THROW(MockChannel({.success_rate = 1.01}), std::invalid_argument);
  EXPECT_THROW(MockChannel({.success_rate = std::numeric_limits<double>::quiet_NaN()}), std::invalid_argument);
  EXPECT_THROW(MockChannel({.success_rate = 0.5, .latency = std::chrono::milliseconds(-1)}), std::invalid_argument);
  EXPECT_NO_THROW(MockChannel({.success_rate = 0.0}));
  EXPECT_NO_THROW(MockChannel({.success_rate = 1.0}));
}

TEST(MockChannel, DescribesItsSuccessRate) {
  EXPECT_EQ(MockChannel({.success_rate = 0.95}).Describe(), "mock(success=0.95)");
  EXPECT_EQ(MockChannel({.success_rate = 1.0}).Describe(), "mock(success=1)");
}

TEST(MockChannel, ConcurrentSendsWaitTheirLatencyTogetherWithoutAThreadEach) {
  MockChannel channel({.success_rate = 1.0, .seed = 5, .latency = std::chrono::milliseconds(100)});
  std::vector<RenderedMessage> batch;
  for (int i = 0; i < 16; ++i) batch.push_back(Message(i));
  const auto start = std::chrono::steady_clock::now();
  std::vector<std::future<std::vector<DeliveryOutcome>>> calls;
  for (int c = 0; c < 50; ++c) {
    calls.push_back(boost::asio::co_spawn(Runtime().executor(),
                                          channel.Send(batch, std::chrono::steady_clock::now() + std::chrono::seconds(5)),
                                          boost::asio::use_future));
  }
  int accepted = 0;
  for (auto& call : calls) {
    for (const auto& outcome : call.get()) accepted += outcome.kind == OutcomeKind::kAccepted ? 1 : 0;
  }
  EXPECT_EQ(accepted, 50 * 16);
  // One I/O thread: 50 calls one after another would take 5 s.
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
  EXPECT_EQ(channel.Limits().max_batch, 16);
}

TEST(MockChannel, LatencyDelaysEachSend) {
  MockChannel channel({.success_rate = 1.0, .seed = 5, .latency = std::chrono::milliseconds(30)});
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(Send(channel, Message(0)).kind, OutcomeKind::kAccepted);
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(30));
}

}  // namespace
}  // namespace herald::channels::mock
