// A background thread that runs one task every interval until destroyed: the
// campaign settler, the delivery heartbeat and sweep, the pacer's follower. A
// task that throws is logged with its name and runs again at the next turn.
#pragma once

#include <spdlog/spdlog.h>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

namespace herald::cli {

class PeriodicTask {
 public:
  PeriodicTask(std::string name, std::chrono::milliseconds interval, std::function<void()> task)
      : name_(std::move(name)), interval_(interval), task_(std::move(task)), thread_([this] { Run(); }) {}
  ~PeriodicTask() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_one();
    thread_.join();
  }
  PeriodicTask(const PeriodicTask&) = delete;
  PeriodicTask& operator=(const PeriodicTask&) = delete;

 private:
  void Run() {
    std::unique_lock lock(mutex_);
    while (!wake_.wait_for(lock, interval_, [this] { return stopping_; })) {
      lock.unlock();
      try {
        task_();
      } catch (const std::exception& e) {
        spdlog::error("{}: {}", name_, e.what());
      }
      lock.lock();
    }
  }

  const std::string name_;
  const std::chrono::milliseconds interval_;
  const std::function<void()> task_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;  // last: starts once the rest is ready
};

}  // namespace herald::cli
