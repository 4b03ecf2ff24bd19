#include "tracking/provider_callbacks.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace herald::tracking {
namespace {

using nlohmann::json;

ParsedCallback Parsed(std::variant<ParsedCallback, std::string> result) {
  if (const auto* error = std::get_if<std::string>(&result)) ADD_FAILURE() << *error;
  auto* parsed = std::get_if<ParsedCallback>(&result);
  return parsed != nullptr ? std::move(*parsed) : ParsedCallback{};
}

TEST(RecipientOfDeliveryId, OnlyMessageRecipientIdsName) {
  EXPECT_EQ(RecipientOfDeliveryId("r42"), 42);
  EXPECT_EQ(RecipientOfDeliveryId("r0"), std::nullopt);
  EXPECT_EQ(RecipientOfDeliveryId("r"), std::nullopt);
  EXPECT_EQ(RecipientOfDeliveryId("r42x"), std::nullopt);
  EXPECT_EQ(RecipientOfDeliveryId("r-4"), std::nullopt);
  EXPECT_EQ(RecipientOfDeliveryId("r99999999999999999999"), std::nullopt);
  EXPECT_EQ(RecipientOfDeliveryId("5b4b50d4c0ffee"), std::nullopt) << "a certificate's delivery id";
}

TEST(TwilioStatus, EachStatusBecomesItsKindWithTheErrorKept) {
  const std::vector<std::pair<std::string, std::string>> form{
      {"AccountSid", "AC00000000000000000000000000000000"}, {"MessageSid", "SM0123"},
      {"MessageStatus", "undelivered"}, {"ErrorCode", "30003"}, {"To", "+15005550006"}};
  const auto parsed = Parsed(ParseTwilioStatus(form, "r7", 1000));
  ASSERT_EQ(parsed.events.size(), 1u);
  EXPECT_EQ(parsed.events[0].provider, "twilio");
  EXPECT_EQ(parsed.events[0].event_id, "SM0123:undelivered");
  EXPECT_EQ(parsed.events[0].recipient_id, 7);
  EXPECT_EQ(parsed.events[0].kind, "bounced");
  EXPECT_EQ(parsed.events[0].detail, "undelivered: 30003");
  EXPECT_EQ(parsed.events[0].occurred_at_ms, 1000);

  for (const auto& [status, kind] : std::vector<std::pair<std::string, std::string>>{
           {"queued", "accepted"}, {"sent", "accepted"}, {"delivered", "delivered"}, {"read", "read"},
           {"failed", "bounced"}}) {
    const auto one = Parsed(ParseTwilioStatus({{"MessageSid", "SM1"}, {"MessageStatus", status}}, "r1", 0));
    ASSERT_EQ(one.events.size(), 1u) << status;
    EXPECT_EQ(one.events[0].kind, kind) << status;
  }
}

TEST(TwilioStatus, MissingFieldsAreErrorsAndForeignIdsOrStatusesAreOnlyNoted) {
  EXPECT_EQ(std::get<std::string>(ParseTwilioStatus({{"MessageStatus", "sent"}}, "r1", 0)),
            "the callback has no MessageSid");
  EXPECT_EQ(std::get<std::string>(ParseTwilioStatus({{"MessageSid", "SM1"}}, "r1", 0)),
            "the callback has no MessageStatus");
  const auto& foreign = Parsed(ParseTwilioStatus({{"MessageSid", "SM1"}, {"MessageStatus", "sent"}}, "", 0));
  EXPECT_TRUE(foreign.events.empty());
  ASSERT_EQ(foreign.unmatched.size(), 1u);
  const auto& odd = Parsed(ParseTwilioStatus({{"MessageSid", "SM1"}, {"MessageStatus", "teleported"}}, "r1", 0));
  EXPECT_TRUE(odd.events.empty());
  EXPECT_EQ(odd.unmatched.size(), 1u);
}

TEST(SendGridEvents, EventsOfTheDocumentedShapesAreReadWithTheirDeliveryIds) {
  const auto body = json::parse(R"([
    {"email": "ann@example.org", "timestamp": 1764840000, "event": "delivered", "sg_event_id": "ZGVsaXZlcmVk",
     "sg_message_id": "14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.0", "response": "250 OK",
     "herald_delivery_id": "r12", "category": ["herald"]},
    {"email": "bob@example.org", "timestamp": 1764840001, "event": "bounce", "sg_event_id": "Ym91bmNl",
     "type": "bounce", "status": "5.1.1", "reason": "550 5.1.1 The email account does not exist.",
     "herald_delivery_id": "r13"},
    {"email": "ann@example.org", "timestamp": 1764840002, "event": "click", "sg_event_id": "Y2xpY2s",
     "url": "https://example.org/offer", "herald_delivery_id": "r12"},
    {"email": "eve@example.org", "timestamp": 1764840003, "event": "spamreport", "sg_event_id": "c3BhbQ",
     "herald_delivery_id": "r14"},
    {"email": "old@example.org", "timestamp": 1764840004, "event": "delivered", "sg_event_id": "b2xk"},
    {"email": "ann@example.org", "timestamp": 1764840005, "event": "group_resubscribe", "sg_event_id": "cmVz",
     "herald_delivery_id": "r12"}
  ])");
  const auto parsed = Parsed(ParseSendGridEvents(body));
  ASSERT_EQ(parsed.events.size(), 4u);
  EXPECT_EQ(parsed.events[0].event_id, "ZGVsaXZlcmVk");
  EXPECT_EQ(parsed.events[0].recipient_id, 12);
  EXPECT_EQ(parsed.events[0].kind, "delivered");
  EXPECT_EQ(parsed.events[0].occurred_at_ms, 1764840000000);
  EXPECT_EQ(parsed.events[1].kind, "bounced");
  EXPECT_EQ(parsed.events[1].detail, "bounce bounce 5.1.1 550 5.1.1 The email account does not exist.");
  EXPECT_EQ(parsed.events[2].kind, "clicked");
  EXPECT_NE(parsed.events[2].detail.find("https://example.org/offer"), std::string::npos);
  EXPECT_EQ(parsed.events[3].kind, "complained");
  EXPECT_EQ(parsed.unmatched.size(), 2u) << "one without a delivery id, one of a kind herald does not record";
}

