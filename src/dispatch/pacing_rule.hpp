// The paced sender of seed 001 as a shaping rule of the delivery engine: at most
// N sends per interval (default 2 every 2 minutes), started and stopped over the
// API. Its schedule is saved with the claims it allows (the paced lane writes
// State() in the same transaction), and its running state when it changes, so a
// restart neither forgets a stop nor buys an extra release.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>

#include "common/clock.hpp"
#include "dispatch/shaper.hpp"
#include "domain/retry_policy.hpp"
#include "store/message_delivery_store.hpp"

namespace herald::dispatch {

struct PacerSettings {
  int batch_size = 2;                  // sends per release (seed 001: 2)
  std::chrono::seconds interval{120};  // between releases (seed 001: 2 minutes)
  // Transient failures are retried in a later release, no sooner than the
  // policy's backoff, until its attempts are used; then dead.
  domain::RetryPolicy retry{.max_attempts = 3,
                            .base_delay = std::chrono::milliseconds(0),
                            .max_delay = std::chrono::milliseconds(0),
                            .jitter = 0};
};

struct PacerStatus {
  bool running = false;
  int batch_size = 0;
  int interval_seconds = 0;
  std::optional<std::int64_t> next_release_at_ms;  // nullopt while stopped
};

class PacingRule final : public Shaper {
 public:
  // Throws std::invalid_argument for a batch size, interval or attempt cap below 1.
  PacingRule(store::MessageDeliveryStore& store, const Clock& clock, PacerSettings settings);

  // Loads the saved running state and schedule. A release that had begun
  // before a restart counts as used up.
  void Recover();
  // Picks up a start, stop or release saved by another process (herald api and
  // herald worker share the schedule through the store); call every second or so.
  void Follow();
  // After claims the store refused: takes the saved schedule as it is (another
  // process began the release this one tried to), so the next claims agree.
  void AdoptSaved();
  // After claims the store accepted: the schedule they carried is saved.
  void Saved();
  // The API's start and stop: saved at once. Starting releases at once unless
  // the previous release was less than an interval ago.
  PacerStatus SetRunning(bool running);
  PacerStatus Status() const;
  bool IsRunning() const;
  // Called after SetRunning and when paced messages are added (the wiring wakes the lane).
  void SetOnChange(std::function<void()> on_change) { on_change_ = std::move(on_change); }
  void Changed() const {
    if (on_change_) on_change_();
  }

  const PacerSettings& settings() const { return settings_; }
  // The schedule as the last Consume left it, for the paced lane to save with its claims.
  store::LaneSchedule State() const;
  // When a message that must wait for a later release becomes due: the next release.
  Clock::TimePoint NextRelease() const;

  int Available(Clock::TimePoint now) override;
  void Consume(int sends, Clock::TimePoint now) override;
  Clock::TimePoint NextAvailable(Clock::TimePoint now) override;
  void OnThrottled(Clock::TimePoint now, std::chrono::milliseconds retry_after = {}) override;

 private:
  bool ReleaseDue(Clock::TimePoint now) const;  // under mutex_
  bool MergeSavedLocked(const store::LaneSchedule& saved);  // whether running changed
  PacerStatus StatusLocked() const;

  store::MessageDeliveryStore& store_;
  const Clock& clock_;
  const PacerSettings settings_;
  std::function<void()> on_change_;
  mutable std::mutex mutex_;
  store::LaneSchedule state_;  // as saved: running, and when the next release may begin
  int used_ = 0;
  std::optional<std::int64_t> seen_release_at_ms_;  // the release time before this process's latest release began
  bool release_unsaved_ = false;                    // that release is not in the store yet                      // sends of the release under way
};

}  // namespace herald::dispatch
