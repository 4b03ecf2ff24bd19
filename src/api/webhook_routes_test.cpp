// The provider webhooks on a real server: requests signed as Twilio, SendGrid
// and Amazon SNS sign them are stored on the recipient they name and shown in
// GET /api/v1/messages/{id}; replays change nothing; a request whose signature
// does not hold is 401 and changes nothing.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <atomic>

#include "api/api_server_fixture.hpp"
#include "tracking/test_signers.hpp"

namespace herald::api {
namespace {

using nlohmann::json;
using Form = std::vector<std::pair<std::string, std::string>>;

const std::string kTwilioToken = "twilio-test-token";
const std::string kCallbackUrl = "https://herald.example/webhooks/twilio";
const std::string kTopic = "arn:aws:sns:eu-west-1:123456789012:herald-ses-events";
const std::string kCertificateUrl = "https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-test.pem";

class WebhookRoutesTest : public ApiServerFixture {
 protected:
  WebhookRoutesTest() {
    webhook_settings_.twilio_auth_token = kTwilioToken;
    webhook_settings_.twilio_callback_url = kCallbackUrl;
    webhook_settings_.sendgrid_public_key = sendgrid_key_.public_key_base64;
    webhook_settings_.sns_topic_arns = {kTopic};
    fetch_ = [this](const std::string& url) -> Result<std::string> {
      fetched_.push_back(url);
      if (url == kCertificateUrl) return certificate_.pem;
      if (url.find("Action=ConfirmSubscription") != std::string::npos) return std::string("<ConfirmSubscriptionResponse/>");
      return MakeError("test.fetch", "404 for " + url);
    };
  }

  void SetUp() override {
    ApiServerFixture::SetUp();
    key_ = IssueKey();
    const auto posted = Call("POST", "/api/v1/messages", {{"X-API-Key", key_}, {"Content-Type", "application/json"}},
                             R"({"recipients": [{"channel": "sms", "to": "+15551230001"},
                                                {"channel": "email", "to": "ann@example.org"}],
                                 "subject": "Hi", "content": "Hello"})");
    ASSERT_EQ(posted.status, 202) << posted.body;
    const auto body = json::parse(posted.body);
    message_id_ = body["id"].get<std::int64_t>();
    sms_recipient_ = body["recipients"][0]["id"].get<std::int64_t>();
    email_recipient_ = body["recipients"][1]["id"].get<std::int64_t>();
  }

  json Message() {
    const auto got = Call("GET", "/api/v1/messages/" + std::to_string(message_id_), {{"X-API-Key", key_}});
    EXPECT_EQ(got.status, 200) << got.body;
    return json::parse(got.body);
  }
  json Recipient(std::int64_t id) {
    const auto message = Message();
    for (const auto& r : message["recipients"]) {
      if (r["id"] == id) return r;
    }
    ADD_FAILURE() << "no recipient " << id << " in " << message.dump();
    return {};
  }

  testing::HttpResponse PostTwilio(const Form& form, const std::string& delivery_id, std::string signature = "") {
    const auto query = "herald_delivery_id=" + delivery_id;
    if (signature.empty()) signature = tracking::TwilioSignature(kTwilioToken, kCallbackUrl + "?" + query, form);
    return Call("POST", "/webhooks/twilio?" + query,
                {{"Content-Type", "application/x-www-form-urlencoded"}, {"X-Twilio-Signature", signature}},
                testing::FormUrlEncoded(form));
  }

  testing::HttpResponse PostSendGrid(const json& events, const std::string& timestamp = "1796376600",
                                     std::string signature = "") {
    const auto body = events.dump();
    if (signature.empty()) signature = tracking::testing::Sign(sendgrid_key_.key.get(), EVP_sha256(), timestamp + body);
    return Call("POST", "/webhooks/sendgrid",
                {{"Content-Type", "application/json"},
                 {"X-Twilio-Email-Event-Webhook-Signature", signature},
                 {"X-Twilio-Email-Event-Webhook-Timestamp", timestamp}},
                body);
  }

