#include "api/message_json.hpp"

#include <gtest/gtest.h>

namespace herald::api {
namespace {

using nlohmann::json;

constexpr std::int64_t kNow = 1'795'000'000'000;  // 2026-11-19

store::NewMessage Parsed(const json& body) {
  auto parsed = ParseMessageRequest(body, 7, kNow);
  if (auto* error = std::get_if<ApiError>(&parsed)) ADD_FAILURE() << error->message;
  return std::get<store::NewMessage>(parsed);
}

ApiError Rejected(const json& body, const std::string& where = "") {
  auto parsed = ParseMessageRequest(body, 7, kNow, where);
  EXPECT_TRUE(std::holds_alternative<ApiError>(parsed)) << body.dump();
  return std::holds_alternative<ApiError>(parsed) ? std::get<ApiError>(parsed) : ApiError{};
}

TEST(MessageJson, AValidRequestBecomesANormalisedMessage) {
  const auto message = Parsed({{"recipients", {{{"channel", "sms"}, {"to", "+1 (555) 123-4567"}},
                                               {{"channel", "email"}, {"to", "Ann@Example.ORG"}}}},
                               {"content", "Your code is 1234"},
                               {"subject", "Code"},
                               {"priority", "high"}});
  EXPECT_EQ(message.owner_id, 7);
  ASSERT_EQ(message.recipients.size(), 2u);
  EXPECT_EQ(message.recipients[0].channel, "sms");
  EXPECT_EQ(message.recipients[0].address, "+15551234567");
  EXPECT_EQ(message.recipients[1].address, "Ann@example.org");
  EXPECT_EQ(message.priority, 5);
  EXPECT_FALSE(message.scheduled_at_ms);
}

TEST(MessageJson, ErrorsNameTheFieldAtFault) {
  EXPECT_NE(Rejected(json::array()).message.find("body"), std::string::npos);
  EXPECT_NE(Rejected({{"content", "x"}}).message.find("recipients"), std::string::npos);
  const auto phone = Rejected({{"recipients", {{{"channel", "sms"}, {"to", "12"}}}}, {"content", "x"}});
  EXPECT_EQ(phone.status, 400);
  EXPECT_NE(phone.message.find("recipients[0].to"), std::string::npos) << phone.message;
  const auto channel = Rejected({{"recipients", {{{"channel", "fax"}, {"to", "1"}}}}, {"content", "x"}}, "messages[4].");
  EXPECT_NE(channel.message.find("messages[4].recipients[0].channel"), std::string::npos) << channel.message;
  EXPECT_NE(Rejected({{"recipients", {{{"channel", "sms"}, {"to", "+15551234567"}}}}, {"content", "x"}, {"priority", 12}})
                .message.find("priority"),
            std::string::npos);
  EXPECT_NE(Rejected({{"recipients", {{{"channel", "sms"}, {"to", "+15551234567"}}}}, {"content", "x"},
                      {"scheduled_at", "tomorrow"}})
                .message.find("scheduled_at"),
            std::string::npos);
  EXPECT_NE(Rejected({{"recipients", {{{"channel", "sms"}, {"to", "+15551234567"}}}}, {"content", std::string(2000, 'a')}})
                .message.find("content"),
            std::string::npos);
}

TEST(MessageJson, CampaignIdempotencyKeysAreReserved) {
  const json body = {{"recipients", {{{"channel", "sms"}, {"to", "+15551234567"}}}},
                     {"content", "x"},
                     {"idempotency_key", "campaign:1:contact:2"}};
  EXPECT_NE(Rejected(body).message.find("reserved"), std::string::npos);
  auto mine = body;
  mine["idempotency_key"] = "order-campaign:1";
  EXPECT_EQ(Parsed(mine).idempotency_key, "order-campaign:1");
}

TEST(MessageJson, ScheduledTimesAreParsedWithOffsetsAndPastTimesMeanNow) {
  EXPECT_EQ(ParseTimestamp("2026-11-23T10:00:00Z"), 1'795'428'000'000);
  EXPECT_EQ(ParseTimestamp("2026-11-23T11:30:00.250+01:30"), 1'795'428'000'250);
  EXPECT_FALSE(ParseTimestamp("2026-11-23 10:00:00"));
  EXPECT_FALSE(ParseTimestamp("2026-13-23T10:00:00Z"));
  EXPECT_EQ(FormatTimestamp(1'795'428'000'250), "2026-11-23T10:00:00.250Z");
  const json base = {{"recipients", {{{"channel", "telegram"}, {"to", "123456"}}}}, {"content", "x"}};
  auto later = base;
  later["scheduled_at"] = "2026-11-23T10:00:00Z";
  EXPECT_EQ(Parsed(later).scheduled_at_ms, 1'795'428'000'000);
  auto past = base;
  past["scheduled_at"] = "2020-01-01T00:00:00Z";
  EXPECT_FALSE(Parsed(past).scheduled_at_ms);
}

// Found by fuzz/api_json_fuzz.cpp: a campaign keeps a scheduled_at before 1970,
// whose milliseconds came out as ".-500".
TEST(MessageJson, TimesBefore1970AreWrittenAsTheyWereRead) {
  EXPECT_EQ(ParseTimestamp("1969-12-31T23:59:59.500Z"), -500);
  EXPECT_EQ(FormatTimestamp(-500), "1969-12-31T23:59:59.500Z");
  EXPECT_EQ(FormatTimestamp(-1000), "1969-12-31T23:59:59.000Z");
  const auto ancient = ParseTimestamp("0226-11-23T11:30:00.250+01:30");
  ASSERT_TRUE(ancient);
  EXPECT_EQ(FormatTimestamp(*ancient), "0226-11-23T10:00:00.250Z");
}

// Found by fuzz/api_json_fuzz.cpp: sscanf read a sign or a space as part of a
// number, so a campaign could be scheduled for the year -27.
TEST(MessageJson, TimesWithSignsOrSpacesInTheirNumbersAreRefused) {
  for (const char* text : {"-027-01-15T10:00:00Z", "+026-11-23T10:00:00Z", " 226-11-23T10:00:00Z",
                           "2026-11-23T-1:00:00Z", "2026-11-23T 1:00:00Z", "2026-11-23T10:-1:00Z",
                           "2026-11-23T10:00:+1Z", "2026-11-23T10:00:00+-1:00", "2026-11-23T10:00:00+01: 5"}) {
    EXPECT_FALSE(ParseTimestamp(text)) << text;
  }
  EXPECT_EQ(ParseTimestamp("2026-11-23T11:30:00+01:30"), 1'795'428'000'000);
}

TEST(MessageJson, StatusFollowsTheRecipients) {
  store::MessageRecord message;
  message.recipients.resize(2);
  message.recipients[0].status = message.recipients[1].status = "queued";
  EXPECT_EQ(MessageStatus(message, kNow), "queued");
  message.scheduled_at_ms = kNow + 1000;
  EXPECT_EQ(MessageStatus(message, kNow), "scheduled");
  message.recipients[0].status = "sent";
  message.recipients[0].attempts = 1;
  EXPECT_EQ(MessageStatus(message, kNow), "processing");
  message.recipients[1].status = "failed";
  EXPECT_EQ(MessageStatus(message, kNow), "partially_sent");
  message.recipients[0].status = "dead";
  EXPECT_EQ(MessageStatus(message, kNow), "failed");
  message.recipients[0].status = message.recipients[1].status = "cancelled";
  EXPECT_EQ(MessageStatus(message, kNow), "cancelled");
}

}  // namespace
}  // namespace herald::api
