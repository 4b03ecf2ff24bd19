#include "channels/failover/failover_channel.hpp"

#include <algorithm>
#include <optional>
#include <stdexcept>

namespace herald::channels::failover {

using domain::DeliveryOutcome;
using domain::OutcomeKind;

const char* ToString(CircuitState state) {
  switch (state) {
    case CircuitState::kClosed: return "closed";
    case CircuitState::kOpen: return "open";
    case CircuitState::kHalfOpen: return "half-open";
  }
  return "closed";
}

bool CircuitBreaker::Allow(Clock::TimePoint now) {
  std::lock_guard lock(mutex_);
  if (!open_) return true;
  if (now < opened_at_ + settings_.open_for || probing_) return false;
  probing_ = true;
  return true;
}

void CircuitBreaker::Record(bool failed, Clock::TimePoint now) {
  std::lock_guard lock(mutex_);
  const bool was_probe = probing_;
  probing_ = false;
  if (!failed) {
    failures_ = 0;
    open_ = false;
    return;
  }
  ++failures_;
  // A failed probe opens the circuit again at once; a closed one waits for its count.
  if (was_probe || failures_ >= settings_.failures_to_open) {
    open_ = true;
    opened_at_ = now;
  }
}

CircuitState CircuitBreaker::State(Clock::TimePoint now) const {
  std::lock_guard lock(mutex_);
  if (!open_) return CircuitState::kClosed;
  return probing_ || now >= opened_at_ + settings_.open_for ? CircuitState::kHalfOpen : CircuitState::kOpen;
}

int CircuitBreaker::consecutive_failures() const {
  std::lock_guard lock(mutex_);
  return failures_;
}

Clock::TimePoint CircuitBreaker::reopens_at() const {
  std::lock_guard lock(mutex_);
  return opened_at_ + settings_.open_for;
}

FailoverChannel::FailoverChannel(std::vector<std::unique_ptr<Channel>> providers, CircuitSettings circuit,
                                 const Clock& clock)
    : clock_(clock) {
  if (providers.empty()) throw std::invalid_argument("a failover channel needs at least one provider");
  if (circuit.failures_to_open < 1 || circuit.open_for.count() <= 0) {
    throw std::invalid_argument("circuit breaker settings must be positive");
  }
  for (auto& provider : providers) {
    if (!provider) throw std::invalid_argument("a failover channel's provider is missing");
    providers_.push_back({std::move(provider), std::make_unique<CircuitBreaker>(circuit)});
  }
}

ChannelLimits FailoverChannel::Limits() const {
  ChannelLimits limits{.max_in_flight = providers_.front().channel->Limits().max_in_flight, .max_batch = 1};
  for (const auto& provider : providers_) {
    limits.max_in_flight = std::min(limits.max_in_flight, provider.channel->Limits().max_in_flight);
  }
  return limits;
}

std::string FailoverChannel::Describe() const {
  std::string out = "failover(";
  for (std::size_t i = 0; i < providers_.size(); ++i) out += (i ? ", " : "") + providers_[i].channel->Describe();
  return out + ")";
}

std::vector<ProviderHealth> FailoverChannel::Health() const {
  std::vector<ProviderHealth> health;
  const auto now = clock_.Now();
  for (const auto& provider : providers_) {
    health.push_back({provider.channel->Describe(), provider.circuit->State(now),
                      provider.circuit->consecutive_failures()});
  }
  return health;
}

boost::asio::awaitable<std::vector<DeliveryOutcome>> FailoverChannel::Send(std::span<const RenderedMessage> messages,
                                                                           Deadline deadline) {
  return SendEach(messages, [this, deadline](const RenderedMessage& message) { return SendOne(message, deadline); });
}

boost::asio::awaitable<DeliveryOutcome> FailoverChannel::SendOne(const RenderedMessage& message, Deadline deadline) {
  std::string passed;  // what the providers before the answering one said
  std::optional<DeliveryOutcome> last;
  for (auto& provider : providers_) {
    if (!provider.circuit->Allow(clock_.Now())) {
      passed += (passed.empty() ? "" : "; ") + provider.channel->Describe() + ": circuit open";
      continue;
    }
    auto outcomes = co_await SendNoThrow(*provider.channel, std::span(&message, 1), deadline);
    auto outcome = std::move(outcomes.front());
    const bool failed = outcome.kind == OutcomeKind::kTransient || outcome.kind == OutcomeKind::kThrottled ||
                        outcome.kind == OutcomeKind::kUnknown;
    provider.circuit->Record(failed, clock_.Now());
    if (!outcome.IsRetryable()) {
      if (!passed.empty()) outcome.detail += " (after " + passed + ")";
      co_return outcome;
    }
    passed += (passed.empty() ? "" : "; ") + provider.channel->Describe() + ": " + outcome.detail;
    last = std::move(outcome);
  }
  if (last) {
    // Every provider that was tried failed transiently: retry later, as the last one asks.
    last->detail = "every provider failed: " + passed;
    co_return *last;
  }
  // Every circuit is open: nothing was sent; look again when the first one half-opens.
  auto reopens = providers_.front().circuit->reopens_at();
  for (const auto& provider : providers_) reopens = std::min(reopens, provider.circuit->reopens_at());
  auto outcome = DeliveryOutcome::Transient("every provider's circuit is open: " + passed);
  outcome.retry_after = std::max(std::chrono::milliseconds(0),
                                 std::chrono::duration_cast<std::chrono::milliseconds>(reopens - clock_.Now()));
  co_return outcome;
}

}  // namespace herald::channels::failover
