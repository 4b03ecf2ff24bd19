// MockChannel: a provider that needs no network, for demos, load tests and
// dispatcher tests. It accepts a set share of sends and fails the rest with a
// realistic mix of outcomes, reproducibly for a given seed.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>

#include "channels/message_channel.hpp"

namespace herald::channels::mock {

struct MockChannelSettings {
  double success_rate = 0.95;            // share of sends accepted, in [0, 1]
  std::uint64_t seed = 0;                // same seed, same outcomes
  std::chrono::milliseconds latency{0};  // simulated provider round trip, per send
};

// How failed sends split, modelled on what SMS aggregators report: mostly short
// outages, some rate limiting, a few bad numbers, and the odd request whose fate
// is unknown (so the dispatcher's no-resend path gets exercised too).
inline constexpr double kTransientShare = 0.70;  // 503 "provider temporarily unavailable"
inline constexpr double kThrottledShare = 0.15;  // 429 "rate limit exceeded"
inline constexpr double kPermanentShare = 0.10;  // 400 "invalid recipient"
// The remaining 0.05 of failures are kUnknown ("timed out after the request was sent").

class MockChannel final : public MessageChannel {
 public:
  // Throws std::invalid_argument if success_rate is outside [0, 1] (or NaN) or latency is negative.
  explicit MockChannel(MockChannelSettings settings);

  // The n-th call's outcome depends only on the seed and n, never on the message
  // (except that an empty recipient is always refused), so one thread sees the same
  // sequence every run, and N calls from any number of threads produce the same
  // outcomes, only paired with different messages.
  domain::DeliveryOutcome Send(const OutgoingMessage& message) override;
  std::string Describe() const override;  // "mock(success=0.95)"

 private:
  MockChannelSettings settings_;
  std::atomic<std::uint64_t> calls_{0};
};

}  // namespace herald::channels::mock
