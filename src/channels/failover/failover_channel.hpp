// FailoverChannel: one channel over an ordered list of providers (SES, then
// SendGrid, then SMTP, say). Each message goes to the first provider whose
// circuit is closed; a transient or throttled answer moves it on to the next.
// An unknown or permanent answer never does: the first provider may have the
// message, or has refused it for a reason another would share.
//
// Each provider has a circuit breaker: after `failures_to_open` failed sends in
// a row (transient, throttled or unknown) it opens, and the provider gets
// nothing for `open_for`; then one probe goes through, and its outcome closes
// the circuit or opens it again.
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "channels/channel.hpp"
#include "common/clock.hpp"

namespace herald::channels::failover {

struct CircuitSettings {
  int failures_to_open = 5;
  std::chrono::milliseconds open_for{30000};
};

enum class CircuitState { kClosed, kOpen, kHalfOpen };
const char* ToString(CircuitState state);

// Thread-safe; `now` is injected so the states are testable.
class CircuitBreaker {
 public:
  explicit CircuitBreaker(CircuitSettings settings) : settings_(settings) {}
  // Whether a send may go to the provider now; in half-open, only one probe at a time.
  bool Allow(Clock::TimePoint now);
  void Record(bool failed, Clock::TimePoint now);
  CircuitState State(Clock::TimePoint now) const;
  int consecutive_failures() const;
  Clock::TimePoint reopens_at() const;

 private:
  const CircuitSettings settings_;
  mutable std::mutex mutex_;
  int failures_ = 0;
  bool open_ = false;
  bool probing_ = false;
  Clock::TimePoint opened_at_{};
};

struct ProviderHealth {
  std::string provider;  // the provider channel's Describe()
  CircuitState state = CircuitState::kClosed;
  int consecutive_failures = 0;
};

class FailoverChannel final : public Channel {
 public:
  // At least one provider; throws std::invalid_argument otherwise.
  FailoverChannel(std::vector<std::unique_ptr<Channel>> providers, CircuitSettings circuit, const Clock& clock);

  boost::asio::awaitable<std::vector<domain::DeliveryOutcome>> Send(std::span<const RenderedMessage> messages,
                                                                    Deadline deadline) override;
  // One message per call; in flight: the smallest of the providers', since any may get them all.
  ChannelLimits Limits() const override;
  // "failover(twilio:…, webhook:…)"
  std::string Describe() const override;
  std::vector<ProviderHealth> Health() const;

 private:
  boost::asio::awaitable<domain::DeliveryOutcome> SendOne(const RenderedMessage& message, Deadline deadline);

  struct Provider {
    std::unique_ptr<Channel> channel;
    std::unique_ptr<CircuitBreaker> circuit;
  };
  std::vector<Provider> providers_;
  const Clock& clock_;
};

}  // namespace herald::channels::failover
