// TwilioChannel against tests/support/provider_server.py, a real HTTP server on
// loopback speaking Twilio's Messages API (paths, Basic auth, form bodies,
// Message resources and Twilio's error bodies) and logging every request.
#include "channels/twilio/twilio_channel.hpp"

#include <gtest/gtest.h>

#include <stdexcept>

#include "channels/http/test_client.hpp"
#include "tests/support/fake_http_server.hpp"

namespace herald::channels::twilio {
namespace {

using domain::OutcomeKind;
using herald::testing::FakeHttpServer;
using herald::testing::TempDir;
using std::chrono::milliseconds;
using std::chrono::seconds;

const std::string kSid = "AC0123456789abcdef0123456789abcdef";
const std::string kToken = "tw-auth-token-not-for-logs";

IoRuntime& Runtime() { return http::TestRuntime(); }
http::HttpClient& Client() { return http::TestClient(); }

class TwilioChannelTest : public ::testing::Test {
 protected:
  TwilioSettings Settings() const {
    return {.base_url = server_.Url(""),
            .account_sid = kSid,
            .auth_token = kToken,
            .from = "+15005550006",
            .status_callback_url = "https://herald.example/webhooks/twilio",
            .timeout = milliseconds(3000)};
  }
  domain::DeliveryOutcome Send(const TwilioSettings& settings, const std::string& to, const std::string& text = "Hi") {
    TwilioChannel channel(Client(), settings);
    RenderedMessage message;
    message.delivery_id = "r-1";
    message.channel = settings.whatsapp ? "whatsapp" : "sms";
    message.to = to;
    message.text = text;
    return SendAndWait(Runtime().executor(), channel, message);
  }

