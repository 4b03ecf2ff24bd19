// ThrottledChannel: a provider's own limits in front of its channel. A rate
// (<provider>.per_second: Twilio's account, SES's sending quota, Telegram's 30
// a second per bot) is one shaper per provider, shared by every lane that uses
// the provider and, through Redis, by every worker; a spacing per recipient
// (Telegram: one message a second to the same chat) is kept by this process.
//
// Sends wait their turn here rather than fail: the engine has already claimed
// them, and a provider's limit is not the message's fault. A wait that would
// eat more than half of the time left before the send's deadline is not taken:
// the message comes back throttled (nothing was sent), to be retried after the
// wait, or to go on to the next provider of a failover list.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "channels/channel.hpp"
#include "common/clock.hpp"
#include "dispatch/shaper.hpp"

namespace herald::dispatch {

struct ProviderThrottle {
  Shaper* rate = nullptr;  // not owned; nullptr: no rate of its own
  std::string rate_setting;  // named in a throttled message's detail, e.g. "twilio.per_second"
  // Sends to the same recipient (`to`) at least this far apart; 0: no spacing.
  std::chrono::milliseconds per_recipient{0};
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
  // The next free slot for `to`, reserved for the caller.
  Clock::TimePoint ReserveRecipientSlot(const std::string& to);
  domain::DeliveryOutcome Throttled(const std::string& why, Clock::TimePoint until) const;

  std::unique_ptr<channels::Channel> provider_;
  ProviderThrottle throttle_;
  const Clock& clock_;
  std::mutex mutex_;
  std::map<std::string, Clock::TimePoint> next_slot_;  // per recipient; entries in the past are dropped
};

}  // namespace herald::dispatch
