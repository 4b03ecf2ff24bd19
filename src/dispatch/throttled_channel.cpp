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

// How often a send waiting for a request slot looks again: soon at first, then
// at most this often, so a full provider costs few questions (each one a round
// trip when the count is in Redis).
constexpr milliseconds kFirstSlotPoll{2};
constexpr milliseconds kLongestSlotPoll{50};

// Slots given back when the sends holding them are answered, or abandoned.
class HeldSlots {
 public:
  HeldSlots(InFlightLimit* limit, int slots) : limit_(limit), slots_(slots) {}
  ~HeldSlots() {
    if (limit_ && slots_ > 0) limit_->Release(slots_);
  }
  HeldSlots(const HeldSlots&) = delete;
  HeldSlots& operator=(const HeldSlots&) = delete;

 private:
  InFlightLimit* limit_;
  int slots_;
};

}  // namespace

ThrottledChannel::ThrottledChannel(std::unique_ptr<channels::Channel> provider, ProviderThrottle throttle,
                                   const Clock& clock)
    : provider_(std::move(provider)), throttle_(std::move(throttle)), clock_(clock) {
  if (!provider_) throw std::invalid_argument("a throttled channel needs its provider");
  if (throttle_.spacing && throttle_.spacing->interval().count() <= 0) {
    throw std::invalid_argument("a recipient's spacing must be positive");
  }
}

boost::asio::awaitable<std::vector<DeliveryOutcome>> ThrottledChannel::Send(
    std::span<const channels::RenderedMessage> messages, channels::Deadline deadline) {
  std::vector<DeliveryOutcome> outcomes;
  outcomes.reserve(messages.size());
  const auto not_sent = [&](std::size_t count, const std::string& why, Clock::TimePoint until) {
    for (std::size_t i = 0; i < count; ++i) outcomes.push_back(Throttled(why, until));
  };
  std::size_t done = 0;
  while (done < messages.size()) {
    // Spaced sends go one by one, each after its own turn.
    int run = throttle_.spacing ? 1 : static_cast<int>(messages.size() - done);
    Clock::TimePoint retry_at{};
    if (throttle_.in_flight) {
      run = co_await AcquireSlots(run, deadline, retry_at);
      if (run == 0) {
        const std::size_t left = throttle_.spacing ? 1 : messages.size() - done;
        not_sent(left, "a free request slot (" + throttle_.provider + ".max_in_flight)", retry_at);
        done += left;
        continue;
      }
    }
    HeldSlots slots(throttle_.in_flight, run);
    if (throttle_.rate) {
      const int tokens = co_await TakeTokens(run, deadline, retry_at);
      if (tokens == 0) {
        not_sent(run, "its rate (" + throttle_.provider + ".per_second)", retry_at);
        done += run;
        continue;
      }
      run = tokens;  // the slots of the rest are given back with these
    }
    // The recipient's turn is the last wait, so the request goes on it: a
    // wait for slots or tokens after it would bring two turns closer.
    if (throttle_.spacing) {
      const auto turn = throttle_.spacing->Reserve(messages[done].to, clock_.Now());
      if (!co_await WaitUntil(turn, deadline)) {
        not_sent(1, "the next turn for this recipient (one every " +
                        std::to_string(throttle_.spacing->interval().count()) + " ms)", turn);
        ++done;
        continue;
      }
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

boost::asio::awaitable<int> ThrottledChannel::AcquireSlots(int wanted, channels::Deadline deadline,
                                                           Clock::TimePoint& retry_at) {
  auto poll = kFirstSlotPoll;
  while (true) {
    if (const int granted = throttle_.in_flight->TryAcquire(wanted); granted > 0) co_return granted;
    retry_at = clock_.Now() + poll;
    if (!co_await WaitUntil(retry_at, deadline)) co_return 0;
    poll = std::min(poll * 2, kLongestSlotPoll);
  }
}

boost::asio::awaitable<int> ThrottledChannel::TakeTokens(int wanted, channels::Deadline deadline,
                                                         Clock::TimePoint& retry_at) {
  while (true) {
    const auto now = clock_.Now();
    if (const int available = throttle_.rate->Available(now); available > 0) {
      const int granted = std::min(wanted, available);
      throttle_.rate->Consume(granted, now);
      co_return granted;
    }
    retry_at = std::max(throttle_.rate->NextAvailable(now), now + milliseconds(1));
    if (!co_await WaitUntil(retry_at, deadline)) co_return 0;
  }
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

DeliveryOutcome ThrottledChannel::Throttled(const std::string& why, Clock::TimePoint until) const {
  const auto wait = std::max(milliseconds(0), std::chrono::ceil<milliseconds>(until - clock_.Now()));
  return DeliveryOutcome::Throttled(
      provider_->Describe() + ": not sent; waiting for " + why + " would pass the send's deadline", 0, wait);
}

}  // namespace herald::dispatch
