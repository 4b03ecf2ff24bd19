// Seed 002's fast path from Redis: another service LPUSHes e-mail jobs as JSON
// onto the list `email-jobs`; `herald serve` (SQLite, redis.url set) takes
// them, stores the valid ones as messages, pushes the others onto
// `email-jobs.invalid` with the reason, and delivers each job once, even when
// it is SIGKILLed while it takes them and a job is pushed twice under one
// idempotency_key. Real redis-server on loopback.
#include <iostream>

#include "redis/redis_client.hpp"
#include "redis/redis_list_queue.hpp"
#include "tests/e2e/email_jobs_fixture.hpp"
#include "tests/support/redis_server.hpp"

namespace herald::testing {
namespace {

class EmailJobsRedisE2E : public EmailJobsFixture {
 protected:
  void SetUp() override {
    EmailJobsFixture::SetUp();
    extra_env_["HERALD_REDIS_URL"] = redis_.url();
    // The bound on unknown sends per kill: the sends in flight.
    extra_env_["HERALD_SERVE_MAX_IN_FLIGHT"] = "16";
    client_ = std::make_unique<redis::RedisClient>(*redis::ParseRedisUrl(redis_.url()));
  }

  RedisServer redis_;
  std::unique_ptr<redis::RedisClient> client_;
};

TEST_F(EmailJobsRedisE2E, JobsFromTheListAreStoredOnceDeliveredAndTheInvalidOnesPushedWithTheirReason) {
  StartServer();
  const auto admin = CreateKey("booking system", "admin");
  const auto owner = CreateWelcomeTemplate(admin);
  ASSERT_EQ(StopServer(), 0);

  // 2,000 jobs, oldest pushed first; the first 50 name an idempotency_key and
  // are pushed twice (a publisher retrying), and four cannot be messages.
  constexpr int kJobs = 2000;
  redis::RedisClient::Command push{"LPUSH", "email-jobs"};
  for (int n = 0; n < kJobs; ++n) {
    auto job = Job(n);
    if (n < 50) job["idempotency_key"] = "booking-" + std::to_string(n);
    push.push_back(job.dump());
  }
  for (int n = 0; n < 50; ++n) {
    auto again = Job(n);
    again["idempotency_key"] = "booking-" + std::to_string(n);
    push.push_back(again.dump());
  }
  push.push_back("{not json");
  push.push_back(Job(1, "no_such_template").dump());
  push.push_back(json{{"type", "x"}, {"template_id", 1}}.dump());
  push.push_back(R"({"type": "x", "recipient_email": "a@example.org", "template_id": 1, "cc": "b"})");
  client_->Run(push);

  // A consumer took the 20 oldest and died before storing them: they sit in
  // its taken list, with no lease; herald serve takes them again.
  {
    redis::RedisListQueue dying(*client_, {.plain_lanes = {"email-jobs"}});
    ASSERT_EQ(dying.Take("email-jobs", 20, seconds(1)).size(), 20u);
    client_->Run({"RENAME", "email-jobs:herald:taken:" + dying.consumer_id(), "email-jobs:herald:taken:ghost"});
  }

  // herald serve takes jobs and is killed while it does; restarted, it finishes
  // them, the dead process's taken jobs included once their lease runs out.
  extra_env_["HERALD_EMAIL_JOBS_OWNER_KEY_ID"] = std::to_string(owner);
  StartServer();
  ASSERT_TRUE(WaitFor([&] { return Count(admin, "channel=email") > 200; }, seconds(60))) << ReadFile(dir_.path() + "/serve.log");
  KillServer();
  std::int64_t held_at_kill = 0;
  for (const auto& key : client_->Run({"KEYS", "email-jobs:herald:taken:*"}).elements) {
    held_at_kill += client_->Run({"LLEN", key.text}).integer;
  }
  std::cout << "jobs held by the killed process: " << held_at_kill << "\n";
  const auto log_before_kill = ReadFile(dir_.path() + "/serve.log");
  StartServer();

  ASSERT_TRUE(WaitFor([&] { return Count(admin, "channel=email") >= kJobs; }, seconds(90)))
      << Count(admin, "channel=email") << "\n" << ReadFile(dir_.path() + "/serve.log");
  ASSERT_TRUE(WaitFor([&] { return Count(admin, "status=sent") + Count(admin, "status=unknown") == kJobs; }, seconds(90)))
      << Count(admin, "status=sent") << " sent\n" << ReadFile(dir_.path() + "/serve.log");
  // What the killed process held (stored or not) is taken again once its lease
  // is over, and adds no message.
  const auto held = [&] {
    std::int64_t jobs = client_->Run({"LLEN", "email-jobs:herald:recovered"}).integer;
    for (const auto& key : client_->Run({"KEYS", "email-jobs:herald:taken:*"}).elements) {
      jobs += client_->Run({"LLEN", key.text}).integer;
    }
    return jobs;
  };
  ASSERT_TRUE(WaitFor([&] { return held() == 0; }, seconds(45))) << held() << " jobs still held";
  std::this_thread::sleep_for(milliseconds(500));
  ExpectOneMessagePerJob(admin, kJobs, data_dir_ + "/outbox");

  // The four refusals are plain JSON on email-jobs.invalid, each with its job and reason.
  std::map<std::string, std::string> reason_of_job;
  for (int i = 0; i < 4; ++i) {
    const auto item = client_->Run({"RPOP", "email-jobs.invalid"});
    ASSERT_EQ(item.type, redis::Reply::Type::kString) << "refusal " << i;
    const auto parked = json::parse(item.text);
    EXPECT_TRUE(parked.contains("received_at")) << item.text;
    reason_of_job[parked.value("job", "")] = parked.value("reason", "");
  }
  EXPECT_EQ(client_->Run({"LLEN", "email-jobs.invalid"}).integer, 0) << "each refusal pushed once";
  EXPECT_NE(reason_of_job["{not json"].find("JSON"), std::string::npos);
  EXPECT_NE(reason_of_job[Job(1, "no_such_template").dump()].find("no template is named \"no_such_template\""),
            std::string::npos);
  EXPECT_NE(reason_of_job[R"({"type": "x", "recipient_email": "a@example.org", "template_id": 1, "cc": "b"})"].find(
                "cc: is not a field"),
            std::string::npos);

  EXPECT_EQ(client_->Run({"LLEN", "email-jobs"}).integer, 0);
  EXPECT_EQ(client_->Run({"EXISTS", "email-jobs:herald:taken:ghost"}).integer, 0) << "the dead consumer's jobs were taken";
  EXPECT_NE((log_before_kill + ReadFile(dir_.path() + "/serve.log")).find("consumer ghost, gone without acknowledging them"),
            std::string::npos);

  const auto health = json::parse(HttpRequest("GET", Url("/health"), {}, {}).body);
  EXPECT_EQ(health["email_jobs"]["status"], "ok") << health.dump();
  EXPECT_EQ(health["email_jobs"]["sources"], json::array({"redis"})) << health.dump();
}

}  // namespace
}  // namespace herald::testing
