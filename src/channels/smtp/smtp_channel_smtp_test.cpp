// SmtpChannel against real servers on loopback: Debian's aiosmtpd (capturing,
// STARTTLS, AUTH, scripted failures; no PIPELINING) and Postfix's smtp-sink
// (PIPELINING, with its dump of what it received).
#include "channels/smtp/smtp_channel.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <map>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <thread>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_future.hpp>

#include "common/io_runtime.hpp"

#include "tests/support/process.hpp"
#include "tests/support/smtp_capture_server.hpp"

namespace herald::channels::smtp {
namespace {

using domain::OutcomeKind;
using herald::testing::ReadFile;
using herald::testing::SmtpCaptureServer;
using herald::testing::TempDir;
using std::chrono::seconds;

SmtpSettings Local(int port) {
  auto settings = ParseSmtpUrl("smtp://127.0.0.1:" + std::to_string(port)).value();
  settings.timeout = std::chrono::milliseconds(5000);
  return settings;
}

RenderedMessage Message(const std::string& to, const std::string& body = "Hello\r\n") {
  static std::atomic<int> counter{0};
  RenderedMessage message;
  message.channel = "email";
  message.to = to;
  message.envelope_from = "sender@example.org";
  message.message_id = "m" + std::to_string(counter++) + "@test";
  message.mime = "From: sender@example.org\r\nTo: " + to + "\r\nSubject: test\r\nMessage-ID: <" + message.message_id +
                 ">\r\n\r\n" + body;
  return message;
}

IoRuntime& Runtime() {
  static IoRuntime runtime;
  return runtime;
}

// One channel on the shared I/O thread; Send waits for one message's outcome.
class Transport {
 public:
  explicit Transport(SmtpSettings settings) : channel_(Runtime().executor(), std::move(settings)) {}
  domain::DeliveryOutcome Send(const RenderedMessage& message) {
    return SendAndWait(Runtime().executor(), channel_, message);
  }
  std::vector<domain::DeliveryOutcome> SendBatch(const std::vector<RenderedMessage>& messages) {
    return boost::asio::co_spawn(Runtime().executor(),
                                 SendNoThrow(channel_, messages, std::chrono::steady_clock::now() + seconds(30)),
                                 boost::asio::use_future)
        .get();
  }
  SmtpChannel& channel() { return channel_; }

 private:
  SmtpChannel channel_;
};

TEST(SmtpChannel, DeliversOverOneReusedConnectionWithExactBytesAndDotStuffing) {
  TempDir dir;
  SmtpCaptureServer server(dir.path() + "/in");
  auto settings = Local(server.port());
  settings.max_connections = 1;
  Transport transport(settings);
  const std::string body = "line one\r\n.starts with a dot\r\n..two dots\r\n.\r\nend\r\n";
  for (int i = 0; i < 5; ++i) {
    const auto email = Message("rcpt" + std::to_string(i) + "@example.org", body);
    const auto outcome = transport.Send(email);
    ASSERT_EQ(outcome.kind, OutcomeKind::kAccepted) << outcome.detail;
    EXPECT_EQ(outcome.provider_message_id.rfind("Q", 0), 0u) << outcome.provider_message_id;
    const auto stored = ReadFile(server.store_dir() + "/00000" + std::to_string(i + 1) + ".eml");
    EXPECT_EQ(stored, email.mime);
    const auto envelope = nlohmann::json::parse(ReadFile(server.store_dir() + "/00000" + std::to_string(i + 1) + ".json"));
    EXPECT_EQ(envelope["mail_from"], "sender@example.org");
    EXPECT_EQ(envelope["rcpt_tos"][0], "rcpt" + std::to_string(i) + "@example.org");
  }
}

TEST(SmtpChannel, TemporaryRefusalIsTransientAndTheNextAttemptSucceeds) {
  TempDir dir;
  SmtpCaptureServer server(dir.path() + "/in", {"--fail-first", "1"});
  Transport transport(Local(server.port()));
  const auto email = Message("a@example.org");
  const auto first = transport.Send(email);
  EXPECT_EQ(first.kind, OutcomeKind::kTransient);
  EXPECT_EQ(first.code, 451);
  EXPECT_EQ(transport.Send(email).kind, OutcomeKind::kAccepted);
  EXPECT_EQ(server.MessageCount(), 1);
}

TEST(SmtpChannel, PermanentRefusalOfTheRecipientIsPermanent) {
  TempDir dir;
  SmtpCaptureServer server(dir.path() + "/in", {"--reject", "bad@"});
  Transport transport(Local(server.port()));
  const auto outcome = transport.Send(Message("bad@example.org"));
  EXPECT_EQ(outcome.kind, OutcomeKind::kPermanent);
  EXPECT_EQ(outcome.code, 550);
  // The session is still usable after the refused transaction.
  EXPECT_EQ(transport.Send(Message("good@example.org")).kind, OutcomeKind::kAccepted);
}

TEST(SmtpChannel, ConnectionLostAfterTheDataIsUnknown) {
  TempDir dir;
  SmtpCaptureServer server(dir.path() + "/in", {"--drop-after-data", "1"});
  Transport transport(Local(server.port()));
  const auto outcome = transport.Send(Message("a@example.org"));
  EXPECT_EQ(outcome.kind, OutcomeKind::kUnknown) << outcome.detail;
  EXPECT_EQ(transport.Send(Message("b@example.org")).kind, OutcomeKind::kAccepted);
}

TEST(SmtpChannel, NoServerIsTransient) {
  const int port = herald::testing::FreePort();
  Transport transport(Local(port));
  const auto outcome = transport.Send(Message("a@example.org"));
  EXPECT_EQ(outcome.kind, OutcomeKind::kTransient);
  EXPECT_NE(outcome.detail.find("127.0.0.1:" + std::to_string(port)), std::string::npos) << outcome.detail;
}

class SmtpTlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto result = herald::testing::RunCommand(
        {"openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1", "-days", "1",
         "-keyout", dir_.path() + "/key.pem", "-out", dir_.path() + "/cert.pem"},
        seconds(60));
    ASSERT_EQ(result.exit_code, 0);
  }
  TempDir dir_;
};

