// `herald serve` with queue.kind = rabbitmq: the outbox relay hands committed
// recipients to a private RabbitMQ node on loopback, the channel lanes take
// them from there and acknowledge each once its outcome is stored. The crash
// scenario of serve_crash_fixture.hpp, and the broker's queues afterwards.
#include <ctime>

#include "tests/e2e/serve_crash_fixture.hpp"
#include "tests/support/rabbitmq_server.hpp"

namespace herald::testing {
namespace {

class ServeRabbitMqE2E : public ServeCrashE2E {
 protected:
  void UseBroker(const std::string& vhost) {
    vhost_ = vhost;
    extra_env_["HERALD_QUEUE_KIND"] = "rabbitmq";
    extra_env_["HERALD_QUEUE_AMQP_URL"] = SharedRabbitMqServer().NewVhostUrl(vhost);
  }
  // Queue name -> messages in it (ready, not yet acknowledged ones included).
  std::map<std::string, int> BrokerQueues() const {
    std::map<std::string, int> queues;
    std::istringstream listing(
        SharedRabbitMqServer().Ctl({"list_queues", "-p", vhost_, "--no-table-headers", "name", "messages"}));
    for (std::string line; std::getline(listing, line);) {
      const auto tab = line.find('\t');
      if (tab != std::string::npos) queues[line.substr(0, tab)] = std::stoi(line.substr(tab + 1));
    }
    return queues;
  }

  std::string vhost_;
};

TEST_F(ServeRabbitMqE2E, KilledFourTimesWhileDeliveringTwentyThousandEmailsEveryoneGetsOneCopy) {
  UseBroker("crash");
  KillFourTimesWhileDeliveringAndExpectOneCopyEach();
  const auto health = json::parse(HttpRequest("GET", Url("/health"), {}, {}).body);
  EXPECT_EQ(health["queue"]["kind"], "rabbitmq") << health.dump();
  EXPECT_EQ(health["queue"]["status"], "ok") << health.dump();
  EXPECT_TRUE(WaitFor([&] { return BrokerQueues()["herald.messages.email"] == 0; }, seconds(10)))
      << "every item acknowledged: " << BrokerQueues()["herald.messages.email"];
}

TEST_F(ServeRabbitMqE2E, ScheduledMessagesReachTheBrokerWhenDueAndEachIsDeliveredOnce) {
  UseBroker("scheduled");
  StartSink();
  const auto key = CreateKey("app");
  StartServer();
  const auto now = CallJson("POST", "/api/v1/messages", key,
                            {{"recipients", {{{"channel", "email"}, {"to", "now@example.org"}}}},
                             {"subject", "Now"},
                             {"content", "at once"}},
                            202);
  const std::time_t in_three_seconds = std::time(nullptr) + 3;
  std::tm utc{};
  gmtime_r(&in_three_seconds, &utc);
  char scheduled_at[32];
  std::strftime(scheduled_at, sizeof scheduled_at, "%Y-%m-%dT%H:%M:%SZ", &utc);
  const auto later = CallJson("POST", "/api/v1/messages", key,
                              {{"recipients", {{{"channel", "email"}, {"to", "later@example.org"}}}},
                               {"subject", "Later"},
                               {"content", "when due"},
                               {"scheduled_at", scheduled_at}},
                              202);
  EXPECT_EQ(WaitForStatus(key, now["id"], {"sent"})["status"], "sent");
  EXPECT_EQ(BrokerQueues()["herald.messages.email"], 0) << "the scheduled one is not handed over before it is due";
  EXPECT_EQ(ReceivedPerRecipient().count("later@example.org"), 0u);
  EXPECT_EQ(WaitForStatus(key, later["id"], {"sent"})["status"], "sent");
  EXPECT_EQ(ReceivedPerRecipient(), (std::map<std::string, int>{{"later@example.org", 1}, {"now@example.org", 1}}));
  const auto health = json::parse(HttpRequest("GET", Url("/health"), {}, {}).body);
  EXPECT_EQ(health["queue"]["published"], 2) << health.dump();
}

TEST_F(ServeRabbitMqE2E, AnUnreachableBrokerStopsTheStartWithItsAddress) {
  const int closed = FreePort();
  extra_env_["HERALD_QUEUE_KIND"] = "rabbitmq";
  extra_env_["HERALD_QUEUE_AMQP_URL"] = "amqp://guest:secret@127.0.0.1:" + std::to_string(closed) + "/%2f";
  const auto log = dir_.path() + "/unreachable.log";
  ChildProcess server({.argv = {HERALD_BINARY, "serve", "--listen", "127.0.0.1:" + std::to_string(FreePort()),
                                "--data-dir", data_dir_},
                       .extra_env = Environment(),
                       .stderr_path = log});
  const auto code = server.Wait(seconds(30));
  ASSERT_TRUE(code.has_value()) << "still running without its broker";
  EXPECT_NE(*code, 0);
  const auto said = ReadFile(log);
  EXPECT_NE(said.find("127.0.0.1:" + std::to_string(closed)), std::string::npos) << said;
  EXPECT_EQ(said.find("secret"), std::string::npos) << "no password in errors: " << said;
}

}  // namespace
}  // namespace herald::testing
