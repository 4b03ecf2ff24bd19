#include "cli/progress.hpp"

#include <unistd.h>

#include <cstdio>

namespace herald::cli {

ProgressDisplay::ProgressDisplay(std::string label, std::int64_t total, bool enabled)
    : label_(std::move(label)),
      total_(total),
      enabled_(enabled),
      terminal_(isatty(STDERR_FILENO) == 1),
      started_(std::chrono::steady_clock::now()),
      last_draw_(started_) {}

ProgressDisplay::~ProgressDisplay() { Finish(); }

void ProgressDisplay::Count(bool final_state, bool success) {
  std::lock_guard lock(mutex_);
  if (final_state) {
    ++done_;
    if (success) ++ok_;
  } else {
    ++retries_;
  }
  Draw(false);
}

void ProgressDisplay::Finish() {
  std::lock_guard lock(mutex_);
  if (finished_) return;
  finished_ = true;
  Draw(true);
  if (enabled_ && terminal_ && total_ > 0) std::fputc('\n', stderr);
}

void ProgressDisplay::Draw(bool force) {
  if (!enabled_ || total_ <= 0) return;
  const auto now = std::chrono::steady_clock::now();
  const auto interval = terminal_ ? std::chrono::milliseconds(100) : std::chrono::milliseconds(2000);
  if (!force && now - last_draw_ < interval) return;
  last_draw_ = now;
  const double seconds = std::chrono::duration<double>(now - started_).count();
  const double rate = seconds > 0 ? static_cast<double>(done_) / seconds : 0.0;
  const double fraction = static_cast<double>(done_) / static_cast<double>(total_);
  if (terminal_) {
    constexpr int kWidth = 30;
    const int filled = static_cast<int>(fraction * kWidth);
    std::string bar(static_cast<size_t>(filled), '#');
    bar.resize(kWidth, '-');
    std::fprintf(stderr, "\r%s [%s] %lld/%lld  ok %lld  retries %lld  %.0f/s   ", label_.c_str(), bar.c_str(),
                 static_cast<long long>(done_), static_cast<long long>(total_), static_cast<long long>(ok_),
                 static_cast<long long>(retries_), rate);
  } else {
    std::fprintf(stderr, "%s: %lld/%lld done (%.0f%%), ok %lld, retries %lld, %.0f/s\n", label_.c_str(),
                 static_cast<long long>(done_), static_cast<long long>(total_), fraction * 100.0,
                 static_cast<long long>(ok_), static_cast<long long>(retries_), rate);
  }
  std::fflush(stderr);
}

}  // namespace herald::cli
