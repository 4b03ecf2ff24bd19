// Seed 002's fast path end to end: another service publishes e-mail jobs as
// JSON to RabbitMQ's durable queue `email-jobs`; `herald worker` processes
// (lane email-jobs) validate them, store the valid ones as messages, park the
// others in `email-jobs.invalid` with the reason, and the e-mail lane delivers
// them - each job once, even when the publisher sends one twice and a worker
// is SIGKILLed while it takes jobs. Real PostgreSQL and RabbitMQ on loopback.
#include "queue/rabbitmq/rabbitmq_queue.hpp"
#include "queue/rabbitmq/rabbitmq_settings.hpp"
#include "tests/e2e/email_jobs_fixture.hpp"
#include "tests/support/postgres_server.hpp"
#include "tests/support/rabbitmq_server.hpp"

namespace herald::testing {
namespace {

class EmailJobsE2E : public EmailJobsFixture {
 protected:
  void SetUp() override {
    EmailJobsFixture::SetUp();
    extra_env_["HERALD_STORE_KIND"] = "postgres";
    extra_env_["HERALD_STORE_URL"] = SharedPostgresServer().NewDatabaseUrl("email_jobs");
    extra_env_["HERALD_QUEUE_KIND"] = "rabbitmq";
    amqp_url_ = SharedRabbitMqServer().NewVhostUrl("email_jobs");
    extra_env_["HERALD_QUEUE_AMQP_URL"] = amqp_url_;
    // The bound on unknown sends per kill: the sends in flight.
    extra_env_["HERALD_SERVE_MAX_IN_FLIGHT"] = "16";
    const auto migrated = RunCommand({HERALD_BINARY, "migrate", "--data-dir", data_dir_}, seconds(60), Environment());
    ASSERT_EQ(migrated.exit_code, 0) << migrated.output;
    auto settings = queue::rabbitmq::ParseAmqpUrl(amqp_url_);
    ASSERT_TRUE(settings);
    publisher_ = std::make_unique<queue::rabbitmq::RabbitMqQueue>(*settings);
  }

  void TearDown() override {
    StopWorker();
    EmailJobsFixture::TearDown();
  }

  void StartApi() { StartApiProcess(server_, port_, "api.log"); }

  // Default lanes: with email_jobs.owner_key_id set they include email-jobs.
  void StartWorker() {
    worker_port_ = FreePort();
    worker_ = std::make_unique<ChildProcess>(ChildProcess::Options{
        .argv = {HERALD_BINARY, "worker", "--listen", "127.0.0.1:" + std::to_string(worker_port_), "--data-dir",
                 data_dir_ + "-worker"},
        .extra_env = Environment(),
        .stderr_path = dir_.path() + "/worker." + std::to_string(++worker_starts_) + ".log"});
  }

  void StopWorker() {
    if (!worker_) return;
    worker_->Signal(SIGTERM);
    worker_->Wait(seconds(15));
    worker_.reset();
  }

  void Publish(const std::vector<queue::OutgoingItem>& jobs) { publisher_->Publish("email-jobs", jobs); }

