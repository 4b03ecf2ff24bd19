// SmtpTransport against real servers on loopback: Debian's aiosmtpd (capturing,
// STARTTLS, AUTH, scripted failures) and Postfix's smtp-sink (PIPELINING).
#include "channels/smtp/smtp_transport.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <thread>

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

OutgoingEmail Message(const std::string& to, const std::string& body = "Hello\r\n") {
  static std::atomic<int> counter{0};
  const auto id = "m" + std::to_string(counter++) + "@test";
  return {"sender@example.org", {to}, id,
          "From: sender@example.org\r\nTo: " + to + "\r\nSubject: test\r\nMessage-ID: <" + id + ">\r\n\r\n" + body};
}

TEST(SmtpTransport, DeliversOverOneReusedConnectionWithExactBytesAndDotStuffing) {
  TempDir dir;
  SmtpCaptureServer server(dir.path() + "/in");
  auto settings = Local(server.port());
  settings.max_connections = 1;
  SmtpTransport transport(settings);
  const std::string body = "line one\r\n.starts with a dot\r\n..two dots\r\n.\r\nend\r\n";
  for (int i = 0; i < 5; ++i) {
    const auto email = Message("rcpt" + std::to_string(i) + "@example.org", body);
    const auto outcome = transport.Send(email);
    ASSERT_EQ(outcome.kind, OutcomeKind::kAccepted) << outcome.detail;
    EXPECT_EQ(outcome.provider_message_id.rfind("Q", 0), 0u) << outcome.provider_message_id;
    const auto stored = ReadFile(server.store_dir() + "/00000" + std::to_string(i + 1) + ".eml");
    EXPECT_EQ(stored, email.data);
    const auto envelope = nlohmann::json::parse(ReadFile(server.store_dir() + "/00000" + std::to_string(i + 1) + ".json"));
    EXPECT_EQ(envelope["mail_from"], "sender@example.org");
    EXPECT_EQ(envelope["rcpt_tos"][0], "rcpt" + std::to_string(i) + "@example.org");
  }
}

TEST(SmtpTransport, TemporaryRefusalIsTransientAndTheNextAttemptSucceeds) {
  TempDir dir;
  SmtpCaptureServer server(dir.path() + "/in", {"--fail-first", "1"});
  SmtpTransport transport(Local(server.port()));
  const auto email = Message("a@example.org");
  const auto first = transport.Send(email);
  EXPECT_EQ(first.kind, OutcomeKind::kTransient);
  EXPECT_EQ(first.code, 451);
  EXPECT_EQ(transport.Send(email).kind, OutcomeKind::kAccepted);
  EXPECT_EQ(server.MessageCount(), 1);
}

TEST(SmtpTransport, PermanentRefusalOfTheRecipientIsPermanent) {
  TempDir dir;
  SmtpCaptureServer server(dir.path() + "/in", {"--reject", "bad@"});
  SmtpTransport transport(Local(server.port()));
  const auto outcome = transport.Send(Message("bad@example.org"));
  EXPECT_EQ(outcome.kind, OutcomeKind::kPermanent);
  EXPECT_EQ(outcome.code, 550);
  // The session is still usable after the refused transaction.
  EXPECT_EQ(transport.Send(Message("good@example.org")).kind, OutcomeKind::kAccepted);
}

TEST(SmtpTransport, ConnectionLostAfterTheDataIsUnknown) {
  TempDir dir;
  SmtpCaptureServer server(dir.path() + "/in", {"--drop-after-data", "1"});
  SmtpTransport transport(Local(server.port()));
  const auto outcome = transport.Send(Message("a@example.org"));
  EXPECT_EQ(outcome.kind, OutcomeKind::kUnknown) << outcome.detail;
  EXPECT_EQ(transport.Send(Message("b@example.org")).kind, OutcomeKind::kAccepted);
}

TEST(SmtpTransport, NoServerIsTransient) {
  const int port = herald::testing::FreePort();
  SmtpTransport transport(Local(port));
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
    SmtpTransport transport(settings);
    const auto outcome = transport.Send(Message("a@example.org"));
    ASSERT_EQ(outcome.kind, OutcomeKind::kAccepted) << outcome.detail;
  }
  EXPECT_EQ(server.MessageCount(), 1);
  settings.password = "wrong";
  SmtpTransport wrong(settings);
  const auto refused = wrong.Send(Message("b@example.org"));
  EXPECT_EQ(refused.kind, OutcomeKind::kPermanent) << refused.detail;
  EXPECT_EQ(refused.code, 535);
  EXPECT_EQ(refused.detail.find("wrong"), std::string::npos);  // never echo the password
}

TEST_F(SmtpTlsTest, RequiredStartTlsFailsWhenTheServerDoesNotOfferIt) {
  SmtpCaptureServer server(dir_.path() + "/in");
  auto settings = ParseSmtpUrl("smtp://127.0.0.1:" + std::to_string(server.port()) + "?starttls=required").value();
  SmtpTransport transport(settings);
  const auto outcome = transport.Send(Message("a@example.org"));
  EXPECT_EQ(outcome.kind, OutcomeKind::kTransient);
  EXPECT_NE(outcome.detail.find("STARTTLS"), std::string::npos) << outcome.detail;
  EXPECT_EQ(server.MessageCount(), 0);
}

TEST(SmtpTransport, ManyThreadsShareThePool) {
  TempDir dir;
  SmtpCaptureServer server(dir.path() + "/in");
  auto settings = Local(server.port());
  settings.max_connections = 4;
  SmtpTransport transport(settings);
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

TEST(SmtpTransport, PipelinesIntoPostfixSmtpSink) {
  const int port = herald::testing::FreePort();
  herald::testing::ChildProcess sink(
      {.argv = {"/usr/sbin/smtp-sink", "-u", "root", "127.0.0.1:" + std::to_string(port), "100"}});
  ASSERT_TRUE(herald::testing::WaitFor(
      [&] { return herald::testing::RunCommand({"bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/" + std::to_string(port)},
                                               seconds(5)).exit_code == 0; },
      seconds(10)));
  auto settings = Local(port);
  settings.max_connections = 4;
  SmtpTransport transport(settings);
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

}  // namespace
}  // namespace herald::channels::smtp
