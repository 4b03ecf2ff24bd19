// Herald scaled out: one `herald api` and two `herald worker` processes on a
// private PostgreSQL server and RabbitMQ node, delivering a 20,000-recipient
// campaign to Postfix's smtp-sink while, one after another, a worker is
// SIGKILLed (three times, restarted each time), the API is SIGKILLed once
// while it hands the campaign to the broker and a client posts messages to it,
// RabbitMQ is restarted and PostgreSQL is killed and restarted. Everyone gets exactly one copy, except the sends reported unknown
// (at most one per in-flight slot per kill), and no message the API accepted
// (202) is lost.
#include <atomic>
#include <mutex>
#include <thread>

#include "tests/e2e/serve_crash_fixture.hpp"
#include "tests/support/postgres_server.hpp"
#include "tests/support/rabbitmq_server.hpp"

namespace herald::testing {
namespace {

class ScaleOutE2E : public ServeCrashE2E {
 protected:
  void TearDown() override {
    StopIntake();
    for (auto& worker : workers_) StopWorker(worker);
    ServeCrashE2E::TearDown();
  }

  void UseServers(const std::string& name) {
    database_ = name;
    extra_env_["HERALD_STORE_KIND"] = "postgres";
    extra_env_["HERALD_STORE_URL"] = SharedPostgresServer().NewDatabaseUrl(name);
    extra_env_["HERALD_QUEUE_KIND"] = "rabbitmq";
    extra_env_["HERALD_QUEUE_AMQP_URL"] = SharedRabbitMqServer().NewVhostUrl(name);
  }

  // stdout and stderr together, so the test reads what a user sees.
  CommandResult Herald(const std::string& args) {
    return RunCommand({"/bin/sh", "-c", std::string(HERALD_BINARY) + " " + args + " 2>&1"}, seconds(30),
                      Environment());
  }

  void StartApi() {
    StartApiProcess(server_, port_, "api." + std::to_string(++starts_) + ".log");
    intake_port_ = port_;
  }

  // A client posting one e-mail at a time, each with its own Idempotency-Key,
  // as fast as the API answers (10 ms apart while it does not), until
  // StopIntake(); what was answered 202 and what was not (no answer while the
  // API is down) is kept apart.
  void StartIntake(const std::string& key) {
    intake_ = std::thread([this, key] {
      for (int n = 0; !stop_intake_; ++n) {
        const bool accepted = PostIntake(key, n);
        {
          std::lock_guard lock(intake_mutex_);
          (accepted ? intake_answered_ : intake_unanswered_).insert(n);
        }
        if (!accepted) std::this_thread::sleep_for(milliseconds(10));
      }
    });
  }

  void StopIntake() {
    stop_intake_ = true;
    if (intake_.joinable()) intake_.join();
  }

  bool PostIntake(const std::string& key, int n) {
    const json body{{"recipients", {{{"channel", "email"}, {"to", "intake" + std::to_string(n) + "@example.org"}}}},
                    {"subject", "Intake"},
                    {"content", "Posted while the API may die."}};
    const auto url = "http://127.0.0.1:" + std::to_string(intake_port_.load()) + "/api/v1/messages";
    return HttpRequest("POST", url,
                       {{"X-API-Key", key}, {"Content-Type", "application/json"}, {"Idempotency-Key", "intake-" + std::to_string(n)}},
                       body.dump(), seconds(5))
               .status == 202;
  }

  int AnsweredIntake() {
    std::lock_guard lock(intake_mutex_);
    return static_cast<int>(intake_answered_.size());
  }

  void StartWorker(int index) {
    workers_.resize(std::max<std::size_t>(workers_.size(), index + 1));
    workers_[index] = std::make_unique<ChildProcess>(ChildProcess::Options{
        .argv = {HERALD_BINARY, "worker", "--lanes", "email", "--data-dir", data_dir_ + "-worker" + std::to_string(index)},
        .extra_env = Environment(),
        .stderr_path = dir_.path() + "/worker" + std::to_string(index) + "." + std::to_string(++starts_) + ".log"});
  }

  void KillWorker(int index) {
    workers_[index]->Signal(SIGKILL);
    workers_[index]->Wait(seconds(10));
    workers_[index].reset();
  }

  void ExpectIntakeDeliveredOnceEach(const std::string& key);

  static void StopWorker(std::unique_ptr<ChildProcess>& worker) {
    if (!worker) return;
    worker->Signal(SIGTERM);
    worker->Wait(seconds(15));
    worker.reset();
  }