  std::string amqp_url_;
  std::unique_ptr<queue::rabbitmq::RabbitMqQueue> publisher_;
  int worker_starts_ = 0;
};

TEST_F(EmailJobsE2E, JobsFromTheQueueAreStoredOnceDeliveredAndTheInvalidOnesParkedWithTheirReason) {
  StartApi();
  const auto admin = CreateKey("booking system", "admin");
  const auto owner = CreateWelcomeTemplate(admin);

  // The worker refuses to start without an owner it can find.
  extra_env_["HERALD_EMAIL_JOBS_OWNER_KEY_ID"] = "9999";
  const auto refused = RunCommand(
      {"/bin/sh", "-c", std::string(HERALD_BINARY) + " worker --lanes email-jobs --data-dir " + data_dir_ + "-x 2>&1"},
      seconds(30), Environment());
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_NE(refused.output.find("no active API key with id 9999"), std::string::npos) << refused.output;
  extra_env_["HERALD_EMAIL_JOBS_OWNER_KEY_ID"] = std::to_string(owner);

  // 2,000 jobs, each published with a message id; 50 of them published twice
  // (a publisher retrying after a lost confirm), and four that cannot be messages.
  constexpr int kJobs = 2000;
  std::vector<queue::OutgoingItem> jobs;
  for (int n = 0; n < kJobs; ++n) jobs.push_back({.message_id = "booking-" + std::to_string(n), .body = Job(n).dump()});
  for (int n = 0; n < 50; ++n) jobs.push_back({.message_id = "booking-" + std::to_string(n), .body = Job(n).dump()});
  jobs.push_back({.message_id = "bad-1", .body = "{not json"});
  jobs.push_back({.message_id = "bad-2", .body = Job(1, "no_such_template").dump()});
  jobs.push_back({.message_id = "bad-3", .body = json{{"type", "x"}, {"template_id", 1}}.dump()});
  jobs.push_back({.message_id = "bad-4", .body = R"({"type": "x", "recipient_email": "a@example.org", "template_id": 1, "cc": "b"})"});
  Publish(jobs);

  // A worker takes jobs and is killed while it does; a second one finishes.
  StartWorker();
  ASSERT_TRUE(WaitFor([&] { return Count(admin, "channel=email") > 200; }, seconds(60)))
      << ReadFile(dir_.path() + "/worker.1.log");
  worker_->Signal(SIGKILL);
  worker_->Wait(seconds(10));
  worker_.reset();
  StartWorker();

  ASSERT_TRUE(WaitFor([&] { return Count(admin, "channel=email") >= kJobs; }, seconds(90)))
      << Count(admin, "channel=email") << "\n" << ReadFile(dir_.path() + "/worker.2.log");
  ASSERT_TRUE(WaitFor([&] { return Count(admin, "status=sent") + Count(admin, "status=unknown") == kJobs; }, seconds(90)))
      << Count(admin, "status=sent") << " sent\n" << ReadFile(dir_.path() + "/worker.2.log");
  std::this_thread::sleep_for(milliseconds(500));
  ExpectOneMessagePerJob(admin, kJobs, data_dir_ + "-worker/outbox");

  // The four refusals, parked with their reasons; the queue itself is empty.
  std::map<std::string, std::string> reasons;
  WaitFor(
      [&] {
        for (auto& lease : publisher_->Take("email-jobs.invalid", 10, milliseconds(200))) {
          const auto parked = json::parse(lease.body);
          reasons[lease.message_id] = parked.value("reason", "");
          EXPECT_TRUE(parked.contains("job") && parked.contains("received_at")) << lease.body;
          publisher_->Ack({lease});
        }
        return reasons.size() >= 4;
      },
      seconds(10));
  ASSERT_EQ(reasons.size(), 4u);
  EXPECT_NE(reasons["bad-1"].find("JSON"), std::string::npos) << reasons["bad-1"];
  EXPECT_NE(reasons["bad-2"].find("no template is named \"no_such_template\""), std::string::npos) << reasons["bad-2"];
  EXPECT_NE(reasons["bad-3"].find("recipient_email"), std::string::npos) << reasons["bad-3"];
  EXPECT_NE(reasons["bad-4"].find("cc: is not a field"), std::string::npos) << reasons["bad-4"];
  EXPECT_EQ(publisher_->Depth("email-jobs"), 0);

  const auto health = json::parse(HttpRequest("GET", "http://127.0.0.1:" + std::to_string(worker_port_) + "/health", {}, {}).body);
  EXPECT_EQ(health["email_jobs"]["status"], "ok") << health.dump();
  EXPECT_GE(health["email_jobs"]["stored"].get<int>() + health["email_jobs"]["invalid"].get<int>(), 1);
}

}  // namespace
}  // namespace herald::testing
