// The message lanes on the delivery engine, on a real SQLite store and an
// injected clock: the paced sender of seed 001 (the lane 'paced' with its
// pacing rule), and a channel's lane fed through a queue by the outbox relay.
#include <gtest/gtest.h>

#include <deque>
#include <map>
#include <memory>
#include <mutex>

#include "common/io_runtime.hpp"
#include "dispatch/delivery_engine.hpp"
#include "dispatch/message_lane.hpp"
#include "dispatch/message_relay.hpp"
#include "queue/embedded/embedded_queue.hpp"
#include "store/sqlite/migrations.hpp"
#include "store/sqlite/sqlite_stores.hpp"
#include "tests/support/process.hpp"

namespace herald::dispatch {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using store::sqlite::SqliteStores;
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
  // Answers for one address, before the shared script.
  void ScriptFor(const std::string& to, std::vector<domain::DeliveryOutcome> outcomes) {
    std::lock_guard lock(mutex_);
    for (auto& outcome : outcomes) script_for_[to].push_back(std::move(outcome));
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
    if (auto own = script_for_.find(message.to); own != script_for_.end() && !own->second.empty()) {
      auto outcome = own->second.front();
      own->second.pop_front();
      return outcome;
    }
    if (!script_.empty()) {
      auto outcome = script_.front();
      script_.pop_front();
      return outcome;
    }
    return domain::DeliveryOutcome::Accepted("prov-" + message.delivery_id);
  }

  mutable std::mutex mutex_;
  std::deque<domain::DeliveryOutcome> script_;
  std::map<std::string, std::deque<domain::DeliveryOutcome>> script_for_;
  Ids sent_;
};

// The API keys owning the messages (7 and 8), as the API would have made them.
void AddOwnerKeys(const std::string& path) {
  store::sqlite::Database db(path);
  store::sqlite::Migrate(db);
  db.Execute(
      "INSERT INTO api_keys (id, name, role, tier, key_hash, key_prefix, created_at) VALUES "
      "(7, 'seven', 'user', 'free', 'h7', 'hk_7', 0), (8, 'eight', 'user', 'free', 'h8', 'hk_8', 0)");
}

class PacedMessageLaneTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = dir_.path() + "/herald.db";
    AddOwnerKeys(path_);
    Start();
  }

  void TearDown() override { Stop(); }

  // A store, rule, lane and engine on the same file: what a process start sees.
  void Start() {
    stores_ = std::make_unique<SqliteStores>(path_, store::SchemaPolicy::kMigrate, clock_);
    rule_ = std::make_unique<PacingRule>(stores_->deliveries(), clock_, settings_);
    rule_->Recover();
    lane_ = std::make_unique<MessageLane>(stores_->deliveries(), *rule_, clock_);
    engine_ = std::make_unique<DeliveryEngine>(runtime_, clock_, EngineSettings{.render_threads = 1});
    auto options = PacedLaneOptions(*rule_);
    options.idle_poll = milliseconds(5);
    engine_->AddLane(*lane_, channel_, options);
    rule_->SetOnChange([this] { engine_->Wake(store::kPacedLane); });
    stores_->deliveries().ResolveAbandoned(ToUnixMillis(clock_.Now()), store::kNoOtherProcessAlive);
    engine_->Start();
  }
  void Stop() {
    if (engine_) engine_->Stop();
    engine_.reset();
    lane_.reset();
    rule_.reset();
    stores_.reset();
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
    stores_->pacing().Enqueue(messages, ToUnixMillis(clock_.Now()));
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

  std::string StatusOf(std::int64_t id) { return Get(id)->status; }
  std::optional<store::PacedMessage> Get(std::int64_t id) { return stores_->pacing().Get(id); }
  store::PacedPage ListSent(std::optional<std::int64_t> owner, int page, int page_size) {
    return stores_->pacing().ListSent(owner, page, page_size);
  }

  IoRuntime runtime_;
  herald::testing::TempDir dir_;
  std::string path_;
  ManualClock clock_;
  PacerSettings settings_;
  ScriptedChannel channel_;
  std::unique_ptr<SqliteStores> stores_;
  std::unique_ptr<PacingRule> rule_;
  std::unique_ptr<MessageLane> lane_;
  std::unique_ptr<DeliveryEngine> engine_;
};

