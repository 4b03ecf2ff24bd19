// TelegramChannel against tests/support/provider_server.py, a real HTTP server
// on loopback speaking the Bot API's sendMessage (token in the path, JSON
// bodies, {"ok": …} answers with error_code, description and parameters).
#include "channels/telegram/telegram_channel.hpp"

#include <gtest/gtest.h>

#include <stdexcept>

#include "channels/http/test_client.hpp"
#include "common/hash.hpp"
#include "tests/support/fake_http_server.hpp"

namespace herald::channels::telegram {
namespace {

using domain::OutcomeKind;
using herald::testing::FakeHttpServer;
using herald::testing::TempDir;
using std::chrono::milliseconds;
using std::chrono::seconds;

const std::string kToken = "4242:AAE-bot_secret-for-tests";

IoRuntime& Runtime() { return http::TestRuntime(); }
http::HttpClient& Client() { return http::TestClient(); }

class TelegramChannelTest : public ::testing::Test {
 protected:
  TelegramSettings Settings() const {
    return {.base_url = server_.Url("/"), .bot_token = kToken, .timeout = milliseconds(3000)};
  }
  domain::DeliveryOutcome Send(const TelegramSettings& settings, const std::string& chat,
                               const std::string& text = "Your code is 1234") {
    TelegramChannel channel(Client(), settings);
    RenderedMessage message;
    message.delivery_id = "r-7";
    message.channel = "telegram";
    message.to = chat;
    message.text = text;
    return SendAndWait(Runtime().executor(), channel, message);
  }

