// SendGridChannel against tests/support/provider_server.py, a real HTTP server
// on loopback speaking SendGrid's v3 Mail Send (Bearer auth, personalizations,
// content order, base64 attachments, errors[] and rate-limit headers).
#include "channels/sendgrid/sendgrid_channel.hpp"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_future.hpp>
#include <set>
#include <stdexcept>

#include "channels/http/test_client.hpp"
#include "tests/support/fake_http_server.hpp"

namespace herald::channels::sendgrid {
namespace {

using domain::OutcomeKind;
using herald::testing::FakeHttpServer;
using herald::testing::TempDir;
using std::chrono::milliseconds;
using std::chrono::seconds;

const std::string kKey = "SG.herald-test-key";

IoRuntime& Runtime() { return http::TestRuntime(); }
http::HttpClient& Client() { return http::TestClient(); }

RenderedMessage Email(const std::string& id, const std::string& to, const std::string& text = "Hello Ana") {
  auto parts = std::make_shared<mime::EmailContent>();
  parts->from = {"Events Team", "events@example.org"};
  parts->to = {{"Ana Lima", to}};
  parts->subject = "Your certificate";
  parts->text_body = text;
  parts->html_body = "<p>" + text + "</p>";
  parts->attachments.push_back({"ana.pdf", "application/pdf", std::string("%PDF-1.7\n\0\xff", 11)});
  RenderedMessage message;
  message.delivery_id = id;
  message.channel = "email";
  message.to = to;
  message.envelope_from = "events@example.org";
  message.mime = "(built from parts)";
  message.parts = std::move(parts);
  return message;
}

class SendGridChannelTest : public ::testing::Test {
 protected:
  SendGridSettings Settings() const {
    return {.base_url = server_.Url(""), .api_key = kKey, .timeout = milliseconds(3000)};
  }
  std::vector<domain::DeliveryOutcome> Send(const SendGridSettings& settings, const std::vector<RenderedMessage>& batch) {
    SendGridChannel channel(Client(), settings, clock_);
    return boost::asio::co_spawn(Runtime().executor(),
                                 SendNoThrow(channel, batch, std::chrono::steady_clock::now() + seconds(10)),
                                 boost::asio::use_future)
        .get();
  }
  domain::DeliveryOutcome SendOne(const std::string& to) { return Send(Settings(), {Email("r-1", to)}).at(0); }

  SystemClock clock_;
  TempDir dir_;
  FakeHttpServer server_{"provider_server.py", dir_.path(), {"--sendgrid-key", kKey}};
};

TEST_F(SendGridChannelTest, AMessageGoesAsFieldsWithItsAttachmentAndTheMessageIdIsKept) {
  const auto outcome = SendOne("ana@example.org");
  ASSERT_EQ(outcome.kind, OutcomeKind::kAccepted) << outcome.detail;
  EXPECT_EQ(outcome.code, 202);
  const auto requests = server_.Requests();
  ASSERT_EQ(requests.size(), 1u);
  const auto& request = requests[0];
  EXPECT_EQ(request["path"], "/v3/mail/send");
  EXPECT_EQ(request["headers"]["authorization"], "Bearer " + kKey);
  const auto& body = request["body"];
  EXPECT_EQ(body["from"], (nlohmann::json{{"email", "events@example.org"}, {"name", "Events Team"}}));
  EXPECT_EQ(body["subject"], "Your certificate");
  EXPECT_EQ(body["personalizations"][0]["to"][0], (nlohmann::json{{"email", "ana@example.org"}, {"name", "Ana Lima"}}));
  EXPECT_EQ(body["personalizations"][0]["custom_args"]["herald_delivery_id"], "r-1");
  EXPECT_EQ(body["content"][0], (nlohmann::json{{"type", "text/plain"}, {"value", "Hello Ana"}}));
  EXPECT_EQ(body["content"][1]["type"], "text/html");
  EXPECT_EQ(body["attachments"][0]["filename"], "ana.pdf");
  EXPECT_EQ(body["attachments"][0]["content"], "JVBERi0xLjcKAP8=");  // base64 of the bytes, NUL and 0xFF included
  EXPECT_EQ(outcome.provider_message_id.size(), 22u) << outcome.provider_message_id;
}

TEST_F(SendGridChannelTest, MessagesWithTheSameContentShareOneRequestAndDifferentOnesGoApart) {
  const auto outcomes = Send(Settings(), {Email("r-1", "ana@example.org"), Email("r-2", "bo@example.org", "Hi Bo"),
                                          Email("r-3", "cy@example.org")});
  ASSERT_EQ(outcomes.size(), 3u);
  for (const auto& outcome : outcomes) EXPECT_EQ(outcome.kind, OutcomeKind::kAccepted) << outcome.detail;
  EXPECT_EQ(outcomes[0].provider_message_id, outcomes[2].provider_message_id);
  EXPECT_NE(outcomes[0].provider_message_id, outcomes[1].provider_message_id);
  const auto requests = server_.Requests();
  ASSERT_EQ(requests.size(), 2u);
  std::set<std::string> ids;
  std::size_t personalizations = 0;
  for (const auto& request : requests) {
    for (const auto& p : request["body"]["personalizations"]) {
      ids.insert(p["custom_args"]["herald_delivery_id"].get<std::string>());
      ++personalizations;
    }
  }
  EXPECT_EQ(ids, (std::set<std::string>{"r-1", "r-2", "r-3"}));
  EXPECT_EQ(personalizations, 3u);
}

TEST_F(SendGridChannelTest, RefusalsKeepSendGridsErrorsAndThrottlingWaitsForTheReset) {
  const auto invalid = SendOne("invalid@example.org");
  EXPECT_EQ(invalid.kind, OutcomeKind::kPermanent);
  EXPECT_NE(invalid.detail.find("HTTP 400: personalizations.0.to.0.email: Does not contain a valid address."),
            std::string::npos)
      << invalid.detail;
  const auto throttled = SendOne("throttle@example.org");
  EXPECT_EQ(throttled.kind, OutcomeKind::kThrottled) << throttled.detail;
  EXPECT_GE(throttled.retry_after, seconds(5));
  EXPECT_LE(throttled.retry_after, seconds(8));
  EXPECT_EQ(SendOne("unavailable@example.org").kind, OutcomeKind::kTransient);
  EXPECT_EQ(SendOne("drop@example.org").kind, OutcomeKind::kUnknown);
}

TEST_F(SendGridChannelTest, AWrongKeyIsPermanentAndNeverQuoted) {
  auto settings = Settings();
  settings.api_key = "SG.wrong-key";
  const auto outcome = Send(settings, {Email("r-1", "ana@example.org")}).at(0);
  EXPECT_EQ(outcome.kind, OutcomeKind::kPermanent);
  EXPECT_NE(outcome.detail.find("check sendgrid.api_key"), std::string::npos) << outcome.detail;
  EXPECT_EQ(outcome.detail.find("wrong-key"), std::string::npos);
}

TEST_F(SendGridChannelTest, AMessageWithoutFieldsFailsWithoutARequest) {
  auto message = Email("r-1", "ana@example.org");
  message.parts.reset();
  EXPECT_EQ(Send(Settings(), {message}).at(0).kind, OutcomeKind::kPermanent);
  EXPECT_TRUE(server_.Requests().empty());
  EXPECT_THROW(SendGridChannel(Client(), {.api_key = ""}, clock_), std::invalid_argument);
  EXPECT_EQ(SendGridChannel(Client(), {.api_key = kKey}, clock_).Describe(), "sendgrid:https://api.sendgrid.com/");
}

}  // namespace
}  // namespace herald::channels::sendgrid
