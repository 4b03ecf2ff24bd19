#include "dispatch/pacing_rule.hpp"

#include <algorithm>
#include <stdexcept>

namespace herald::dispatch {
namespace {

std::int64_t ToMillis(std::chrono::seconds interval) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(interval).count();
}

}  // namespace

PacingRule::PacingRule(store::MessageDeliveryStore& store, const Clock& clock, PacerSettings settings)
    : store_(store), clock_(clock), settings_(settings) {
  if (settings_.batch_size < 1) throw std::invalid_argument("pacer batch size must be at least 1");
  if (settings_.interval < std::chrono::seconds(1)) throw std::invalid_argument("pacer interval must be at least 1 s");
  if (settings_.retry.max_attempts < 1) throw std::invalid_argument("pacer max attempts must be at least 1");
}

void PacingRule::Recover() {
  std::lock_guard lock(mutex_);
  state_ = store_.LoadSchedule();
  seen_release_at_ms_ = state_.next_release_at_ms;
  const auto now = ToUnixMillis(clock_.Now());
  used_ = state_.next_release_at_ms && now < *state_.next_release_at_ms ? settings_.batch_size : 0;
}

bool PacingRule::ReleaseDue(Clock::TimePoint now) const {
  return !state_.next_release_at_ms || ToUnixMillis(now) >= *state_.next_release_at_ms;
}

int PacingRule::Available(Clock::TimePoint now) {
  std::lock_guard lock(mutex_);
  if (!state_.running) return 0;
  return ReleaseDue(now) ? settings_.batch_size : std::max(0, settings_.batch_size - used_);
}

void PacingRule::Consume(int sends, Clock::TimePoint now) {
  std::lock_guard lock(mutex_);
  if (ReleaseDue(now)) {
    // A release begins: the next one is an interval from now, unless another
    // process began it first (the claims' transaction checks against `seen_`).
    seen_release_at_ms_ = state_.next_release_at_ms;
    release_unsaved_ = true;
    state_.next_release_at_ms = ToUnixMillis(now) + ToMillis(settings_.interval);
    used_ = 0;
  }
  used_ += sends;
}

Clock::TimePoint PacingRule::NextAvailable(Clock::TimePoint now) {
  std::lock_guard lock(mutex_);
  if (!state_.running) return now + std::chrono::hours(24);  // SetRunning wakes the lane
  if (ReleaseDue(now) || used_ < settings_.batch_size) return now;
  return FromUnixMillis(*state_.next_release_at_ms);
}

// The release ends; the throttled delivery's own retry waits out the
// provider's retry_after (domain::Decide).
void PacingRule::OnThrottled(Clock::TimePoint now, std::chrono::milliseconds /*retry_after*/) {
  std::lock_guard lock(mutex_);
  if (!ReleaseDue(now)) used_ = settings_.batch_size;  // the provider asked us to slow down: this release ends
}

store::LaneSchedule PacingRule::State() const {
  std::lock_guard lock(mutex_);
  auto schedule = state_;
  schedule.only_if_unchanged = true;
  // Until this process's claims have saved the release it began, the store
  // must still hold the one before; afterwards, this one.
  schedule.seen_release_at_ms = release_unsaved_ ? seen_release_at_ms_ : state_.next_release_at_ms;
  return schedule;
}

void PacingRule::Saved() {
  std::lock_guard lock(mutex_);
  release_unsaved_ = false;
}

void PacingRule::AdoptSaved() {
  const auto saved = store_.LoadSchedule();
  bool changed = false;
  {
    std::lock_guard lock(mutex_);
    changed = saved.running != state_.running;
    state_.running = saved.running;
    // A release this process tried to begin, or one saved differently, is
    // another process's (even begun in the same millisecond): nothing of it is
    // left here. (A begin whose claims all lost to cancellations gives up the
    // rest of its release too: fewer sends, never more.)
    if (release_unsaved_ || saved.next_release_at_ms != state_.next_release_at_ms) {
      state_.next_release_at_ms = saved.next_release_at_ms;
      used_ = settings_.batch_size;
    }
    release_unsaved_ = false;
  }
  if (changed) Changed();
}

Clock::TimePoint PacingRule::NextRelease() const {
  std::lock_guard lock(mutex_);
  return state_.next_release_at_ms ? FromUnixMillis(*state_.next_release_at_ms) : clock_.Now();
}

bool PacingRule::MergeSavedLocked(const store::LaneSchedule& saved) {
  const bool changed = saved.running != state_.running;
  state_.running = saved.running;
  // A later release time means a release began elsewhere: it is used up here too.
  if (saved.next_release_at_ms && (!state_.next_release_at_ms || *saved.next_release_at_ms > *state_.next_release_at_ms)) {
    state_.next_release_at_ms = saved.next_release_at_ms;
    used_ = settings_.batch_size;
  }
  return changed;
}

void PacingRule::Follow() {
  const auto saved = store_.LoadSchedule();
  bool changed = false;
  {
    std::lock_guard lock(mutex_);
    changed = MergeSavedLocked(saved);
  }
  if (changed) Changed();
}

PacerStatus PacingRule::SetRunning(bool running) {
  PacerStatus status;
  const auto saved = store_.LoadSchedule();
  {
    std::lock_guard lock(mutex_);
    MergeSavedLocked(saved);  // another process (herald api, a worker) may have changed it
    const auto now = ToUnixMillis(clock_.Now());
    auto next = state_;
    if (running && !state_.running && (!next.next_release_at_ms || *next.next_release_at_ms < now)) {
      next.next_release_at_ms = now;
    }
    next.running = running;
    store_.SaveSchedule(next, now);
    state_ = next;
    status = StatusLocked();
  }
  Changed();
  return status;
}

PacerStatus PacingRule::Status() const {
  std::lock_guard lock(mutex_);
  return StatusLocked();
}

bool PacingRule::IsRunning() const {
  std::lock_guard lock(mutex_);
  return state_.running;
}

PacerStatus PacingRule::StatusLocked() const {
  PacerStatus status;
  status.running = state_.running;
  status.batch_size = settings_.batch_size;
  status.interval_seconds = static_cast<int>(settings_.interval.count());
  // A release that is due but has had nothing to send yet goes out the moment a message arrives.
  if (state_.running) {
    status.next_release_at_ms =
        std::max<std::int64_t>(state_.next_release_at_ms.value_or(0), ToUnixMillis(clock_.Now()));
  }
  return status;
}

}  // namespace herald::dispatch
