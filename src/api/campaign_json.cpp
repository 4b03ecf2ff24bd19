#include "api/campaign_json.hpp"

#include <algorithm>
#include <map>

#include "api/message_json.hpp"
#include "common/text.hpp"
#include "domain/recipient.hpp"
#include "templating/html_text.hpp"

namespace herald::api {
namespace {

using nlohmann::json;
using templating::Template;

constexpr std::size_t kMaxNameBytes = 200;
constexpr std::size_t kMaxTemplateBytes = 256 * 1024;
constexpr std::int64_t kMaxScheduleAheadMs = 366LL * 24 * 3600 * 1000;

// Go templates write {{.name}}; the leading dot is not part of the name.
std::string_view FieldName(std::string_view placeholder) {
  if (!placeholder.empty() && placeholder.front() == '.') placeholder.remove_prefix(1);
  return placeholder;
}

std::variant<Template, ApiError> ParseText(const std::string& text, const std::string& field, bool single_brace) {
  auto parsed = Template::Parse(text, field, {.single_brace = single_brace});
  if (!parsed) return ApiError::Unprocessable(parsed.error().message);
  return std::move(parsed).value();
}

void AddVariables(std::vector<std::string>& out, const Template& tpl) {
  for (const auto& name : tpl.Placeholders()) {
    std::string field(FieldName(name));
    if (std::find(out.begin(), out.end(), field) == out.end()) out.push_back(std::move(field));
  }
}

// Reads an optional string member into `out`; an error names the field.
std::optional<ApiError> ReadString(const json& body, const char* name, std::string& out, std::size_t max_bytes) {
  const auto it = body.find(name);
  if (it == body.end() || it->is_null()) return std::nullopt;
  if (!it->is_string()) return ApiError::Unprocessable(std::string(name) + ": must be a string");
  out = it->get<std::string>();
  if (out.size() > max_bytes) {
    return ApiError::Unprocessable(std::string(name) + ": at most " + std::to_string(max_bytes) + " bytes");
  }
  return std::nullopt;
}

}  // namespace

std::variant<store::TemplateRecord, ApiError> ParseTemplateRequest(const json& body, std::int64_t owner_id,
                                                                   const store::TemplateRecord* existing) {
  if (!body.is_object()) return ApiError::Unprocessable("body: must be a JSON object");
  store::TemplateRecord t = existing ? *existing : store::TemplateRecord{};
  if (!existing) t.owner_id = owner_id;
  if (!existing || body.contains("name")) {
    t.name.clear();
    if (auto e = ReadString(body, "name", t.name, kMaxNameBytes)) return *e;
    if (text::Trim(t.name).empty()) return ApiError::Unprocessable("name: must be a non-empty string");
  }
  if (const auto it = body.find("channel"); it != body.end()) {
    if (it->is_null()) {
      t.channel.reset();
    } else {
      const auto channel = it->is_string() ? domain::ParseChannel(it->get<std::string>()) : std::nullopt;
      if (!channel) return ApiError::Unprocessable("channel: must be one of sms, whatsapp, email, telegram, or null");
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
    return ApiError::Unprocessable("text, html: a template needs a body in one of them");
  t.variables.clear();
  for (auto [name, text, single] : {std::tuple{"subject", &t.subject, true}, std::tuple{"text", &t.text, true},
                                    std::tuple{"html", &t.html, false}}) {
    auto parsed = ParseText(*text, name, single);
    if (auto* error = std::get_if<ApiError>(&parsed)) return *error;
    AddVariables(t.variables, std::get<Template>(parsed));
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
  if (!body.is_object()) return ApiError::Unprocessable("body: must be a JSON object");
  store::CampaignRecord c;
  c.owner_id = owner_id;
  c.status = "draft";
  if (auto e = ReadString(body, "name", c.name, kMaxNameBytes)) return *e;
  if (text::Trim(c.name).empty()) return ApiError::Unprocessable("name: must be a non-empty string");
  const auto channel_it = body.find("channel");
  const auto channel = channel_it != body.end() && channel_it->is_string()
                           ? domain::ParseChannel(channel_it->get<std::string>())
                           : std::nullopt;
  if (!channel) return ApiError::Unprocessable("channel: must be one of sms, whatsapp, email, telegram");
  c.channel = domain::ToString(*channel);
  if (auto e = ReadString(body, "base_template", c.base_template, kMaxTemplateBytes)) return *e;
  if (const auto it = body.find("template_id"); it != body.end() && !it->is_null()) {
    if (!it->is_number_integer() || it->get<std::int64_t>() < 1) {
      return ApiError::Unprocessable("template_id: must be a positive whole number");
    }
    c.template_id = it->get<std::int64_t>();
  }
  if (c.template_id && !c.base_template.empty()) {
    return ApiError::Unprocessable("base_template, template_id: give one, not both");
  }
  if (!c.template_id) {
    if (text::Trim(c.base_template).empty()) {
      return ApiError::Unprocessable("base_template: must be a non-empty string (or give template_id)");
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
      return ApiError::Unprocessable("scheduled_at: must be an RFC 3339 time such as \"2026-11-23T10:00:00Z\"");
    if (*parsed > now_ms + kMaxScheduleAheadMs) return ApiError::Unprocessable("scheduled_at: must be within a year");
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
      {"total", s.total}, {"pending", s.pending}, {"sent", s.sent}, {"failed", s.failed}, {"cancelled", s.cancelled}};
}

std::variant<CampaignContent, ApiError> PrepareContent(const std::string& body, bool body_is_html,
                                                       const std::string& subject, const std::string& field) {
  auto parsed_body = ParseText(body, field, !body_is_html);
  if (auto* error = std::get_if<ApiError>(&parsed_body)) return *error;
  auto parsed_subject = ParseText(subject, "subject", true);
  if (auto* error = std::get_if<ApiError>(&parsed_subject)) return *error;
  return CampaignContent{std::move(std::get<Template>(parsed_body)), std::move(std::get<Template>(parsed_subject)),
                         body_is_html ? templating::Escaping::kXml : templating::Escaping::kNone, body};
}

std::variant<CampaignContent, ApiError> TemplateContent(const store::TemplateRecord& tpl, const std::string& subject,
                                                        const std::string& field_prefix) {
  if (tpl.text.empty()) return PrepareContent(tpl.html, true, subject, field_prefix + "html");
  auto content = PrepareContent(tpl.text, false, subject, field_prefix + "text");
  if (auto* ready = std::get_if<CampaignContent>(&content); ready != nullptr && !tpl.html.empty()) {
    auto html = ParseText(tpl.html, field_prefix + "html", false);
    if (auto* error = std::get_if<ApiError>(&html)) return *error;
    ready->html = std::move(std::get<Template>(html));
  }
  return content;
}

std::variant<CampaignContent, ApiError> CampaignContentOf(const store::CampaignRecord& campaign,
                                                          const store::TemplateRecord* linked) {
  if (!campaign.template_id) return PrepareContent(campaign.base_template, false, campaign.subject, "base_template");
  if (linked == nullptr) {
    return ApiError::NotFound("TEMPLATE_NOT_FOUND", "template " + std::to_string(*campaign.template_id) +
                                                        " of this campaign no longer exists");
  }
  return TemplateContent(*linked, campaign.subject.empty() ? linked->subject : campaign.subject, "");
}

PlaceholderValues ValuesOf(const json& data) {
  PlaceholderValues values;
  if (!data.is_object()) return values;
  for (const auto& [key, value] : data.items()) {
    if (value.is_null()) continue;
    values[text::ToLowerAscii(key)] = value.is_string() ? value.get<std::string>() : value.dump();
  }
  return values;
}

PlaceholderValues ValuesOf(const store::ContactRecord& contact) {
  auto values = ValuesOf(json::parse(contact.attributes_json, nullptr, false));
  // Fixed fields win over attributes of the same name.
  const std::pair<const char*, const std::optional<std::string>*> fields[] = {
      {"first_name", &contact.first_name},
      {"last_name", &contact.last_name},
      {"location", &contact.location},
      {"preferred_product", &contact.preferred_product},
      {"phone", &contact.phone},
      {"email", &contact.email},
      {"telegram_chat_id", &contact.telegram_chat_id}};
  for (const auto& [name, value] : fields) {
    if (*value) {
      values[name] = **value;
    } else {
      values.erase(name);
    }
  }
  values["id"] = std::to_string(contact.id);
  return values;
}

namespace {

templating::Template::Lookup LookupIn(const PlaceholderValues& values) {
  return [&values](std::string_view name) -> std::optional<std::string_view> {
    const auto it = values.find(FieldName(name));  // names arrive lower-cased
    if (it == values.end()) return std::nullopt;
    return std::string_view(it->second);
  };
}

}  // namespace

std::string Render(const Template& tpl, const PlaceholderValues& values, templating::Escaping escaping) {
  return tpl.Render(LookupIn(values), escaping);
}

std::variant<RenderedContent, ApiError> RenderContent(const CampaignContent& content, const PlaceholderValues& values) {
  // A template repeating a placeholder with a large value multiplies it: refuse
  // before building the text, not after.
  const auto lookup = LookupIn(values);
  const std::pair<const Template*, const char*> parts[] = {
      {&content.subject, "subject"}, {&content.body, "content"}, {content.html ? &*content.html : nullptr, "html"}};
  for (const auto& [tpl, field] : parts) {
    if (tpl == nullptr) continue;
    if (const auto size = tpl->UnescapedSize(lookup); size > domain::kMaxEmailBodyBytes) {
      return ApiError::Unprocessable(std::string(field) + ": rendered with these values it would be " +
                                     std::to_string(size) + " bytes; the limit is " +
                                     std::to_string(domain::kMaxEmailBodyBytes));
    }
  }
  RenderedContent out;
  out.subject = Render(content.subject, values, templating::Escaping::kNone);
  auto body = Render(content.body, values, content.escaping);
  if (content.escaping == templating::Escaping::kXml) {
    out.content = templating::PlainTextFromHtml(body);
    out.html = std::move(body);
  } else {
    out.content = std::move(body);
    if (content.html) out.html = Render(*content.html, values, templating::Escaping::kXml);
  }
  return out;
}

std::string RenderForContact(const Template& tpl, const store::ContactRecord& contact, templating::Escaping escaping) {
  return Render(tpl, ValuesOf(contact), escaping);
}

std::optional<std::string> AddressFor(const store::ContactRecord& contact, const std::string& channel) {
  if (channel == "sms" || channel == "whatsapp") return contact.phone;
  if (channel == "email") return contact.email;
  if (channel == "telegram") return contact.telegram_chat_id;
  return std::nullopt;
}

}  // namespace herald::api
