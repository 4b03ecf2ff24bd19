// TelegramChannel: messages to Telegram chats through the Bot API
// (POST /bot<token>/sendMessage with {chat_id, text, parse_mode}; a message with
// an attachment as POST /bot<token>/sendDocument, multipart/form-data with the
// text as its caption) on the shared asynchronous HttpClient. A recipient is a chat id ("123456789",
// "-1001234567890") or a public channel's "@username".
#pragma once

#include <chrono>
#include <string>

#include "channels/channel.hpp"
#include "channels/http/http_provider_channel.hpp"

namespace herald::channels::telegram {

struct TelegramSettings {
  std::string base_url = "https://api.telegram.org";  // a local Bot API server, or a test's
  std::string bot_token;   // "123456:ABC…" from @BotFather; a secret, part of every URL, never described
  std::string parse_mode;  // "", "HTML", "MarkdownV2" or "Markdown": how Telegram reads the text
  std::chrono::milliseconds connect_timeout{5000};
  std::chrono::milliseconds timeout{30000};
  int max_in_flight = 16;
};

// Outcome, by what came back ({"ok": …, "result" | "error_code", "description",
// "parameters"}):
//   ok                                  accepted; provider id "<chat id>:<message_id>"
//   429 (flood control)                 throttled, parameters.retry_after honoured
//   5xx                                 transient
//   401 / 404 (bad token)               permanent, naming telegram.bot_token
//   400 with migrate_to_chat_id         permanent, naming the supergroup's new id
//   other 4xx ("chat not found", "bot was blocked by the user")  permanent, Telegram's words kept
//   no answer after the request left    unknown
class TelegramChannel final : public http::HttpProviderChannel {
 public:
  // Throws std::invalid_argument naming the setting that is missing or malformed
  // (never quoting the token). Described as "telegram:https://api.telegram.org/
  // (bot 123456)": the bot's id, never its token.
  TelegramChannel(http::HttpClient& client, TelegramSettings settings);

 private:
  RequestOrOutcome RequestFor(const RenderedMessage& message) const override;
  domain::DeliveryOutcome Classify(const http::HttpResponse& response, const RenderedMessage& message) const override;
  // One document (at most 50 MB) with a caption of at most 1,024 characters; more is permanent.
  RequestOrOutcome DocumentRequestFor(const RenderedMessage& message) const;

  TelegramSettings settings_;
  std::string send_message_url_;
  std::string send_document_url_;
};

}  // namespace herald::channels::telegram
