#include "dispatch/pacer.hpp"

#include <gtest/gtest.h>

#include <deque>
#include <memory>
#include <mutex>

#include "common/io_runtime.hpp"
#include "tests/support/process.hpp"

namespace herald::dispatch {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using store::sqlite::SqlitePacingStore;

// Records every send and answers with scripted outcomes (accepted once the script is used up).
class ScriptedChannel final : public channels::Channel {
 public:
  boost::asio::awaitable<std::vector<domain::DeliveryOutcome>> Send(std::span<const channels::RenderedMessage> messages,
                                                                    channels::Deadline) override {
    std::vector<domain::DeliveryOutcome> outcomes;
    for (const auto& message : messages) outcomes.push_back(SendOne(message));
    co_return outcomes;
  }
  channels::ChannelLimits Limits() const override { return {}; }
  domain::DeliveryOutcome SendOne(const channels::RenderedMessage& message) {
    std::lock_guard lock(mutex_);
    sent_.push_back(message.delivery_id);
    channels_.push_back(message.channel);
    if (!script_.empty()) {
      auto outcome = script_.front();
      script_.pop_front();
      return outcome;
    }
    return domain::DeliveryOutcome::Accepted("prov-" + message.delivery_id);
  }
  std::string Describe() const override { return "scripted"; }

  void Script(domain::DeliveryOutcome outcome) {
    std::lock_guard lock(mutex_);
    script_.push_back(std::move(outcome));
  }
  std::vector<std::string> Sent() const {
    std::lock_guard lock(mutex_);
    return sent_;
  }
  std::vector<std::string> Channels() const {
    std::lock_guard lock(mutex_);
    return channels_;
  }

 private:
  mutable std::mutex mutex_;
  std::deque<domain::DeliveryOutcome> script_;
  std::vector<std::string> sent_;
  std::vector<std::string> channels_;
};

class PacerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = dir_.path() + "/herald.db";
    Reopen();
  }

  // A new store and pacer on the same file: what a process restart sees.
  void Reopen() {
    pacer_.reset();
    store_ = std::make_unique<SqlitePacingStore>(path_);
    pacer_ = std::make_unique<Pacer>(*store_, channel_, runtime_.executor(), clock_, settings_);
    pacer_->Recover();
  }

  void Enqueue(int count) {
    std::vector<store::sqlite::NewPacedMessage> messages;
    for (int i = 0; i < count; ++i) {
      messages.push_back({7, "+1555000000" + std::to_string(i), "message " + std::to_string(i)});
    }
    store_->Enqueue(messages, ToUnixMillis(clock_.Now()));
  }

  std::string StatusOf(std::int64_t id) { return store_->Get(id)->status; }

  IoRuntime runtime_;
  herald::testing::TempDir dir_;
  std::string path_;
  ManualClock clock_;
  ScriptedChannel channel_;
  PacerSettings settings_;  // seed 001's defaults: 2 every 2 minutes, 3 attempts
  std::unique_ptr<SqlitePacingStore> store_;
  std::unique_ptr<Pacer> pacer_;
};

using Ids = std::vector<std::string>;

TEST_F(PacerTest, ReleasesTheOldestTwoEveryTwoMinutesInFifoOrder) {
  Enqueue(5);
  EXPECT_EQ(pacer_->Tick(), 2);
  EXPECT_EQ(channel_.Sent(), (Ids{"p1", "p2"}));
  EXPECT_EQ(pacer_->Tick(), 0) << "a second release within the interval";
  clock_.Advance(seconds(119));
  EXPECT_EQ(pacer_->Tick(), 0);
  clock_.Advance(seconds(1));
  EXPECT_EQ(pacer_->Tick(), 2);
  clock_.Advance(seconds(120));
  EXPECT_EQ(pacer_->Tick(), 1);
  clock_.Advance(seconds(120));
  EXPECT_EQ(pacer_->Tick(), 0);
  EXPECT_EQ(channel_.Sent(), (Ids{"p1", "p2", "p3", "p4", "p5"}));
  for (const auto& channel : channel_.Channels()) EXPECT_EQ(channel, "sms");

  const auto first = store_->Get(1);
  EXPECT_EQ(first->status, "sent");
  EXPECT_EQ(first->provider_message_id, "prov-p1");
  EXPECT_EQ(first->attempts, 1);
  ASSERT_TRUE(first->sent_at_ms);
  const auto page = store_->ListSent(std::nullopt, 1, 10);
  EXPECT_EQ(page.total_count, 5);
  ASSERT_EQ(page.messages.size(), 5u);
  EXPECT_EQ(page.messages.front().id, 5) << "newest sent first";
  EXPECT_EQ(store_->ListSent(8, 1, 10).total_count, 0) << "another owner sees none";
  EXPECT_EQ(store_->ListSent(7, 2, 2).messages.size(), 2u);
}