  TempDir dir_;
  FakeHttpServer server_{"provider_server.py", dir_.path(), {"--twilio-sid", kSid, "--twilio-token", kToken}};
};

TEST_F(TwilioChannelTest, AnSmsIsAFormPostWithBasicAuthAndTheSidIsKept) {
  const auto outcome = Send(Settings(), "+14155552671", "Grüße & 100% done");
  ASSERT_EQ(outcome.kind, OutcomeKind::kAccepted) << outcome.detail;
  EXPECT_EQ(outcome.code, 201);
  const auto requests = server_.Requests();
  ASSERT_EQ(requests.size(), 1u);
  const auto& request = requests[0];
  EXPECT_EQ(request["path"], "/2010-04-01/Accounts/" + kSid + "/Messages.json");
  EXPECT_EQ(request["headers"]["content-type"], "application/x-www-form-urlencoded");
  EXPECT_EQ(request["form"]["To"], "+14155552671");
  EXPECT_EQ(request["form"]["From"], "+15005550006");
  EXPECT_EQ(request["form"]["Body"], "Grüße & 100% done");
  EXPECT_EQ(request["form"]["StatusCallback"], "https://herald.example/webhooks/twilio?herald_delivery_id=r-1")
      << "the delivery id rides in the callback's query";
  EXPECT_FALSE(request["form"].contains("MessagingServiceSid"));
  EXPECT_EQ(outcome.provider_message_id, request["answer"]["body"]["sid"]);
  EXPECT_EQ(outcome.provider_message_id.rfind("SM", 0), 0u) << outcome.provider_message_id;
  EXPECT_NE(outcome.detail.find("queued"), std::string::npos) << outcome.detail;
}

TEST_F(TwilioChannelTest, WhatsAppAddressesCarryTheirPrefixAndAMessagingServiceReplacesFrom) {
  auto settings = Settings();
  settings.whatsapp = true;
  ASSERT_EQ(Send(settings, "+14155552671").kind, OutcomeKind::kAccepted);
  settings.whatsapp = false;
  settings.from.clear();
  settings.messaging_service_sid = "MG0123456789abcdef0123456789abcdef";
  ASSERT_EQ(Send(settings, "+14155552671").kind, OutcomeKind::kAccepted);
  const auto requests = server_.Requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[0]["form"]["To"], "whatsapp:+14155552671");
  EXPECT_EQ(requests[0]["form"]["From"], "whatsapp:+15005550006");
  EXPECT_EQ(requests[1]["form"]["MessagingServiceSid"], settings.messaging_service_sid);
  EXPECT_FALSE(requests[1]["form"].contains("From"));
}

TEST_F(TwilioChannelTest, AnInvalidNumberIsPermanentWithTwiliosCodeAndMessage) {
  const auto invalid = Send(Settings(), "+15005550001");
  EXPECT_EQ(invalid.kind, OutcomeKind::kPermanent);
  EXPECT_EQ(invalid.code, 21211);
  EXPECT_NE(invalid.detail.find("HTTP 400, Twilio error 21211: The 'To' number +15005550001 is not a valid phone number"),
            std::string::npos)
      << invalid.detail;
  const auto stopped = Send(Settings(), "+15005550004");
  EXPECT_EQ(stopped.kind, OutcomeKind::kPermanent);
  EXPECT_EQ(stopped.code, 21610);
}

TEST_F(TwilioChannelTest, TooManyRequestsIsThrottledForAsLongAsTwilioAsks) {
  const auto outcome = Send(Settings(), "+15005550429");
  EXPECT_EQ(outcome.kind, OutcomeKind::kThrottled) << outcome.detail;
  EXPECT_EQ(outcome.code, 20429);
  EXPECT_EQ(outcome.retry_after, seconds(7));
}

TEST_F(TwilioChannelTest, ServerErrorsAreTransientAndASilentDropAfterTheRequestIsUnknown) {
  const auto failed = Send(Settings(), "+15005550500");
  EXPECT_EQ(failed.kind, OutcomeKind::kTransient) << failed.detail;
  EXPECT_EQ(failed.code, 20500);
  const auto dropped = Send(Settings(), "+15005550999");
  EXPECT_EQ(dropped.kind, OutcomeKind::kUnknown) << dropped.detail;
  EXPECT_EQ(server_.Requests().size(), 2u);
}

TEST_F(TwilioChannelTest, WrongCredentialsArePermanentAndNameTheSettingsNotTheToken) {
  auto settings = Settings();
  settings.auth_token = "a-wrong-token";
  const auto outcome = Send(settings, "+14155552671");
  EXPECT_EQ(outcome.kind, OutcomeKind::kPermanent);
  EXPECT_EQ(outcome.code, 20003);
  EXPECT_NE(outcome.detail.find("check twilio.account_sid and twilio.auth_token"), std::string::npos) << outcome.detail;
  EXPECT_EQ(outcome.detail.find("a-wrong-token"), std::string::npos) << outcome.detail;
}

TEST_F(TwilioChannelTest, AnUnreachableServerIsTransientBecauseNothingWasSent) {
  auto settings = Settings();
  settings.base_url = "http://127.0.0.1:1";
  const auto outcome = Send(settings, "+14155552671");
  EXPECT_EQ(outcome.kind, OutcomeKind::kTransient) << outcome.detail;
}

TEST(TwilioSettings, MistakesAreRefusedAtStartNamingTheSetting) {
  http::HttpClient& client = Client();
  const TwilioSettings good{.account_sid = kSid, .auth_token = kToken, .from = "+15005550006"};
  auto refused = [&](TwilioSettings settings, const std::string& words) {
    try {
      TwilioChannel channel(client, settings);
      ADD_FAILURE() << "accepted settings that should name " << words;
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find(words), std::string::npos) << e.what();
      EXPECT_EQ(std::string(e.what()).find(kToken), std::string::npos) << e.what();
    }
  };
  auto s = good;
  s.account_sid = "AC123";
  refused(s, "twilio.account_sid");
  s = good;
  s.auth_token.clear();
  refused(s, "twilio.auth_token");
  s = good;
  s.from.clear();
  refused(s, "twilio.from");
  s.whatsapp = true;
  refused(s, "twilio.whatsapp_from");
  s = good;
  s.messaging_service_sid = "MGnothex";
  refused(s, "twilio.messaging_service_sid");
  s = good;
  s.base_url = "ftp://api.twilio.com";
  refused(s, "twilio.base_url");
  TwilioChannel channel(client, good);
  EXPECT_EQ(channel.Describe(), "twilio:https://api.twilio.com/ (" + kSid + ")");
}

}  // namespace
}  // namespace herald::channels::twilio
