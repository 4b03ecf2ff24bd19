// The paced sender of seed 001: the paced lane on the delivery engine with its
// pacing rule, on a real SQLite store and an injected clock.
#include "dispatch/paced_lane.hpp"

#include <gtest/gtest.h>

#include <deque>
#include <memory>
#include <mutex>

#include "common/io_runtime.hpp"
#include "dispatch/delivery_engine.hpp"
#include "store/sqlite/sqlite_pacing_store.hpp"
#include "tests/support/process.hpp"

namespace herald::dispatch {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using store::sqlite::SqlitePacingStore;
using Ids = std::vector<std::string>;

// Records every send and answers with scripted outcomes (accepted once the script is used up).
class ScriptedChannel final : public channels::Channel {
 public:
  boost::asio::awaitable<std::vector<domain::DeliveryOutcome>> Send(std::span<const channels::RenderedMessage> messages,
                                                                    channels::Deadline) override {
    std::vector<domain::DeliveryOutcome> outcomes;
    for (const auto& message : messages) outcomes.push_back(SendOne(message));
    co_return outcomes;
  }
  channels::ChannelLimits Limits() const override { return {.max_in_flight = 8, .max_batch = 8}; }
  std::string Describe() const override { return "scripted"; }

  void Script(domain::DeliveryOutcome outcome) {
    std::lock_guard lock(mutex_);
    script_.push_back(std::move(outcome));
  }
  Ids Sent() const {
    std::lock_guard lock(mutex_);
    return sent_;
  }
  std::size_t Count() const { return Sent().size(); }

 private:
  domain::DeliveryOutcome SendOne(const channels::RenderedMessage& message) {
    std::lock_guard lock(mutex_);
    sent_.push_back(message.delivery_id);
    EXPECT_EQ(message.channel, "sms");
    if (!script_.empty()) {
      auto outcome = script_.front();
      script_.pop_front();
      return outcome;
    }
    return domain::DeliveryOutcome::Accepted("prov-" + message.delivery_id);
  }

  mutable std::mutex mutex_;
  std::deque<domain::DeliveryOutcome> script_;
  Ids sent_;
};

class PacedLaneTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = dir_.path() + "/herald.db";
    Start();
  }
  void TearDown() override { Stop(); }

  // A store, rule, lane and engine on the same file: what a process start sees.
  void Start() {
    store_ = std::make_unique<SqlitePacingStore>(path_);
    rule_ = std::make_unique<PacingRule>(*store_, clock_, settings_);
    rule_->Recover();
    lane_ = std::make_unique<PacedLane>(*store_, *rule_, clock_);
    engine_ = std::make_unique<DeliveryEngine>(runtime_, clock_, EngineSettings{.render_threads = 1});
    auto options = lane_->Options();
    options.idle_poll = milliseconds(5);
    engine_->AddLane(*lane_, channel_, options);
    rule_->SetOnChange([this] { engine_->Wake(kPacedLane); });
    store_->ResolveAbandoned(ToUnixMillis(clock_.Now()));
    engine_->Start();
  }
  void Stop() {
    if (engine_) engine_->Stop();
    engine_.reset();
    lane_.reset();
    rule_.reset();
    store_.reset();
  }
  void Restart() {
    Stop();
    Start();
  }

  void Enqueue(int count) {
    std::vector<store::NewPacedMessage> messages;
    for (int i = 0; i < count; ++i) {
      messages.push_back({7, "+1555000000" + std::to_string(i), "message " + std::to_string(i)});
    }
    store_->Enqueue(messages, ToUnixMillis(clock_.Now()));
    rule_->Changed();
  }

  // Waits for exactly `total` sends so far, and checks that no more follow for a while.
  void ExpectSends(std::size_t total) {
    EXPECT_TRUE(herald::testing::WaitFor([&] { return channel_.Count() >= total; }, seconds(10)))
        << "sent " << channel_.Count() << " of " << total;
    EXPECT_FALSE(herald::testing::WaitFor([&] { return channel_.Count() > total; }, milliseconds(150)))
        << "sent " << channel_.Count() << ", more than " << total;
  }
  // Waits until the store has recorded every send (the last one's outcome).
  void ExpectRecorded(std::int64_t id, const std::string& status) {
    EXPECT_TRUE(herald::testing::WaitFor([&] { return StatusOf(id) == status; }, seconds(10)))
        << "message " << id << " is " << StatusOf(id);
  }

  std::string StatusOf(std::int64_t id) { return store_->Get(id)->status; }

  IoRuntime runtime_;
  herald::testing::TempDir dir_;
  std::string path_;
  ManualClock clock_;
  PacerSettings settings_;
  ScriptedChannel channel_;
  std::unique_ptr<SqlitePacingStore> store_;
  std::unique_ptr<PacingRule> rule_;
  std::unique_ptr<PacedLane> lane_;
  std::unique_ptr<DeliveryEngine> engine_;
};

