#include "queue/queue_contract_test.hpp"

#include <set>

namespace herald::queue::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

std::vector<OutgoingItem> Items(const std::string& prefix, int count) {
  std::vector<OutgoingItem> items;
  for (int i = 0; i < count; ++i) items.push_back({prefix + std::to_string(i), "body-" + std::to_string(i), 0});
  return items;
}

std::vector<std::string> Ids(const std::vector<Lease>& leases) {
  std::vector<std::string> ids;
  for (const auto& lease : leases) ids.push_back(lease.message_id);
  return ids;
}

TEST_P(QueueContractTest, PublishedItemsComeOutInOrderWithTheirBodies) {
  const auto lane = backend_->LaneName("fifo");
  queue_->EnsureLane(lane);
  queue_->EnsureLane(lane);
  queue_->Publish(lane, Items("m", 5));
  std::vector<Lease> taken;
  while (taken.size() < 5) {
    auto batch = queue_->Take(lane, 2, seconds(5));
    ASSERT_FALSE(batch.empty());
    EXPECT_LE(batch.size(), 2u);
    for (auto& lease : batch) taken.push_back(lease);
  }
  EXPECT_EQ(Ids(taken), (std::vector<std::string>{"m0", "m1", "m2", "m3", "m4"}));
  EXPECT_EQ(taken[3].body, "body-3");
  EXPECT_EQ(taken[0].delivery_count, 1);
  queue_->Ack(taken);
  EXPECT_TRUE(queue_->Take(lane, 10, milliseconds(100)).empty());
  EXPECT_EQ(queue_->Depth(lane), 0);
}

TEST_P(QueueContractTest, TakeOnAnEmptyLaneReturnsEmptyAfterTheWait) {
  const auto lane = backend_->LaneName("empty");
  queue_->EnsureLane(lane);
  const auto started = std::chrono::steady_clock::now();
  EXPECT_TRUE(queue_->Take(lane, 1, milliseconds(200)).empty());
  EXPECT_LT(std::chrono::steady_clock::now() - started, seconds(5));
}

TEST_P(QueueContractTest, RetriedItemIsHiddenUntilItsDelayPasses) {
  const auto lane = backend_->LaneName("retry");
  queue_->EnsureLane(lane);
  queue_->Publish(lane, Items("r", 1));
  auto first = queue_->Take(lane, 1, seconds(5));
  ASSERT_EQ(first.size(), 1u);
  queue_->Retry(first[0], milliseconds(1500));
  EXPECT_TRUE(queue_->Take(lane, 1, milliseconds(0)).empty());
  backend_->Advance(milliseconds(1500));
  auto again = queue_->Take(lane, 1, seconds(10));
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].message_id, "r0");
  EXPECT_EQ(again[0].body, "body-0");
  queue_->Ack({again[0]});
}

TEST_P(QueueContractTest, DeadLetteredItemLeavesTheLane) {
  const auto lane = backend_->LaneName("dead");
  queue_->EnsureLane(lane);
  queue_->Publish(lane, Items("d", 2));
  auto leases = queue_->Take(lane, 1, seconds(5));
  ASSERT_EQ(leases.size(), 1u);
  queue_->DeadLetter(leases[0], "gave up after 3 attempts");
  auto rest = queue_->Take(lane, 10, seconds(5));
  ASSERT_EQ(Ids(rest), (std::vector<std::string>{"d1"}));
  queue_->Ack({rest[0]});
  EXPECT_TRUE(queue_->Take(lane, 10, milliseconds(100)).empty());
}

TEST_P(QueueContractTest, RemoveLaneReturnsWhatWasPending) {
  const auto lane = backend_->LaneName("removed");
  queue_->EnsureLane(lane);
  queue_->Publish(lane, Items("p", 3));
  const auto removed = queue_->RemoveLane(lane);
  EXPECT_EQ(std::set<std::string>(removed.pending_message_ids.begin(), removed.pending_message_ids.end()),
            (std::set<std::string>{"p0", "p1", "p2"}));
  queue_->EnsureLane(lane);
  EXPECT_EQ(queue_->Depth(lane), 0);
}

TEST_P(QueueContractTest, UnackedItemsAreDeliveredAgainToTheNextProcess) {
  const auto lane = backend_->LaneName("crash");
  queue_->EnsureLane(lane);
  queue_->Publish(lane, Items("c", 2));
  auto leases = queue_->Take(lane, 2, seconds(5));
  ASSERT_EQ(leases.size(), 2u);
  queue_->Ack({leases[0]});
  queue_.reset();  // the consumer dies holding c1
  queue_ = backend_->Open();
  auto again = queue_->Take(lane, 10, seconds(10));
  ASSERT_EQ(Ids(again), (std::vector<std::string>{"c1"}));
  EXPECT_GE(again[0].delivery_count, 2);
  queue_->Ack({again[0]});
}

TEST_P(QueueContractTest, LanesAreIndependentAndDepthCountsWaitingItems) {
  const auto a = backend_->LaneName("lane-a");
  const auto b = backend_->LaneName("lane-b");
  queue_->EnsureLane(a);
  queue_->EnsureLane(b);
  queue_->Publish(a, Items("a", 3));
  queue_->Publish(b, Items("b", 1));
  EXPECT_EQ(queue_->Depth(a), 3);
  EXPECT_EQ(queue_->Depth(b), 1);
  auto from_b = queue_->Take(b, 10, seconds(5));
  ASSERT_EQ(Ids(from_b), (std::vector<std::string>{"b0"}));
  queue_->Ack({from_b[0]});
  EXPECT_EQ(queue_->Depth(a), 3);
}

}  // namespace
}  // namespace herald::queue::testing