  json SnsEnvelope(tracking::SnsMessage m) {
    if (m.signing_cert_url.empty()) m.signing_cert_url = kCertificateUrl;
    return tracking::testing::SignedSnsMessage(std::move(m), certificate_);
  }
  testing::HttpResponse PostSns(const json& envelope) {
    // As SNS sends it: JSON declared as text/plain.
    return Call("POST", "/webhooks/ses", {{"Content-Type", "text/plain; charset=UTF-8"}}, envelope.dump());
  }
  tracking::SnsMessage SesNotification(const std::string& sns_id, const std::string& event) {
    tracking::SnsMessage m;
    m.type = "Notification";
    m.message_id = sns_id;
    m.topic_arn = kTopic;
    m.message = event;
    return m;
  }

  tracking::testing::EcKey sendgrid_key_ = tracking::testing::MakeEcKey();
  tracking::testing::SigningCertificate certificate_ = tracking::testing::MakeCertificate();
  std::vector<std::string> fetched_;
  std::string key_;
  std::int64_t message_id_ = 0;
  std::int64_t sms_recipient_ = 0;
  std::int64_t email_recipient_ = 0;
};

void ExpectCounts(const testing::HttpResponse& answer, int stored, int replayed, int unmatched) {
  ASSERT_EQ(answer.status, 200) << answer.body;
  const auto body = json::parse(answer.body);
  EXPECT_EQ(body["stored"], stored) << answer.body;
  EXPECT_EQ(body["replayed"], replayed) << answer.body;
  EXPECT_EQ(body["unmatched"], unmatched) << answer.body;
}

TEST_F(WebhookRoutesTest, TwilioStatusCallbacksAreStoredOnTheirRecipientOnce) {
  const auto id = "r" + std::to_string(sms_recipient_);
  const Form delivered{{"MessageSid", "SM0001"}, {"MessageStatus", "delivered"}, {"To", "+15551230001"}};
  ExpectCounts(PostTwilio(delivered, id), 1, 0, 0);
  ExpectCounts(PostTwilio(delivered, id), 0, 1, 0);  // Twilio retried the same callback
  const auto recipient = Recipient(sms_recipient_);
  ASSERT_EQ(recipient["events"].size(), 1u) << recipient.dump();
  EXPECT_EQ(recipient["events"][0]["provider"], "twilio");
  EXPECT_EQ(recipient["events"][0]["type"], "delivered");
  EXPECT_TRUE(recipient.contains("delivered_at")) << recipient.dump();

  ExpectCounts(PostTwilio({{"MessageSid", "SM0001"}, {"MessageStatus", "undelivered"}, {"ErrorCode", "30003"}}, id), 1,
               0, 0);
  const auto after = Recipient(sms_recipient_);
  ASSERT_EQ(after["events"].size(), 2u);
  EXPECT_EQ(after["events"][1]["detail"], "undelivered: 30003");
  EXPECT_TRUE(after.contains("bounced_at"));
}

TEST_F(WebhookRoutesTest, ATwilioCallbackWhoseSignatureDoesNotHoldIsRefusedAndChangesNothing) {
  const auto id = "r" + std::to_string(sms_recipient_);
  const Form form{{"MessageSid", "SM0002"}, {"MessageStatus", "delivered"}};
  const auto forged = tracking::TwilioSignature("another-token", kCallbackUrl + "?herald_delivery_id=" + id, form);
  const auto refused = PostTwilio(form, id, forged);
  EXPECT_EQ(refused.status, 401) << refused.body;
  EXPECT_EQ(json::parse(refused.body)["error"]["code"], "INVALID_SIGNATURE") << refused.body;
  // Signed for another recipient: the query is part of what Twilio signs.
  const auto other = tracking::TwilioSignature(kTwilioToken, kCallbackUrl + "?herald_delivery_id=r999", form);
  EXPECT_EQ(PostTwilio(form, id, other).status, 401);
  EXPECT_EQ(PostTwilio(form, id, "not-a-signature").status, 401);
  EXPECT_TRUE(Recipient(sms_recipient_)["events"].empty());
}

TEST_F(WebhookRoutesTest, EventsAboutDeliveriesThisHeraldDoesNotHaveAreTakenAndCountedAsUnmatched) {
  ExpectCounts(PostTwilio({{"MessageSid", "SM0003"}, {"MessageStatus", "delivered"}}, "r987654"), 0, 0, 1);
  ExpectCounts(PostTwilio({{"MessageSid", "SM0004"}, {"MessageStatus", "delivered"}}, "5b4b50d4c0ffee"), 0, 0, 1);
  const auto broken = PostTwilio({{"MessageStatus", "delivered"}}, "r1");
  EXPECT_EQ(broken.status, 400) << broken.body;
  EXPECT_NE(broken.body.find("MessageSid"), std::string::npos) << broken.body;
}

