// Fuzz target for the API's request parsers: ParseJson (every JSON body goes
// through it), the message, retry, template, campaign and contact parsers of
// src/api/*_json.cpp, the contacts CSV import and RFC 3339 timestamps. The
// input is a request body. Each parser answers a value or an ApiError, never an
// exception; what it accepts keeps the documented shape and survives being
// written out as the API answers and read back in.
#include <algorithm>
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

#include "api/api_context.hpp"
#include "api/campaign_json.hpp"
#include "api/contact_json.hpp"
#include "api/message_json.hpp"
#include "common/text.hpp"
#include "domain/recipient.hpp"
#include "fuzz/fuzz_check.hpp"

namespace herald::fuzz {
namespace {

using api::ApiError;
using nlohmann::json;

constexpr std::int64_t kOwner = 7;
constexpr std::int64_t kNow = 1'795'000'000'000;  // 2026-11-19, as in message_json_test.cpp
constexpr std::int64_t kYearAheadMs = 366LL * 24 * 3600 * 1000;
// 0000-01-01 and 9999-12-31T23:59:59.999Z: the instants four-digit years can write.
constexpr std::int64_t kFirstWritableMs = -62'167'219'200'000;
constexpr std::int64_t kLastWritableMs = 253'402'300'799'999;

void CheckError(const ApiError& error) {
  Require(error.status == 400 || error.status == 404 || error.status == 409, "a request error is 400, 404 or 409");
  Require(!error.code.empty() && std::all_of(error.code.begin(), error.code.end(),
                                             [](char c) { return (c >= 'A' && c <= 'Z') || c == '_'; }),
          "an error code is UPPER_SNAKE_CASE");
  Require(!error.message.empty(), "an error says what is wrong");
  const auto body = json::parse(error.Body(), nullptr, false);
  Require(!body.is_discarded() && body["error"]["code"] == error.code, "an error body is JSON with its code");
}

// The parsed value, or nullopt after checking the error's shape.
template <typename T>
std::optional<T> ValueOf(std::variant<T, ApiError> parsed) {
  if (const auto* error = std::get_if<ApiError>(&parsed)) {
    CheckError(*error);
    return std::nullopt;
  }
  return std::move(std::get<T>(parsed));
}

// --- timestamps ---

bool IsDigits(std::string_view text, std::size_t at, std::size_t count) {
  if (at + count > text.size()) return false;
  for (std::size_t i = at; i < at + count; ++i) {
    if (!std::isdigit(static_cast<unsigned char>(text[i]))) return false;
  }
  return true;
}

// RFC 3339 date-time: YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM), digits only.
bool IsRfc3339(std::string_view text) {
  if (!(IsDigits(text, 0, 4) && text[4] == '-' && IsDigits(text, 5, 2) && text[7] == '-' && IsDigits(text, 8, 2) &&
        (text[10] == 'T' || text[10] == 't') && IsDigits(text, 11, 2) && text[13] == ':' && IsDigits(text, 14, 2) &&
        text[16] == ':' && IsDigits(text, 17, 2))) {
    return false;
  }
  std::size_t pos = 19;
  if (pos < text.size() && text[pos] == '.') {
    const std::size_t start = ++pos;
    while (pos < text.size() && std::isdigit(static_cast<unsigned char>(text[pos]))) ++pos;
    if (pos == start) return false;
  }
  if (pos < text.size() && (text[pos] == 'Z' || text[pos] == 'z')) return pos + 1 == text.size();
  return pos + 6 == text.size() && (text[pos] == '+' || text[pos] == '-') && IsDigits(text, pos + 1, 2) &&
         text[pos + 3] == ':' && IsDigits(text, pos + 4, 2);
}

void CheckTimestamp(const std::string& text) {
  const auto parsed = api::ParseTimestamp(text);
  if (!parsed) return;
  Require(IsRfc3339(text), "ParseTimestamp accepts only RFC 3339 date-times");
  if (*parsed < kFirstWritableMs || *parsed > kLastWritableMs) return;
  const auto written = api::FormatTimestamp(*parsed);
  Require(IsRfc3339(written), "FormatTimestamp writes RFC 3339");
  Require(api::ParseTimestamp(written) == parsed, "a formatted time reads back as the same instant");
}

// --- messages ---

bool IsCanonicalAddress(domain::Channel channel, const std::string& address) {
  const auto again = domain::NormalizeRecipient(channel, address);
  return again && *again == address;
}

void CheckMessage(const store::NewMessage& message) {
  Require(message.owner_id == kOwner, "a message belongs to the caller");
  Require(!message.recipients.empty() && message.recipients.size() <= 1000, "a message has 1 to 1000 recipients");
  Require(message.priority >= 0 && message.priority <= 9, "a priority is 0..9");
  if (message.scheduled_at_ms) {
    Require(*message.scheduled_at_ms > kNow && *message.scheduled_at_ms <= kNow + kYearAheadMs,
            "a kept schedule is in the coming year");
  }
  Require(message.idempotency_key.size() <= 255 && !message.idempotency_key.starts_with("campaign:"),
          "an idempotency key is at most 255 bytes and not a campaign's");
  bool any_email = false;
  for (const auto& recipient : message.recipients) {
    const auto channel = domain::ParseChannel(recipient.channel);
    Require(channel && recipient.channel == domain::ToString(*channel), "a recipient's channel is a canonical name");
    Require(IsCanonicalAddress(*channel, recipient.address), "a recipient's address is in canonical form");
    Require(static_cast<bool>(domain::ValidateContent(*channel, message.subject, message.content)),
            "the content is valid for every recipient's channel");
    any_email = any_email || *channel == domain::Channel::kEmail;
  }
  Require(any_email || message.html.empty(), "only e-mail carries HTML");
  Require(message.html.size() <= domain::kMaxEmailBodyBytes, "HTML is within the e-mail body limit");
}

store::TemplateRecord StoredTemplate() {
  store::TemplateRecord t;
  t.id = 1;
  t.owner_id = kOwner;
  t.name = "welcome";
  t.channel = "email";
  t.subject = "Hello {first_name}";
  t.text = "Hi {{first_name}}, your order {{ order }} has shipped.";
  t.html = "<p>Hi {{first_name}}, your order <b>{{order}}</b> has shipped.</p>";
  t.variables = {"first_name", "order"};
  return t;
}

// --- templates, campaigns, contacts ---

void CheckTemplate(const store::TemplateRecord& t) {
  Require(!text::Trim(t.name).empty() && t.name.size() <= 200, "a template's name is 1 to 200 bytes, not blank");
  Require(!t.channel || domain::ParseChannel(*t.channel), "a template's channel is none or a channel");
  Require(!t.html.empty() || !t.text.empty(), "a template has a body");
  const std::set<std::string> distinct(t.variables.begin(), t.variables.end());
  Require(distinct.size() == t.variables.size(), "a template lists each variable once");
  // As the API shows it and a client sends it back (PUT).
  const auto again = api::ParseTemplateRequest(api::TemplateToJson(t), t.owner_id);
  const auto read = ValueOf(again);
  Require(read.has_value(), "a template as the API shows it is a valid template request");
  Require(read->name == t.name && read->channel == t.channel && read->subject == t.subject && read->html == t.html &&
              read->text == t.text && read->variables == t.variables,
          "a template read back from its JSON is the same template");
}

void CheckCampaign(const store::CampaignRecord& c) {
  Require(!text::Trim(c.name).empty() && c.name.size() <= 200, "a campaign's name is 1 to 200 bytes, not blank");
  Require(domain::ParseChannel(c.channel).has_value(), "a campaign has a channel");
  Require(c.template_id.has_value() != !c.base_template.empty(), "a campaign has a template id or a body, not both");
  Require((c.status == "scheduled") == c.scheduled_at_ms.has_value() && (c.status == "scheduled" || c.status == "draft"),
          "a new campaign is scheduled when it has a time, else a draft");
  if (c.scheduled_at_ms) Require(*c.scheduled_at_ms <= kNow + kYearAheadMs, "a schedule is within a year");
  const auto shown = api::CampaignToJson(c);
  if (c.scheduled_at_ms) {
    Require(IsRfc3339(shown["scheduled_at"].get<std::string>()), "a campaign's scheduled_at is shown as RFC 3339");
  }
  const auto again = api::ParseCampaignRequest(shown, c.owner_id, kNow);
  const auto read = ValueOf(again);
  Require(read.has_value(), "a campaign as the API shows it is a valid campaign request");
  Require(read->name == c.name && read->channel == c.channel && read->status == c.status &&
              read->base_template == c.base_template && read->template_id == c.template_id &&
              read->subject == c.subject && read->scheduled_at_ms == c.scheduled_at_ms,
          "a campaign read back from its JSON is the same campaign");
}

void CheckContact(const store::ContactRecord& c) {
  Require(c.phone || c.email || c.telegram_chat_id, "a contact has an address");
  if (c.phone) Require(IsCanonicalAddress(domain::Channel::kSms, *c.phone), "a contact's phone is canonical");
  if (c.email) Require(IsCanonicalAddress(domain::Channel::kEmail, *c.email), "a contact's e-mail is canonical");
  if (c.telegram_chat_id) {
    Require(IsCanonicalAddress(domain::Channel::kTelegram, *c.telegram_chat_id), "a contact's chat id is canonical");
  }
  for (const auto* field : {&c.first_name, &c.last_name, &c.location, &c.preferred_product}) {
    if (!*field) continue;
    Require(!(*field)->empty() && text::Trim(**field) == **field && (*field)->size() <= 1000,
            "a contact's text field is trimmed, 1 to 1000 bytes");
  }
  const auto attributes = json::parse(c.attributes_json, nullptr, false);
  Require(attributes.is_object(), "a contact's attributes are a JSON object");
  const auto again = api::ParseContact(api::ContactToJson(c), c.owner_id);
  const auto read = ValueOf(again);
  Require(read.has_value(), "a contact as the API shows it is a valid contact request");
  Require(read->phone == c.phone && read->email == c.email && read->telegram_chat_id == c.telegram_chat_id &&
              read->first_name == c.first_name && read->last_name == c.last_name && read->location == c.location &&
              read->preferred_product == c.preferred_product && read->attributes_json == c.attributes_json,
          "a contact read back from its JSON is the same contact");
}

int Depth(const json& value) {
  if (!value.is_structured()) return 0;
  int deepest = 0;
  for (const auto& member : value) deepest = std::max(deepest, Depth(member));
  return deepest + 1;
}

void CheckBody(const json& body) {
  Require(Depth(body) <= api::kMaxJsonDepth, "ParseJson refuses bodies nested deeper than the limit");
  const auto lookup = [&body](std::int64_t id) -> std::optional<store::TemplateRecord> {
    if (id == 1) return StoredTemplate();
    // Template 2 is the body's own "template" member, when that is a valid template.
    if (id != 2 || !body.is_object() || !body.contains("template")) return std::nullopt;
    auto parsed = api::ParseTemplateRequest(body["template"], kOwner);
    if (const auto* t = std::get_if<store::TemplateRecord>(&parsed)) {
      auto linked = *t;
      linked.id = 2;
      return linked;
    }
    return std::nullopt;
  };
  if (const auto message = ValueOf(api::ParseMessageRequest(body, kOwner, kNow, "", lookup))) CheckMessage(*message);
  if (body.is_object() && body.contains("messages") && body["messages"].is_array()) {
    const auto& bulk = body["messages"];
    for (std::size_t i = 0; i < bulk.size() && i < 64; ++i) {
      const auto where = "messages[" + std::to_string(i) + "].";
      const auto parsed = api::ParseMessageRequest(bulk[i], kOwner, kNow, where, lookup);
      if (const auto message = ValueOf(parsed)) CheckMessage(*message);
      if (const auto* error = std::get_if<ApiError>(&parsed); error && error->status == 400) {
        Require(error->message.starts_with(where), "a bulk error names the message it is about");
      }
    }
  }
  if (body.is_object() && body.contains("scheduled_at") && body["scheduled_at"].is_string()) {
    CheckTimestamp(body["scheduled_at"].get<std::string>());
  }
  if (const auto statuses = ValueOf(api::ParseRetryStatuses(body))) {
    Require(!statuses->empty(), "a retry names at least one state");
    const std::set<std::string> distinct(statuses->begin(), statuses->end());
    Require(distinct.size() == statuses->size(), "a retry names each state once");
    for (const auto& status : *statuses) {
      Require(status == "failed" || status == "dead" || status == "unknown", "a retry names failed, dead or unknown");
    }
  }
  if (const auto t = ValueOf(api::ParseTemplateRequest(body, kOwner))) CheckTemplate(*t);
  const auto existing_template = StoredTemplate();
  if (const auto t = ValueOf(api::ParseTemplateRequest(body, kOwner, &existing_template))) CheckTemplate(*t);
  if (const auto c = ValueOf(api::ParseCampaignRequest(body, kOwner, kNow))) CheckCampaign(*c);
  if (const auto c = ValueOf(api::ParseContact(body, kOwner))) CheckContact(*c);
  store::ContactRecord existing_contact;
  existing_contact.owner_id = kOwner;
  existing_contact.email = "ann@example.org";
  existing_contact.first_name = "Ann";
  if (const auto c = ValueOf(api::ParseContact(body, kOwner, &existing_contact))) CheckContact(*c);
}

void FuzzOne(std::string_view input) {
  if (input.size() <= 64) CheckTimestamp(std::string(input));
  if (const auto import = ValueOf(api::ParseContactsCsv(std::string(input), kOwner))) {
    for (const auto& contact : import->contacts) CheckContact(contact);
    for (const auto& row : import->rejected) {
      Require(row.line == 0 || row.line >= 2, "a rejected CSV row is a data row (0: the rest of the file)");
      Require(!row.message.empty(), "a rejected CSV row says why");
    }
  }
  const auto parsed = api::ParseJson(input);
  if (const auto* error = std::get_if<ApiError>(&parsed)) {
    CheckError(*error);
    Require(error->code == "INVALID_JSON", "a body that cannot be read is INVALID_JSON");
    return;
  }
  CheckBody(std::get<json>(parsed));
}

}  // namespace
}  // namespace herald::fuzz

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  herald::fuzz::FuzzOne(std::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
