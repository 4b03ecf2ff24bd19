// Group commit for accepted messages: HTTP handlers hand their parsed messages
// here and return at once; one thread stores everything that arrived meanwhile
// in a single transaction (one fsync), then answers each request. "202 Accepted"
// therefore always means "on disk".
#pragma once

#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "common/clock.hpp"
#include "store/message_store.hpp"

namespace herald::app {

class MessageIntake {
 public:
  // Called on the intake thread with the stored messages, in submission order,
  // or with the exception that made the batch fail (nothing of it was stored).
  using Done = std::function<void(std::vector<store::AcceptedMessage>, std::exception_ptr)>;

  // Runs on the intake thread after each batch is on disk, with what it stored
  // (e.g. to wake the workers of the channels that got work).
  using Committed = std::function<void(const std::vector<store::AcceptedMessage>&)>;
  MessageIntake(store::MessageStore& store, const Clock& clock, Committed on_committed);
  ~MessageIntake();
  MessageIntake(const MessageIntake&) = delete;
  MessageIntake& operator=(const MessageIntake&) = delete;

  void Submit(std::vector<store::NewMessage> messages, Done done);
  // Stores what was submitted, answers it, and ends the thread.
  void Stop();

 private:
  struct Submission {
    std::vector<store::NewMessage> messages;
    Done done;
  };
  void Run();

  store::MessageStore& store_;
  const Clock& clock_;
  Committed on_committed_;
  std::mutex mutex_;
  std::condition_variable ready_;
  std::vector<Submission> pending_;  // under mutex_
  bool stopping_ = false;            // under mutex_
  std::thread thread_;
};

}  // namespace herald::app
