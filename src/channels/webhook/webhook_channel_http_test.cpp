// WebhookChannel against tests/support/webhook_server.py, a real HTTP server on
// loopback that answers as the provider in seed 001 does and logs every request.
#include "channels/webhook/webhook_channel.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <vector>

#include "channels/http/test_client.hpp"
#include "tests/support/fake_http_server.hpp"
#include "tests/support/process.hpp"

namespace herald::channels::webhook {
namespace {

using domain::OutcomeKind;
using herald::testing::ChildProcess;
using herald::testing::TempDir;
using herald::testing::WaitFor;
using nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr char kSecret[] = "s3cr3t-token-value";

// Answers as the provider in seed 001 does; see its docstring for the paths.
class WebhookServer : public herald::testing::FakeHttpServer {
 public:
  explicit WebhookServer(const TempDir& dir) : FakeHttpServer("webhook_server.py", dir.path()) {}
};

WebhookSettings Settings(const std::string& url) {
  return {.url = url,
          .auth_header = std::string("x-ins-auth-key: ") + kSecret,
          .connect_timeout = milliseconds(2000),
          .timeout = milliseconds(5000)};
}

RenderedMessage Message(const std::string& id, const std::string& subject = "") {
  RenderedMessage message;
  message.delivery_id = id;
  message.channel = "sms";
  message.to = "+905551111111";
  message.subject = subject;
  message.text = "Insider - Project";
  return message;
}

IoRuntime& Runtime() { return http::TestRuntime(); }
http::HttpClient& Client() { return http::TestClient(); }

// The channel on the shared HTTP client and I/O thread, with a Send that waits
// for one message's outcome.
class Webhook {
 public:
  explicit Webhook(WebhookSettings settings) : channel_(Client(), std::move(settings)) {}
  domain::DeliveryOutcome Send(const RenderedMessage& message) {
    return SendAndWait(Runtime().executor(), channel_, message);
  }
  std::string Describe() const { return channel_.Describe(); }