  TempDir dir_;
  FakeHttpServer server_{"provider_server.py", dir_.path(), {"--telegram-token", kToken}};
};

RenderedMessage WithDocument(const std::string& chat, const std::string& caption, std::vector<mime::Attachment> files) {
  RenderedMessage message;
  message.delivery_id = "r-8";
  message.channel = "telegram";
  message.to = chat;
  message.text = caption;
  message.attachments = std::move(files);
  return message;
}

TEST_F(TelegramChannelTest, AnAttachmentGoesAsADocumentWithTheTextAsItsCaption) {
  auto settings = Settings();
  settings.parse_mode = "HTML";
  TelegramChannel channel(Client(), settings);
  // Bytes a form must carry untouched: NUL, CRLF, and what looks like a boundary.
  std::string pdf = "%PDF-1.7\r\n";
  pdf += std::string("\0\x01\xff", 3) + "\r\n--herald-form-boundary-0\r\n%%EOF";
  const auto message = WithDocument("123456789", "Your <b>certificate</b>, Grüße",
                                    {{"Certificate \"Ana\".pdf", "application/pdf", pdf}});
  const auto outcome = SendAndWait(Runtime().executor(), channel, message);
  ASSERT_EQ(outcome.kind, OutcomeKind::kAccepted) << outcome.detail;
  EXPECT_EQ(outcome.provider_message_id, "123456789:1");
  const auto request = server_.Requests().at(0);
  EXPECT_EQ(request["path"], "/bot" + kToken + "/sendDocument");
  EXPECT_EQ(request["body"]["fields"], (nlohmann::json{{"chat_id", "123456789"},
                                                       {"caption", "Your <b>certificate</b>, Grüße"},
                                                       {"parse_mode", "HTML"}}));
  const auto& document = request["body"]["files"]["document"];
  EXPECT_EQ(document["filename"], "Certificate \"Ana\".pdf");
  EXPECT_EQ(document["content_type"], "application/pdf");
  EXPECT_EQ(document["size"], pdf.size());
  EXPECT_EQ(document["sha256"], Sha256Hex(pdf)) << "the file arrives byte for byte";
}

TEST_F(TelegramChannelTest, WhatTelegramCannotTakeAsADocumentIsPermanentBeforeAnyRequest) {
  TelegramChannel channel(Client(), Settings());
  const auto send = [&](const RenderedMessage& message) { return SendAndWait(Runtime().executor(), channel, message); };
  const auto two = send(WithDocument("1001", "two files", {{"a.pdf", "application/pdf", "a"}, {"b.pdf", "", "b"}}));
  EXPECT_EQ(two.kind, OutcomeKind::kPermanent);
  EXPECT_EQ(two.detail, "Telegram takes one document per message; this one has 2 attachments");
  const auto long_caption = send(WithDocument("1001", std::string(1025, 'x'), {{"a.pdf", "application/pdf", "a"}}));
  EXPECT_EQ(long_caption.kind, OutcomeKind::kPermanent);
  EXPECT_NE(long_caption.detail.find("at most 1024 characters; this text has 1025"), std::string::npos)
      << long_caption.detail;
  // 1,024 characters of two bytes each still fit.
  std::string umlauts;
  for (int i = 0; i < 1024; ++i) umlauts += "ü";
  EXPECT_EQ(send(WithDocument("1001", umlauts, {{"a.pdf", "application/pdf", "a"}})).kind, OutcomeKind::kAccepted);
  EXPECT_EQ(server_.Requests().size(), 1u);
}

TEST_F(TelegramChannelTest, AMessageGoesToItsChatAndTheIdNamesChatAndMessage) {
  auto settings = Settings();
  settings.parse_mode = "HTML";
  const auto first = Send(settings, "123456789", "<b>Grüße</b>");
  ASSERT_EQ(first.kind, OutcomeKind::kAccepted) << first.detail;
  EXPECT_EQ(first.provider_message_id, "123456789:1");
  EXPECT_EQ(Send(settings, "123456789").provider_message_id, "123456789:2");
  EXPECT_EQ(Send(settings, "-1001234567890").provider_message_id, "-1001234567890:1");
  const auto requests = server_.Requests();
  ASSERT_EQ(requests.size(), 3u);
  EXPECT_EQ(requests[0]["path"], "/bot" + kToken + "/sendMessage");
  EXPECT_EQ(requests[0]["headers"]["content-type"], "application/json");
  EXPECT_EQ(requests[0]["body"], (nlohmann::json{{"chat_id", "123456789"}, {"text", "<b>Grüße</b>"},
                                                 {"parse_mode", "HTML"}}));
  EXPECT_EQ(Send(Settings(), "@herald_news").kind, OutcomeKind::kAccepted);
  EXPECT_FALSE(server_.Requests().at(3)["body"].contains("parse_mode"));
}

TEST_F(TelegramChannelTest, FloodControlIsThrottledForTheSecondsTelegramNames) {
  const auto outcome = Send(Settings(), "429");
  EXPECT_EQ(outcome.kind, OutcomeKind::kThrottled) << outcome.detail;
  EXPECT_EQ(outcome.code, 429);
  EXPECT_EQ(outcome.retry_after, seconds(7));
  EXPECT_NE(outcome.detail.find("Too Many Requests: retry after 7"), std::string::npos) << outcome.detail;
}

TEST_F(TelegramChannelTest, RefusalsArePermanentInTelegramsWords) {
  const auto missing = Send(Settings(), "400");
  EXPECT_EQ(missing.kind, OutcomeKind::kPermanent);
  EXPECT_NE(missing.detail.find("HTTP 400: Bad Request: chat not found"), std::string::npos) << missing.detail;
  const auto blocked = Send(Settings(), "403");
  EXPECT_EQ(blocked.kind, OutcomeKind::kPermanent);
  EXPECT_EQ(blocked.code, 403);
  EXPECT_NE(blocked.detail.find("bot was blocked by the user"), std::string::npos) << blocked.detail;
  const auto moved = Send(Settings(), "777");
  EXPECT_EQ(moved.kind, OutcomeKind::kPermanent);
  EXPECT_NE(moved.detail.find("the group is now the supergroup -1001234567890"), std::string::npos) << moved.detail;
}

TEST_F(TelegramChannelTest, ServerErrorsAreTransientAndADropAfterTheRequestIsUnknown) {
  EXPECT_EQ(Send(Settings(), "500").kind, OutcomeKind::kTransient);
  EXPECT_EQ(Send(Settings(), "999").kind, OutcomeKind::kUnknown);
}

TEST_F(TelegramChannelTest, AWrongTokenIsPermanentAndNeverQuoted) {
  auto settings = Settings();
  settings.bot_token = "4242:a-wrong-secret";
  const auto outcome = Send(settings, "123456789");
  EXPECT_EQ(outcome.kind, OutcomeKind::kPermanent);
  EXPECT_NE(outcome.detail.find("check telegram.bot_token"), std::string::npos) << outcome.detail;
  EXPECT_EQ(outcome.detail.find("a-wrong-secret"), std::string::npos) << outcome.detail;
}

TEST_F(TelegramChannelTest, ARecipientThatIsNoChatIdFailsWithoutARequest) {
  const auto outcome = Send(Settings(), "+14155552671");
  EXPECT_EQ(outcome.kind, OutcomeKind::kPermanent);
  EXPECT_NE(outcome.detail.find("is not a Telegram chat id"), std::string::npos) << outcome.detail;
  EXPECT_TRUE(server_.Requests().empty());
}

TEST(TelegramSettings, MistakesAreRefusedAtStartAndTheTokenIsNeverDescribed) {
  auto refused = [](TelegramSettings settings, const std::string& words) {
    try {
      TelegramChannel channel(Client(), settings);
      ADD_FAILURE() << "accepted settings that should name " << words;
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find(words), std::string::npos) << e.what();
      EXPECT_EQ(std::string(e.what()).find("zq-hidden"), std::string::npos) << e.what();
      EXPECT_EQ(std::string(e.what()).find("AAE-bot"), std::string::npos) << e.what();
    }
  };
  refused({.bot_token = ""}, "telegram.bot_token");
  refused({.bot_token = "4242 zq-hidden"}, "telegram.bot_token");
  refused({.bot_token = "bot:zq-hidden"}, "telegram.bot_token");
  refused({.bot_token = kToken, .parse_mode = "markdown"}, "telegram.parse_mode");
  refused({.base_url = "api.telegram.org", .bot_token = kToken}, "telegram.base_url");
  TelegramChannel channel(Client(), {.bot_token = kToken});
  EXPECT_EQ(channel.Describe(), "telegram:https://api.telegram.org/ (bot 4242)");
}

}  // namespace
}  // namespace herald::channels::telegram