TEST_F(SmtpTlsTest, StartTlsAndAuthDeliverAndAWrongPasswordIsPermanent) {
  SmtpCaptureServer server(dir_.path() + "/in", {"--starttls", dir_.path() + "/cert.pem", dir_.path() + "/key.pem",
                                                 "--auth", "herald:s3cret"});
  auto settings = ParseSmtpUrl("smtp://herald:s3cret@127.0.0.1:" + std::to_string(server.port()) +
                               "?starttls=required&ca=" + dir_.path() + "/cert.pem")
                      .value();
  settings.verify_peer = false;  // the self-signed certificate names no host; the CA file is still loaded
  {
    Transport transport(settings);
    const auto outcome = transport.Send(Message("a@example.org"));
    ASSERT_EQ(outcome.kind, OutcomeKind::kAccepted) << outcome.detail;
  }
  EXPECT_EQ(server.MessageCount(), 1);
  settings.password = "wrong";
  Transport wrong(settings);
  const auto refused = wrong.Send(Message("b@example.org"));
  EXPECT_EQ(refused.kind, OutcomeKind::kPermanent) << refused.detail;
  EXPECT_EQ(refused.code, 535);
  EXPECT_EQ(refused.detail.find("wrong"), std::string::npos);  // never echo the password
}

TEST_F(SmtpTlsTest, RequiredStartTlsFailsWhenTheServerDoesNotOfferIt) {
  SmtpCaptureServer server(dir_.path() + "/in");
  auto settings = ParseSmtpUrl("smtp://127.0.0.1:" + std::to_string(server.port()) + "?starttls=required").value();
  Transport transport(settings);
  const auto outcome = transport.Send(Message("a@example.org"));
  EXPECT_EQ(outcome.kind, OutcomeKind::kTransient);
  EXPECT_NE(outcome.detail.find("STARTTLS"), std::string::npos) << outcome.detail;
  EXPECT_EQ(server.MessageCount(), 0);
}

