// Takes turns, first come first served, for the one SQLite write lock that a
// store's connections share. Without it they meet inside SQLite, where a blocked
// writer polls (database.cpp's busy handler): every poll is a sleep and a wake,
// and a thread that just committed often gets the lock again ahead of one that
// has waited longer. With it, waiting writers sleep until their turn and are
// woken once; the intake's group commit waits for at most the worker
// transaction that queued before it. Each connection has its own mutex taken
// first, so at most one thread per connection waits here. Not re-entrant: a
// thread holding its turn must not ask again.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <mutex>

namespace herald::store::sqlite {

class WriteTurn {
 public:
  void lock() {
    std::unique_lock guard(mutex_);
    const auto ticket = next_ticket_++;
    turn_changed_.wait(guard, [&] { return now_serving_ == ticket; });
  }

  void unlock() {
    {
      std::lock_guard guard(mutex_);
      ++now_serving_;
    }
    turn_changed_.notify_all();  // one waiter per connection at most
  }

 private:
  std::mutex mutex_;
  std::condition_variable turn_changed_;
  std::uint64_t next_ticket_ = 0;
  std::uint64_t now_serving_ = 0;
};

}  // namespace herald::store::sqlite