TEST_F(PacedLaneTest, ReleasesTheOldestTwoEveryTwoMinutesInFifoOrder) {
  Enqueue(5);
  ExpectSends(2);
  EXPECT_EQ(channel_.Sent(), (Ids{"p1", "p2"}));
  clock_.Advance(seconds(119));
  ExpectSends(2);
  clock_.Advance(seconds(1));
  ExpectSends(4);
  clock_.Advance(seconds(120));
  ExpectSends(5);
  ExpectRecorded(5, "sent");
  EXPECT_EQ(channel_.Sent(), (Ids{"p1", "p2", "p3", "p4", "p5"}));

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

TEST_F(PacedLaneTest, ReleasesExactlyTheConfiguredBatchPerInterval) {
  Stop();
  settings_.batch_size = 3;
  settings_.interval = seconds(10);
  Start();
  Enqueue(7);
  ExpectSends(3);
  clock_.Advance(seconds(10));
  ExpectSends(6);
  clock_.Advance(seconds(10));
  ExpectSends(7);
  EXPECT_EQ(rule_->Status().interval_seconds, 10);
  EXPECT_EQ(rule_->Status().batch_size, 3);
}

TEST_F(PacedLaneTest, SendsNothingWhileStoppedAndAStopStartCannotBuyAnExtraBatch) {
  Enqueue(6);
  ExpectSends(2);
  const auto stopped = rule_->SetRunning(false);
  EXPECT_FALSE(stopped.running);
  EXPECT_FALSE(stopped.next_release_at_ms);
  clock_.Advance(seconds(600));
  ExpectSends(2);
  // Starting after more than an interval releases at once.
  auto started = rule_->SetRunning(true);
  EXPECT_TRUE(started.running);
  EXPECT_EQ(started.next_release_at_ms, ToUnixMillis(clock_.Now()));
  ExpectSends(4);
  // Stop and start again within the interval: the next release keeps its slot.
  rule_->SetRunning(false);
  started = rule_->SetRunning(true);
  EXPECT_EQ(started.next_release_at_ms, ToUnixMillis(clock_.Now()) + 120000);
  ExpectSends(4);
  clock_.Advance(seconds(120));
  ExpectSends(6);
}

TEST_F(PacedLaneTest, RunningStateAndScheduleSurviveARestart) {
  Enqueue(4);
  EXPECT_TRUE(rule_->Status().running) << "a fresh data dir sends automatically";
  ExpectSends(2);
  rule_->SetRunning(false);
  Restart();
  EXPECT_FALSE(rule_->Status().running);
  clock_.Advance(seconds(300));
  ExpectSends(2);
  rule_->SetRunning(true);
  ExpectSends(4);
  Enqueue(2);
  Restart();
  EXPECT_TRUE(rule_->Status().running);
  ExpectSends(4);  // a restart does not reset the schedule
  clock_.Advance(seconds(120));
  ExpectSends(6);
  EXPECT_EQ(channel_.Sent(), (Ids{"p1", "p2", "p3", "p4", "p5", "p6"}));
}

TEST_F(PacedLaneTest, ARowLeftSendingByACrashBecomesUnknownAndIsNeverResent) {
  Stop();
  {
    // A process that died after claiming message 1 and before recording its outcome.
    SqlitePacingStore store(path_);
    store.Enqueue({{7, "+15550000001", "a"}, {7, "+15550000002", "b"}, {7, "+15550000003", "c"}}, 0);
    EXPECT_EQ(store.RecordAndClaimMany({}, {1}, std::nullopt, 0), std::vector<bool>{true});
  }
  Start();
  EXPECT_EQ(StatusOf(1), "unknown");
  EXPECT_FALSE(store_->Get(1)->last_error.empty());
  rule_->Changed();
  ExpectSends(2);
  clock_.Advance(seconds(120));
  ExpectSends(2);
  EXPECT_EQ(channel_.Sent(), (Ids{"p2", "p3"}));
}

TEST_F(PacedLaneTest, ATransientFailureIsRetriedFirstInTheNextRelease) {
  channel_.Script(domain::DeliveryOutcome::Transient("provider temporarily unavailable", 503));
  Enqueue(3);
  ExpectSends(2);
  EXPECT_EQ(channel_.Sent(), (Ids{"p1", "p2"})) << "not retried within the same release";
  EXPECT_EQ(StatusOf(1), "queued");
  clock_.Advance(seconds(120));
  ExpectSends(4);
  EXPECT_EQ(channel_.Sent(), (Ids{"p1", "p2", "p1", "p3"}));
  ExpectRecorded(1, "sent");
  EXPECT_EQ(store_->Get(1)->attempts, 2);
}

TEST_F(PacedLaneTest, TransientFailuresStopAtTheAttemptCapAsDead) {
  Stop();
  settings_.batch_size = 1;
  settings_.retry.max_attempts = 2;
  Start();
  channel_.Script(domain::DeliveryOutcome::Transient("down"));
  channel_.Script(domain::DeliveryOutcome::Transient("still down"));
  Enqueue(2);
  ExpectSends(1);
  clock_.Advance(seconds(120));
  ExpectSends(2);
  ExpectRecorded(1, "dead");
  const auto dead = store_->Get(1);
  EXPECT_EQ(dead->attempts, 2);
  EXPECT_EQ(dead->last_error, "gave up after 2 attempts: still down");
  clock_.Advance(seconds(120));
  ExpectSends(3);
  EXPECT_EQ(channel_.Sent(), (Ids{"p1", "p1", "p2"}));
}

TEST_F(PacedLaneTest, APermanentFailureIsNotRetried) {
  channel_.Script(domain::DeliveryOutcome::Permanent("invalid recipient", 400));
  Enqueue(3);
  ExpectSends(2);
  ExpectRecorded(1, "failed");
  EXPECT_EQ(store_->Get(1)->attempts, 1);
  EXPECT_EQ(store_->Get(1)->last_error, "invalid recipient");
  clock_.Advance(seconds(120));
  ExpectSends(3);
  EXPECT_EQ(channel_.Sent(), (Ids{"p1", "p2", "p3"}));
  ExpectRecorded(3, "sent");
  EXPECT_EQ(store_->ListSent(std::nullopt, 1, 10).total_count, 2);
}

TEST_F(PacedLaneTest, AnUnknownOutcomeIsNotRetried) {
  channel_.Script(domain::DeliveryOutcome::Unknown("timed out after the request was sent"));
  Enqueue(1);
  ExpectSends(1);
  clock_.Advance(seconds(120));
  ExpectSends(1);
  ExpectRecorded(1, "unknown");
}

TEST_F(PacedLaneTest, ThrottlingEndsTheReleaseEarly) {
  channel_.Script({domain::OutcomeKind::kThrottled, "", "rate limit exceeded", 429});
  Enqueue(3);
  ExpectSends(1);
  clock_.Advance(seconds(120));
  ExpectSends(3);
  EXPECT_EQ(channel_.Sent(), (Ids{"p1", "p1", "p2"}));
}

TEST_F(PacedLaneTest, MessagesStoredByAnEarlierVersionKeepTheirPlaceInTheSharedVocabulary) {
  Stop();
  {
    // A file from before versioned migrations, its table as it was before the
    // paced lane: "unsent" for queued, no "dead".
    store::sqlite::Database db(path_);
    db.Execute("DROP TABLE schema_migrations");
    db.Execute("DROP TABLE paced_messages");
    db.Execute(
        "CREATE TABLE paced_messages (id INTEGER PRIMARY KEY, owner_id INTEGER NOT NULL, recipient TEXT NOT NULL, "
        "content TEXT NOT NULL, status TEXT NOT NULL CHECK (status IN ('unsent', 'sending', 'sent', 'failed', "
        "'unknown')), attempts INTEGER NOT NULL DEFAULT 0, retry_at INTEGER NOT NULL DEFAULT 0, provider_message_id "
        "TEXT NOT NULL DEFAULT '', last_error TEXT NOT NULL DEFAULT '', created_at INTEGER NOT NULL, updated_at "
        "INTEGER NOT NULL, sent_at INTEGER)");
    db.Execute("CREATE INDEX paced_messages_unsent ON paced_messages (id) WHERE status = 'unsent'");
    db.Execute(
        "INSERT INTO paced_messages (owner_id, recipient, content, status, created_at, updated_at, sent_at) VALUES "
        "(7, '+15550000001', 'old sent', 'sent', 1, 1, 1), (7, '+15550000002', 'old waiting', 'unsent', 1, 1, NULL)");
  }
  Start();
  EXPECT_EQ(StatusOf(1), "sent");
  EXPECT_EQ(StatusOf(2), "queued");
  rule_->Changed();
  ExpectSends(1);
  EXPECT_EQ(channel_.Sent(), (Ids{"p2"}));
}

TEST(PacerSettingsTest, RejectsAnEmptyBatchOrInterval) {
  herald::testing::TempDir dir;
  SqlitePacingStore store(dir.path() + "/herald.db");
  ManualClock clock;
  EXPECT_THROW(PacingRule(store, clock, PacerSettings{.batch_size = 0}), std::invalid_argument);
  EXPECT_THROW(PacingRule(store, clock, PacerSettings{.interval = seconds(0)}), std::invalid_argument);
  EXPECT_THROW(PacingRule(store, clock, PacerSettings{.retry = {.max_attempts = 0}}), std::invalid_argument);
}

}  // namespace
}  // namespace herald::dispatch
