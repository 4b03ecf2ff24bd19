// The paced sender of seed 001: while running, every interval it releases the N
// oldest unsent paced messages (FIFO) to the SMS provider, one claim at a time,
// each claimed durably before its send so nothing is ever sent twice.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "channels/channel.hpp"
#include "common/clock.hpp"
#include "store/sqlite/sqlite_pacing_store.hpp"

namespace herald::dispatch {

struct PacerSettings {
  int batch_size = 2;                   // sends per release (seed 001: 2)
  std::chrono::seconds interval{120};   // between releases (seed 001: 2 minutes)
  int max_attempts = 3;                 // transient failures, then failed
  // Longest the thread sleeps between looks at the clock: bounds how late a
  // release is under an injected clock that jumps.
  std::chrono::milliseconds idle_poll{1000};
};

struct PacerStatus {
  bool running = false;
  int batch_size = 0;
  int interval_seconds = 0;
  std::optional<std::int64_t> next_release_at_ms;  // nullopt while stopped
};

// Called after each send with its outcome: "sent", "failed", "unknown" or "unsent" (retry).
using PacedObserver = std::function<void(const std::string& status)>;

class Pacer {
 public:
  // Throws std::invalid_argument for a batch size, interval or attempt cap below 1.
  // Sends run on `executor` (the channel's); the pacer's thread waits for them.
  Pacer(store::sqlite::SqlitePacingStore& store, channels::Channel& channel, boost::asio::any_io_executor executor,
        const Clock& clock,
        PacerSettings settings, PacedObserver observer = {});
  ~Pacer();
  Pacer(const Pacer&) = delete;
  Pacer& operator=(const Pacer&) = delete;

  // Marks sends a dead process left unfinished as unknown and loads the saved
  // running state. Tests call it and drive Tick() themselves.
  void Recover();
  // Recover(), then releases on a thread of its own.
  void Start();
  // Ends the thread after the send in flight is recorded. The saved state is
  // untouched: a running pacer runs again after a restart.
  void Stop();

  // The API's start and stop: saved, so a restart keeps them. Starting releases
  // at once unless the previous release was less than an interval ago.
  PacerStatus SetRunning(bool running);
  PacerStatus Status() const;
  // Without waiting for a release's store write: for /health on an I/O thread.
  bool IsRunning() const { return running_; }

  // Releases a batch if running and due; returns the number of sends made.
  int Tick();

 private:
  struct SendResult {
    store::sqlite::PacedOutcome result;
    bool throttled = false;  // the provider asked us to slow down: end this release early
  };

  void Run();
  PacerStatus StatusLocked() const;
  SendResult Send(const store::sqlite::PacedMessage& message, std::int64_t release_ms);

  store::sqlite::SqlitePacingStore& store_;
  channels::Channel& channel_;
  boost::asio::any_io_executor executor_;
  const Clock& clock_;
  const PacerSettings settings_;
  PacedObserver observer_;

  mutable std::mutex mutex_;            // guards state_
  store::sqlite::PacerState state_;     // as saved
  std::atomic<bool> running_{false};    // state_.running, read between sends without the lock
  std::mutex tick_mutex_;               // one release at a time
  std::optional<store::sqlite::PacedOutcome> unrecorded_;  // under tick_mutex_: the store failed to take it
  std::condition_variable wake_;
  std::uint64_t wake_generation_ = 0;   // under mutex_: bumped by SetRunning
  std::atomic<bool> stopping_{false};   // set under mutex_
  std::thread thread_;
};

}  // namespace herald::dispatch
