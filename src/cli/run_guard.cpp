#include "cli/run_guard.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <stdexcept>

namespace herald::cli {

SignalStop::SignalStop() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  waiter_ = std::thread([this, set] {
    const timespec poll_interval{0, 200'000'000};
    while (!done_.load()) {
      const int signal = sigtimedwait(&set, nullptr, &poll_interval);
      if (signal <= 0) continue;
      if (stop_.exchange(true)) {
        std::fputs("\nsecond signal: stopping now\n", stderr);
        _exit(130);
      }
      std::fputs("\nstopping: finishing in-flight work (signal again to stop at once)\n", stderr);
    }
  });
}

SignalStop::~SignalStop() {
  done_.store(true);
  waiter_.join();
}

void CreatePrivateDataDir(const std::string& data_dir) {
  if (std::filesystem::exists(data_dir)) return;  // the user's own folder keeps its mode
  std::filesystem::create_directories(data_dir);
  std::filesystem::permissions(data_dir, std::filesystem::perms::owner_all, std::filesystem::perm_options::replace);
}

DataDirLock::DataDirLock(const std::string& data_dir) {
  CreatePrivateDataDir(data_dir);
  const auto path = (std::filesystem::path(data_dir) / "herald.lock").string();
  fd_ = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd_ < 0) throw std::runtime_error("cannot open lock file " + path + ": " + std::strerror(errno));
  if (flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    close(fd_);
    fd_ = -1;
    throw std::runtime_error("data dir " + data_dir +
                             " is in use by another herald process; wait for it or use another --data-dir");
  }
}

DataDirLock::~DataDirLock() {
  if (fd_ >= 0) close(fd_);
}

}  // namespace herald::cli
