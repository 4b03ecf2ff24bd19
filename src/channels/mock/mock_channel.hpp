// MockChannel: a provider that needs no network, for demos, load tests and
// dispatcher tests. It accepts a set share of sends and fails the rest with a
// realistic mix of outcomes, reproducibly for a given seed.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>

#include "channels/channel.hpp"

namespace herald::channels::mock {

struct MockChannelSettings {
  double success_rate = 0.95;            // share of sends accepted, in [0, 1]
  std::uint64_t seed = 0;                // same seed, same outcomes
  std::chrono::milliseconds latency{0};  // simulated provider round trip, per Send call
  int max_in_flight = 64;
  int max_batch = 16;
};

// How failed sends split, modelled on what SMS aggregators report: mostly short
// outages, some rate limiting, a few bad numbers, and the odd request whose fate
// is unknown (so the dispatcher's no-resend path gets exercised too).
inline constexpr double kTransientShare = 0.70;  // 503 "provider temporarily unavailable"
inline constexpr double kThrottledShare = 0.15;  // 429 "rate limit exceeded"
inline constexpr double kPermanentShare = 0.10;  // 400 "invalid recipient"
// The remaining 0.05 of failures are kUnknown ("timed out after the request was sent").

class MockChannel final : public Channel {
 public:
  // Throws std::invalid_argument if success_rate is outside [0, 1] (or NaN), latency
  // is negative, or a limit is below 1.
  explicit MockChannel(MockChannelSettings settings);

  // The n-th message's outcome depends only on the seed and n, never on the
  // message (except that an empty recipient is always refused), so one caller
  // sees the same sequence every run, and N messages sent by any number of
  // concurrent calls produce the same outcomes, only paired with other messages.
  // The latency is waited on a timer: no thread is held.
  boost::asio::awaitable<std::vector<domain::DeliveryOutcome>> Send(std::span<const RenderedMessage> messages,
                                                                    Deadline deadline) override;
  ChannelLimits Limits() const override { return {settings_.max_in_flight, settings_.max_batch}; }
  std::string Describe() const override;  // "mock(success=0.95)"

 private:
  domain::DeliveryOutcome Next(const RenderedMessage& message);

  MockChannelSettings settings_;
  std::atomic<std::uint64_t> calls_{0};
};

}  // namespace herald::channels::mock