  std::string database_;
  std::vector<std::unique_ptr<ChildProcess>> workers_;
  int starts_ = 0;
  std::thread intake_;
  std::atomic<bool> stop_intake_{false};
  std::atomic<int> intake_port_{0};
  std::mutex intake_mutex_;
  std::set<int> intake_answered_;
  std::set<int> intake_unanswered_;
};

// After the intake and the faults: every message answered 202 was stored
// (none lost to the kill); the client posts the unanswered ones again under
// their keys, and then every intake address got exactly one copy (at most one
// when its send is unknown).
void ScaleOutE2E::ExpectIntakeDeliveredOnceEach(const std::string& key) {
  ASSERT_FALSE(intake_unanswered_.empty()) << "the API was never down during the intake; the test proves nothing";
  std::set<std::string> stored;
  std::istringstream rows(SharedPostgresServer().Psql(database_, "SELECT idempotency_key FROM messages WHERE idempotency_key LIKE 'intake-%'"));
  for (std::string row; std::getline(rows, row);) stored.insert(row);
  int lost = 0;
  for (const int n : intake_answered_) lost += stored.contains("intake-" + std::to_string(n)) ? 0 : 1;
  EXPECT_EQ(lost, 0) << "messages answered 202 and not stored";
  std::cout << "intake: " << intake_answered_.size() << " answered 202, " << intake_unanswered_.size()
            << " unanswered (of which " << [&] {
                 int kept = 0;
                 for (const int n : intake_unanswered_) kept += stored.contains("intake-" + std::to_string(n));
                 return kept;
               }() << " stored all the same)\n";
  for (const int n : intake_unanswered_) EXPECT_TRUE(PostIntake(key, n)) << "intake " << n << " posted again";
  const int attempted = static_cast<int>(intake_answered_.size() + intake_unanswered_.size());
  ASSERT_TRUE(WaitFor(
      [&] {
        return SharedPostgresServer().Psql(database_,
                                           "SELECT COUNT(*) FROM message_recipients WHERE address LIKE 'intake%' AND "
                                           "status IN ('sent', 'unknown')") == std::to_string(attempted) + "\n";
      },
      seconds(120)))
      << SharedPostgresServer().Psql(database_,
                                     "SELECT status, COUNT(*) FROM message_recipients WHERE address LIKE 'intake%' GROUP BY 1");
  std::set<std::string> unknown;
  std::istringstream unknown_rows(SharedPostgresServer().Psql(
      database_, "SELECT address FROM message_recipients WHERE address LIKE 'intake%' AND status = 'unknown'"));
  for (std::string row; std::getline(unknown_rows, row);) unknown.insert(row);
  const auto received = ReceivedPerRecipient();
  int wrong = 0;
  for (int n = 0; n < attempted; ++n) {
    const auto address = "intake" + std::to_string(n) + "@example.org";
    const auto it = received.find(address);
    const int copies = it == received.end() ? 0 : it->second;
    if (unknown.contains(address) ? copies > 1 : copies != 1) {
      ++wrong;
      ADD_FAILURE() << address << ": " << copies << " copies" << (unknown.contains(address) ? " (unknown)" : "");
    }
  }
  EXPECT_EQ(wrong, 0);
}

TEST_F(ScaleOutE2E, ApiAndWorkerRefuseAStoreWhoseSchemaIsBehindAndNameHeraldMigrate) {
  UseServers("behind");
  for (const std::string& command : {"api --listen 127.0.0.1:" + std::to_string(FreePort()), std::string("worker")}) {
    const auto refused = Herald(command + " --data-dir " + data_dir_);
    EXPECT_NE(refused.exit_code, 0) << command << ": " << refused.output;
    EXPECT_NE(refused.output.find("run `herald migrate`"), std::string::npos) << command << ": " << refused.output;
  }
  EXPECT_EQ(SharedPostgresServer().Psql("behind", "SELECT to_regclass('message_recipients') IS NULL"), "t\n")
      << "neither may create the schema itself";
  const auto migrated = Herald("migrate --data-dir " + data_dir_);
  EXPECT_EQ(migrated.exit_code, 0) << migrated.output;
}

TEST_F(ScaleOutE2E, ApiAndWorkerAskForPostgresAndWorkerNamesAnUnknownLane) {
  const auto sqlite = Herald("worker --data-dir " + data_dir_);
  EXPECT_NE(sqlite.exit_code, 0) << sqlite.output;
  EXPECT_NE(sqlite.output.find("store.kind = \"postgres\""), std::string::npos) << sqlite.output;
  EXPECT_NE(sqlite.output.find("herald serve"), std::string::npos) << sqlite.output;
  UseServers("lanes");
  const auto unknown = Herald("worker --lanes email,fax --data-dir " + data_dir_);
  EXPECT_NE(unknown.exit_code, 0) << unknown.output;
  EXPECT_NE(unknown.output.find("--lanes: unknown lane \"fax\""), std::string::npos) << unknown.output;
}

// /ready is what a load balancer or Kubernetes asks: not while the broker is
// down (with the reason), again once it is back; /health stays up throughout.
TEST_F(ScaleOutE2E, ReadinessFollowsTheBrokerWhileHealthStaysUp) {
  UseServers("ready");
  ASSERT_EQ(Herald("migrate --data-dir " + data_dir_).exit_code, 0);
  StartApi();
  EXPECT_EQ(HttpRequest("GET", Url("/ready"), {}, {}).status, 200);
  // Seed 004's routing: one exchange, a routing key per channel.
  const auto bindings =
      SharedRabbitMqServer().Ctl({"list_bindings", "-p", "ready", "source_name", "destination_name", "routing_key"});
  for (const char* channel : {"sms", "email", "whatsapp", "telegram"}) {
    EXPECT_NE(bindings.find(std::string("herald.messages\therald.messages.") + channel + "\t" + channel), std::string::npos)
        << bindings;
  }
  SharedRabbitMqServer().Ctl({"stop_app"});
  HttpResponse ready;
  EXPECT_TRUE(WaitFor(
      [&] {
        ready = HttpRequest("GET", Url("/ready"), {}, {});
        return ready.status == 503;
      },
      seconds(20)))
      << ready.status << " " << ready.body;
  EXPECT_NE(ready.body.find("queue: "), std::string::npos) << ready.body;
  EXPECT_EQ(HttpRequest("GET", Url("/health"), {}, {}).status, 200);
  SharedRabbitMqServer().Ctl({"start_app"});
  SharedRabbitMqServer().Ctl({"await_startup"});
  EXPECT_TRUE(WaitFor([&] { return HttpRequest("GET", Url("/ready"), {}, {}).status == 200; }, seconds(30)));
}

TEST_F(ScaleOutE2E, TwoWorkersAndAnApiSurviveKillsAndServerRestartsAndEveryoneGetsOneCopy) {
  UseServers("faults");
  // Paced, so that every fault lands mid-campaign: unpaced, two workers send
  // the 20,000 within one broker restart.
  extra_env_["HERALD_SERVE_EMAIL_PER_SECOND"] = "500";
  StartSink();
  ASSERT_EQ(Herald("migrate --data-dir " + data_dir_).exit_code, 0);
  const auto key = CreateKey("app");
  StartWorker(0);
  StartWorker(1);
  StartApi();
  // A client posts messages throughout the campaign's send and the kill below.
  const auto intake_key = CreateKey("intake");
  StartIntake(intake_key);
  const auto campaign = SendCampaignToEveryone(key);
  if (HasFatalFailure()) return;
  ASSERT_TRUE(WaitFor([&] { return AnsweredIntake() >= 100; }, seconds(60)));
  // The API dies while its relay hands the campaign to the broker, and while
  // the client posts to it.
  Kill();
  std::this_thread::sleep_for(milliseconds(300));
  StartApi();
  const int answered_before_restart = AnsweredIntake();
  ASSERT_TRUE(WaitFor([&] { return AnsweredIntake() >= answered_before_restart + 100; }, seconds(60)));
  StopIntake();

  const std::vector<std::function<void()>> faults = {
      [&] { KillWorker(0), StartWorker(0); },
      [&] { SharedRabbitMqServer().Restart(); },
      [&] { KillWorker(1), StartWorker(1); },
      [&] { SharedPostgresServer().Restart(); },
      [&] { KillWorker(0), StartWorker(0); },
  };
  for (std::size_t i = 0; i < faults.size(); ++i) {
    WaitUntilDelivered(static_cast<int>(i + 1), static_cast<int>(faults.size()));
    if (HasFatalFailure()) return;
    faults[i]();
  }
  // Kills: three workers and the API; the API sends nothing itself.
  ExpectOneCopyEach(key, campaign, 3 * kInFlightSlots);
  ExpectIntakeDeliveredOnceEach(intake_key);
  if (HasFailure()) {
    std::cout << "recipients not final or failed:\n"
              << SharedPostgresServer().Psql(
                     database_,
                     "SELECT status, claimed_by, attempts, left(last_error, 120), COUNT(*) "
                     "FROM message_recipients WHERE status NOT IN ('sent', 'unknown') GROUP BY 1, 2, 3, 4")
              << "processes:\n"
              << SharedPostgresServer().Psql(database_, "SELECT * FROM delivery_processes")
              << "still queued:\n"
              << SharedPostgresServer().Psql(database_,
                                             "SELECT id, message_id, address, due_at, updated_at FROM message_recipients "
                                             "WHERE status = 'queued' LIMIT 20");
  }
  EXPECT_EQ(SharedPostgresServer().Psql(database_, "SELECT COUNT(*) FROM message_recipients WHERE status = 'sending'"),
            "0\n");
  const auto health = json::parse(HttpRequest("GET", Url("/health"), {}, {}).body);
  EXPECT_EQ(health["store"]["kind"], "postgres") << health.dump();
  EXPECT_EQ(health["queue"]["status"], "ok") << health.dump();
}

}  // namespace
}  // namespace herald::testing
