// Guards around a long-running command: SignalStop turns the first SIGINT/SIGTERM
// into a "finish what is in flight, then stop" flag (a second one exits at once),
// and DataDirLock keeps two runs from sharing one data dir.
#pragma once

#include <atomic>
#include <string>
#include <thread>

namespace herald::cli {

class SignalStop {
 public:
  // Blocks SIGINT/SIGTERM in this thread (and so in threads started later) and
  // waits for them on a dedicated thread.
  SignalStop();
  ~SignalStop();
  SignalStop(const SignalStop&) = delete;
  SignalStop& operator=(const SignalStop&) = delete;

  const std::atomic<bool>& flag() const { return stop_; }

 private:
  std::atomic<bool> stop_{false};
  std::atomic<bool> done_{false};
  std::thread waiter_;
};

// Creates the data dir, when it does not exist, as the owner's alone (0700): it
// holds herald.db, keys' hashes and, by default, the outbox. An existing folder
// keeps its mode.
void CreatePrivateDataDir(const std::string& data_dir);

class DataDirLock {
 public:
  // Throws std::runtime_error naming the dir when another process holds it.
  explicit DataDirLock(const std::string& data_dir);
  ~DataDirLock();
  DataDirLock(const DataDirLock&) = delete;
  DataDirLock& operator=(const DataDirLock&) = delete;

 private:
  int fd_ = -1;
};

}  // namespace herald::cli