TEST_F(WebhookRoutesTest, SendGridEventBatchesAreVerifiedThenStoredPerEvent) {
  const auto id = "r" + std::to_string(email_recipient_);
  const json events = json::array(
      {{{"sg_event_id", "ev-1"}, {"event", "delivered"}, {"timestamp", 1796376600}, {"herald_delivery_id", id}},
       {{"sg_event_id", "ev-2"}, {"event", "open"}, {"timestamp", 1796376660}, {"herald_delivery_id", id}},
       {{"sg_event_id", "ev-3"}, {"event", "delivered"}, {"timestamp", 1796376600}, {"herald_delivery_id", "r424242"}}});
  ExpectCounts(PostSendGrid(events), 2, 0, 1);
  ExpectCounts(PostSendGrid(events), 0, 2, 1);
  const auto recipient = Recipient(email_recipient_);
  ASSERT_EQ(recipient["events"].size(), 2u) << recipient.dump();
  EXPECT_TRUE(recipient.contains("delivered_at"));
  EXPECT_TRUE(recipient.contains("read_at"));

  const json bounce = json::array(
      {{{"sg_event_id", "ev-4"}, {"event", "bounce"}, {"timestamp", 1796376700}, {"herald_delivery_id", id}}});
  const auto signed_other = tracking::testing::Sign(sendgrid_key_.key.get(), EVP_sha256(), "1796376600" + events.dump());
  EXPECT_EQ(PostSendGrid(bounce, "1796376600", signed_other).status, 401) << "a signature of another body";
  EXPECT_EQ(PostSendGrid(bounce, "1796376601", tracking::testing::Sign(sendgrid_key_.key.get(), EVP_sha256(),
                                                                        "1796376600" + bounce.dump()))
                .status,
            401)
      << "a signature of another timestamp";
  const auto other_key = tracking::testing::MakeEcKey();
  EXPECT_EQ(PostSendGrid(bounce, "1796376600",
                         tracking::testing::Sign(other_key.key.get(), EVP_sha256(), "1796376600" + bounce.dump()))
                .status,
            401);
  EXPECT_FALSE(Recipient(email_recipient_).contains("bounced_at"));
}

TEST_F(WebhookRoutesTest, SesNotificationsThroughSnsAreVerifiedWithTheCertificateFetchedOnce) {
  const auto id = "r" + std::to_string(email_recipient_);
  const auto event = json{{"eventType", "Bounce"},
                          {"bounce",
                           {{"bounceType", "Permanent"},
                            {"bounceSubType", "General"},
                            {"timestamp", "2026-12-04T09:30:01.250Z"},
                            {"bouncedRecipients", {{{"emailAddress", "ann@example.org"},
                                                    {"diagnosticCode", "smtp; 550 5.1.1 user unknown"}}}}}},
                          {"mail", {{"tags", {{"herald_delivery_id", {id}}}}}}}
                         .dump();
  const auto envelope = SnsEnvelope(SesNotification("sns-1", event));
  ExpectCounts(PostSns(envelope), 1, 0, 0);
  ExpectCounts(PostSns(envelope), 0, 1, 0);
  EXPECT_EQ(std::count(fetched_.begin(), fetched_.end(), kCertificateUrl), 1) << "the certificate is kept";
  const auto recipient = Recipient(email_recipient_);
  ASSERT_EQ(recipient["events"].size(), 1u);
  EXPECT_EQ(recipient["events"][0]["provider"], "ses");
  EXPECT_NE(recipient["events"][0]["detail"].get<std::string>().find("5.1.1"), std::string::npos) << recipient.dump();
  EXPECT_TRUE(recipient.contains("bounced_at"));

  auto tampered = SnsEnvelope(SesNotification("sns-2", event));
  tampered["Message"] = json::parse(event).dump(2);
  EXPECT_EQ(PostSns(tampered).status, 401);
  auto elsewhere = SesNotification("sns-3", event);
  elsewhere.signing_cert_url = "https://attacker.example/sns.pem";
  const auto refused = PostSns(SnsEnvelope(elsewhere));
  EXPECT_EQ(refused.status, 401) << refused.body;
  EXPECT_NE(refused.body.find("webhooks.sns_url_pattern"), std::string::npos) << refused.body;
  auto foreign = SesNotification("sns-4", event);
  foreign.topic_arn = "arn:aws:sns:eu-west-1:999999999999:someone-else";
  EXPECT_EQ(PostSns(SnsEnvelope(foreign)).status, 403);
  EXPECT_EQ(Recipient(email_recipient_)["events"].size(), 1u);
  EXPECT_EQ(std::count(fetched_.begin(), fetched_.end(), "https://attacker.example/sns.pem"), 0);
}

