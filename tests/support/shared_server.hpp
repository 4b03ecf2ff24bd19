// One server of type T per test binary: made on first use (servers take seconds
// to start), destroyed by gtest's environment teardown, before static
// destructors run and while the test's files still exist.
#pragma once

#include <gtest/gtest.h>

#include <mutex>

namespace herald::testing {

template <typename T>
T& SharedPerTestBinary() {
  static std::mutex mutex;
  static T* server = nullptr;
  std::lock_guard lock(mutex);
  if (server == nullptr) {
    server = new T();
    class Stop : public ::testing::Environment {
     public:
      void TearDown() override {
        delete server;
        server = nullptr;
      }
    };
    ::testing::AddGlobalTestEnvironment(new Stop);
  }
  return *server;
}

}  // namespace herald::testing
