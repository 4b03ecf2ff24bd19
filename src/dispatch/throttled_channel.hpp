// ThrottledChannel: a provider's own limits in front of its channel: a rate
// (<provider>.per_second: Twilio's account, SES's sending quota, Telegram's 30
// a second per bot), requests awaiting an answer at once
// (<provider>.max_in_flight) and a spacing per recipient (Telegram: one message
// a second to the same chat). Each is one object per provider, shared by every
// lane that uses the provider and, through Redis, by every worker.
//
// Sends wait their turn here rather than fail: the engine has already claimed
// them, and a provider's limit is not the message's fault. A wait that would
// eat more than half of the time left before the send's deadline is not taken:
// the message comes back throttled (nothing was sent), to be retried after the
// wait, or to go on to the next provider of a failover list.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "channels/channel.hpp"
#include "common/clock.hpp"
#include "dispatch/provider_limits.hpp"
#include "dispatch/shaper.hpp"

namespace herald::dispatch {

// None owned; each nullptr when the provider has no such limit.
struct ProviderThrottle {
  std::string provider;  // "twilio": its settings are named in a throttled message's detail
  Shaper* rate = nullptr;
  InFlightLimit* in_flight = nullptr;
  RecipientSpacing* spacing = nullptr;  // by the message's `to`
};

class ThrottledChannel final : public channels::Channel {
 public:
  ThrottledChannel(std::unique_ptr<channels::Channel> provider, ProviderThrottle throttle, const Clock& clock);

  boost::asio::awaitable<std::vector<domain::DeliveryOutcome>> Send(std::span<const channels::RenderedMessage> messages,
                                                                    channels::Deadline deadline) override;
  channels::ChannelLimits Limits() const override { return provider_->Limits(); }
  // The provider's own: health and failover details name the provider, not its throttle.
  std::string Describe() const override { return provider_->Describe(); }

 private:
  // Waits until `at` (on clock_), or returns false when that would eat more than
  // half of the time left before `deadline`.
  boost::asio::awaitable<bool> WaitUntil(Clock::TimePoint at, channels::Deadline deadline);
  // Up to `wanted` request slots, waiting for the first; 0 when that wait
  // would pass half the deadline (`retry_at` then says when to try again).
  boost::asio::awaitable<int> AcquireSlots(int wanted, channels::Deadline deadline, Clock::TimePoint& retry_at);
  // Up to `wanted` tokens of the rate, waiting for the first; 0 as above.
  boost::asio::awaitable<int> TakeTokens(int wanted, channels::Deadline deadline, Clock::TimePoint& retry_at);
  domain::DeliveryOutcome Throttled(const std::string& why, Clock::TimePoint until) const;

  std::unique_ptr<channels::Channel> provider_;
  ProviderThrottle throttle_;
  const Clock& clock_;
};

}  // namespace herald::dispatch