TEST_F(PacedMessageLaneTest, ReleasesTheOldestTwoEveryTwoMinutesInFifoOrder) {
  Enqueue(5);
  ExpectSends(2);
  EXPECT_EQ(channel_.Sent(), (Ids{"r1", "r2"}));
  clock_.Advance(seconds(119));
  ExpectSends(2);
  clock_.Advance(seconds(1));
  ExpectSends(4);
  clock_.Advance(seconds(120));
  ExpectSends(5);
  ExpectRecorded(5, "sent");
  EXPECT_EQ(channel_.Sent(), (Ids{"r1", "r2", "r3", "r4", "r5"}));

  const auto first = Get(1);
  EXPECT_EQ(first->status, "sent");
  EXPECT_EQ(first->provider_message_id, "prov-r1");
  EXPECT_EQ(first->attempts, 1);
  ASSERT_TRUE(first->sent_at_ms);
  const auto page = ListSent(std::nullopt, 1, 10);
  EXPECT_EQ(page.total_count, 5);
  ASSERT_EQ(page.messages.size(), 5u);
  EXPECT_EQ(page.messages.front().id, 5) << "newest sent first";
  EXPECT_EQ(ListSent(8, 1, 10).total_count, 0) << "another owner sees none";
  EXPECT_EQ(ListSent(7, 2, 2).messages.size(), 2u);
}

// Two processes deliver the paced lane from one store (herald worker x2): the
// release is still N per interval in all, not N per process.
TEST_F(PacedMessageLaneTest, TwoProcessesOnOneStoreReleaseOneBatchPerIntervalBetweenThem) {
  SqliteStores other_stores(path_, store::SchemaPolicy::kMigrate, clock_);
  PacingRule other_rule(other_stores.deliveries(), clock_, settings_);
  other_rule.Recover();
  MessageLane other_lane(other_stores.deliveries(), other_rule, clock_);
  DeliveryEngine other_engine(runtime_, clock_, EngineSettings{.render_threads = 1});
  auto options = PacedLaneOptions(other_rule);
  options.idle_poll = milliseconds(5);
  other_engine.AddLane(other_lane, channel_, options);
  other_engine.Start();
  Enqueue(6);
  other_rule.Changed();
  ExpectSends(2);
  for (int release = 2; release <= 3; ++release) {
    clock_.Advance(seconds(120));
    rule_->Follow();
    other_rule.Follow();
    rule_->Changed();
    other_rule.Changed();
    ExpectSends(static_cast<std::size_t>(2 * release));
  }
  other_engine.Stop();
  EXPECT_EQ(channel_.Sent(), (Ids{"r1", "r2", "r3", "r4", "r5", "r6"}));
}