TEST_F(PacerTest, ReleasesExactlyTheConfiguredBatchPerInterval) {
  settings_.batch_size = 3;
  settings_.interval = seconds(10);
  Reopen();
  Enqueue(7);
  EXPECT_EQ(pacer_->Tick(), 3);
  clock_.Advance(seconds(10));
  EXPECT_EQ(pacer_->Tick(), 3);
  clock_.Advance(seconds(10));
  EXPECT_EQ(pacer_->Tick(), 1);
  EXPECT_EQ(pacer_->Status().interval_seconds, 10);
  EXPECT_EQ(pacer_->Status().batch_size, 3);
}

TEST_F(PacerTest, SendsNothingWhileStoppedAndAStopStartCannotBuyAnExtraBatch) {
  Enqueue(6);
  EXPECT_EQ(pacer_->Tick(), 2);
  const auto stopped = pacer_->SetRunning(false);
  EXPECT_FALSE(stopped.running);
  EXPECT_FALSE(stopped.next_release_at_ms);
  clock_.Advance(seconds(600));
  EXPECT_EQ(pacer_->Tick(), 0);
  // Starting after more than an interval releases at once.
  auto started = pacer_->SetRunning(true);
  EXPECT_TRUE(started.running);
  EXPECT_EQ(started.next_release_at_ms, ToUnixMillis(clock_.Now()));
  EXPECT_EQ(pacer_->Tick(), 2);
  // Stop and start again within the interval: the next release keeps its slot.
  pacer_->SetRunning(false);
  started = pacer_->SetRunning(true);
  EXPECT_EQ(started.next_release_at_ms, ToUnixMillis(clock_.Now()) + 120000);
  EXPECT_EQ(pacer_->Tick(), 0);
  clock_.Advance(seconds(120));
  EXPECT_EQ(pacer_->Tick(), 2);
  EXPECT_EQ(channel_.Sent().size(), 6u);
}

TEST_F(PacerTest, RunningStateAndScheduleSurviveARestart) {
  Enqueue(4);
  EXPECT_TRUE(pacer_->Status().running) << "a fresh data dir sends automatically";
  pacer_->SetRunning(false);
  Reopen();
  EXPECT_FALSE(pacer_->Status().running);
  EXPECT_EQ(pacer_->Tick(), 0);
  pacer_->SetRunning(true);
  EXPECT_EQ(pacer_->Tick(), 2);
  Reopen();
  EXPECT_TRUE(pacer_->Status().running);
  EXPECT_EQ(pacer_->Tick(), 0) << "a restart does not reset the schedule";
  clock_.Advance(seconds(120));
  EXPECT_EQ(pacer_->Tick(), 2);
  EXPECT_EQ(channel_.Sent(), (Ids{"p1", "p2", "p3", "p4"}));
}

TEST_F(PacerTest, ARowLeftSendingByACrashBecomesUnknownAndIsNeverResent) {
  Enqueue(3);
  // The process died after claiming message 1 and before recording its outcome.
  const auto claimed = store_->RecordAndClaim(std::nullopt, ToUnixMillis(clock_.Now()));
  ASSERT_TRUE(claimed);
  EXPECT_EQ(claimed->id, 1);
  Reopen();
  EXPECT_EQ(StatusOf(1), "unknown");
  EXPECT_FALSE(store_->Get(1)->last_error.empty());
  EXPECT_EQ(pacer_->Tick(), 2);
  clock_.Advance(seconds(120));
  EXPECT_EQ(pacer_->Tick(), 0);
  EXPECT_EQ(channel_.Sent(), (Ids{"p2", "p3"}));
}

TEST_F(PacerTest, ATransientFailureIsRetriedFirstInTheNextRelease) {
  Enqueue(3);
  channel_.Script(domain::DeliveryOutcome::Transient("provider temporarily unavailable", 503));
  EXPECT_EQ(pacer_->Tick(), 2);
  EXPECT_EQ(channel_.Sent(), (Ids{"p1", "p2"})) << "not retried within the same release";
  EXPECT_EQ(StatusOf(1), "unsent");
  clock_.Advance(seconds(120));
  EXPECT_EQ(pacer_->Tick(), 2);
  EXPECT_EQ(channel_.Sent(), (Ids{"p1", "p2", "p1", "p3"}));
  const auto retried = store_->Get(1);
  EXPECT_EQ(retried->status, "sent");
  EXPECT_EQ(retried->attempts, 2);
}

