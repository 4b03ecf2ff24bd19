// SesChannel against tests/support/provider_server.py, a real HTTP server on
// loopback speaking SES v2's SendEmail (JSON body, REST-JSON errors) that
// recomputes every request's Signature Version 4 from what it received.
#include "channels/ses/ses_channel.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <stdexcept>

#include "channels/http/test_client.hpp"
#include "tests/support/fake_http_server.hpp"

namespace herald::channels::ses {
namespace {

using domain::OutcomeKind;
using herald::testing::FakeHttpServer;
using herald::testing::TempDir;
using std::chrono::milliseconds;
using std::chrono::seconds;

const std::string kKeyId = "AKIAHERALDTEST";
const std::string kSecret = "ses/secret+key-not-for-logs";

IoRuntime& Runtime() { return http::TestRuntime(); }
http::HttpClient& Client() { return http::TestClient(); }

RenderedMessage Email(const std::string& to) {
  RenderedMessage message;
  message.delivery_id = "r-42";
  message.channel = "email";
  message.to = to;
  message.envelope_from = "events@example.org";
  message.message_id = "<r-42@herald>";
  message.mime = "From: Events <events@example.org>\r\nTo: " + to +
                 "\r\nSubject: Your certificate\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
                 "Grüße, Ana\r\n";
  return message;
}

// A message as the message lane renders it: the MIME and the parts it was built from.
RenderedMessage EmailWithParts(std::vector<mime::Attachment> attachments = {}) {
  auto content = std::make_shared<mime::EmailContent>();
  content->from = {"Événements et certificats de la conférence Herald 2026, équipe média", "events@example.org"};
  content->to = {{"Ana \"Bea\" Lima", "ana@example.org"}};
  content->subject = "Grüße, Ana";
  content->text_body = "Hello Ana";
  content->html_body = "<p>Hello <b>Ana</b></p>";
  content->message_id = "r-42@herald";
  content->extra_headers = {{"List-Unsubscribe", "<https://herald.example/u/r-42>"}};
  content->attachments = std::move(attachments);
  auto message = Email("ana@example.org");
  auto built = mime::BuildMessage(*content);
  message.mime = *built;
  message.parts = std::move(content);
  return message;
}

class SesChannelTest : public ::testing::Test {
 protected:
  SesSettings Settings() const {
    return {.region = "eu-west-1",
            .base_url = server_.Url(""),
            .credentials = {.access_key_id = kKeyId, .secret_access_key = kSecret},
            .timeout = milliseconds(3000)};
  }
  domain::DeliveryOutcome Send(const SesSettings& settings, const std::string& to) {
    SesChannel channel(Client(), settings, clock_);
    return SendAndWait(Runtime().executor(), channel, Email(to));
  }

