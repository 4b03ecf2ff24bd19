// The threads asynchronous work runs on: one Asio io_context (network I/O and
// the delivery engine's coroutines; nothing on it may block) and a small pool
// for blocking calls (SQLite, file writes), reached with Offload(). Made once by
// the wiring and handed to whatever needs an executor.
#pragma once

// Boost 1.74's asio/awaitable.hpp uses std::exchange without including <utility>.
#include <utility>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>
#include <thread>
#include <vector>

namespace herald {

class IoRuntime {
 public:
  explicit IoRuntime(int io_threads = 1, int blocking_threads = 2)
      : blocking_(static_cast<std::size_t>(blocking_threads)), work_(io_.get_executor()) {
    for (int i = 0; i < io_threads; ++i) threads_.emplace_back([this] { io_.run(); });
  }
  ~IoRuntime() { Stop(); }
  IoRuntime(const IoRuntime&) = delete;
  IoRuntime& operator=(const IoRuntime&) = delete;

  boost::asio::io_context& io() { return io_; }
  boost::asio::io_context::executor_type executor() { return io_.get_executor(); }
  boost::asio::thread_pool& blocking() { return blocking_; }

  // Lets the I/O threads end once their work is done, and waits for them and
  // for the blocking pool. Idempotent.
  void Stop() {
    work_.reset();
    for (auto& thread : threads_) {
      if (thread.joinable()) thread.join();
    }
    threads_.clear();
    blocking_.join();
  }

 private:
  boost::asio::io_context io_;
  boost::asio::thread_pool blocking_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
  std::vector<std::thread> threads_;
};

}  // namespace herald