TEST_F(PacerTest, TransientFailuresStopAtTheAttemptCap) {
  settings_.batch_size = 1;
  settings_.max_attempts = 2;
  Reopen();
  Enqueue(2);
  channel_.Script(domain::DeliveryOutcome::Transient("down"));
  channel_.Script(domain::DeliveryOutcome::Transient("still down"));
  EXPECT_EQ(pacer_->Tick(), 1);
  clock_.Advance(seconds(120));
  EXPECT_EQ(pacer_->Tick(), 1);
  const auto failed = store_->Get(1);
  EXPECT_EQ(failed->status, "failed");
  EXPECT_EQ(failed->attempts, 2);
  EXPECT_NE(failed->last_error.find("still down"), std::string::npos) << failed->last_error;
  clock_.Advance(seconds(120));
  EXPECT_EQ(pacer_->Tick(), 1);
  EXPECT_EQ(channel_.Sent(), (Ids{"p1", "p1", "p2"}));
}

TEST_F(PacerTest, APermanentFailureIsNotRetried) {
  Enqueue(3);
  channel_.Script(domain::DeliveryOutcome::Permanent("invalid recipient", 400));
  EXPECT_EQ(pacer_->Tick(), 2);
  EXPECT_EQ(StatusOf(1), "failed");
  EXPECT_EQ(store_->Get(1)->attempts, 1);
  EXPECT_EQ(store_->Get(1)->last_error, "invalid recipient");
  clock_.Advance(seconds(120));
  EXPECT_EQ(pacer_->Tick(), 1);
  EXPECT_EQ(channel_.Sent(), (Ids{"p1", "p2", "p3"}));
  EXPECT_EQ(store_->ListSent(std::nullopt, 1, 10).total_count, 2);
}

TEST_F(PacerTest, AnUnknownOutcomeIsNotRetried) {
  Enqueue(1);
  channel_.Script(domain::DeliveryOutcome::Unknown("timed out after the request was sent"));
  EXPECT_EQ(pacer_->Tick(), 1);
  clock_.Advance(seconds(120));
  EXPECT_EQ(pacer_->Tick(), 0);
  EXPECT_EQ(StatusOf(1), "unknown");
}

TEST_F(PacerTest, ThrottlingEndsTheReleaseEarly) {
  Enqueue(3);
  channel_.Script({domain::OutcomeKind::kThrottled, "", "rate limit exceeded", 429});
  EXPECT_EQ(pacer_->Tick(), 1);
  clock_.Advance(seconds(120));
  EXPECT_EQ(pacer_->Tick(), 2);
  EXPECT_EQ(channel_.Sent(), (Ids{"p1", "p1", "p2"}));
}

TEST_F(PacerTest, TheThreadReleasesOnScheduleAndStopsPromptly) {
  settings_.idle_poll = milliseconds(5);
  Reopen();
  Enqueue(5);
  pacer_->Start();
  EXPECT_TRUE(herald::testing::WaitFor([&] { return channel_.Sent().size() == 2; }, seconds(5)));
  clock_.Advance(seconds(120));
  EXPECT_TRUE(herald::testing::WaitFor([&] { return channel_.Sent().size() == 4; }, seconds(5)));
  pacer_->SetRunning(false);
  clock_.Advance(seconds(600));
  pacer_->Stop();
  EXPECT_EQ(channel_.Sent().size(), 4u);
}

TEST(PacerSettingsTest, RejectsAnEmptyBatchOrInterval) {
  herald::testing::TempDir dir;
  SqlitePacingStore store(dir.path() + "/herald.db");
  ScriptedChannel channel;
  ManualClock clock;
  IoRuntime runtime;
  EXPECT_THROW({ Pacer pacer(store, channel, runtime.executor(), clock, PacerSettings{.batch_size = 0}); },
               std::invalid_argument);
  EXPECT_THROW({ Pacer pacer(store, channel, runtime.executor(), clock, PacerSettings{.interval = seconds(0)}); },
               std::invalid_argument);
}

}  // namespace
}  // namespace herald::dispatch