  SystemClock clock_;
  TempDir dir_;
  FakeHttpServer server_{"provider_server.py", dir_.path(),
                         {"--ses-key-id", kKeyId, "--ses-secret", kSecret, "--ses-region", "eu-west-1"}};
};

TEST_F(SesChannelTest, ASignedRawMessageIsAcceptedAndItsMessageIdKept) {
  auto settings = Settings();
  settings.configuration_set = "herald-events";
  const auto outcome = Send(settings, "ana@example.org");
  ASSERT_EQ(outcome.kind, OutcomeKind::kAccepted) << outcome.detail;
  const auto requests = server_.Requests();
  ASSERT_EQ(requests.size(), 1u);
  const auto& request = requests[0];
  EXPECT_EQ(request["path"], "/v2/email/outbound-emails");
  EXPECT_EQ(outcome.provider_message_id, request["answer"]["body"]["MessageId"]);
  EXPECT_EQ(request["body"]["FromEmailAddress"], "events@example.org");
  EXPECT_EQ(request["body"]["Destination"]["ToAddresses"], (nlohmann::json{"ana@example.org"}));
  EXPECT_EQ(request["body"]["ConfigurationSetName"], "herald-events");
  EXPECT_EQ(request["body"]["EmailTags"][0]["Value"], "r-42");
  EXPECT_EQ(request["raw"], Email("ana@example.org").mime) << "the MIME arrives byte for byte";
  const std::string authorization = request["headers"]["authorization"];
  EXPECT_EQ(authorization.rfind("AWS4-HMAC-SHA256 Credential=" + kKeyId + "/", 0), 0u) << authorization;
  EXPECT_NE(authorization.find("/eu-west-1/ses/aws4_request"), std::string::npos);
}

TEST_F(SesChannelTest, TextAndHtmlGoAsSimpleContentWithNamesHeadersAndUtf8) {
  SesChannel channel(Client(), Settings(), clock_);
  const auto outcome = SendAndWait(Runtime().executor(), channel, EmailWithParts());
  ASSERT_EQ(outcome.kind, OutcomeKind::kAccepted) << outcome.detail;
  const auto request = server_.Requests().at(0);
  const auto& body = request["body"];
  ASSERT_FALSE(body["Content"].contains("Raw")) << body.dump();
  const auto& simple = body["Content"]["Simple"];
  EXPECT_EQ(simple["Subject"], (nlohmann::json{{"Data", "Grüße, Ana"}, {"Charset", "UTF-8"}}));
  EXPECT_EQ(simple["Body"]["Text"]["Data"], "Hello Ana");
  EXPECT_EQ(simple["Body"]["Html"]["Data"], "<p>Hello <b>Ana</b></p>");
  EXPECT_EQ(simple["Headers"], (nlohmann::json::parse(
                                   R"([{"Name": "List-Unsubscribe", "Value": "<https://herald.example/u/r-42>"}])")));
  // Names as headers carry them: quoted when ASCII, RFC 2047 words on one line when not.
  EXPECT_EQ(body["Destination"]["ToAddresses"], (nlohmann::json{R"("Ana \"Bea\" Lima" <ana@example.org>)"}));
  const std::string from = body["FromEmailAddress"];
  // A name longer than one encoded-word: several words, on one line.
  EXPECT_EQ(from.rfind("=?utf-8?b?", 0), 0u) << from;
  EXPECT_GE(std::count(from.begin(), from.end(), '?'), 8) << from;
  EXPECT_EQ(from.find_first_of("\r\n"), std::string::npos) << from;
  EXPECT_TRUE(from.ends_with("?= <events@example.org>")) << from;
  EXPECT_EQ(body["EmailTags"][0]["Value"], "r-42");
}

TEST_F(SesChannelTest, AttachmentsOrContentRawSendHeraldsOwnMime) {
  SesChannel channel(Client(), Settings(), clock_);
  const auto with_pdf = EmailWithParts({{"certificate.pdf", "application/pdf", "%PDF-1.7 ..."}});
  ASSERT_EQ(SendAndWait(Runtime().executor(), channel, with_pdf).kind, OutcomeKind::kAccepted);
  auto settings = Settings();
  settings.content = SesContent::kRaw;
  SesChannel raw_only(Client(), settings, clock_);
  const auto plain = EmailWithParts();
  ASSERT_EQ(SendAndWait(Runtime().executor(), raw_only, plain).kind, OutcomeKind::kAccepted);
  const auto requests = server_.Requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[0]["raw"], with_pdf.mime);
  EXPECT_EQ(requests[1]["raw"], plain.mime);
  for (const auto& request : requests) {
    EXPECT_FALSE(request["body"]["Content"].contains("Simple"));
    EXPECT_EQ(request["body"]["FromEmailAddress"], "events@example.org") << "the envelope sender, as SMTP's MAIL FROM";
  }
}

TEST_F(SesChannelTest, ASessionTokenTravelsSigned) {
  auto settings = Settings();
  settings.credentials.session_token = "FwoGZXIvYXdzEJr-session";
  ASSERT_EQ(Send(settings, "ana@example.org").kind, OutcomeKind::kAccepted);
  const auto request = server_.Requests().at(0);
  EXPECT_EQ(request["headers"]["x-amz-security-token"], "FwoGZXIvYXdzEJr-session");
  EXPECT_NE(request["headers"]["authorization"].get<std::string>().find("x-amz-security-token"), std::string::npos);
}

TEST_F(SesChannelTest, AWrongSecretIsRefusedBySignatureAndNamesTheSettings) {
  auto settings = Settings();
  settings.credentials.secret_access_key = "a-wrong-secret";
  const auto outcome = Send(settings, "ana@example.org");
  EXPECT_EQ(outcome.kind, OutcomeKind::kPermanent);
  EXPECT_EQ(outcome.code, 403);
  EXPECT_NE(outcome.detail.find("SES InvalidSignatureException"), std::string::npos) << outcome.detail;
  EXPECT_NE(outcome.detail.find("check ses.access_key_id"), std::string::npos) << outcome.detail;
  EXPECT_EQ(outcome.detail.find("a-wrong-secret"), std::string::npos);
}

TEST_F(SesChannelTest, SesErrorsAreClassifiedByTheirName) {
  const auto rejected = Send(Settings(), "rejected@example.org");
  EXPECT_EQ(rejected.kind, OutcomeKind::kPermanent);
  EXPECT_NE(rejected.detail.find("HTTP 400, SES MessageRejected: Email address is not verified"), std::string::npos)
      << rejected.detail;
  EXPECT_EQ(Send(Settings(), "unverified@example.org").kind, OutcomeKind::kPermanent);
  const auto throttled = Send(Settings(), "throttle@example.org");
  EXPECT_EQ(throttled.kind, OutcomeKind::kThrottled) << throttled.detail;
  EXPECT_EQ(throttled.retry_after, seconds(7));
  // The account, not the message: another provider, or later, may send it.
  EXPECT_EQ(Send(Settings(), "paused@example.org").kind, OutcomeKind::kTransient);
  EXPECT_EQ(Send(Settings(), "unavailable@example.org").kind, OutcomeKind::kTransient);
  EXPECT_EQ(Send(Settings(), "drop@example.org").kind, OutcomeKind::kUnknown);
}

TEST(SesSettings, MistakesAreRefusedAtStartNamingTheSetting) {
  ManualClock clock;
  auto refused = [&](SesSettings settings, const std::string& words) {
    try {
      SesChannel channel(Client(), settings, clock);
      ADD_FAILURE() << "accepted settings that should name " << words;
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find(words), std::string::npos) << e.what();
      EXPECT_EQ(std::string(e.what()).find(kSecret), std::string::npos) << e.what();
    }
  };
  const SesSettings good{.region = "eu-west-1", .credentials = {.access_key_id = kKeyId, .secret_access_key = kSecret}};
  auto s = good;
  s.region = "";
  refused(s, "ses.region");
  s = good;
  s.credentials.secret_access_key.clear();
  refused(s, "ses.secret_access_key");
  s = good;
  s.base_url = "ftp://email.example";
  refused(s, "ses.base_url");
  SesChannel channel(Client(), good, clock);
  EXPECT_EQ(channel.Describe(), "ses:https://email.eu-west-1.amazonaws.com/ (" + kKeyId + ")");
}

}  // namespace
}  // namespace herald::channels::ses