TEST(SendGridEvents, ABodyOfTheWrongShapeNamesTheEvent) {
  EXPECT_EQ(std::get<std::string>(ParseSendGridEvents(json::object())), "the body must be a JSON array of events");
  EXPECT_EQ(std::get<std::string>(ParseSendGridEvents(json::parse(R"([{"event": "open", "sg_event_id": "a"}, 3])"))),
            "event 1 is not an object");
  EXPECT_EQ(std::get<std::string>(ParseSendGridEvents(json::parse(R"([{"event": "open"}])"))),
            "event 0 has no sg_event_id");
}

TEST(SesNotification, ABounceCarriesItsTypeDiagnosticAndTimeAndTheTaggedDeliveryId) {
  const std::string message = R"({
    "eventType": "Bounce",
    "bounce": {"bounceType": "Permanent", "bounceSubType": "General", "timestamp": "2026-12-04T09:30:01.250Z",
               "bouncedRecipients": [{"emailAddress": "nobody@example.org", "action": "failed", "status": "5.1.1",
                                      "diagnosticCode": "smtp; 550 5.1.1 user unknown"}],
               "feedbackId": "0100018c-bounce"},
    "mail": {"timestamp": "2026-12-04T09:30:00.000Z", "source": "herald@example.org",
             "messageId": "0100018c5e3f9d0a-0000", "destination": ["nobody@example.org"],
             "tags": {"herald_delivery_id": ["r31"], "ses:configuration-set": ["herald"]}}
  })";
  const auto parsed = Parsed(ParseSesNotification(message, "sns-msg-1"));
  ASSERT_EQ(parsed.events.size(), 1u);
  EXPECT_EQ(parsed.events[0].provider, "ses");
  EXPECT_EQ(parsed.events[0].event_id, "sns-msg-1");
  EXPECT_EQ(parsed.events[0].recipient_id, 31);
  EXPECT_EQ(parsed.events[0].kind, "bounced");
  EXPECT_EQ(parsed.events[0].detail, "Bounce Permanent General smtp; 550 5.1.1 user unknown");
  EXPECT_EQ(parsed.events[0].occurred_at_ms, 1796376601250);
}

TEST(SesNotification, DeliveriesComplaintsAndIdentityNotificationsAreRead) {
  const auto& delivered = Parsed(ParseSesNotification(
      R"({"notificationType": "Delivery", "delivery": {"timestamp": "2026-12-04T09:30:02Z", "smtpResponse": "250 ok"},
          "mail": {"timestamp": "2026-12-04T09:30:00.000Z", "tags": {"herald_delivery_id": ["r5"]}}})",
      "m2"));
  ASSERT_EQ(delivered.events.size(), 1u);
  EXPECT_EQ(delivered.events[0].kind, "delivered");
  EXPECT_EQ(delivered.events[0].detail, "Delivery 250 ok");
  EXPECT_EQ(delivered.events[0].occurred_at_ms, 1796376602000);
  const auto& complained = Parsed(ParseSesNotification(
      R"({"eventType": "Complaint", "complaint": {"complaintFeedbackType": "abuse"},
          "mail": {"tags": {"herald_delivery_id": ["r6"]}}})",
      "m3"));
  ASSERT_EQ(complained.events.size(), 1u);
  EXPECT_EQ(complained.events[0].kind, "complained");
  EXPECT_EQ(std::get<std::string>(ParseSesNotification("[]", "m4")), "the SNS Message is not a JSON object");
  EXPECT_EQ(std::get<std::string>(ParseSesNotification(R"({"eventType": "Send"})", "m5")),
            "the SNS Message has no mail object");
  EXPECT_EQ(Parsed(ParseSesNotification(R"({"eventType": "Send", "mail": {}})", "m6")).unmatched.size(), 1u);
}

TEST(DecodeForm, PlusIsASpaceEscapesAreBytesAndRepeatsStayInOrder) {
  using Pairs = std::vector<std::pair<std::string, std::string>>;
  EXPECT_EQ(DecodeForm("Body=Gr%C3%BC%C3%9Fe+%26+100%25&To=%2B15005550006&Digits=1&Digits=2&flag&=v"),
            (Pairs{{"Body", "Grüße & 100%"}, {"To", "+15005550006"}, {"Digits", "1"}, {"Digits", "2"},
                   {"flag", ""}, {"", "v"}}));
  EXPECT_EQ(DecodeForm(""), Pairs{});
  EXPECT_EQ(DecodeForm("a=%2"), std::nullopt);
  EXPECT_EQ(DecodeForm("a=%zz"), std::nullopt);
  EXPECT_EQ(DecodeForm("a%=1"), std::nullopt);
}

}  // namespace
}  // namespace herald::tracking
