#include "queue/embedded/embedded_queue.hpp"

#include "queue/queue_contract_test.hpp"
#include "tests/support/process.hpp"

namespace herald::queue::testing {
namespace {

class EmbeddedBackend final : public QueueBackend {
 public:
  std::unique_ptr<Queue> Open() override {
    auto queue = std::make_unique<embedded::EmbeddedQueue>(dir_.path() + "/herald.db", clock_);
    queue->ReleaseLeases();
    return queue;
  }
  void Advance(std::chrono::milliseconds step) override { clock_.Advance(step); }
  std::string LaneName(const std::string& base) override { return "herald.test." + base; }

 private:
  herald::testing::TempDir dir_;
  ManualClock clock_;
};

INSTANTIATE_TEST_SUITE_P(Embedded, QueueContractTest,
                         ::testing::Values([] { return std::unique_ptr<QueueBackend>(new EmbeddedBackend()); }));

TEST(EmbeddedQueue, PublishingTheSameMessageTwiceKeepsOneItem) {
  herald::testing::TempDir dir;
  ManualClock clock;
  embedded::EmbeddedQueue queue(dir.path() + "/q.db", clock);
  queue.EnsureLane("l");
  queue.Publish("l", {{"same", "1", 0}});
  queue.Publish("l", {{"same", "2", 0}});
  EXPECT_EQ(queue.Depth("l"), 1);
}

TEST(EmbeddedQueue, ItemsSurviveReopeningTheFile) {
  herald::testing::TempDir dir;
  ManualClock clock;
  {
    embedded::EmbeddedQueue queue(dir.path() + "/q.db", clock);
    queue.Publish("l", {{"a", "x", 0}});
  }
  embedded::EmbeddedQueue reopened(dir.path() + "/q.db", clock);
  const auto leases = reopened.Take("l", 1, std::chrono::milliseconds(0));
  ASSERT_EQ(leases.size(), 1u);
  EXPECT_EQ(leases[0].body, "x");
}

TEST(EmbeddedQueue, HigherPriorityFirstThenFifo) {
  herald::testing::TempDir dir;
  ManualClock clock;
  embedded::EmbeddedQueue queue(dir.path() + "/q.db", clock);
  queue.Publish("l", {{"low1", "", 0}, {"high", "", 5}, {"low2", "", 0}});
  const auto leases = queue.Take("l", 3, std::chrono::milliseconds(0));
  ASSERT_EQ(leases.size(), 3u);
  EXPECT_EQ(leases[0].message_id, "high");
  EXPECT_EQ(leases[1].message_id, "low1");
  EXPECT_EQ(leases[2].message_id, "low2");
}

TEST(EmbeddedQueue, ExpiredLeaseMakesTheItemVisibleAgain) {
  herald::testing::TempDir dir;
  ManualClock clock;
  embedded::EmbeddedQueue queue(dir.path() + "/q.db", clock, std::chrono::seconds(30));
  queue.Publish("l", {{"a", "", 0}});
  ASSERT_EQ(queue.Take("l", 1, std::chrono::milliseconds(0)).size(), 1u);
  EXPECT_TRUE(queue.Take("l", 1, std::chrono::milliseconds(0)).empty());
  clock.Advance(std::chrono::seconds(31));
  const auto again = queue.Take("l", 1, std::chrono::milliseconds(0));
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].delivery_count, 2);
}

TEST(EmbeddedQueue, DeadLetteredItemsAreKeptWithTheirReason) {
  herald::testing::TempDir dir;
  ManualClock clock;
  embedded::EmbeddedQueue queue(dir.path() + "/q.db", clock);
  queue.Publish("l", {{"a", "", 0}});
  const auto leases = queue.Take("l", 1, std::chrono::milliseconds(0));
  queue.DeadLetter(leases.at(0), "no");
  const auto dead = queue.DeadLetters("l");
  ASSERT_EQ(dead.size(), 1u);
  EXPECT_EQ(dead[0].message_id, "a");
  EXPECT_EQ(dead[0].reason, "no");
  EXPECT_EQ(dead[0].at_ms, std::chrono::duration_cast<std::chrono::milliseconds>(clock.Now().time_since_epoch()).count());
  EXPECT_EQ(queue.Depth("l"), 0);
}

}  // namespace
}  // namespace herald::queue::testing
