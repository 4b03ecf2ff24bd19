#include "channels/telegram/telegram_channel.hpp"

#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <vector>

#include "channels/http/http_outcome.hpp"

namespace herald::channels::telegram {

using domain::DeliveryOutcome;

namespace {

// Telegram's answer to a failed call: {"ok": false, "error_code": 429,
// "description": "Too Many Requests: retry after 5", "parameters": {"retry_after": 5}}.
struct BotApiError {
  int code = 0;
  std::string description;
  std::int64_t retry_after_s = 0;
  std::string migrate_to_chat_id;
};

BotApiError ErrorOf(const nlohmann::json& doc) {
  BotApiError error;
  if (!doc.is_object()) return error;
  if (const auto it = doc.find("error_code"); it != doc.end() && it->is_number_integer()) error.code = it->get<int>();
  if (const auto it = doc.find("description"); it != doc.end() && it->is_string()) {
    error.description = it->get<std::string>();
  }
  if (const auto parameters = doc.find("parameters"); parameters != doc.end() && parameters->is_object()) {
    if (const auto it = parameters->find("retry_after"); it != parameters->end() && it->is_number_integer()) {
      error.retry_after_s = std::max<std::int64_t>(0, it->get<std::int64_t>());
    }
    if (const auto it = parameters->find("migrate_to_chat_id"); it != parameters->end() && it->is_number_integer()) {
      error.migrate_to_chat_id = it->dump();
    }
  }
  return error;
}

std::string Detail(const http::HttpResponse& response, const BotApiError& error) {
  std::string detail = "HTTP " + std::to_string(response.status);
  if (error.retry_after_s > 0) detail += ", retry after " + std::to_string(error.retry_after_s) + " s";
  const auto words = http::Excerpt(error.description.empty() ? response.body : error.description);
  if (!words.empty()) detail += ": " + words;
  return detail;
}

DeliveryOutcome ClassifyAnswer(const http::HttpResponse& response, const std::string& chat_id) {
  const auto doc = nlohmann::json::parse(response.body, nullptr, /*allow_exceptions=*/false);
  const long status = response.status;
  if (status >= 200 && status < 300 && doc.is_object() && doc.value("ok", false)) {
    std::string id;
    if (const auto result = doc.find("result"); result != doc.end() && result->is_object()) {
      if (const auto it = result->find("message_id"); it != result->end() && it->is_number_integer()) {
        // Message ids count per chat: the chat makes the id unique.
        id = chat_id + ":" + it->dump();
      }
    }
    auto outcome = DeliveryOutcome::Accepted(id, id.empty() ? "HTTP " + std::to_string(status) +
                                                                   "; accepted, but the answer has no message_id"
                                                             : "HTTP " + std::to_string(status));
    outcome.code = static_cast<int>(status);
    return outcome;
  }
  const auto error = ErrorOf(doc);
  const int code = error.code != 0 ? error.code : static_cast<int>(status);
  // Telegram says how long in the body; an HTTP Retry-After is the fallback.
  const std::chrono::milliseconds retry_after =
      std::chrono::seconds(error.retry_after_s > 0 ? error.retry_after_s : response.retry_after_s);
  if (status == 429 || error.code == 429) return DeliveryOutcome::Throttled(Detail(response, error), code, retry_after);
  if (status >= 500) {
    auto outcome = DeliveryOutcome::Transient(Detail(response, error), code);
    outcome.retry_after = retry_after;
    return outcome;
  }
  if (status == 401 || status == 404) {
    // The Bot API answers an unknown token with 401 and a malformed one with 404.
    return DeliveryOutcome::Permanent(Detail(response, error) + " (check telegram.bot_token)", code);
  }
  if (!error.migrate_to_chat_id.empty()) {
    return DeliveryOutcome::Permanent(
        Detail(response, error) + " (the group is now the supergroup " + error.migrate_to_chat_id + "; send to that id)",
        code);
  }
  if (status >= 200 && status < 300) {
    return DeliveryOutcome::Permanent(Detail(response, error) + " (a success status without \"ok\": true)", code);
  }
  return DeliveryOutcome::Permanent(Detail(response, error), code);
}

// "<digits>:<35 or so of [A-Za-z0-9_-]>": checked so a pasted line with a space
// or a missing half is caught at start-up; the digits are the bot's public id.
std::string BotIdOf(const std::string& token) {
  const auto colon = token.find(':');
  const bool digits = colon != std::string::npos && colon > 0 &&
                      std::all_of(token.begin(), token.begin() + static_cast<long>(colon),
                                  [](char c) { return std::isdigit(static_cast<unsigned char>(c)); });
  const bool secret = colon != std::string::npos && colon + 1 < token.size() &&
                      std::all_of(token.begin() + static_cast<long>(colon) + 1, token.end(), [](char c) {
                        return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
                      });
  if (!digits || !secret) {
    throw std::invalid_argument(
        "telegram.bot_token must be the token @BotFather gave (\"<bot id>:<secret>\"; HERALD_TELEGRAM_BOT_TOKEN)");
  }
  return token.substr(0, colon);
}

// The Bot API's limits for sendDocument: a caption of 1,024 characters, and
// uploads of 50 MB.
constexpr std::size_t kMaxCaptionCharacters = 1024;
constexpr std::size_t kMaxDocumentBytes = 50u << 20;

std::size_t Utf8Characters(const std::string& text) {
  return static_cast<std::size_t>(
      std::count_if(text.begin(), text.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

bool IsChatId(const std::string& to) {
  if (to.size() > 1 && to[0] == '@') {
    return std::all_of(to.begin() + 1, to.end(),
                       [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; });
  }
  const std::size_t start = !to.empty() && to[0] == '-' ? 1 : 0;
  return to.size() > start && to.size() - start <= 20 &&
         std::all_of(to.begin() + static_cast<long>(start), to.end(),
                     [](char c) { return std::isdigit(static_cast<unsigned char>(c)); });
}

}  // namespace

TelegramChannel::TelegramChannel(http::HttpClient& client, TelegramSettings settings)
    : HttpProviderChannel(client, {settings.connect_timeout, settings.timeout, settings.max_in_flight}, "telegram"),
      settings_(std::move(settings)) {
  const auto base = http::DescribeHttpUrl(settings_.base_url, "telegram.base_url");
  while (!settings_.base_url.empty() && settings_.base_url.back() == '/') settings_.base_url.pop_back();
  const auto bot_id = BotIdOf(settings_.bot_token);
  const auto& mode = settings_.parse_mode;
  if (!mode.empty() && mode != "HTML" && mode != "MarkdownV2" && mode != "Markdown") {
    throw std::invalid_argument("telegram.parse_mode must be \"\" (plain text), \"HTML\", \"MarkdownV2\" or "
                                "\"Markdown\", got \"" + mode + "\"");
  }
  send_message_url_ = settings_.base_url + "/bot" + settings_.bot_token + "/sendMessage";
  send_document_url_ = settings_.base_url + "/bot" + settings_.bot_token + "/sendDocument";
  description_ = "telegram:" + base + " (bot " + bot_id + ")";
}

http::HttpProviderChannel::RequestOrOutcome TelegramChannel::RequestFor(const RenderedMessage& message) const {
  if (!IsChatId(message.to)) {
    return DeliveryOutcome::Permanent("\"" + http::Excerpt(message.to, 64) +
                                      "\" is not a Telegram chat id (digits, \"-100…\" for groups) or @channel");
  }
  if (!message.attachments.empty()) return DocumentRequestFor(message);
  nlohmann::json body = {{"chat_id", message.to}, {"text", message.text}};
  if (!settings_.parse_mode.empty()) body["parse_mode"] = settings_.parse_mode;
  http::HttpRequest request;
  request.url = send_message_url_;
  // Invalid UTF-8 is replaced rather than thrown on: one bad template must not stop a worker.
  request.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  request.headers = {"Content-Type: application/json", "Accept: application/json"};
  return request;
}

http::HttpProviderChannel::RequestOrOutcome TelegramChannel::DocumentRequestFor(const RenderedMessage& message) const {
  if (message.attachments.size() > 1) {
    return DeliveryOutcome::Permanent("Telegram takes one document per message; this one has " +
                                      std::to_string(message.attachments.size()) + " attachments");
  }
  const auto& document = message.attachments.front();
  if (const auto characters = Utf8Characters(message.text); characters > kMaxCaptionCharacters) {
    return DeliveryOutcome::Permanent("a Telegram document's caption is at most 1024 characters; this text has " +
                                      std::to_string(characters));
  }
  if (document.data.size() > kMaxDocumentBytes) {
    return DeliveryOutcome::Permanent("Telegram takes documents of up to 50 MB from a bot; \"" +
                                      http::Excerpt(document.filename, 64) + "\" is " +
                                      std::to_string(document.data.size() >> 20) + " MB");
  }
  std::vector<std::pair<std::string, std::string>> fields = {{"chat_id", message.to}};
  if (!message.text.empty()) fields.emplace_back("caption", message.text);
  if (!settings_.parse_mode.empty() && !message.text.empty()) fields.emplace_back("parse_mode", settings_.parse_mode);
  const auto form = http::MultipartFormData(
      fields, {{.field = "document",
                .filename = document.filename.empty() ? "document" : document.filename,
                .content_type = document.content_type,
                .data = &document.data}});
  http::HttpRequest request;
  request.url = send_document_url_;
  request.body = form.body;
  request.headers = {"Content-Type: " + form.content_type, "Accept: application/json"};
  return request;
}

DeliveryOutcome TelegramChannel::Classify(const http::HttpResponse& response, const RenderedMessage& message) const {
  return ClassifyAnswer(response, message.to);
}

}  // namespace herald::channels::telegram
