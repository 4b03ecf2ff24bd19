#include "dispatch/delivery_engine.hpp"

#include <gtest/gtest.h>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <condition_variable>
#include <map>
#include <mutex>
#include <set>

#include "metrics/registry.hpp"
#include "tests/support/process.hpp"

namespace herald::dispatch {
namespace {

using domain::DeliveryOutcome;
using domain::DeliveryStatus;
using std::chrono::milliseconds;
using std::chrono::seconds;

// A lane over rows in memory, keeping what a store would: each row's state,
// attempts and due time, and the highest number of rows ever "sending" at once.
class MemoryLane final : public Lane {
 public:
  struct Row {
    DeliveryStatus status = DeliveryStatus::kQueued;
    int attempts = 0;
    Clock::TimePoint due{};
    std::string detail;
    std::string provider_id;
  };

  MemoryLane(const Clock& clock, int rows) : clock_(clock) {
    for (int i = 0; i < rows; ++i) rows_["d" + std::to_string(i)] = Row{};
  }

  const std::string& Name() const override { return name_; }

  std::vector<std::shared_ptr<WorkItem>> Take(int max) override {
    std::lock_guard lock(mutex_);
    std::vector<std::shared_ptr<WorkItem>> items;
    for (auto& [id, row] : rows_) {
      if (static_cast<int>(items.size()) >= max) break;
      if (row.status != DeliveryStatus::kQueued || row.due > clock_.Now() || held_.contains(id)) continue;
      auto item = std::make_shared<WorkItem>();
      item->delivery_id = id;
      item->recipient = id + "@example.org";
      item->attempts = row.attempts;
      held_.insert(id);
      items.push_back(std::move(item));
    }
    return items;
  }

  Result<channels::RenderedMessage> Render(WorkItem& item) override {
    if (render_blocks_ && item.delivery_id == *render_blocks_) {
      std::unique_lock lock(mutex_);
      released_.wait(lock, [&] { return render_released_; });
    }
    if (item.delivery_id == render_fails_) return MakeError("render.test", "the template broke");
    channels::RenderedMessage message;
    message.delivery_id = item.delivery_id;
    message.to = item.recipient;
    message.message_id = item.delivery_id + "@test";
    return message;
  }

  void FailNextCommits(int count) {
    std::lock_guard lock(mutex_);
    fail_next_commits_ = count;
  }

  std::vector<bool> Commit(std::span<const Finished> finished,
                           std::span<const std::shared_ptr<WorkItem>> claims) override {
    std::lock_guard lock(mutex_);
    ++commits_;
    if (fail_next_commits_ > 0) {
      --fail_next_commits_;
      throw std::runtime_error("database is locked");
    }
    for (const auto& f : finished) {
      auto& row = rows_.at(f.item->delivery_id);
      if (f.kind == Finished::Kind::kSent) {
        EXPECT_EQ(row.status, DeliveryStatus::kSending) << f.item->delivery_id;
      } else if (f.kind == Finished::Kind::kRenderFailed) {
        EXPECT_EQ(row.status, DeliveryStatus::kQueued) << f.item->delivery_id;
      } else {
        continue;
      }
      row.status = f.decision.status;
      row.detail = f.decision.detail;
      row.provider_id = f.outcome.provider_message_id;
      if (row.status == DeliveryStatus::kQueued) row.due = f.decision.retry_at;
    }
    std::vector<bool> claimed;
    for (const auto& item : claims) {
      auto& row = rows_.at(item->delivery_id);
      const bool ok = row.status == DeliveryStatus::kQueued;
      if (ok) {
        row.status = DeliveryStatus::kSending;
        ++row.attempts;
      }
      claimed.push_back(ok);
    }
    int sending = 0;
    for (const auto& [id, row] : rows_) sending += row.status == DeliveryStatus::kSending ? 1 : 0;
    max_sending_ = std::max(max_sending_, sending);
    return claimed;
  }

  void Settle(std::span<const Finished> finished) override {
    std::lock_guard lock(mutex_);
    for (const auto& f : finished) {
      held_.erase(f.item->delivery_id);
      if (f.kind == Finished::Kind::kReleased) ++released_count_;
    }
  }

