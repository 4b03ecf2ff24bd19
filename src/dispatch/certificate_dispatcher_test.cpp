#include "dispatch/certificate_dispatcher.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <deque>
#include <filesystem>
#include <mutex>
#include <thread>

#include "queue/embedded/embedded_queue.hpp"
#include "store/sqlite/sqlite_certificate_store.hpp"
#include "common/io_runtime.hpp"
#include "tests/support/process.hpp"

namespace herald::dispatch {
namespace {

using domain::DeliveryOutcome;
using domain::DeliveryStatus;

// Answers each Send with the next scripted outcome (then Accepted), and records
// what was sent. Real SMTP servers are exercised in the e2e tests; this double
// lets the dispatcher's state machine be checked outcome by outcome.
class ScriptedTransport final : public channels::Channel {
 public:
  boost::asio::awaitable<std::vector<DeliveryOutcome>> Send(std::span<const channels::RenderedMessage> messages,
                                                            channels::Deadline) override {
    std::vector<DeliveryOutcome> outcomes;
    for (const auto& message : messages) outcomes.push_back(SendOne(message));
    co_return outcomes;
  }
  channels::ChannelLimits Limits() const override { return {}; }
  DeliveryOutcome SendOne(const channels::RenderedMessage& email) {
    std::lock_guard lock(mutex_);
    sent_to_.push_back(email.to);
    auto& script = scripts_[email.to];
    if (script.empty()) return DeliveryOutcome::Accepted("queue-id-" + std::to_string(sent_to_.size()));
    auto outcome = script.front();
    script.pop_front();
    return outcome;
  }
  std::string Describe() const override { return "scripted"; }

  void Script(const std::string& recipient, std::deque<DeliveryOutcome> outcomes) {
    scripts_[recipient] = std::move(outcomes);
  }
  int SendsTo(const std::string& recipient) {
    std::lock_guard lock(mutex_);
    return static_cast<int>(std::count(sent_to_.begin(), sent_to_.end(), recipient));
  }

 private:
  std::mutex mutex_;
  std::vector<std::string> sent_to_;
  std::map<std::string, std::deque<DeliveryOutcome>> scripts_;
};

// Ends a run started on its own thread however the test leaves its scope, so a
// failed expectation is reported instead of hanging in join (or terminating on a
// still-joinable thread after a failed ASSERT).
class StopAndJoin {
 public:
  StopAndJoin(std::atomic<bool>& stop, std::thread& thread) : stop_(stop), thread_(thread) {}
  ~StopAndJoin() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  StopAndJoin(const StopAndJoin&) = delete;
  StopAndJoin& operator=(const StopAndJoin&) = delete;

 private:
  std::atomic<bool>& stop_;
  std::thread& thread_;
};

templating::Template Parse(const std::string& text) { return templating::Template::Parse(text, "test").value(); }

class CertificateDispatcherTest : public ::testing::Test {
 protected:
  CertificateDispatcherTest()
      : store_(dir_.path() + "/herald.db", clock_),
        queue_(dir_.path() + "/herald.db", clock_),
        composer_({Parse("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"200\" height=\"100\">"
                         "<text x=\"10\" y=\"50\" font-family=\"DejaVu Sans\">{{student_name}}</text></svg>"),
                   Parse("Certificate for {{event_name}}"), Parse("Hello {{student_name}}")},
                  mime::Mailbox{"Events", "events@example.org"}, renderer_, clock_) {}

  CertificateDispatcher MakeDispatcher(int max_attempts = 3) {
    return CertificateDispatcher(store_, queue_, transport_, runtime_, composer_, clock_,
                                 {.out_dir = dir_.path() + "/out",
                                  .retry = {.max_attempts = max_attempts,
                                            .base_delay = std::chrono::milliseconds(0),
                                            .max_delay = std::chrono::milliseconds(0),
                                            .jitter = 0},
                                  .idle_poll = std::chrono::milliseconds(20)});
  }