TEST_F(WebhookRoutesTest, AnSnsSubscriptionIsConfirmedAtTheUrlItNames) {
  tracking::SnsMessage m;
  m.type = "SubscriptionConfirmation";
  m.message_id = "sns-sub-1";
  m.topic_arn = kTopic;
  m.message = "You have chosen to subscribe to the topic.";
  m.token = "token-1";
  m.subscribe_url = "https://sns.eu-west-1.amazonaws.com/?Action=ConfirmSubscription&TopicArn=" + kTopic + "&Token=token-1";
  const auto answer = PostSns(SnsEnvelope(m));
  ASSERT_EQ(answer.status, 200) << answer.body;
  EXPECT_EQ(std::count(fetched_.begin(), fetched_.end(), m.subscribe_url), 1);

  m.subscribe_url = "https://attacker.example/?Action=ConfirmSubscription";
  EXPECT_EQ(PostSns(SnsEnvelope(m)).status, 400);
  EXPECT_EQ(std::count(fetched_.begin(), fetched_.end(), m.subscribe_url), 0);
}

TEST_F(WebhookRoutesTest, HostileBodiesAreRefusedWithoutTouchingTheStore) {
  // SNS's signature is inside its JSON: the body is parsed first.
  for (const std::string body : {"{\"Type\": \"caf\xe9\"}", "[[[[", "\x80", ""}) {
    const auto answer = PostSns(json::parse("{}"));  // warm: an empty object names what is missing
    EXPECT_EQ(answer.status, 400) << answer.body;
    const auto hostile = Call("POST", "/webhooks/ses", {{"Content-Type", "text/plain"}}, body);
    EXPECT_EQ(hostile.status, 400) << hostile.body;
  }
  // The others check the signature before reading anything.
  EXPECT_EQ(Call("POST", "/webhooks/sendgrid", {{"Content-Type", "application/json"}}, "[{\"a\": \"\xff\"}]").status, 401);
  EXPECT_EQ(Call("POST", "/webhooks/twilio", {{"Content-Type", "application/x-www-form-urlencoded"}}, "a=%zz").status, 400);
  EXPECT_EQ(Call("POST", "/webhooks/twilio", {{"Content-Type", "application/x-www-form-urlencoded"}}, "MessageSid=SM1").status,
            401);
  EXPECT_EQ(Call("POST", "/webhooks/sendgrid", {}, std::string(5 << 20, '[')).status, 413);
  EXPECT_TRUE(Recipient(sms_recipient_)["events"].empty());
  EXPECT_TRUE(Recipient(email_recipient_)["events"].empty());
}

class UnconfiguredWebhooksTest : public ApiServerFixture {};

TEST_F(UnconfiguredWebhooksTest, EachWebhookNamesTheSettingsItNeeds) {
  for (const auto& [path, setting] : {std::pair{"/webhooks/twilio", "twilio.status_callback_url"},
                                      std::pair{"/webhooks/sendgrid", "webhooks.sendgrid_public_key"},
                                      std::pair{"/webhooks/ses", "webhooks.sns_topic_arns"}}) {
    const auto answer = Call("POST", path, {{"Content-Type", "application/json"}}, "[]");
    EXPECT_EQ(answer.status, 404) << path;
    EXPECT_NE(answer.body.find("WEBHOOK_NOT_CONFIGURED"), std::string::npos) << answer.body;
    EXPECT_NE(answer.body.find(setting), std::string::npos) << answer.body;
  }
}

}  // namespace
}  // namespace herald::api