  std::optional<Clock::TimePoint> NextDue() override {
    std::lock_guard lock(mutex_);
    std::optional<Clock::TimePoint> earliest;
    for (const auto& [id, row] : rows_) {
      if (row.status == DeliveryStatus::kQueued && (!earliest || row.due < *earliest)) earliest = row.due;
    }
    return earliest;
  }

  bool HasOpenWork() override {
    std::lock_guard lock(mutex_);
    for (const auto& [id, row] : rows_) {
      if (row.status == DeliveryStatus::kQueued || row.status == DeliveryStatus::kSending) return true;
    }
    return false;
  }

  Row Get(const std::string& id) {
    std::lock_guard lock(mutex_);
    return rows_.at(id);
  }
  std::map<DeliveryStatus, int> Counts() {
    std::lock_guard lock(mutex_);
    std::map<DeliveryStatus, int> counts;
    for (const auto& [id, row] : rows_) ++counts[row.status];
    return counts;
  }
  void Cancel(const std::string& id) {
    std::lock_guard lock(mutex_);
    rows_.at(id).status = DeliveryStatus::kCancelled;
  }
  void ReleaseRender() {
    {
      std::lock_guard lock(mutex_);
      render_released_ = true;
    }
    released_.notify_all();
  }
  int commits() {
    std::lock_guard lock(mutex_);
    return commits_;
  }
  int max_sending() {
    std::lock_guard lock(mutex_);
    return max_sending_;
  }
  int released_count() {
    std::lock_guard lock(mutex_);
    return released_count_;
  }

  std::string render_fails_;
  std::optional<std::string> render_blocks_;
  int fail_next_commits_ = 0;

 private:
  const Clock& clock_;
  const std::string name_ = "memory";
  std::mutex mutex_;
  std::condition_variable released_;
  bool render_released_ = false;
  std::map<std::string, Row> rows_;
  std::set<std::string> held_;
  int commits_ = 0;
  int max_sending_ = 0;
  int released_count_ = 0;
};

// Answers from a script per recipient (then accepted), after an optional
// latency, counting sends and the most messages it held at once.
class ScriptedChannel final : public channels::Channel {
 public:
  ScriptedChannel(channels::ChannelLimits limits, milliseconds latency = milliseconds(0))
      : limits_(limits), latency_(latency) {}

  boost::asio::awaitable<std::vector<DeliveryOutcome>> Send(std::span<const channels::RenderedMessage> messages,
                                                            channels::Deadline) override {
    {
      std::lock_guard lock(mutex_);
      holding_ += static_cast<int>(messages.size());
      max_holding_ = std::max(max_holding_, holding_);
      max_batch_seen_ = std::max(max_batch_seen_, static_cast<int>(messages.size()));
      if (throws_) throw std::runtime_error("adapter bug");
    }
    if (latency_.count() > 0) {
      boost::asio::steady_timer wait(co_await boost::asio::this_coro::executor, latency_);
      co_await wait.async_wait(boost::asio::use_awaitable);
    }
    std::vector<DeliveryOutcome> outcomes;
    std::lock_guard lock(mutex_);
    holding_ -= static_cast<int>(messages.size());
    for (const auto& message : messages) {
      ++sends_[message.delivery_id];
      auto& script = scripts_[message.delivery_id];
      if (script.empty()) {
        outcomes.push_back(DeliveryOutcome::Accepted("p-" + message.delivery_id));
      } else {
        outcomes.push_back(script.front());
        script.erase(script.begin());
      }
    }
    co_return outcomes;
  }
  channels::ChannelLimits Limits() const override { return limits_; }
  std::string Describe() const override { return "scripted"; }

  void Script(const std::string& id, std::vector<DeliveryOutcome> outcomes) {
    std::lock_guard lock(mutex_);
    scripts_[id] = std::move(outcomes);
  }
  int SendsTo(const std::string& id) {
    std::lock_guard lock(mutex_);
    return sends_[id];
  }
  int TotalSends() {
    std::lock_guard lock(mutex_);
    int total = 0;
    for (const auto& [id, n] : sends_) total += n;
    return total;
  }
  int max_holding() {
    std::lock_guard lock(mutex_);
    return max_holding_;
  }
  int max_batch_seen() {
    std::lock_guard lock(mutex_);
    return max_batch_seen_;
  }
  bool throws_ = false;

