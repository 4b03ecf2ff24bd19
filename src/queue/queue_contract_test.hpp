// The contract every Queue backend must keep, as one value-parameterised suite.
// Each backend's test file supplies a QueueBackend and instantiates the suite.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "queue/queue.hpp"

namespace herald::queue::testing {

class QueueBackend {
 public:
  virtual ~QueueBackend() = default;
  // A queue over the backend's storage; calling it again gives a fresh instance
  // over the same storage, as a restarted process would have.
  virtual std::unique_ptr<Queue> Open() = 0;
  // Lets time pass for delayed items (a manual clock, or nothing for real time).
  virtual void Advance(std::chrono::milliseconds step) = 0;
  // Unique per test, so tests sharing one server do not see each other's lanes.
  virtual std::string LaneName(const std::string& base) = 0;
};

using BackendFactory = std::function<std::unique_ptr<QueueBackend>()>;

class QueueContractTest : public ::testing::TestWithParam<BackendFactory> {
 protected:
  void SetUp() override {
    backend_ = GetParam()();
    queue_ = backend_->Open();
  }
  std::unique_ptr<QueueBackend> backend_;
  std::unique_ptr<Queue> queue_;
};

}  // namespace herald::queue::testing
