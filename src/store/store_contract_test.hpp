// The contract every store backend must keep, as one value-parameterised suite
// over all the store interfaces. Each backend's test file supplies a
// StoreBackend and instantiates the suite (see sqlite/sqlite_store_test.cpp).
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/clock.hpp"
#include "store/stores.hpp"

namespace herald::store::testing {

class StoreBackend {
 public:
  virtual ~StoreBackend() = default;
  // The stores over the backend's storage, on `clock`; calling it again (after
  // the earlier ones are gone) gives what a restarted process would see.
  virtual std::unique_ptr<store::Stores> Open(const Clock& clock) = 0;
};

using StoreBackendFactory = std::function<std::unique_ptr<StoreBackend>()>;

class StoreContractTest : public ::testing::TestWithParam<StoreBackendFactory> {
 protected:
  void SetUp() override {
    backend_ = GetParam()();
    stores_ = backend_->Open(clock_);
  }
  void Reopen() {
    stores_.reset();
    stores_ = backend_->Open(clock_);
  }

  ManualClock clock_;
  std::unique_ptr<StoreBackend> backend_;
  std::unique_ptr<store::Stores> stores_;
};

// Messages, keys and campaigns, with the lane calls a delivery makes.
class MessageContract : public StoreContractTest {
 protected:
  void SetUp() override {
    StoreContractTest::SetUp();
    owner_ = stores_->keys().CreateKey("owner", "user", "free", "hash-owner", "hk_own", 1).id;
  }
  // What a lane does for one delivery: take the next due, claim it.
  std::optional<ClaimedDelivery> ClaimNext(const std::string& lane, std::int64_t now_ms,
                                           const std::vector<DeliveryResult>& finished = {}) {
    auto due = stores_->deliveries().TakeDue(lane, TakeOrder::kPriorityThenDue, 1, now_ms, {});
    std::vector<std::int64_t> claims;
    if (!due.empty()) claims.push_back(due[0].recipient.id);
    const auto claimed = stores_->deliveries().RecordAndClaimMany(finished, claims, now_ms, std::nullopt);
    if (due.empty() || !claimed.at(0)) return std::nullopt;
    return due[0];
  }
  void Record(const std::vector<DeliveryResult>& finished, std::int64_t now_ms) {
    stores_->deliveries().RecordAndClaimMany(finished, {}, now_ms, std::nullopt);
  }
  std::string StatusOf(std::int64_t message_id, std::size_t recipient = 0) {
    return stores_->messages().GetMessage(message_id)->recipients.at(recipient).status;
  }

  std::int64_t owner_ = 0;
};

// The paced sender's messages: stored through PacingStore, delivered through
// the paced lane of MessageDeliveryStore.
class PacingContract : public StoreContractTest {
 protected:
  void SetUp() override {
    StoreContractTest::SetUp();
    owner_ = stores_->keys().CreateKey("paced", "user", "free", "hash-paced", "hk_pac", 1).id;
    other_owner_ = stores_->keys().CreateKey("other", "user", "free", "hash-other", "hk_oth", 1).id;
  }
  std::vector<ClaimedDelivery> TakePaced(int max, std::int64_t now_ms, const std::set<std::int64_t>& held = {}) {
    return stores_->deliveries().TakeDue(kPacedLane, TakeOrder::kArrival, max, now_ms, held);
  }
  std::vector<bool> RecordAndClaim(const std::vector<DeliveryResult>& finished, const std::vector<std::int64_t>& claims,
                                   std::int64_t now_ms, const std::optional<LaneSchedule>& schedule = std::nullopt) {
    return stores_->deliveries().RecordAndClaimMany(finished, claims, now_ms, schedule);
  }

  std::int64_t owner_ = 0;
  std::int64_t other_owner_ = 0;
};
class CertificateContract : public StoreContractTest {};

// Instantiates every suite of the contract for one backend.
#define HERALD_INSTANTIATE_STORE_CONTRACT(prefix, factories)                                          \
  INSTANTIATE_TEST_SUITE_P(prefix, MessageContract, factories);                                       \
  INSTANTIATE_TEST_SUITE_P(prefix, PacingContract, factories);                                        \
  INSTANTIATE_TEST_SUITE_P(prefix, CertificateContract, factories)

}  // namespace herald::store::testing