  std::vector<store::CertificateDelivery> Plan(const std::string& slug, int count) {
    std::vector<store::CertificateDelivery> rows;
    for (int i = 0; i < count; ++i) {
      store::CertificateDelivery row;
      row.id = slug + "-" + std::to_string(i);
      row.certificate_id = "CERT-" + std::to_string(i);
      row.event_name = "Event " + slug;
      row.event_slug = slug;
      row.student_name = "Student " + std::to_string(i);
      row.email = "s" + std::to_string(i) + "@" + slug + ".example.org";
      row.variables_json = R"({"student_name":"Student )" + std::to_string(i) + R"(","event_name":"Event )" + slug +
                           R"("})";
      row.csv_line = i + 2;
      rows.push_back(row);
    }
    return rows;
  }

  DeliveryRun RunAll(CertificateDispatcher& dispatcher, const std::vector<ActiveEvent>& active) {
    std::atomic<bool> stop{false};
    return dispatcher.Deliver(active, "run-1", stop, {});
  }

  IoRuntime runtime_;
  herald::testing::TempDir dir_;
  ManualClock clock_;
  store::sqlite::SqliteCertificateStore store_;
  queue::embedded::EmbeddedQueue queue_;
  certificates::InProcessPdfRenderer renderer_;
  certificates::CertificateComposer composer_;
  ScriptedTransport transport_;
};

TEST_F(CertificateDispatcherTest, DeliversEveryPlannedRowOnceAndSavesItsPdf) {
  auto dispatcher = MakeDispatcher();
  const std::vector<ActiveEvent> active{{"Event a", "a"}, {"Event b", "b"}};
  dispatcher.SyncLanes(active);
  auto plan = Plan("a", 5);
  auto plan_b = Plan("b", 3);
  plan.insert(plan.end(), plan_b.begin(), plan_b.end());
  const auto [inserted, published] = dispatcher.Enqueue(plan, active);
  EXPECT_EQ(inserted, 8);
  EXPECT_EQ(published, 8);
  const auto run = RunAll(dispatcher, active);
  EXPECT_EQ(run.per_event.at("a").sent, 5);
  EXPECT_EQ(run.per_event.at("b").sent, 3);
  for (const auto& row : plan) {
    EXPECT_EQ(transport_.SendsTo(row.email), 1);
    const auto stored = store_.Get(row.id);
    EXPECT_EQ(stored->status, DeliveryStatus::kSent);
    EXPECT_TRUE(std::filesystem::exists(stored->pdf_path)) << stored->pdf_path;
    EXPECT_EQ(stored->pdf_path.rfind(dir_.path() + "/out/" + row.event_slug + "/", 0), 0u);
  }
  EXPECT_EQ(queue_.Depth(CertificateQueueName("a")), 0);

  // The same plan again: nothing new stored, published or sent.
  const auto [inserted_again, published_again] = dispatcher.Enqueue(plan, active);
  EXPECT_EQ(inserted_again, 0);
  EXPECT_EQ(published_again, 0);
  EXPECT_TRUE(RunAll(dispatcher, active).per_event.empty());
}

TEST_F(CertificateDispatcherTest, TransientFailuresRetryThenSucceed) {
  auto dispatcher = MakeDispatcher(3);
  const std::vector<ActiveEvent> active{{"Event a", "a"}};
  dispatcher.SyncLanes(active);
  const auto plan = Plan("a", 2);
  transport_.Script(plan[0].email, {DeliveryOutcome::Transient("451 busy", 451), DeliveryOutcome::Transient("451", 451)});
  dispatcher.Enqueue(plan, active);
  const auto run = RunAll(dispatcher, active);
  EXPECT_EQ(run.per_event.at("a").retried, 2);
  EXPECT_EQ(run.per_event.at("a").sent, 2);
  EXPECT_EQ(transport_.SendsTo(plan[0].email), 3);
  EXPECT_EQ(store_.Get(plan[0].id)->attempts, 3);
  EXPECT_EQ(store_.Get(plan[0].id)->status, DeliveryStatus::kSent);
  // Each certificate was rendered once: the retries attached the PDF saved by the first attempt.
  EXPECT_EQ(run.per_event.at("a").rendered, 2);
}

TEST_F(CertificateDispatcherTest, ADeliveryThatCannotBeRenderedFailsWithItsReasonAndTheEventGoesOn) {
  auto dispatcher = MakeDispatcher();
  const std::vector<ActiveEvent> active{{"Event a", "a"}};
  dispatcher.SyncLanes(active);
  auto plan = Plan("a", 3);
  plan[1].email = "bad\r\nBcc: x@example.org";  // a header the MIME writer refuses
  dispatcher.Enqueue(plan, active);
  const auto run = RunAll(dispatcher, active);
  EXPECT_EQ(run.per_event.at("a").sent, 2);
  EXPECT_EQ(run.per_event.at("a").failed, 1);
  const auto stored = store_.Get(plan[1].id);
  EXPECT_EQ(stored->status, DeliveryStatus::kFailed);
  EXPECT_EQ(stored->last_error.rfind("render: ", 0), 0u) << stored->last_error;
  EXPECT_EQ(stored->attempts, 0);  // never claimed, never sent
  EXPECT_EQ(queue_.Depth(CertificateQueueName("a")), 0);
}