 private:
  channels::ChannelLimits limits_;
  milliseconds latency_;
  std::mutex mutex_;
  std::map<std::string, std::vector<DeliveryOutcome>> scripts_;
  std::map<std::string, int> sends_;
  int holding_ = 0;
  int max_holding_ = 0;
  int max_batch_seen_ = 0;
};

LaneOptions Options(int max_attempts = 3) {
  LaneOptions options;
  options.retry = {.max_attempts = max_attempts, .base_delay = seconds(10), .max_delay = seconds(60), .jitter = 0};
  options.idle_poll = milliseconds(5);
  return options;
}

class DeliveryEngineTest : public ::testing::Test {
 protected:
  void RunAll(DeliveryEngine& engine, milliseconds give_up = seconds(30)) {
    std::atomic<bool> stop{false};
    engine.RunUntilDone(stop, give_up);
  }
  IoRuntime runtime_;
  ManualClock clock_;
};

TEST_F(DeliveryEngineTest, DeliversEveryItemOnceWithinTheInFlightLimitInBatchedCommits) {
  MemoryLane lane(clock_, 2000);
  ScriptedChannel channel({.max_in_flight = 16, .max_batch = 4}, milliseconds(1));
  metrics::Registry registry;
  DeliveryEngine engine(runtime_, clock_, {.render_threads = 2}, &registry);
  engine.AddLane(lane, channel, Options());
  RunAll(engine);
  EXPECT_EQ(lane.Counts()[DeliveryStatus::kSent], 2000);
  for (int i = 0; i < 2000; ++i) ASSERT_EQ(channel.SendsTo("d" + std::to_string(i)), 1) << i;
  EXPECT_EQ(lane.Get("d7").provider_id, "p-d7");
  // At most one unknown per in-flight slot after a crash: never more "sending" rows than slots.
  EXPECT_LE(lane.max_sending(), 16);
  EXPECT_LE(channel.max_holding(), 16);
  EXPECT_GT(channel.max_holding(), 4);  // several batches in flight at once
  EXPECT_LE(channel.max_batch_seen(), 4);
  // Each commit records many outcomes and claims many deliveries.
  EXPECT_LT(lane.commits(), 2000 / 4);
  const auto stats = engine.Stats().at("memory");
  EXPECT_EQ(stats.claimed, 2000);
  EXPECT_EQ(stats.in_flight, 0);
  const auto text = registry.Render();
  EXPECT_NE(text.find("delivery_outcomes_total{lane=\"memory\",status=\"sent\"} 2000"), std::string::npos) << text;
  EXPECT_NE(text.find("delivery_claimed_total{lane=\"memory\"} 2000"), std::string::npos) << text;
}

TEST_F(DeliveryEngineTest, LanesOnOneChannelShareItsInFlightLimit) {
  MemoryLane first(clock_, 300);
  MemoryLane second(clock_, 300);
  ScriptedChannel channel({.max_in_flight = 6, .max_batch = 2}, milliseconds(1));
  DeliveryEngine engine(runtime_, clock_, {.render_threads = 2});
  engine.AddLane(first, channel, Options());
  engine.AddLane(second, channel, Options());
  RunAll(engine);
  EXPECT_EQ(first.Counts()[DeliveryStatus::kSent], 300);
  EXPECT_EQ(second.Counts()[DeliveryStatus::kSent], 300);
  // Both lanes had work at once, yet the channel never held more than its limit.
  EXPECT_LE(channel.max_holding(), 6);
  EXPECT_EQ(channel.TotalSends(), 600);
}

TEST_F(DeliveryEngineTest, RetryableOutcomesWaitForTheirBackoffThenDieAtTheCap) {
  MemoryLane lane(clock_, 3);
  ScriptedChannel channel({.max_in_flight = 4, .max_batch = 1});
  channel.Script("d0", {DeliveryOutcome::Transient("451 busy", 451)});
  channel.Script("d1", {DeliveryOutcome::Transient("451", 451), DeliveryOutcome::Transient("451", 451),
                        DeliveryOutcome::Transient("451 still busy", 451)});
  channel.Script("d2", {DeliveryOutcome::Permanent("550 no such user", 550)});
  DeliveryEngine engine(runtime_, clock_, {.render_threads = 1});
  engine.AddLane(lane, channel, Options(3));
  engine.Start();
  ASSERT_TRUE(herald::testing::WaitFor([&] { return lane.Get("d2").status == DeliveryStatus::kFailed; }, seconds(10)));
  ASSERT_TRUE(herald::testing::WaitFor([&] { return lane.Get("d0").status == DeliveryStatus::kQueued &&
                                                    lane.Get("d0").attempts == 1; }, seconds(10)));
  EXPECT_EQ(lane.Get("d0").due, clock_.Now() + seconds(10));
  // Not before its time, whatever the poll.
  clock_.Advance(seconds(9));
  EXPECT_FALSE(herald::testing::WaitFor([&] { return channel.SendsTo("d0") > 1; }, milliseconds(100)));
  clock_.Advance(seconds(1));
  ASSERT_TRUE(herald::testing::WaitFor([&] { return lane.Get("d0").status == DeliveryStatus::kSent; }, seconds(10)));
  clock_.Advance(seconds(20));
  ASSERT_TRUE(herald::testing::WaitFor([&] { return lane.Get("d1").status == DeliveryStatus::kDead; }, seconds(10)));
  engine.Stop();
  EXPECT_EQ(channel.SendsTo("d1"), 3);
  EXPECT_EQ(lane.Get("d1").detail, "gave up after 3 attempts: 451 still busy");
  EXPECT_EQ(channel.SendsTo("d2"), 1);
}

TEST_F(DeliveryEngineTest, AFailedOrStuckRenderFailsItsDeliveryAndTheLaneGoesOn) {
  MemoryLane lane(clock_, 40);
  lane.render_fails_ = "d3";
  lane.render_blocks_ = "d5";
  ScriptedChannel channel({.max_in_flight = 4, .max_batch = 2});
  DeliveryEngine engine(runtime_, clock_, {.render_threads = 2});
  auto options = Options();
  options.render_chunk = 1;
  options.render_timeout = milliseconds(200);
  engine.AddLane(lane, channel, options);
  RunAll(engine);
  lane.ReleaseRender();
  EXPECT_EQ(lane.Get("d3").status, DeliveryStatus::kFailed);
  EXPECT_EQ(lane.Get("d3").detail, "render: the template broke");
  EXPECT_EQ(lane.Get("d5").status, DeliveryStatus::kFailed);
  EXPECT_NE(lane.Get("d5").detail.find("took longer than"), std::string::npos) << lane.Get("d5").detail;
  EXPECT_EQ(lane.Get("d5").attempts, 0);  // never claimed
  EXPECT_EQ(channel.SendsTo("d3") + channel.SendsTo("d5"), 0);
  EXPECT_EQ(lane.Counts()[DeliveryStatus::kSent], 38);
}

TEST_F(DeliveryEngineTest, AnAdapterThatThrowsLeavesItsMessagesUnknownAndNeverResendsThem) {
  MemoryLane lane(clock_, 5);
  ScriptedChannel channel({.max_in_flight = 8, .max_batch = 8});
  channel.throws_ = true;
  DeliveryEngine engine(runtime_, clock_, {.render_threads = 1});
  engine.AddLane(lane, channel, Options());
  RunAll(engine);
  EXPECT_EQ(lane.Counts()[DeliveryStatus::kUnknown], 5);
  EXPECT_NE(lane.Get("d0").detail.find("adapter bug"), std::string::npos) << lane.Get("d0").detail;
}

TEST_F(DeliveryEngineTest, AStoreFailureIsRetriedAndLosesNoOutcome) {
  MemoryLane lane(clock_, 50);
  lane.fail_next_commits_ = 3;
  ScriptedChannel channel({.max_in_flight = 8, .max_batch = 4});
  DeliveryEngine engine(runtime_, clock_, {.render_threads = 1});
  engine.AddLane(lane, channel, Options());
  RunAll(engine);
  EXPECT_EQ(lane.Counts()[DeliveryStatus::kSent], 50);
  EXPECT_EQ(channel.TotalSends(), 50);
}

TEST_F(DeliveryEngineTest, AClaimRefusedByTheStoreIsNeverSent) {
  MemoryLane lane(clock_, 10);
  ScriptedChannel channel({.max_in_flight = 1, .max_batch = 1}, milliseconds(20));
  DeliveryEngine engine(runtime_, clock_, {.render_threads = 1});
  engine.AddLane(lane, channel, Options());
  engine.Start();
  // One in flight at a time: d9 is taken and rendered long before its claim.
  ASSERT_TRUE(herald::testing::WaitFor([&] { return channel.SendsTo("d0") == 1; }, seconds(10)));
  lane.Cancel("d9");
  ASSERT_TRUE(herald::testing::WaitFor([&] { return lane.Counts()[DeliveryStatus::kSent] == 9; }, seconds(10)));
  engine.Stop();
  EXPECT_EQ(channel.SendsTo("d9"), 0);
  EXPECT_EQ(lane.Get("d9").status, DeliveryStatus::kCancelled);
}

// A stop finishes what is in flight and records it; when the store fails
// throughout the stop, the engine says it left claims unrecorded.
TEST_F(DeliveryEngineTest, StopFinishesWhatIsInFlightAndGivesBackTheRest) {
  for (const bool store_fails : {false, true}) {
    SCOPED_TRACE(store_fails ? "the store fails during the stop" : "the store answers");
    MemoryLane lane(clock_, 100);
    ScriptedChannel channel({.max_in_flight = 2, .max_batch = 1}, milliseconds(30));
    DeliveryEngine engine(runtime_, clock_, {.render_threads = 1});
    engine.AddLane(lane, channel, Options());
    engine.Start();
    ASSERT_TRUE(herald::testing::WaitFor([&] { return channel.TotalSends() >= 4; }, seconds(10)));
    if (store_fails) lane.FailNextCommits(1000);
    engine.Stop();
    auto counts = lane.Counts();
    EXPECT_EQ(engine.LeftClaimsUnrecorded(), store_fails);
    if (store_fails) {
      EXPECT_GT(counts[DeliveryStatus::kSending], 0) << "the rows are still claimed";
      continue;
    }
    EXPECT_EQ(counts.count(DeliveryStatus::kSending), 0u);  // everything claimed was recorded
    EXPECT_EQ(counts.at(DeliveryStatus::kSent), channel.TotalSends());
    EXPECT_GT(counts.at(DeliveryStatus::kQueued), 0);
    EXPECT_GT(lane.released_count(), 0);
  }
}

TEST_F(DeliveryEngineTest, AShapingRuleHoldsTheLaneToItsRate) {
  MemoryLane lane(clock_, 7);
  ScriptedChannel channel({.max_in_flight = 8, .max_batch = 8});
  DeliveryEngine engine(runtime_, clock_, {.render_threads = 1});
  auto options = Options();
  TokenBucket bucket(2, 2, seconds(120), clock_.Now());
  options.shaper = &bucket;
  engine.AddLane(lane, channel, options);
  engine.Start();
  ASSERT_TRUE(herald::testing::WaitFor([&] { return channel.TotalSends() == 2; }, seconds(10)));
  EXPECT_FALSE(herald::testing::WaitFor([&] { return channel.TotalSends() > 2; }, milliseconds(100)));
  clock_.Advance(seconds(120));
  ASSERT_TRUE(herald::testing::WaitFor([&] { return channel.TotalSends() == 4; }, seconds(10)));
  EXPECT_FALSE(herald::testing::WaitFor([&] { return channel.TotalSends() > 4; }, milliseconds(100)));
  engine.Stop();
  EXPECT_EQ(channel.SendsTo("d0") + channel.SendsTo("d1") + channel.SendsTo("d2") + channel.SendsTo("d3"), 4);
}

}  // namespace
}  // namespace herald::dispatch
