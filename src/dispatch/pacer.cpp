#include "dispatch/pacer.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <stdexcept>

#include "domain/delivery_state.hpp"

namespace herald::dispatch {
namespace {

std::int64_t ToMillis(std::chrono::seconds interval) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(interval).count();
}

}  // namespace

Pacer::Pacer(store::sqlite::SqlitePacingStore& store, channels::Channel& channel,
             boost::asio::any_io_executor executor, const Clock& clock,
             PacerSettings settings, PacedObserver observer)
    : store_(store), channel_(channel), executor_(std::move(executor)), clock_(clock), settings_(settings), observer_(std::move(observer)) {
  if (settings_.batch_size < 1) throw std::invalid_argument("pacer batch size must be at least 1");
  if (settings_.interval < std::chrono::seconds(1)) throw std::invalid_argument("pacer interval must be at least 1 s");
  if (settings_.max_attempts < 1) throw std::invalid_argument("pacer max attempts must be at least 1");
}

Pacer::~Pacer() { Stop(); }

void Pacer::Recover() {
  const auto now = ToUnixMillis(clock_.Now());
  const auto abandoned = store_.ResolveAbandoned(now);
  if (abandoned > 0) {
    spdlog::warn("pacer: {} paced send(s) were interrupted by the previous stop; recorded as unknown, not resent",
                 abandoned);
  }
  std::lock_guard lock(mutex_);
  state_ = store_.LoadState();
  running_ = state_.running;
}

void Pacer::Start() {
  Recover();
  stopping_ = false;
  thread_ = std::thread([this] { Run(); });
}

void Pacer::Stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

PacerStatus Pacer::SetRunning(bool running) {
  std::lock_guard lock(mutex_);
  const auto now = ToUnixMillis(clock_.Now());
  auto next = state_;
  if (running && !state_.running && (!next.next_release_at_ms || *next.next_release_at_ms < now)) {
    next.next_release_at_ms = now;
  }
  next.running = running;
  store_.SaveState(next, now);
  state_ = next;
  running_ = running;
  ++wake_generation_;
  wake_.notify_all();
  return StatusLocked();
}

PacerStatus Pacer::Status() const {
  std::lock_guard lock(mutex_);
  return StatusLocked();
}

PacerStatus Pacer::StatusLocked() const {
  PacerStatus status;
  status.running = state_.running;
  status.batch_size = settings_.batch_size;
  status.interval_seconds = static_cast<int>(settings_.interval.count());
  if (state_.running) status.next_release_at_ms = state_.next_release_at_ms.value_or(ToUnixMillis(clock_.Now()));
  return status;
}

int Pacer::Tick() {
  std::lock_guard tick(tick_mutex_);
  std::int64_t release_ms = 0;
  {
    std::lock_guard lock(mutex_);
    if (!state_.running) return 0;
    release_ms = ToUnixMillis(clock_.Now());
    if (state_.next_release_at_ms && release_ms < *state_.next_release_at_ms) return 0;
    // The next slot is saved before anything is sent: a crash mid-release does
    // not buy an extra batch on restart.
    auto next = state_;
    next.next_release_at_ms = release_ms + ToMillis(settings_.interval);
    store_.SaveState(next, release_ms);
    state_ = next;
  }
  int sends = 0;
  bool throttled = false;
  std::optional<store::sqlite::PacedOutcome> finished = std::move(unrecorded_);
  unrecorded_.reset();
  try {
    while (sends < settings_.batch_size && running_ && !stopping_ && !throttled) {
      const auto claimed = store_.RecordAndClaim(finished, ToUnixMillis(clock_.Now()));
      finished.reset();
      if (!claimed) break;
      ++sends;
      const auto outcome = Send(*claimed, release_ms);
      throttled = outcome.throttled;
      finished = outcome.result;
      if (observer_) observer_(finished->status);
    }
    if (finished) store_.Record(*finished, ToUnixMillis(clock_.Now()));
  } catch (...) {
    // Keep what was learnt and record it at the next tick; until then the row
    // stays "sending", which a restart reports as unknown rather than resending.
    unrecorded_ = std::move(finished);
    throw;
  }
  return sends;
}

Pacer::SendResult Pacer::Send(const store::sqlite::PacedMessage& message, std::int64_t release_ms) {
  domain::DeliveryOutcome outcome;
  try {
    outcome = channels::SendAndWait(
        executor_, channel_,
        {.delivery_id = "p" + std::to_string(message.id), .channel = "sms", .to = message.to, .text = message.content});
  } catch (const std::exception& e) {
    // The request may have left before the failure: treat it as sent-or-not.
    outcome = domain::DeliveryOutcome::Unknown(std::string("provider call failed: ") + e.what());
  }
  // Retries wait for a later release (this one no longer takes the message, the
  // next takes it first: oldest id), so the policy only counts attempts.
  const domain::RetryPolicy policy{.max_attempts = settings_.max_attempts,
                                   .base_delay = std::chrono::milliseconds(0),
                                   .max_delay = std::chrono::milliseconds(0),
                                   .jitter = 0};
  const auto decision = domain::Decide(policy, message.attempts, outcome, clock_.Now(), 0.0);
  store::sqlite::PacedOutcome result{message.id, domain::ToString(decision.status), outcome.provider_message_id,
                                     decision.detail, 0};
  if (decision.status == domain::DeliveryStatus::kQueued) {
    result.status = "unsent";
    result.retry_at_ms = release_ms + ToMillis(settings_.interval);
  } else if (decision.status == domain::DeliveryStatus::kDead) {
    result.status = "failed";  // the paced table has no dead state yet
  }
  if (result.status != "sent") {
    spdlog::warn("pacer: paced message id={} attempt={} outcome={} status={} detail={}", message.id,
                 message.attempts, domain::ToString(outcome.kind), result.status, outcome.detail);
  }
  return {std::move(result), outcome.kind == domain::OutcomeKind::kThrottled};
}

void Pacer::Run() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    lock.unlock();
    bool failed = false;
    try {
      Tick();
    } catch (const std::exception& e) {
      // The store is unreachable or full: try again at the next look.
      spdlog::error("pacer: release failed: {}", e.what());
      failed = true;
    }
    lock.lock();
    if (stopping_) break;
    auto wait = settings_.idle_poll;
    if (!failed && state_.running && state_.next_release_at_ms) {
      const auto until_due = std::chrono::milliseconds(*state_.next_release_at_ms - ToUnixMillis(clock_.Now()));
      wait = std::clamp(until_due, std::chrono::milliseconds(0), wait);
    }
    const auto seen = wake_generation_;
    wake_.wait_for(lock, wait, [&] { return stopping_ || wake_generation_ != seen; });
  }
}

}  // namespace herald::dispatch