TEST_F(CertificateDispatcherTest, ARetryWaitsForItsBackoffOnTheInjectedClock) {
  auto dispatcher = CertificateDispatcher(store_, queue_, transport_, runtime_, composer_, clock_,
                                          {.out_dir = dir_.path() + "/out",
                                           .retry = {.max_attempts = 3,
                                                     .base_delay = std::chrono::milliseconds(60000),
                                                     .max_delay = std::chrono::milliseconds(600000),
                                                     .jitter = 0},
                                           .idle_poll = std::chrono::milliseconds(20)});
  const std::vector<ActiveEvent> active{{"Event a", "a"}};
  dispatcher.SyncLanes(active);
  const auto plan = Plan("a", 1);
  transport_.Script(plan[0].email, {DeliveryOutcome::Transient("421 busy", 421)});
  dispatcher.Enqueue(plan, active);
  std::atomic<bool> stop{false};
  std::atomic<bool> finished{false};
  std::thread run([&] {
    dispatcher.Deliver(active, "run-1", stop, {});
    finished = true;
  });
  const StopAndJoin stop_run(stop, run);
  // The backoff is counted from when the worker hands the item back to its lane,
  // which is after the failed send has been recorded, not from the moment Send
  // returns. Move the clock only once the retry is parked in the lane (queued and
  // not leased); moving it earlier pushes the retry's due time out by the same step.
  ASSERT_TRUE(herald::testing::WaitFor(
      [&] { return transport_.SendsTo(plan[0].email) == 1 && queue_.Depth(CertificateQueueName("a")) == 1; },
      std::chrono::seconds(10)));
  // 59 s later by the clock the retry is still parked...
  clock_.Advance(std::chrono::milliseconds(59000));
  EXPECT_FALSE(herald::testing::WaitFor([&] { return transport_.SendsTo(plan[0].email) > 1; },
                                        std::chrono::milliseconds(300)));
  EXPECT_EQ(store_.Get(plan[0].id)->status, DeliveryStatus::kQueued);
  // ...and at 60 s it goes out, after which nothing is open and the run ends by itself.
  clock_.Advance(std::chrono::milliseconds(1000));
  EXPECT_TRUE(herald::testing::WaitFor([&] { return transport_.SendsTo(plan[0].email) == 2; }, std::chrono::seconds(10)));
  EXPECT_TRUE(herald::testing::WaitFor([&] { return finished.load(); }, std::chrono::seconds(10)));
  EXPECT_EQ(store_.Get(plan[0].id)->status, DeliveryStatus::kSent);
}

TEST_F(CertificateDispatcherTest, RetriesStopAtMaxAttemptsAndTheMessageIsDeadLettered) {
  auto dispatcher = MakeDispatcher(2);
  const std::vector<ActiveEvent> active{{"Event a", "a"}};
  dispatcher.SyncLanes(active);
  const auto plan = Plan("a", 1);
  transport_.Script(plan[0].email, {DeliveryOutcome::Transient("421", 421), DeliveryOutcome::Transient("421", 421),
                                    DeliveryOutcome::Transient("421", 421)});
  dispatcher.Enqueue(plan, active);
  const auto run = RunAll(dispatcher, active);
  EXPECT_EQ(run.per_event.at("a").dead, 1);
  EXPECT_EQ(transport_.SendsTo(plan[0].email), 2);
  const auto stored = store_.Get(plan[0].id);
  EXPECT_EQ(stored->status, DeliveryStatus::kDead);
  EXPECT_NE(stored->last_error.find("gave up after 2 attempts"), std::string::npos);
}

