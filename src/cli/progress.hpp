// Progress of a long run on stderr: a redrawn bar when stderr is a terminal,
// a plain line every few seconds otherwise (logs, CI), so both stay readable.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>

namespace herald::cli {

class ProgressDisplay {
 public:
  ProgressDisplay(std::string label, std::int64_t total, bool enabled);
  ~ProgressDisplay();

  // Thread-safe; called as each item reaches a final state (or is retried).
  void Count(bool final_state, bool success);
  void Finish();

 private:
  void Draw(bool force);

  std::string label_;
  std::int64_t total_;
  bool enabled_;
  bool terminal_;
  std::mutex mutex_;
  std::int64_t done_ = 0;
  std::int64_t ok_ = 0;
  std::int64_t retries_ = 0;
  std::chrono::steady_clock::time_point started_;
  std::chrono::steady_clock::time_point last_draw_;
  bool finished_ = false;
};

}  // namespace herald::cli