 private:
  WebhookChannel channel_;
};

class WebhookChannelTest : public ::testing::Test {
 protected:
  TempDir dir_;
  WebhookServer server_{dir_};
};

TEST_F(WebhookChannelTest, AcceptedAnswerGivesTheProviderIdAndTheRequestCarriesBodyAndHeaders) {
  Webhook channel(Settings(server_.Url("/accept")));
  const auto outcome = channel.Send(Message("rcpt-1", "Welcome"));
  ASSERT_EQ(outcome.kind, OutcomeKind::kAccepted) << outcome.detail;
  EXPECT_EQ(outcome.code, 200);

  const auto requests = server_.Requests();
  ASSERT_EQ(requests.size(), 1u);
  const auto& request = requests[0];
  EXPECT_EQ(outcome.provider_message_id, request["answer"]["body"]["messageId"]);
  EXPECT_FALSE(outcome.provider_message_id.empty());
  EXPECT_EQ(request["method"], "POST");
  EXPECT_EQ(request["path"], "/accept");
  EXPECT_EQ(request["body"],
            (json{{"to", "+905551111111"}, {"content", "Insider - Project"}, {"channel", "sms"}, {"subject", "Welcome"},
                  {"message_id", "rcpt-1"}}));
  EXPECT_EQ(request["headers"]["content-type"], "application/json");
  EXPECT_EQ(request["headers"]["idempotency-key"], "rcpt-1");
  EXPECT_EQ(request["headers"]["x-ins-auth-key"], kSecret);
  EXPECT_FALSE(request["headers"].contains("expect"));
}

TEST_F(WebhookChannelTest, EmptySubjectIsLeftOutAndNonAsciiTextSurvives) {
  Webhook channel(Settings(server_.Url("/accept")));
  auto message = Message("rcpt-2");
  message.text = "Grüße, 你好 — " + std::string(3000, 'x');  // over 1 KB: must not wait for 100-continue
  ASSERT_EQ(channel.Send(message).kind, OutcomeKind::kAccepted);
  const auto requests = server_.Requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_FALSE(requests[0]["body"].contains("subject"));
  EXPECT_EQ(requests[0]["body"]["content"], message.text);
}

TEST_F(WebhookChannelTest, SuccessWithoutMessageIdIsAcceptedWithAnEmptyIdAndSaysSo) {
  for (const std::string path : {"/accept-no-id", "/accept-not-json"}) {
    Webhook channel(Settings(server_.Url(path)));
    const auto outcome = channel.Send(Message("rcpt-3"));
    EXPECT_EQ(outcome.kind, OutcomeKind::kAccepted) << path;
    EXPECT_TRUE(outcome.provider_message_id.empty()) << path;
    EXPECT_NE(outcome.detail.find("no messageId"), std::string::npos) << outcome.detail;
  }
}

// libcurl on its own sends a request again when a reused connection closes
// without an answer; the provider may have acted on the first copy, so the
// channel must report unknown and the provider see the request once.
TEST_F(WebhookChannelTest, ADropOnAReusedConnectionIsUnknownAndNeverSentTwice) {
  Webhook channel(Settings(server_.Url("/accept")));
  ASSERT_EQ(channel.Send(Message("rcpt-warm")).kind, OutcomeKind::kAccepted);  // leaves a live connection
  Webhook dropping(Settings(server_.Url("/drop")));
  const auto outcome = dropping.Send(Message("rcpt-drop"));
  EXPECT_EQ(outcome.kind, OutcomeKind::kUnknown) << outcome.detail;
  const auto requests = server_.Requests();
  ASSERT_EQ(requests.size(), 2u) << "the dropped request was sent again";
  EXPECT_EQ(requests[1]["body"]["message_id"], "rcpt-drop");
}

TEST_F(WebhookChannelTest, TooManyRequestsIsThrottledAndReportsRetryAfter) {
  Webhook channel(Settings(server_.Url("/status/429")));
  const auto outcome = channel.Send(Message("rcpt-4"));
  EXPECT_EQ(outcome.kind, OutcomeKind::kThrottled) << outcome.detail;
  EXPECT_EQ(outcome.code, 429);
  EXPECT_NE(outcome.detail.find("retry after 7 s"), std::string::npos) << outcome.detail;
  EXPECT_EQ(outcome.retry_after, seconds(7));
  EXPECT_TRUE(outcome.IsRetryable());
}

TEST_F(WebhookChannelTest, ServerErrorsAndRequestTimeoutAreTransient) {
  for (const int status : {500, 502, 503, 408}) {
    Webhook channel(Settings(server_.Url("/status/" + std::to_string(status))));
    const auto outcome = channel.Send(Message("rcpt-5"));
    EXPECT_EQ(outcome.kind, OutcomeKind::kTransient) << status << ": " << outcome.detail;
    EXPECT_EQ(outcome.code, status);
    EXPECT_NE(outcome.detail.find("scripted failure"), std::string::npos) << outcome.detail;
  }
}

TEST_F(WebhookChannelTest, ClientErrorsArePermanent) {
  for (const int status : {400, 401, 403, 404, 422}) {
    Webhook channel(Settings(server_.Url("/status/" + std::to_string(status))));
    const auto outcome = channel.Send(Message("rcpt-6"));
    EXPECT_EQ(outcome.kind, OutcomeKind::kPermanent) << status << ": " << outcome.detail;
    EXPECT_EQ(outcome.code, status);
  }
}

TEST_F(WebhookChannelTest, ProviderTextInTheDetailIsShortSingleLineUtf8) {
  Webhook channel(Settings(server_.Url("/bad-charset")));
  const auto outcome = channel.Send(Message("rcpt-13"));
  EXPECT_EQ(outcome.kind, OutcomeKind::kPermanent);
  EXPECT_LT(outcome.detail.size(), 300u) << outcome.detail;
  EXPECT_EQ(outcome.detail.find('\x07'), std::string::npos);
  EXPECT_NE(outcome.detail.find("Ung?ltige"), std::string::npos) << outcome.detail;
  EXPECT_NO_THROW(json(outcome.detail).dump());  // details end up in JSON reports
}

TEST_F(WebhookChannelTest, TimeoutAfterTheRequestWasSentIsUnknown) {
  auto settings = Settings(server_.Url("/sleep/3000"));
  settings.timeout = milliseconds(300);
  Webhook channel(settings);
  const auto start = std::chrono::steady_clock::now();
  const auto outcome = channel.Send(Message("rcpt-7"));
  EXPECT_EQ(outcome.kind, OutcomeKind::kUnknown) << outcome.detail;
  EXPECT_LT(std::chrono::steady_clock::now() - start, seconds(2));  // the deadline held
  EXPECT_TRUE(WaitFor([&] { return server_.Requests().size() == 1; }, seconds(5)));
}

TEST_F(WebhookChannelTest, ConnectionClosedWithoutAnswerIsUnknownAndTheChannelRecovers) {
  Webhook channel(Settings(server_.Url("/drop")));
  const auto outcome = channel.Send(Message("rcpt-8"));
  EXPECT_EQ(outcome.kind, OutcomeKind::kUnknown) << outcome.detail;
  EXPECT_EQ(server_.Requests().at(0)["body"]["message_id"], "rcpt-8");
  EXPECT_EQ(outcome.detail.find(kSecret), std::string::npos);
}

TEST_F(WebhookChannelTest, TheChannelRecoversAfterADroppedConnectionOrATimeout) {
  Webhook dropping(Settings(server_.Url("/drop-once")));
  EXPECT_EQ(dropping.Send(Message("a1")).kind, OutcomeKind::kUnknown);
  EXPECT_EQ(dropping.Send(Message("a1")).kind, OutcomeKind::kAccepted);

  auto settings = Settings(server_.Url("/sleep-once/3000"));
  settings.timeout = milliseconds(300);
  Webhook sleeping(settings);
  EXPECT_EQ(sleeping.Send(Message("b1")).kind, OutcomeKind::kUnknown);
  EXPECT_EQ(sleeping.Send(Message("b1")).kind, OutcomeKind::kAccepted);
  EXPECT_EQ(sleeping.Send(Message("b2")).kind, OutcomeKind::kAccepted);
}

TEST(WebhookChannel, ConnectionRefusedIsTransient) {
  const int port = herald::testing::FreePort();  // nothing listens there
  Webhook channel(Settings("http://127.0.0.1:" + std::to_string(port) + "/hook"));
  const auto outcome = channel.Send(Message("rcpt-9"));
  EXPECT_EQ(outcome.kind, OutcomeKind::kTransient) << outcome.detail;
  EXPECT_EQ(outcome.code, 0);
}

// A listener whose accept queue is full: the kernel drops further SYNs, so a
// connect hangs until the client's connect timeout, as with a black-holed host.
class FullListener {
 public:
  FullListener() {
    listener_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(listener_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || listen(listener_, 0) != 0) {
      throw std::runtime_error("FullListener: bind/listen failed");
    }
    socklen_t len = sizeof addr;
    getsockname(listener_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    for (int i = 0; i < 16; ++i) {
      const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
      fillers_.push_back(fd);
      connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
      pollfd pfd{fd, POLLOUT, 0};
      if (poll(&pfd, 1, 200) == 0) {
        full_ = true;  // this one's SYN was dropped: the queue is full
        break;
      }
    }
  }
  ~FullListener() {
    for (const int fd : fillers_) close(fd);
    close(listener_);
  }
  int port() const { return port_; }
  bool full() const { return full_; }

 private:
  int listener_ = -1;
  int port_ = 0;
  bool full_ = false;
  std::vector<int> fillers_;
};

TEST(WebhookChannel, ConnectTimeoutIsTransient) {
  FullListener listener;
  if (!listener.full()) GTEST_SKIP() << "could not fill the accept queue on this kernel";
  auto settings = Settings("http://127.0.0.1:" + std::to_string(listener.port()) + "/hook");
  settings.connect_timeout = milliseconds(300);
  Webhook channel(settings);
  const auto start = std::chrono::steady_clock::now();
  const auto outcome = channel.Send(Message("rcpt-10"));
  EXPECT_EQ(outcome.kind, OutcomeKind::kTransient) << outcome.detail;
  EXPECT_LT(std::chrono::steady_clock::now() - start, seconds(2));
}

TEST(WebhookChannel, UnresolvableHostIsTransient) {
  // .invalid never resolves (RFC 2606); the connect timeout bounds a slow resolver.
  Webhook channel(Settings("http://herald-test.invalid/hook"));
  const auto outcome = channel.Send(Message("rcpt-11"));
  EXPECT_EQ(outcome.kind, OutcomeKind::kTransient) << outcome.detail;
}

TEST_F(WebhookChannelTest, AuthHeaderIsSentButNeverDescribedOrReported) {
  auto settings = Settings("http://user:" + std::string(kSecret) + "@127.0.0.1:" + std::to_string(server_.port()) +
                           "/status/500?token=" + kSecret);
  settings.auth_header = std::string("Authorization: Bearer ") + kSecret;
  Webhook channel(settings);
  const auto description = channel.Describe();
  EXPECT_EQ(description.rfind("webhook:http://127.0.0.1:", 0), 0u) << description;
  EXPECT_NE(description.find("/status/500"), std::string::npos) << description;
  EXPECT_EQ(description.find(kSecret), std::string::npos) << description;
  EXPECT_EQ(description.find("Bearer"), std::string::npos) << description;

  const auto outcome = channel.Send(Message("rcpt-12"));
  EXPECT_EQ(outcome.kind, OutcomeKind::kTransient);
  EXPECT_EQ(outcome.detail.find(kSecret), std::string::npos) << outcome.detail;
  const auto requests = server_.Requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0]["headers"]["authorization"], std::string("Bearer ") + kSecret);
}

TEST(WebhookChannel, DescribeShowsSchemeHostPortAndPath) {
  EXPECT_EQ(WebhookChannel(Client(), Settings("http://127.0.0.1:8080/hooks/sms")).Describe(),
            "webhook:http://127.0.0.1:8080/hooks/sms");
  EXPECT_EQ(WebhookChannel(Client(), Settings("https://api.example.org/v1/send?key=abc")).Describe(),
            "webhook:https://api.example.org/v1/send");
}

TEST(WebhookChannel, MalformedSettingsAreRejectedWithoutEchoingSecrets) {
  for (const std::string url : {"", "not a url", "example.org/hook", "ftp://example.org/hook", "http://",
                                "http://exa mple.org/hook", "file:///etc/passwd"}) {
    EXPECT_THROW(WebhookChannel(Client(), Settings(url)), std::invalid_argument) << url;
  }
  for (const std::string header : {"no colon here", ": value", "Bad Name: value", "Authorization:", "Authorization:   ",
                                   "Authorization: Bearer x\r\nX-Injected: 1"}) {
    auto settings = Settings("http://127.0.0.1:1/hook");
    settings.auth_header = header;
    EXPECT_THROW(WebhookChannel(Client(), settings), std::invalid_argument) << header;
  }
  auto settings = Settings("http://127.0.0.1:1/hook");
  settings.timeout = milliseconds(0);
  EXPECT_THROW(WebhookChannel(Client(), settings), std::invalid_argument);
  settings = Settings("http://127.0.0.1:1/hook");
  settings.connect_timeout = milliseconds(-5);
  EXPECT_THROW(WebhookChannel(Client(), settings), std::invalid_argument);

  settings = Settings(std::string("http://user:") + kSecret + "@exa mple.org/");
  try {
    Webhook channel(settings);
    ADD_FAILURE() << "accepted a malformed url";
  } catch (const std::invalid_argument& e) {
    EXPECT_EQ(std::string(e.what()).find(kSecret), std::string::npos) << e.what();
  }
}

TEST_F(WebhookChannelTest, ConcurrentSendsAreEachDeliveredExactlyOnce) {
  Webhook channel(Settings(server_.Url("/accept")));
  constexpr int kThreads = 8;
  constexpr int kPerThread = 25;
  std::vector<std::vector<std::string>> ids(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        const auto outcome = channel.Send(Message("t" + std::to_string(t) + "-" + std::to_string(i)));
        ids[t].push_back(outcome.kind == OutcomeKind::kAccepted ? outcome.provider_message_id : "failed: " + outcome.detail);
      }
    });
  }
  for (auto& thread : threads) thread.join();

  std::set<std::string> provider_ids;
  for (const auto& per_thread : ids) {
    for (const auto& id : per_thread) {
      EXPECT_EQ(id.rfind("failed", 0), std::string::npos) << id;
      provider_ids.insert(id);
    }
  }
  EXPECT_EQ(provider_ids.size(), static_cast<size_t>(kThreads * kPerThread));

  const auto requests = server_.Requests();
  ASSERT_EQ(requests.size(), static_cast<size_t>(kThreads * kPerThread));
  std::set<std::string> keys;
  std::set<std::string> answered;
  for (const auto& request : requests) {
    EXPECT_EQ(request["headers"]["idempotency-key"], request["body"]["message_id"]);
    keys.insert(request["headers"]["idempotency-key"].get<std::string>());
    answered.insert(request["answer"]["body"]["messageId"].get<std::string>());
  }
  EXPECT_EQ(keys.size(), requests.size());  // each message exactly once
  EXPECT_EQ(answered, provider_ids);        // each outcome carries the id its own request was given
}

}  // namespace
}  // namespace herald::channels::webhook
