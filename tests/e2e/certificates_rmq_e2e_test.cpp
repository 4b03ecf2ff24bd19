// `herald certificates --queue rabbitmq` end to end: a private RabbitMQ node and a
// capturing SMTP server on loopback, the real binary, killed and restarted.
#include "tests/e2e/certificates_fixture.hpp"
#include "tests/support/rabbitmq_server.hpp"

namespace herald::testing {
namespace {

RabbitMqServer& Broker() { return SharedRabbitMqServer(); }

class CertificatesRabbitMqE2E : public CertificatesE2E {
 protected:
  std::vector<std::string> RabbitArgs(const std::string& smtp_url, std::vector<std::string> extra = {}) const {
    std::vector<std::string> args = {"--smtp", smtp_url, "--queue", "rabbitmq", "--amqp-url", Broker().amqp_url()};
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
  }
  // Queue name -> ready messages, from the broker's own listing.
  static std::map<std::string, int> BrokerQueues() {
    std::map<std::string, int> queues;
    std::istringstream listing(Broker().Ctl({"list_queues", "--no-table-headers", "name", "messages"}));
    for (std::string line; std::getline(listing, line);) {
      const auto tab = line.find('\t');
      if (tab == std::string::npos || line.rfind("herald.certificates.", 0) != 0) continue;
      queues[line.substr(0, tab)] = std::stoi(line.substr(tab + 1));
    }
    return queues;
  }
};

TEST_F(CertificatesRabbitMqE2E, QueuesFollowEventsTxtAndScrappedEventsAreCancelled) {
  WriteStudents(30);
  SmtpCaptureServer smtp(dir_.path() + "/received", {"--slow-ms", "30"});
  {
    ChildProcess herald({.argv = Args(RabbitArgs(smtp.url())), .extra_env = {{"HERALD_CERTIFICATES_RETRY_BASE_DELAY_MS", "50"}}});
    ASSERT_TRUE(WaitFor([&] { return smtp.MessageCount() >= 4; }, seconds(60)));
    herald.Signal(SIGTERM);
    ASSERT_TRUE(herald.Wait(seconds(15)).has_value());
  }
  auto queues = BrokerQueues();
  ASSERT_TRUE(queues.contains("herald.certificates.go-workshop"));
  ASSERT_TRUE(queues.contains("herald.certificates.ai-ml-bootcamp"));
  EXPECT_GT(queues["herald.certificates.ai-ml-bootcamp"], 0);  // work left behind by the stopped run

  WriteFile(dir_.path() + "/events.txt", "Go Workshop\nData Day\n");
  const auto rerun = Run(RabbitArgs(smtp.url(), {"--json"}));
  ASSERT_EQ(rerun.exit_code, 0) << rerun.output;
  const auto summary = json::parse(rerun.output);
  ASSERT_EQ(summary["removed_events"].size(), 1u);
  EXPECT_GT(summary["removed_events"][0]["cancelled"].get<int>(), 0);

  queues = BrokerQueues();
  EXPECT_FALSE(queues.contains("herald.certificates.ai-ml-bootcamp"));
  EXPECT_TRUE(queues.contains("herald.certificates.data-day"));
  EXPECT_EQ(queues["herald.certificates.go-workshop"], 0);
  const auto received = ReceivedPerRecipient(smtp.store_dir());
  for (const auto& [email, count] : received) EXPECT_EQ(count, 1) << email;
  for (int i = 0; i < 30; ++i) EXPECT_EQ(received.count("s" + std::to_string(i) + "-e0@example.org"), 1u) << i;
}

TEST_F(CertificatesRabbitMqE2E, KilledMidRunThenRestartedDeliversExactlyOnce) {
  WriteFile(dir_.path() + "/events.txt", "Go Workshop\nAI/ML Bootcamp\n");
  WriteStudents(40);
  SmtpCaptureServer smtp(dir_.path() + "/received", {"--slow-ms", "15"});
  {
    ChildProcess herald({.argv = Args(RabbitArgs(smtp.url(), {"--concurrency", "2"})),
                         .extra_env = {{"HERALD_SMTP_MAX_CONNECTIONS", "2"}, {"HERALD_SMTP_MESSAGES_PER_SESSION", "1"}}});
    ASSERT_TRUE(WaitFor([&] { return smtp.MessageCount() >= 20; }, seconds(60)));
    herald.Signal(SIGKILL);
    herald.Wait(seconds(10));
  }
  const auto rerun = Run(RabbitArgs(smtp.url(), {"--json"}));
  ASSERT_TRUE(rerun.exit_code == 0 || rerun.exit_code == 3) << rerun.output;
  const auto summary = json::parse(rerun.output);
  const auto unknown = summary["abandoned_unknown"].get<int>();
  EXPECT_LE(unknown, 2);  // at most one per in-flight slot: 2 sessions, 1 message each
  ExpectExactlyOnceExceptUnknown(smtp.store_dir(), unknown);
  EXPECT_EQ(BrokerQueues()["herald.certificates.go-workshop"], 0);
}

}  // namespace
}  // namespace herald::testing
