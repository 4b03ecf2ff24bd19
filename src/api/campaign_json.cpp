#include "api/campaign_json.hpp"

#include <algorithm>
#include <map>

#include "api/message_json.hpp"
#include "app/campaign_content.hpp"
#include "common/text.hpp"
#include "domain/recipient.hpp"

namespace herald::api {
namespace {

using nlohmann::json;
using templating::Template;

constexpr std::size_t kMaxNameBytes = 200;
constexpr std::size_t kMaxTemplateBytes = 256 * 1024;
constexpr std::int64_t kMaxScheduleAheadMs = 366LL * 24 * 3600 * 1000;

std::variant<Template, ApiError> ParseText(const std::string& text, const std::string& field, bool single_brace) {
  auto parsed = app::ParsePlaceholders(text, field, single_brace);
  if (auto* failure = std::get_if<app::Failure>(&parsed)) return ApiError::From(*failure);
  return std::move(std::get<Template>(parsed));
}

// Reads an optional string member into `out`; an error names the field.
std::optional<ApiError> ReadString(const json& body, const char* name, std::string& out, std::size_t max_bytes) {
  const auto it = body.find(name);
  if (it == body.end() || it->is_null()) return std::nullopt;
  if (!it->is_string()) return ApiError::Invalid(std::string(name) + ": must be a string");
  out = it->get<std::string>();
  if (out.size() > max_bytes) {
    return ApiError::Invalid(std::string(name) + ": at most " + std::to_string(max_bytes) + " bytes");
  }
  return std::nullopt;
}

}  // namespace

std::variant<store::TemplateRecord, ApiError> ParseTemplateRequest(const json& body, std::int64_t owner_id,
                                                                   const store::TemplateRecord* existing) {
  if (!body.is_object()) return ApiError::Invalid("body: must be a JSON object");
  store::TemplateRecord t = existing ? *existing : store::TemplateRecord{};
  if (!existing) t.owner_id = owner_id;
  if (!existing || body.contains("name")) {
    t.name.clear();
    if (auto e = ReadString(body, "name", t.name, kMaxNameBytes)) return *e;
    if (text::Trim(t.name).empty()) return ApiError::Invalid("name: must be a non-empty string");
  }
  if (const auto it = body.find("channel"); it != body.end()) {
    if (it->is_null()) {
      t.channel.reset();
    } else {
      const auto channel = it->is_string() ? domain::ParseChannel(it->get<std::string>()) : std::nullopt;
      if (!channel) return ApiError::Invalid("channel: must be one of sms, whatsapp, email, telegram, or null");
      t.channel = domain::ToString(*channel);
    }
  }
  for (auto [name, member] :
       {std::pair{"subject", &store::TemplateRecord::subject}, std::pair{"html", &store::TemplateRecord::html},
        std::pair{"text", &store::TemplateRecord::text}}) {
    if (!body.contains(name)) continue;
    (t.*member).clear();
    if (auto e = ReadString(body, name, t.*member, kMaxTemplateBytes)) return *e;
  }
  if (t.html.empty() && t.text.empty())
    return ApiError::Invalid("text, html: a template needs a body in one of them");
  t.variables.clear();
  for (auto [name, text, single] : {std::tuple{"subject", &t.subject, true}, std::tuple{"text", &t.text, true},
                                    std::tuple{"html", &t.html, false}}) {
    auto parsed = ParseText(*text, name, single);
    if (auto* error = std::get_if<ApiError>(&parsed)) return *error;
    app::AddVariables(t.variables, std::get<Template>(parsed));
  }
  return t;
}

json TemplateToJson(const store::TemplateRecord& t) {
  return {{"id", t.id},
          {"owner_id", t.owner_id},
          {"name", t.name},
          {"channel", t.channel ? json(*t.channel) : json(nullptr)},
          {"subject", t.subject},
          {"html", t.html},
          {"text", t.text},
          {"variables", t.variables},
          {"created_at", FormatTimestamp(t.created_at_ms)},
          {"updated_at", FormatTimestamp(t.updated_at_ms)}};
}

std::variant<store::CampaignRecord, ApiError> ParseCampaignRequest(const json& body, std::int64_t owner_id,
                                                                   std::int64_t now_ms) {
  if (!body.is_object()) return ApiError::Invalid("body: must be a JSON object");
  store::CampaignRecord c;
  c.owner_id = owner_id;
  c.status = "draft";
  if (auto e = ReadString(body, "name", c.name, kMaxNameBytes)) return *e;
  if (text::Trim(c.name).empty()) return ApiError::Invalid("name: must be a non-empty string");
  const auto channel_it = body.find("channel");
  const auto channel = channel_it != body.end() && channel_it->is_string()
                           ? domain::ParseChannel(channel_it->get<std::string>())
                           : std::nullopt;
  if (!channel) return ApiError::Invalid("channel: must be one of sms, whatsapp, email, telegram");
  c.channel = domain::ToString(*channel);
  if (auto e = ReadString(body, "base_template", c.base_template, kMaxTemplateBytes)) return *e;
  if (const auto it = body.find("template_id"); it != body.end() && !it->is_null()) {
    if (!it->is_number_integer() || it->get<std::int64_t>() < 1) {
      return ApiError::Invalid("template_id: must be a positive whole number");
    }
    c.template_id = it->get<std::int64_t>();
  }
  if (c.template_id && !c.base_template.empty()) {
    return ApiError::Invalid("base_template, template_id: give one, not both");
  }
  if (!c.template_id) {
    if (text::Trim(c.base_template).empty()) {
      return ApiError::Invalid("base_template: must be a non-empty string (or give template_id)");
    }
    auto parsed = ParseText(c.base_template, "base_template", true);
    if (auto* error = std::get_if<ApiError>(&parsed)) return *error;
  }
  if (auto e = ReadString(body, "subject", c.subject, 998)) return *e;
  if (auto parsed = ParseText(c.subject, "subject", true); std::holds_alternative<ApiError>(parsed)) {
    return std::get<ApiError>(parsed);
  }
  if (const auto at = body.find("scheduled_at"); at != body.end() && !at->is_null()) {
    const auto parsed = at->is_string() ? ParseTimestamp(at->get<std::string>()) : std::nullopt;
    if (!parsed)
      return ApiError::Invalid("scheduled_at: must be an RFC 3339 time such as \"2026-11-23T10:00:00Z\"");
    if (*parsed > now_ms + kMaxScheduleAheadMs) return ApiError::Invalid("scheduled_at: must be within a year");
    c.scheduled_at_ms = *parsed;
    c.status = "scheduled";
  }
  return c;
}

json CampaignToJson(const store::CampaignRecord& c) {
  return {{"id", c.id},
          {"owner_id", c.owner_id},
          {"name", c.name},
          {"channel", c.channel},
          {"status", c.status},
          {"base_template", c.template_id ? json(nullptr) : json(c.base_template)},
          {"template_id", c.template_id ? json(*c.template_id) : json(nullptr)},
          {"subject", c.subject},
          {"scheduled_at", c.scheduled_at_ms ? json(FormatTimestamp(*c.scheduled_at_ms)) : json(nullptr)},
          {"created_at", FormatTimestamp(c.created_at_ms)},
          {"updated_at", FormatTimestamp(c.updated_at_ms)}};
}

json StatsToJson(const store::CampaignStats& s) {
  return {
      {"total", s.total},         {"pending", s.pending}, {"sent", s.sent},       {"failed", s.failed},
      {"cancelled", s.cancelled}, {"delivered", s.delivered}, {"read", s.read}, {"clicked", s.clicked},
      {"bounced", s.bounced},     {"complained", s.complained}};
}

}  // namespace herald::api
