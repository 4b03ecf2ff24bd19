#include "dispatch/throttled_channel.hpp"

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <stdexcept>

namespace herald::dispatch {

using domain::DeliveryOutcome;
using std::chrono::milliseconds;

namespace {

// Past this many recipients remembered, slots already gone are forgotten.
constexpr std::size_t kRecipientsBeforePruning = 4096;

}  // namespace

ThrottledChannel::ThrottledChannel(std::unique_ptr<channels::Channel> provider, ProviderThrottle throttle,
                                   const Clock& clock)
    : provider_(std::move(provider)), throttle_(std::move(throttle)), clock_(clock) {
  if (!provider_) throw std::invalid_argument("a throttled channel needs its provider");
  if (throttle_.per_recipient.count() < 0) throw std::invalid_argument("a recipient's spacing cannot be negative");
}

boost::asio::awaitable<std::vector<DeliveryOutcome>> ThrottledChannel::Send(
    std::span<const channels::RenderedMessage> messages, channels::Deadline deadline) {
  std::vector<DeliveryOutcome> outcomes;
  outcomes.reserve(messages.size());
  const bool spaced = throttle_.per_recipient.count() > 0;
  std::size_t done = 0;
  while (done < messages.size()) {
    if (spaced) {
      const auto slot = ReserveRecipientSlot(messages[done].to);
      if (!co_await WaitUntil(slot, deadline)) {
        outcomes.push_back(Throttled("the next turn for this recipient (one every " +
                                         std::to_string(throttle_.per_recipient.count()) + " ms)",
                                     slot));
        ++done;
        continue;
      }
    }
    // Spaced sends go one by one, each after its own turn.
    std::size_t run = spaced ? 1 : messages.size() - done;
    if (throttle_.rate) {
      std::size_t granted = 0;
      Clock::TimePoint refill{};
      while (granted == 0) {
        const auto now = clock_.Now();
        if (const int available = throttle_.rate->Available(now); available > 0) {
          granted = std::min(run, static_cast<std::size_t>(available));
          throttle_.rate->Consume(static_cast<int>(granted), now);
          break;
        }
        refill = std::max(throttle_.rate->NextAvailable(now), now + milliseconds(1));
        if (!co_await WaitUntil(refill, deadline)) break;
      }
      if (granted == 0) {
        for (std::size_t i = 0; i < run; ++i) outcomes.push_back(Throttled("its rate (" + throttle_.rate_setting + ")", refill));
        done += run;
        continue;
      }
      run = granted;
    }
    auto sent = co_await channels::SendNoThrow(*provider_, messages.subspan(done, run), deadline);
    for (auto& outcome : sent) {
      // The provider's own "slow down" holds every lane and worker sharing its rate.
      if (outcome.kind == domain::OutcomeKind::kThrottled && throttle_.rate) {
        throttle_.rate->OnThrottled(clock_.Now(), outcome.retry_after);
      }
      outcomes.push_back(std::move(outcome));
    }
    done += run;
  }
  co_return outcomes;
}

boost::asio::awaitable<bool> ThrottledChannel::WaitUntil(Clock::TimePoint at, channels::Deadline deadline) {
  const auto wait = std::chrono::ceil<milliseconds>(at - clock_.Now());
  if (wait.count() <= 0) co_return true;
  if (wait > (deadline - std::chrono::steady_clock::now()) / 2) co_return false;
  boost::asio::steady_timer timer(co_await boost::asio::this_coro::executor, wait);
  boost::system::error_code ignored;
  co_await timer.async_wait(boost::asio::redirect_error(boost::asio::use_awaitable, ignored));
  co_return true;
}

Clock::TimePoint ThrottledChannel::ReserveRecipientSlot(const std::string& to) {
  std::lock_guard lock(mutex_);
  const auto now = clock_.Now();
  if (next_slot_.size() > kRecipientsBeforePruning) std::erase_if(next_slot_, [&](const auto& entry) { return entry.second <= now; });
  auto& next = next_slot_[to];
  const auto slot = std::max(now, next);
  next = slot + throttle_.per_recipient;
  return slot;
}

DeliveryOutcome ThrottledChannel::Throttled(const std::string& why, Clock::TimePoint until) const {
  const auto wait = std::max(milliseconds(0), std::chrono::ceil<milliseconds>(until - clock_.Now()));
  return DeliveryOutcome::Throttled(
      provider_->Describe() + ": not sent; waiting for " + why + " would pass the send's deadline", 0, wait);
}

}  // namespace herald::dispatch
