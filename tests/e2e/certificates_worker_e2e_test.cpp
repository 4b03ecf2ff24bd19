// `herald certificates --queue rabbitmq` with `herald worker --lanes
// certificates` processes delivering the event lanes: a private PostgreSQL
// server and RabbitMQ node, a capturing SMTP server, the real binary. The run
// stores each lane's job (templates, sender, output folder) beside it; workers
// pick new lanes up as they appear, write the PDFs into the run's --out, and
// a worker SIGKILLed mid-run costs nobody a certificate and nobody a second one.
#include <regex>

#include "tests/e2e/certificates_fixture.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/postgres_server.hpp"
#include "tests/support/rabbitmq_server.hpp"

namespace herald::testing {
namespace {

class CertificatesWorkerE2E : public CertificatesE2E {
 protected:
  void TearDown() override {
    for (auto& worker : workers_) StopWorker(worker);
  }

  void UseServers(const std::string& name, const std::string& smtp_url) {
    env_ = {{"HERALD_STORE_KIND", "postgres"},
            {"HERALD_STORE_URL", SharedPostgresServer().NewDatabaseUrl(name)},
            {"HERALD_QUEUE_KIND", "rabbitmq"},
            {"HERALD_QUEUE_AMQP_URL", SharedRabbitMqServer().NewVhostUrl(name)},
            {"HERALD_SMTP_URL", smtp_url},
            // A few items at a time per consumer, so that every process takes a share of 40 per lane.
            {"HERALD_QUEUE_PREFETCH", "4"},
            {"HERALD_CERTIFICATES_RETRY_BASE_DELAY_MS", "50"}};
    const auto migrated = RunCommand({"/bin/sh", "-c", std::string(HERALD_BINARY) + " migrate 2>&1"}, seconds(60), env_);
    ASSERT_EQ(migrated.exit_code, 0) << migrated.output;
  }

  void StartWorker(int index) {
    workers_.resize(std::max<std::size_t>(workers_.size(), index + 1));
    ports_.resize(workers_.size());
    ports_[index] = FreePort();
    const auto log = dir_.path() + "/worker" + std::to_string(index) + ".log";
    workers_[index] = std::make_unique<ChildProcess>(ChildProcess::Options{
        .argv = {HERALD_BINARY, "worker", "--lanes", "certificates", "--listen",
                 "127.0.0.1:" + std::to_string(ports_[index]), "--data-dir",
                 dir_.path() + "/worker-data" + std::to_string(index)},
        .extra_env = env_,
        .stderr_path = log});
    ASSERT_TRUE(WaitFor([&] { return Health(index).is_object(); }, seconds(20))) << ReadFile(log);
  }

  json Health(int index) const {
    const auto answer = HttpRequest("GET", "http://127.0.0.1:" + std::to_string(ports_[index]) + "/health", {}, {},
                                    seconds(2));
    return answer.status == 200 || answer.status == 503 ? json::parse(answer.body, nullptr, false) : json();
  }

  // certificates_processed_total{status="sent"} summed over the worker's lanes.
  int SentBy(int index) const {
    const auto metrics =
        HttpRequest("GET", "http://127.0.0.1:" + std::to_string(ports_[index]) + "/metrics", {}, {}, seconds(2)).body;
    static const std::regex sent_line(R"(certificates_processed_total\{[^}]*status="sent"[^}]*\} (\d+))");
    int sent = 0;
    for (std::sregex_iterator it(metrics.begin(), metrics.end(), sent_line), end; it != end; ++it) {
      sent += std::stoi((*it)[1]);
    }
    return sent;
  }

  void KillWorker(int index) {
    workers_[index]->Signal(SIGKILL);
    workers_[index]->Wait(seconds(10));
    workers_[index].reset();
  }

  static void StopWorker(std::unique_ptr<ChildProcess>& worker) {
    if (!worker) return;
    worker->Signal(SIGTERM);
    worker->Wait(seconds(20));
    worker.reset();
  }

  static int PdfsIn(const std::string& folder) {
    int pdfs = 0;
    if (!fs::exists(folder)) return 0;
    for (const auto& entry : fs::directory_iterator(folder)) pdfs += entry.path().extension() == ".pdf";
    return pdfs;
  }