TEST_F(CertificateDispatcherTest, PermanentAndUnknownOutcomesAreFinalAndNotResent) {
  auto dispatcher = MakeDispatcher();
  const std::vector<ActiveEvent> active{{"Event a", "a"}};
  dispatcher.SyncLanes(active);
  const auto plan = Plan("a", 3);
  transport_.Script(plan[0].email, {DeliveryOutcome::Permanent("550 no such user", 550)});
  transport_.Script(plan[1].email, {DeliveryOutcome::Unknown("connection lost after DATA")});
  dispatcher.Enqueue(plan, active);
  const auto run = RunAll(dispatcher, active);
  EXPECT_EQ(run.per_event.at("a").failed, 1);
  EXPECT_EQ(run.per_event.at("a").unknown, 1);
  EXPECT_EQ(run.per_event.at("a").sent, 1);
  EXPECT_EQ(store_.Get(plan[0].id)->status, DeliveryStatus::kFailed);
  EXPECT_EQ(store_.Get(plan[0].id)->last_error, "550 no such user");
  EXPECT_EQ(store_.Get(plan[1].id)->status, DeliveryStatus::kUnknown);
  RunAll(dispatcher, active);
  EXPECT_EQ(transport_.SendsTo(plan[0].email), 1);
  EXPECT_EQ(transport_.SendsTo(plan[1].email), 1);
}

TEST_F(CertificateDispatcherTest, ASecondCopyOfAQueueItemIsSkippedNotResent) {
  auto dispatcher = MakeDispatcher();
  const std::vector<ActiveEvent> active{{"Event a", "a"}};
  dispatcher.SyncLanes(active);
  const auto plan = Plan("a", 1);
  dispatcher.Enqueue(plan, active);
  // A broker may hold two copies of one delivery (published again after a crash
  // between publish and its record); only the first may reach the recipient.
  queue_.Publish(CertificateQueueName("a"), {{plan[0].id + "-copy", R"({"delivery_id":")" + plan[0].id + R"("})", 0}});
  const auto run = RunAll(dispatcher, active);
  EXPECT_EQ(run.per_event.at("a").sent, 1);
  EXPECT_EQ(run.per_event.at("a").skipped, 1);
  EXPECT_EQ(transport_.SendsTo(plan[0].email), 1);
  EXPECT_EQ(queue_.Depth(CertificateQueueName("a")), 0);
}

TEST_F(CertificateDispatcherTest, RemovedEventsLoseTheirLaneAndQueuedRowsAreCancelled) {
  auto dispatcher = MakeDispatcher();
  const std::vector<ActiveEvent> both{{"Event a", "a"}, {"Event gone", "gone"}};
  dispatcher.SyncLanes(both);
  dispatcher.Enqueue(Plan("gone", 4), both);
  const std::vector<ActiveEvent> only_a{{"Event a", "a"}};
  const auto sync = dispatcher.SyncLanes(only_a);
  ASSERT_EQ(sync.removed.size(), 1u);
  EXPECT_EQ(sync.removed[0].slug, "gone");
  EXPECT_EQ(sync.removed[0].cancelled, 4);
  EXPECT_EQ(store_.Get("gone-0")->status, DeliveryStatus::kCancelled);
  EXPECT_EQ(store_.Lanes().size(), 1u);
  EXPECT_TRUE(RunAll(dispatcher, only_a).per_event.empty());
  EXPECT_EQ(transport_.SendsTo("s0@gone.example.org"), 0);
}

TEST_F(CertificateDispatcherTest, AnEventListedAgainGetsItsCancelledCertificatesSent) {
  auto dispatcher = MakeDispatcher();
  const std::vector<ActiveEvent> both{{"Event a", "a"}, {"Event b", "b"}};
  dispatcher.SyncLanes(both);
  const auto plan = Plan("b", 2);
  dispatcher.Enqueue(plan, both);
  dispatcher.SyncLanes({{"Event a", "a"}});
  EXPECT_EQ(store_.Get(plan[0].id)->status, DeliveryStatus::kCancelled);
  dispatcher.SyncLanes(both);
  dispatcher.Enqueue(plan, both);
  const auto run = RunAll(dispatcher, both);
  EXPECT_EQ(run.per_event.at("b").sent, 2);
  EXPECT_EQ(transport_.SendsTo(plan[0].email), 1);
}

TEST_F(CertificateDispatcherTest, StopFlagEndsTheRunLeavingTheRestQueued) {
  auto dispatcher = MakeDispatcher();
  const std::vector<ActiveEvent> active{{"Event a", "a"}};
  dispatcher.SyncLanes(active);
  dispatcher.Enqueue(Plan("a", 20), active);
  std::atomic<bool> stop{true};
  const auto run = dispatcher.Deliver(active, "run-1", stop, {});
  EXPECT_TRUE(run.interrupted);
  EXPECT_EQ(store_.OpenCount("a"), 20);
}

}  // namespace
}  // namespace herald::dispatch