TEST(SmtpChannel, ManyThreadsShareThePool) {
  TempDir dir;
  SmtpCaptureServer server(dir.path() + "/in");
  auto settings = Local(server.port());
  settings.max_connections = 4;
  Transport transport(settings);
  std::atomic<int> accepted{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 25; ++i) {
        if (transport.Send(Message("t" + std::to_string(t) + "-" + std::to_string(i) + "@example.org")).kind ==
            OutcomeKind::kAccepted) {
          ++accepted;
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(accepted.load(), 200);
  EXPECT_EQ(server.MessageCount(), 200);
}

TEST(SmtpChannel, PipelinesIntoPostfixSmtpSink) {
  const int port = herald::testing::FreePort();
  herald::testing::ChildProcess sink(
      {.argv = {"/usr/sbin/smtp-sink", "-u", "root", "127.0.0.1:" + std::to_string(port), "100"}});
  ASSERT_TRUE(herald::testing::WaitFor(
      [&] { return herald::testing::RunCommand({"bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/" + std::to_string(port)},
                                               seconds(5)).exit_code == 0; },
      seconds(10)));
  auto settings = Local(port);
  settings.max_connections = 4;
  Transport transport(settings);
  const std::string body(3000, 'x');
  std::atomic<int> accepted{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 500; ++i) {
        if (transport.Send(Message("p" + std::to_string(t) + "@example.org", body + "\r\n")).kind ==
            OutcomeKind::kAccepted) {
          ++accepted;
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(accepted.load(), 2000);
}

TEST(SmtpChannel, ABatchRunsOnOneSessionAndARefusedRecipientAffectsOnlyItsMessage) {
  TempDir dir;
  SmtpCaptureServer server(dir.path() + "/in", {"--reject", "bad@"});
  auto settings = Local(server.port());
  settings.max_connections = 1;
  Transport transport(settings);
  const std::vector<RenderedMessage> batch{Message("a@example.org"), Message("bad@example.org"),
                                           Message("c@example.org"), Message("d@example.org")};
  const auto outcomes = transport.SendBatch(batch);
  ASSERT_EQ(outcomes.size(), 4u);
  EXPECT_EQ(outcomes[0].kind, OutcomeKind::kAccepted) << outcomes[0].detail;
  EXPECT_EQ(outcomes[1].kind, OutcomeKind::kPermanent) << outcomes[1].detail;
  EXPECT_EQ(outcomes[2].kind, OutcomeKind::kAccepted) << outcomes[2].detail;
  EXPECT_EQ(outcomes[3].kind, OutcomeKind::kAccepted) << outcomes[3].detail;
  ASSERT_EQ(server.MessageCount(), 3);
  EXPECT_EQ(ReadFile(server.store_dir() + "/000002.eml"), batch[2].mime);
  EXPECT_EQ(transport.channel().Limits().max_in_flight, settings.messages_per_session);
}

TEST(SmtpChannel, ASessionLostMidBatchLeavesOnlyTheUnansweredMessageUnknown) {
  TempDir dir;
  SmtpCaptureServer server(dir.path() + "/in", {"--drop-after-data", "1"});
  Transport transport(Local(server.port()));
  const std::vector<RenderedMessage> batch{Message("a@example.org"), Message("b@example.org"),
                                           Message("c@example.org")};
  const auto outcomes = transport.SendBatch(batch);
  ASSERT_EQ(outcomes.size(), 3u);
  EXPECT_EQ(outcomes[0].kind, OutcomeKind::kUnknown) << outcomes[0].detail;
  // Nothing of the others had been sent: they went on a new session.
  EXPECT_EQ(outcomes[1].kind, OutcomeKind::kAccepted) << outcomes[1].detail;
  EXPECT_EQ(outcomes[2].kind, OutcomeKind::kAccepted) << outcomes[2].detail;
  EXPECT_EQ(server.MessageCount(), 2);
}

// smtp-sink -d writes each transaction it received to a file: its envelope as
// X-Rcpt-Args, then the message with LF line ends.
std::map<std::string, std::vector<std::string>> DumpedBodiesByRecipient(const std::string& dump_dir) {
  std::map<std::string, std::vector<std::string>> bodies;
  for (const auto& entry : std::filesystem::directory_iterator(dump_dir)) {
    const auto text = ReadFile(entry.path().string());
    const auto rcpt = text.find("X-Rcpt-Args: <");
    const auto body = text.find("\n\n");
    if (rcpt == std::string::npos || body == std::string::npos) continue;
    const auto end = text.find('>', rcpt);
    bodies[text.substr(rcpt + 14, end - rcpt - 14)].push_back(text.substr(body + 2));
  }
  return bodies;
}

TEST(SmtpChannel, PipelinedBatchesReachSmtpSinkOnceEachWithDotsUnstuffed) {
  TempDir dir;
  std::filesystem::create_directories(dir.path() + "/dump");
  const int port = herald::testing::FreePort();
  herald::testing::ChildProcess sink({.argv = {"/usr/sbin/smtp-sink", "-u", "root", "-d", dir.path() + "/dump/%M.",
                                               "127.0.0.1:" + std::to_string(port), "100"}});
  ASSERT_TRUE(herald::testing::WaitFor(
      [&] { return herald::testing::RunCommand({"bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/" + std::to_string(port)},
                                               seconds(5)).exit_code == 0; },
      seconds(10)));
  auto settings = Local(port);
  settings.max_connections = 2;
  settings.messages_per_session = 5;
  Transport transport(settings);
  std::vector<std::future<std::vector<domain::DeliveryOutcome>>> calls;
  std::vector<std::vector<RenderedMessage>> batches(4);
  for (int b = 0; b < 4; ++b) {
    for (int i = 0; i < 5; ++i) {
      const auto n = std::to_string(b * 5 + i);
      batches[b].push_back(Message("r" + n + "@example.org", "line " + n + "\r\n.dot\r\n.\r\nend\r\n"));
    }
  }
  for (const auto& batch : batches) {
    calls.push_back(boost::asio::co_spawn(
        Runtime().executor(),
        SendNoThrow(transport.channel(), batch, std::chrono::steady_clock::now() + seconds(30)),
        boost::asio::use_future));
  }
  for (auto& call : calls) {
    for (const auto& outcome : call.get()) EXPECT_EQ(outcome.kind, OutcomeKind::kAccepted) << outcome.detail;
  }
  ASSERT_TRUE(herald::testing::WaitFor(
      [&] { return DumpedBodiesByRecipient(dir.path() + "/dump").size() == 20; }, seconds(10)));
  const auto bodies = DumpedBodiesByRecipient(dir.path() + "/dump");
  for (int n = 0; n < 20; ++n) {
    const auto it = bodies.find("r" + std::to_string(n) + "@example.org");
    ASSERT_NE(it, bodies.end()) << n;
    ASSERT_EQ(it->second.size(), 1u) << n;
    EXPECT_EQ(it->second[0], "line " + std::to_string(n) + "\n.dot\n.\nend\n\n") << n;
  }
}

}  // namespace
}  // namespace herald::channels::smtp