  std::map<std::string, std::string> env_;
  std::vector<std::unique_ptr<ChildProcess>> workers_;
  std::vector<int> ports_;
};

TEST_F(CertificatesWorkerE2E, TwoWorkersDeliverWhatARunQueuedAndPickUpAnEventListedLater) {
  WriteStudents(40);
  SmtpCaptureServer smtp(dir_.path() + "/received", {"--slow-ms", "5"});
  UseServers("certificate_workers", smtp.url());
  StartWorker(0);
  StartWorker(1);

  const auto run = Run({"--queue", "rabbitmq", "--no-deliver", "--json"}, env_);
  ASSERT_EQ(run.exit_code, 0) << run.output << run.errors << ReadFile(dir_.path() + "/worker0.log");
  const auto summary = json::parse(run.output);
  EXPECT_EQ(summary["sent_this_run"].get<int>(), 80);
  EXPECT_EQ(summary["transport"], "herald worker");
  const auto received = ReceivedPerRecipient(smtp.store_dir());
  EXPECT_EQ(received.size(), 80u);
  for (const auto& email : expected_) EXPECT_EQ(received.count(email) ? received.at(email) : 0, 1) << email;
  // The PDFs are in the run's --out, written by the workers.
  EXPECT_EQ(PdfsIn(out_dir() + "/go-workshop"), 40);
  EXPECT_EQ(PdfsIn(out_dir() + "/ai-ml-bootcamp"), 40);
  const int first = SentBy(0);
  const int second = SentBy(1);
  EXPECT_EQ(first + second, 80);
  EXPECT_GT(first, 0) << "both workers take from the lanes";
  EXPECT_GT(second, 0) << "both workers take from the lanes";
  EXPECT_EQ(Health(0)["certificates"]["events"], (json{"AI/ML Bootcamp", "Go Workshop"}));

  // A new event in events.txt: its lane appears, the workers deliver it; the
  // delivered events send nothing again.
  WriteFile(dir_.path() + "/events.txt", "Go Workshop\nAI/ML Bootcamp\nData Day\n");
  WriteStudents(40, {"Go Workshop", "AI/ML Bootcamp", "Data Day"});
  const auto again = Run({"--queue", "rabbitmq", "--no-deliver", "--json"}, env_);
  ASSERT_EQ(again.exit_code, 0) << again.output << again.errors;
  EXPECT_EQ(json::parse(again.output)["sent_this_run"].get<int>(), 40);
  EXPECT_EQ(PdfsIn(out_dir() + "/data-day"), 40);
  const auto after = ReceivedPerRecipient(smtp.store_dir());
  EXPECT_EQ(after.size(), 120u);
  for (const auto& [email, count] : after) EXPECT_EQ(count, 1) << email;
  ASSERT_TRUE(WaitFor([&] { return Health(1)["certificates"]["events"].size() == 3; }, seconds(10)))
      << Health(1).dump();
}

TEST_F(CertificatesWorkerE2E, AWorkerKilledMidRunCostsNobodyACertificateOrASecondCopy) {
  WriteStudents(60);
  SmtpCaptureServer smtp(dir_.path() + "/received", {"--slow-ms", "20"});
  UseServers("certificate_worker_kill", smtp.url());
  env_["HERALD_SMTP_MAX_CONNECTIONS"] = "2";
  env_["HERALD_SMTP_MESSAGES_PER_SESSION"] = "1";
  StartWorker(0);
  StartWorker(1);

  // This run delivers too, beside the workers.
  const auto stderr_path = dir_.path() + "/run.stderr";
  ChildProcess run({.argv = Args({"--queue", "rabbitmq", "--json", "--concurrency", "2"}),
                    .extra_env = env_,
                    .stderr_path = stderr_path});
  ASSERT_TRUE(WaitFor([&] { return SentBy(0) >= 5; }, seconds(60))) << ReadFile(dir_.path() + "/worker0.log");
  KillWorker(0);
  auto output = run.ReadAll();
  const auto code = run.Wait(seconds(180));
  ASSERT_TRUE(code == 0 || code == 3) << output << ReadFile(stderr_path);
  const auto summary = json::parse(output);

  // What the killed worker had in flight ends unknown, once the run or the
  // other worker finds it gone (15 s); nothing else is missing or doubled.
  int unknown = 0;
  int queued = 0;
  for (const auto& event : summary["events"]) {
    unknown += event["unknown"].get<int>();
    queued += event["queued"].get<int>();
  }
  EXPECT_EQ(queued, 0) << output;
  EXPECT_LE(unknown, 2) << "at most one per in-flight slot of the killed worker (2 sessions, 1 message each)";
  ExpectExactlyOnceExceptUnknown(smtp.store_dir(), unknown);
  EXPECT_GT(SentBy(1), 0);
  EXPECT_GT(summary["sent_this_run"].get<int>(), 0) << "the run delivered beside the workers";
}

TEST_F(CertificatesWorkerE2E, NoDeliverWithoutABrokerAndASharedStoreIsRefused) {
  WriteStudents(2);
  const auto embedded = Run({"--no-deliver"});
  EXPECT_EQ(embedded.exit_code, 2);
  EXPECT_NE(embedded.errors.find("--no-deliver"), std::string::npos) << embedded.errors;
  EXPECT_NE(embedded.errors.find("store.kind = \"postgres\""), std::string::npos) << embedded.errors;

  const auto worker = RunCommand(
      {"/bin/sh", "-c", std::string(HERALD_BINARY) + " worker --lanes certificates 2>&1"}, seconds(30),
      {{"HERALD_STORE_KIND", "postgres"}, {"HERALD_STORE_URL", SharedPostgresServer().NewDatabaseUrl("no_broker")}});
  EXPECT_EQ(worker.exit_code, 2) << worker.output;
  EXPECT_NE(worker.output.find("queue.kind = \"rabbitmq\""), std::string::npos) << worker.output;
}

}  // namespace
}  // namespace herald::testing