TEST_F(PacedMessageLaneTest, ReleasesExactlyTheConfiguredBatchPerInterval) {
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

TEST_F(PacedMessageLaneTest, SendsNothingWhileStoppedAndAStopStartCannotBuyAnExtraBatch) {
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

TEST_F(PacedMessageLaneTest, RunningStateAndScheduleSurviveARestart) {
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
  EXPECT_EQ(channel_.Sent(), (Ids{"r1", "r2", "r3", "r4", "r5", "r6"}));
}

TEST_F(PacedMessageLaneTest, ARowLeftSendingByACrashBecomesUnknownAndIsNeverResent) {
  Stop();
  {
    // A process that died after claiming message 1 and before recording its outcome.
    SqliteStores stores(path_, store::SchemaPolicy::kMigrate, clock_);
    stores.pacing().Enqueue({{7, "+15550000001", "a"}, {7, "+15550000002", "b"}, {7, "+15550000003", "c"}}, 0);
    EXPECT_EQ(stores.deliveries().RecordAndClaimMany({}, {1}, 0, std::nullopt), std::vector<bool>{true});
  }
  Start();
  EXPECT_EQ(StatusOf(1), "unknown");
  EXPECT_FALSE(Get(1)->last_error.empty());
  rule_->Changed();
  ExpectSends(2);
  clock_.Advance(seconds(120));
  ExpectSends(2);
  EXPECT_EQ(channel_.Sent(), (Ids{"r2", "r3"}));
}

TEST_F(PacedMessageLaneTest, ATransientFailureIsRetriedFirstInTheNextRelease) {
  channel_.Script(domain::DeliveryOutcome::Transient("provider temporarily unavailable", 503));
  Enqueue(3);
  ExpectSends(2);
  EXPECT_EQ(channel_.Sent(), (Ids{"r1", "r2"})) << "not retried within the same release";
  EXPECT_EQ(StatusOf(1), "queued");
  clock_.Advance(seconds(120));
  ExpectSends(4);
  EXPECT_EQ(channel_.Sent(), (Ids{"r1", "r2", "r1", "r3"}));
  ExpectRecorded(1, "sent");
  EXPECT_EQ(Get(1)->attempts, 2);
}

TEST_F(PacedMessageLaneTest, TransientFailuresStopAtTheAttemptCapAsDead) {
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
  const auto dead = Get(1);
  EXPECT_EQ(dead->attempts, 2);
  EXPECT_EQ(dead->last_error, "gave up after 2 attempts: still down");
  clock_.Advance(seconds(120));
  ExpectSends(3);
  EXPECT_EQ(channel_.Sent(), (Ids{"r1", "r1", "r2"}));
}

TEST_F(PacedMessageLaneTest, APermanentFailureIsNotRetried) {
  channel_.Script(domain::DeliveryOutcome::Permanent("invalid recipient", 400));
  Enqueue(3);
  ExpectSends(2);
  ExpectRecorded(1, "failed");
  EXPECT_EQ(Get(1)->attempts, 1);
  EXPECT_EQ(Get(1)->last_error, "invalid recipient");
  clock_.Advance(seconds(120));
  ExpectSends(3);
  EXPECT_EQ(channel_.Sent(), (Ids{"r1", "r2", "r3"}));
  ExpectRecorded(3, "sent");
  EXPECT_EQ(ListSent(std::nullopt, 1, 10).total_count, 2);
}

TEST_F(PacedMessageLaneTest, AnUnknownOutcomeIsNotRetried) {
  channel_.Script(domain::DeliveryOutcome::Unknown("timed out after the request was sent"));
  Enqueue(1);
  ExpectSends(1);
  clock_.Advance(seconds(120));
  ExpectSends(1);
  ExpectRecorded(1, "unknown");
}

TEST_F(PacedMessageLaneTest, ThrottlingEndsTheReleaseEarly) {
  channel_.Script({domain::OutcomeKind::kThrottled, "", "rate limit exceeded", 429});
  Enqueue(3);
  ExpectSends(1);
  clock_.Advance(seconds(120));
  ExpectSends(3);
  EXPECT_EQ(channel_.Sent(), (Ids{"r1", "r1", "r2"}));
}

TEST_F(PacedMessageLaneTest, MessagesStoredByAnEarlierVersionKeepTheirPlaceInTheSharedVocabulary) {
  Stop();
  {
    // A file from before versioned migrations, its table as it was before the
    // paced lane: "unsent" for queued, no "dead".
    store::sqlite::Database db(path_);
    db.Execute("DROP TABLE schema_migrations");
    // Nor had the recipients a lane, an outbox mark or a claimant yet, nor the
    // certificate lanes a job, nor were provider events stored.
    db.Execute("DROP TABLE provider_events");
    db.Execute("ALTER TABLE certificate_lanes DROP COLUMN job");
    db.Execute("DROP INDEX message_recipients_in_flight");
    db.Execute("ALTER TABLE message_recipients DROP COLUMN claimed_by");
    db.Execute("DROP TABLE delivery_processes");
    db.Execute("DROP INDEX message_recipients_unpublished");
    db.Execute("ALTER TABLE message_recipients DROP COLUMN published");
    db.Execute("DROP INDEX message_recipients_due");
    db.Execute("DROP INDEX message_recipients_sent_in_lane");
    db.Execute("ALTER TABLE message_recipients DROP COLUMN lane");
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
  {
    // As migrated, before any lane runs (a running lane may send the queued one at once).
    SqliteStores migrated(path_, store::SchemaPolicy::kMigrate, clock_);
    EXPECT_EQ(migrated.pacing().Get(1)->status, "sent");
    EXPECT_EQ(migrated.pacing().Get(2)->status, "queued");
  }
  Start();
  rule_->Changed();
  ExpectSends(1);
  EXPECT_EQ(channel_.Sent(), (Ids{"r2"}));
}

TEST(PacerSettingsTest, RejectsAnEmptyBatchOrInterval) {
  herald::testing::TempDir dir;
  ManualClock clock;
  SqliteStores stores(dir.path() + "/herald.db", store::SchemaPolicy::kMigrate, clock);
  auto& store = stores.deliveries();
  EXPECT_THROW(PacingRule(store, clock, PacerSettings{.batch_size = 0}), std::invalid_argument);
  EXPECT_THROW(PacingRule(store, clock, PacerSettings{.interval = seconds(0)}), std::invalid_argument);
  EXPECT_THROW(PacingRule(store, clock, PacerSettings{.retry = {.max_attempts = 0}}), std::invalid_argument);
}

// The sms lane fed by a queue: the outbox relay publishes committed recipients,
// the lane takes them, claims and records them in the store, and settles each
// item in the queue after that. The embedded queue stands in for the broker:
// both keep the Queue contract (queue/queue_contract_test.cpp).
class QueuedMessageLaneTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = dir_.path() + "/herald.db";
    AddOwnerKeys(path_);
    stores_ = std::make_unique<SqliteStores>(path_, store::SchemaPolicy::kMigrate, clock_);
    queue_ = std::make_unique<queue::embedded::EmbeddedQueue>(path_, clock_);
    lane_ = std::make_unique<MessageLane>(stores_->deliveries(), *queue_, "sms", mime::Mailbox{}, clock_);
    relay_ = std::make_unique<MessageRelay>(stores_->deliveries(), *queue_, std::vector<std::string>{"sms"}, clock_,
                                            [this](const std::string& lane) {
                                              if (engine_) engine_->Wake(lane);
                                            });
  }
  void TearDown() override {
    relay_->Stop();
    if (engine_) engine_->Stop();
  }
  void StartEngine() {
    engine_ = std::make_unique<DeliveryEngine>(runtime_, clock_, EngineSettings{.render_threads = 1});
    LaneOptions options;
    options.retry = {.max_attempts = 3, .base_delay = seconds(10), .max_delay = seconds(10), .jitter = 0};
    options.idle_poll = milliseconds(5);
    engine_->AddLane(*lane_, channel_, options);
    engine_->Start();
  }

  std::vector<std::int64_t> Accept(int count, std::optional<std::int64_t> scheduled_at_ms = {}) {
    std::vector<store::NewMessage> messages;
    for (int i = 0; i < count; ++i) {
      store::NewMessage message;
      message.owner_id = 7;
      message.content = "message " + std::to_string(i);
      message.scheduled_at_ms = scheduled_at_ms;
      message.recipients = {{"sms", "+1555100" + std::to_string(1000 + i)}};
      messages.push_back(std::move(message));
    }
    std::vector<std::int64_t> ids;
    for (const auto& accepted : stores_->messages().Accept(messages, ToUnixMillis(clock_.Now()))) {
      ids.push_back(accepted.message.id);
    }
    return ids;
  }
  store::RecipientRecord RecipientOf(std::int64_t message_id) {
    return stores_->messages().GetMessage(message_id)->recipients.at(0);
  }
  void ExpectStatus(std::int64_t message_id, const std::string& status) {
    EXPECT_TRUE(herald::testing::WaitFor([&] { return RecipientOf(message_id).status == status; }, seconds(10)))
        << "message " << message_id << " is " << RecipientOf(message_id).status;
  }
  // Sends per delivery id.
  std::map<std::string, int> SentCounts() const {
    std::map<std::string, int> counts;
    for (const auto& id : channel_.Sent()) ++counts[id];
    return counts;
  }
  std::int64_t Depth() { return queue_->Depth(MessageQueueName("sms")); }

  IoRuntime runtime_;
  herald::testing::TempDir dir_;
  std::string path_;
  ManualClock clock_;
  ScriptedChannel channel_;
  std::unique_ptr<SqliteStores> stores_;
  std::unique_ptr<queue::embedded::EmbeddedQueue> queue_;
  std::unique_ptr<MessageLane> lane_;
  std::unique_ptr<MessageRelay> relay_;
  std::unique_ptr<DeliveryEngine> engine_;
};

TEST_F(QueuedMessageLaneTest, RelayedRecipientsAreSentOnceEachAndTheirItemsAcknowledgedAfterTheOutcome) {
  const auto ids = Accept(120);
  EXPECT_EQ(relay_->RelayOnce(), 120);
  EXPECT_EQ(relay_->RelayOnce(), 0) << "published once";
  EXPECT_EQ(Depth(), 3) << "50 recipients to an item: 50, 50 and 20";
  StartEngine();
  for (const auto id : ids) ExpectStatus(id, "sent");
  const auto counts = SentCounts();
  EXPECT_EQ(counts.size(), 120u);
  for (const auto& [id, count] : counts) EXPECT_EQ(count, 1) << id;
  EXPECT_TRUE(herald::testing::WaitFor([&] { return Depth() == 0; }, seconds(5))) << Depth();
  EXPECT_EQ(RecipientOf(ids[0]).provider_message_id, "prov-r" + std::to_string(RecipientOf(ids[0]).id));
  EXPECT_EQ(lane_->stale(), 0);
}

TEST_F(QueuedMessageLaneTest, ACopyPublishedTwiceOrACancelledRecipientIsAcknowledgedUnsent) {
  const auto ids = Accept(3);
  ASSERT_EQ(relay_->RelayOnce(), 3);
  // The relay died between the broker's confirm and its mark: the same recipient again.
  const auto first = RecipientOf(ids[0]).id;
  // (A broker keeps both copies; the embedded queue would drop one of the same id.)
  queue_->Publish(MessageQueueName("sms"), {{"r" + std::to_string(first) + "-again", MessageItemBody(first), 0}});
  // Cancelled after it was handed over.
  ASSERT_EQ(stores_->messages().CancelMessage(ids[1], ToUnixMillis(clock_.Now())).cancelled, 1);
  // Not a recipient of this store at all.
  queue_->Publish(MessageQueueName("sms"), {{"r999999", MessageItemBody(999999), 0}, {"junk", "not json", 0}});
  StartEngine();
  ExpectStatus(ids[0], "sent");
  ExpectStatus(ids[2], "sent");
  EXPECT_TRUE(herald::testing::WaitFor([&] { return Depth() == 0; }, seconds(5))) << Depth();
  const auto counts = SentCounts();
  EXPECT_EQ(counts.at("r" + std::to_string(first)), 1);
  EXPECT_FALSE(counts.contains("r" + std::to_string(RecipientOf(ids[1]).id)));
  EXPECT_EQ(counts.size(), 2u);
  EXPECT_EQ(lane_->stale(), 4);
  EXPECT_EQ(RecipientOf(ids[1]).status, "cancelled");
}

// The store down just as items were taken (a PostgreSQL restart): they go back
// to the queue rather than sit unacknowledged in a worker that lives on.
TEST_F(QueuedMessageLaneTest, ItemsTakenWhileTheStoreCannotBeReadGoBackToTheQueue) {
  const auto ids = Accept(3);
  ASSERT_EQ(relay_->RelayOnce(), 3);
  store::sqlite::Database other(path_);
  other.Execute("ALTER TABLE message_recipients RENAME TO message_recipients_away");
  EXPECT_ANY_THROW(lane_->Take(10));
  other.Execute("ALTER TABLE message_recipients_away RENAME TO message_recipients");
  EXPECT_EQ(Depth(), 1) << "handed back (the three in one item), not held";
  StartEngine();
  for (const auto id : ids) ExpectStatus(id, "sent");
  EXPECT_EQ(SentCounts().size(), 3u);
}

// A queue whose acknowledgements fail while `failing` (a broker going down).
class FailingAcks final : public queue::Queue {
 public:
  explicit FailingAcks(queue::Queue& inner) : inner_(inner) {}
  void EnsureLane(const std::string& lane) override { inner_.EnsureLane(lane); }
  queue::RemovedLane RemoveLane(const std::string& lane) override { return inner_.RemoveLane(lane); }
  void Publish(const std::string& lane, const std::vector<queue::OutgoingItem>& items) override {
    inner_.Publish(lane, items);
  }
  std::vector<queue::Lease> Take(const std::string& lane, int max_items, std::chrono::milliseconds wait) override {
    return inner_.Take(lane, max_items, wait);
  }
  void Ack(const std::vector<queue::Lease>& leases) override {
    if (failing) throw std::runtime_error("connection reset by peer");
    inner_.Ack(leases);
  }
  void Retry(const queue::Lease& lease, std::chrono::milliseconds delay) override { inner_.Retry(lease, delay); }
  void DeadLetter(const queue::Lease& lease, const std::string& reason) override { inner_.DeadLetter(lease, reason); }
  std::int64_t Depth(const std::string& lane) override { return inner_.Depth(lane); }
  bool failing = true;

 private:
  queue::Queue& inner_;
};

// A store whose next commit with claims goes through but whose answer is lost
// (the connection broke after COMMIT): the caller sees an error.
class LostCommitAnswer final : public store::MessageDeliveryStore {
 public:
  explicit LostCommitAnswer(store::MessageDeliveryStore& inner) : inner_(inner) {}
  std::vector<store::ClaimedDelivery> TakeDue(const std::string& lane, store::TakeOrder order, int max,
                                              std::int64_t now_ms, const std::set<std::int64_t>& held) override {
    return inner_.TakeDue(lane, order, max, now_ms, held);
  }
  std::vector<bool> RecordAndClaimMany(const std::vector<store::DeliveryResult>& finished,
                                       const std::vector<std::int64_t>& claims, std::int64_t now_ms,
                                       const std::optional<store::LaneSchedule>& schedule) override {
    auto claimed = inner_.RecordAndClaimMany(finished, claims, now_ms, schedule);
    if (!claims.empty() && lose_next_answer.exchange(false)) {
      throw std::runtime_error("server closed the connection unexpectedly");
    }
    return claimed;
  }
  std::optional<std::int64_t> NextDueAt(const std::string& lane) override { return inner_.NextDueAt(lane); }
  bool HasOpen(const std::string& lane) override { return inner_.HasOpen(lane); }
  const std::string& claimant() const override { return inner_.claimant(); }
  void Heartbeat(std::int64_t now_ms) override { inner_.Heartbeat(now_ms); }
  std::int64_t ResolveAbandoned(std::int64_t now_ms, std::int64_t alive_since_ms) override {
    return inner_.ResolveAbandoned(now_ms, alive_since_ms);
  }
  std::vector<store::UnpublishedDelivery> TakeUnpublished(int max, std::int64_t now_ms) override {
    return inner_.TakeUnpublished(max, now_ms);
  }
  void MarkPublished(const std::vector<store::UnpublishedDelivery>& published) override {
    inner_.MarkPublished(published);
  }
  std::int64_t ForgetPublished(const std::string& lane, std::int64_t due_before_ms) override {
    return inner_.ForgetPublished(lane, due_before_ms);
  }
  std::vector<store::ClaimedDelivery> LoadDeliveries(const std::vector<std::int64_t>& ids) override {
    return inner_.LoadDeliveries(ids);
  }
  store::LaneSchedule LoadSchedule() override { return inner_.LoadSchedule(); }
  void SaveSchedule(const store::LaneSchedule& schedule, std::int64_t now_ms) override {
    inner_.SaveSchedule(schedule, now_ms);
  }
  std::atomic<bool> lose_next_answer{true};

 private:
  store::MessageDeliveryStore& inner_;
};

// The claims' commit went through but its answer was lost: the engine asks for
// the same claims again and gets them, so each recipient is sent, once (they
// were left "sending" under a live process, never sent, before).
TEST_F(QueuedMessageLaneTest, ClaimsWhoseCommitAnswerWasLostAreSentOnce) {
  LostCommitAnswer store(stores_->deliveries());
  lane_ = std::make_unique<MessageLane>(store, *queue_, "sms", mime::Mailbox{}, clock_);
  const auto ids = Accept(3);
  ASSERT_EQ(relay_->RelayOnce(), 3);
  StartEngine();
  for (const auto id : ids) ExpectStatus(id, "sent");
  EXPECT_FALSE(store.lose_next_answer);
  const auto counts = SentCounts();
  EXPECT_EQ(counts.size(), 3u);
  for (const auto& [id, count] : counts) EXPECT_EQ(count, 1) << id;
  for (const auto id : ids) EXPECT_EQ(RecipientOf(id).attempts, 1);
  engine_->Stop();
  engine_.reset();
}

// The broker fails while a copy not to send is acknowledged: what the lane did
// take still goes on (thrown away, it would stay held as taken, and every later
// copy of it would be skipped as a second copy for good).
TEST_F(QueuedMessageLaneTest, AFailedAcknowledgementOfACopyNotToSendLosesNothingTaken) {
  const auto ids = Accept(2);
  ASSERT_EQ(relay_->RelayOnce(), 2);
  ASSERT_EQ(stores_->messages().CancelMessage(ids[1], ToUnixMillis(clock_.Now())).cancelled, 1);
  FailingAcks failing(*queue_);
  MessageLane lane(stores_->deliveries(), failing, "sms", mime::Mailbox{}, clock_);
  std::vector<std::shared_ptr<WorkItem>> taken;
  EXPECT_NO_THROW(taken = lane.Take(10));
  ASSERT_EQ(taken.size(), 1u);
  EXPECT_EQ(taken[0]->delivery_id, "r" + std::to_string(RecipientOf(ids[0]).id));
}

// The broker fails while an outcome is acknowledged: the lane no longer holds
// the recipient, so a copy the broker hands over again is taken (the claim
// decides), not skipped as a second copy and dropped.
TEST_F(QueuedMessageLaneTest, AFailedSettlementLeavesNothingHeld) {
  const auto ids = Accept(1);
  ASSERT_EQ(relay_->RelayOnce(), 1);
  FailingAcks failing(*queue_);
  MessageLane lane(stores_->deliveries(), failing, "sms", mime::Mailbox{}, clock_);
  const auto taken = lane.Take(10);
  ASSERT_EQ(taken.size(), 1u);
  Finished sent;
  sent.item = taken[0];
  sent.decision.status = domain::DeliveryStatus::kSent;
  const std::vector<Finished> finished = {sent};
  EXPECT_ANY_THROW(lane.Settle(finished));

  failing.failing = false;
  clock_.Advance(seconds(61));  // the unacknowledged item's lease runs out: the queue hands it out again
  const auto again = lane.Take(10);
  ASSERT_EQ(again.size(), 1u) << "the copy handed over again is taken";
  EXPECT_EQ(again[0]->delivery_id, taken[0]->delivery_id);
  EXPECT_EQ(RecipientOf(ids[0]).status, "queued");
}

// Published, then lost between the broker and the workers: with nothing left in
// the broker, what is still queued well after its time is published again.
TEST_F(QueuedMessageLaneTest, RecipientsTheBrokerLostArePublishedAgainOnceOverdue) {
  const auto ids = Accept(3);
  ASSERT_EQ(relay_->RelayOnce(), 3);
  const auto lost = queue_->Take(MessageQueueName("sms"), 10, milliseconds(0));
  ASSERT_EQ(lost.size(), 1u) << "the three in one item";
  queue_->Ack(lost);
  ASSERT_EQ(Depth(), 0);
  EXPECT_EQ(relay_->SweepLost(), 0) << "not overdue yet";
  clock_.Advance(seconds(31));
  EXPECT_EQ(relay_->SweepLost(), 3);
  EXPECT_EQ(relay_->RelayOnce(), 3);
  StartEngine();
  for (const auto id : ids) ExpectStatus(id, "sent");
  EXPECT_EQ(SentCounts().size(), 3u);
  EXPECT_EQ(relay_->SweepLost(), 0) << "nothing queued is left to publish";
}

TEST_F(QueuedMessageLaneTest, ATransientFailureWaitsInTheQueueForItsRetryAndExhaustionIsDeadLettered) {
  channel_.Script(domain::DeliveryOutcome::Transient("451 busy"));
  const auto retried = Accept(1)[0];
  ASSERT_EQ(relay_->RelayOnce(), 1);
  StartEngine();
  EXPECT_TRUE(herald::testing::WaitFor([&] { return RecipientOf(retried).attempts == 1 &&
                                                    RecipientOf(retried).status == "queued"; },
                                       seconds(10)));
  EXPECT_TRUE(herald::testing::WaitFor([&] { return Depth() == 1; }, seconds(5))) << "back in the queue, delayed";
  EXPECT_FALSE(herald::testing::WaitFor([&] { return channel_.Count() > 1; }, milliseconds(200)))
      << "sent again before its retry time";
  clock_.Advance(seconds(10));
  ExpectStatus(retried, "sent");
  EXPECT_EQ(RecipientOf(retried).attempts, 2);
  EXPECT_EQ(relay_->RelayOnce(), 0) << "a retry is the queue's, not published again";

  // Three transient answers use up max_attempts: dead, and dead-lettered with the reason.
  for (int i = 0; i < 3; ++i) channel_.Script(domain::DeliveryOutcome::Transient("451 still busy"));
  const auto dead = Accept(1)[0];
  ASSERT_EQ(relay_->RelayOnce(), 1);
  engine_->Wake("sms");
  for (int attempt = 1; attempt < 3; ++attempt) {
    EXPECT_TRUE(herald::testing::WaitFor([&] { return RecipientOf(dead).attempts == attempt &&
                                                      RecipientOf(dead).status == "queued"; },
                                         seconds(10)));
    clock_.Advance(seconds(10));
  }
  ExpectStatus(dead, "dead");
  EXPECT_TRUE(herald::testing::WaitFor([&] { return queue_->DeadLetters(MessageQueueName("sms")).size() == 1; },
                                       seconds(5)));
  EXPECT_NE(queue_->DeadLetters(MessageQueueName("sms")).at(0).reason.find("451 still busy"), std::string::npos);
  EXPECT_EQ(Depth(), 0);
}

// One item carries several recipients: each that still needs the broker (a
// retry, a dead letter) goes back as an item of its own before the shared item
// is acknowledged; the others are done with it.
TEST_F(QueuedMessageLaneTest, RecipientsOfOneItemThatNeedTheBrokerAgainGoBackAloneAndTheItemIsAcknowledged) {
  channel_.ScriptFor("+15551001001", {domain::DeliveryOutcome::Transient("451 busy")});
  // Three answers use up max_attempts.
  channel_.ScriptFor("+15551001002", {domain::DeliveryOutcome::Transient("451 busy"),
                                      domain::DeliveryOutcome::Transient("451 busy"),
                                      domain::DeliveryOutcome::Transient("451 still busy")});
  const auto ids = Accept(4);
  ASSERT_EQ(relay_->RelayOnce(), 4);
  ASSERT_EQ(Depth(), 1);
  StartEngine();
  ExpectStatus(ids[0], "sent");
  ExpectStatus(ids[3], "sent");
  EXPECT_TRUE(herald::testing::WaitFor([&] { return RecipientOf(ids[1]).status == "queued" &&
                                                    RecipientOf(ids[1]).attempts == 1; },
                                       seconds(10)));
  EXPECT_TRUE(herald::testing::WaitFor([&] { return Depth() == 2; }, seconds(5)))
      << "the shared item acknowledged, the two retries back alone and parked: " << Depth();
  EXPECT_FALSE(herald::testing::WaitFor([&] { return channel_.Count() > 4; }, milliseconds(200)))
      << "sent again before its retry time";
  clock_.Advance(seconds(10));
  ExpectStatus(ids[1], "sent");
  EXPECT_TRUE(herald::testing::WaitFor([&] { return RecipientOf(ids[2]).attempts == 2 &&
                                                    RecipientOf(ids[2]).status == "queued"; },
                                       seconds(10)));
  clock_.Advance(seconds(10));
  ExpectStatus(ids[2], "dead");
  EXPECT_TRUE(herald::testing::WaitFor([&] { return queue_->DeadLetters(MessageQueueName("sms")).size() == 1; },
                                       seconds(5)));
  EXPECT_NE(queue_->DeadLetters(MessageQueueName("sms")).at(0).reason.find("451 still busy"), std::string::npos);
  EXPECT_TRUE(herald::testing::WaitFor([&] { return Depth() == 0; }, seconds(5))) << Depth();
  const auto counts = SentCounts();
  EXPECT_EQ(counts.at("r" + std::to_string(RecipientOf(ids[0]).id)), 1);
  EXPECT_EQ(counts.at("r" + std::to_string(RecipientOf(ids[1]).id)), 2);
  EXPECT_EQ(counts.at("r" + std::to_string(RecipientOf(ids[2]).id)), 3);
  EXPECT_EQ(counts.at("r" + std::to_string(RecipientOf(ids[3]).id)), 1);
}

TEST_F(QueuedMessageLaneTest, AnItemRedeliveredBeforeItsRowIsDueWaitsForTheRowsTime) {
  // The outcome "retry at T" is stored but the process died before the item was
  // put back: the queue hands it out again at once.
  const auto id = Accept(1)[0];
  const auto recipient = RecipientOf(id).id;
  ASSERT_EQ(relay_->RelayOnce(), 1);
  auto& deliveries = stores_->deliveries();
  const auto now = ToUnixMillis(clock_.Now());
  ASSERT_EQ(deliveries.RecordAndClaimMany({}, {recipient}, now, std::nullopt), std::vector<bool>{true});
  deliveries.RecordAndClaimMany({{recipient, "queued", "", "451 busy", now + 30000}}, {}, now, std::nullopt);
  StartEngine();
  EXPECT_FALSE(herald::testing::WaitFor([&] { return channel_.Count() > 0; }, milliseconds(200)));
  EXPECT_EQ(Depth(), 1) << "put back with a delay";
  clock_.Advance(seconds(30));
  ExpectStatus(id, "sent");
  EXPECT_EQ(channel_.Count(), 1u);
}

TEST_F(QueuedMessageLaneTest, TheRelayPublishesInTheBackgroundWhenWokenAndScheduledWorkWhenItIsDue) {
  StartEngine();
  relay_->Start();
  const auto now = Accept(5);
  relay_->Wake();
  for (const auto id : now) ExpectStatus(id, "sent");
  const auto later = Accept(2, ToUnixMillis(clock_.Now() + seconds(60)));
  relay_->Wake();
  EXPECT_FALSE(herald::testing::WaitFor([&] { return channel_.Count() > 5; }, milliseconds(300)));
  EXPECT_EQ(Depth(), 0) << "not handed over before it is due";
  clock_.Advance(seconds(60));
  for (const auto id : later) ExpectStatus(id, "sent");
  EXPECT_EQ(relay_->published(), 7);
  EXPECT_EQ(relay_->last_error(), "");
}

TEST_F(QueuedMessageLaneTest, ALaneTheBrokerLostIsPublishedAgainAtStartAndSentOnce) {
  const auto ids = Accept(4);
  ASSERT_EQ(relay_->RelayOnce(), 4);
  // The broker's copy is gone (a purged queue, a broker rebuilt without its data).
  queue_->RemoveLane(MessageQueueName("sms"));
  EXPECT_EQ(relay_->RelayOnce(), 0);
  relay_->Start();
  EXPECT_TRUE(herald::testing::WaitFor([&] { return Depth() == 1; }, seconds(5))) << Depth();
  StartEngine();
  for (const auto id : ids) ExpectStatus(id, "sent");
  EXPECT_EQ(channel_.Count(), 4u);
}

}  // namespace
}  // namespace herald::dispatch
