#include "channels/mock/mock_channel.hpp"

#include <fmt/format.h>

#include <cmath>
#include <stdexcept>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace herald::channels::mock {

using domain::DeliveryOutcome;
using domain::OutcomeKind;

namespace {

// SplitMix64 (Steele, Lea, Flood 2014): a stateless counter-based generator, so
// concurrent callers need only an atomic counter, not a lock around an engine.
// The finaliser is a bijection, which keeps provider ids unique per channel.
std::uint64_t SplitMix64(std::uint64_t seed, std::uint64_t index) {
  std::uint64_t z = seed + (index + 1) * 0x9E3779B97F4A7C15ULL;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

// Uniform in [0, 1) from the top 53 bits, so success_rate 1.0 always succeeds.
double Unit(std::uint64_t bits) { return static_cast<double>(bits >> 11) * 0x1.0p-53; }

}  // namespace

MockChannel::MockChannel(MockChannelSettings settings) : settings_(settings) {
  if (!(settings_.success_rate >= 0.0 && settings_.success_rate <= 1.0)) {
    throw std::invalid_argument(
        fmt::format("mock channel: success_rate must be between 0 and 1, got {}", settings_.success_rate));
  }
  if (settings_.latency.count() < 0) {
    throw std::invalid_argument(
        fmt::format("mock channel: latency must not be negative, got {} ms", settings_.latency.count()));
  }
  if (settings_.max_in_flight < 1 || settings_.max_batch < 1) {
    throw std::invalid_argument("mock channel: max_in_flight and max_batch must be at least 1");
  }
}

boost::asio::awaitable<std::vector<DeliveryOutcome>> MockChannel::Send(std::span<const RenderedMessage> messages,
                                                                       Deadline) {
  if (settings_.latency.count() > 0) {
    boost::asio::steady_timer round_trip(co_await boost::asio::this_coro::executor, settings_.latency);
    co_await round_trip.async_wait(boost::asio::use_awaitable);
  }
  std::vector<DeliveryOutcome> outcomes;
  outcomes.reserve(messages.size());
  for (const auto& message : messages) outcomes.push_back(Next(message));
  co_return outcomes;
}

std::string MockChannel::Describe() const { return fmt::format("mock(success={})", settings_.success_rate); }

DeliveryOutcome MockChannel::Next(const RenderedMessage& message) {
  const std::uint64_t call = calls_.fetch_add(1, std::memory_order_relaxed);
  const std::uint64_t verdict_bits = SplitMix64(settings_.seed, 2 * call);
  const std::uint64_t detail_bits = SplitMix64(settings_.seed, 2 * call + 1);

  if (message.to.empty()) return DeliveryOutcome::Permanent("invalid recipient: empty address", 400);
  if (Unit(verdict_bits) < settings_.success_rate) {
    auto outcome = DeliveryOutcome::Accepted(fmt::format("mock-{:016x}", detail_bits), "mock: accepted");
    outcome.code = 202;
    return outcome;
  }
  const double kind = Unit(detail_bits);
  if (kind < kTransientShare) return DeliveryOutcome::Transient("provider temporarily unavailable", 503);
  if (kind < kTransientShare + kThrottledShare) {
    return DeliveryOutcome{OutcomeKind::kThrottled, {}, "rate limit exceeded, retry after 1 s", 429};
  }
  if (kind < kTransientShare + kThrottledShare + kPermanentShare) {
    return DeliveryOutcome::Permanent("invalid recipient", 400);
  }
  return DeliveryOutcome::Unknown("timed out after the request was sent; the provider may have it");
}

}  // namespace herald::channels::mock
