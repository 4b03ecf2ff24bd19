#include "app/campaign_content.hpp"

#include <algorithm>

#include "common/text.hpp"
#include "domain/recipient.hpp"
#include "templating/html_text.hpp"

namespace herald::app {
namespace {

using templating::Template;

// Go templates write {{.name}}; the leading dot is not part of the name.
std::string_view FieldName(std::string_view placeholder) {
  if (!placeholder.empty() && placeholder.front() == '.') placeholder.remove_prefix(1);
  return placeholder;
}


}  // namespace

Outcome<Template> ParsePlaceholders(const std::string& text, const std::string& field, bool single_brace) {
  auto parsed = Template::Parse(text, field, {.single_brace = single_brace});
  if (!parsed) return Failure::Invalid(parsed.error().message);
  return std::move(parsed).value();
}

void AddVariables(std::vector<std::string>& out, const Template& tpl) {
  for (const auto& name : tpl.Placeholders()) {
    std::string field(FieldName(name));
    if (std::find(out.begin(), out.end(), field) == out.end()) out.push_back(std::move(field));
  }
}

Outcome<CampaignContent> PrepareContent(const std::string& body, bool body_is_html,
                                                       const std::string& subject, const std::string& field) {
  auto parsed_body = ParsePlaceholders(body, field, !body_is_html);
  if (auto* error = std::get_if<Failure>(&parsed_body)) return *error;
  auto parsed_subject = ParsePlaceholders(subject, "subject", true);
  if (auto* error = std::get_if<Failure>(&parsed_subject)) return *error;
  return CampaignContent{std::move(std::get<Template>(parsed_body)), std::move(std::get<Template>(parsed_subject)),
                         body_is_html ? templating::Escaping::kXml : templating::Escaping::kNone, body};
}

Outcome<CampaignContent> TemplateContent(const store::TemplateRecord& tpl, const std::string& subject,
                                                        const std::string& field_prefix) {
  if (tpl.text.empty()) return PrepareContent(tpl.html, true, subject, field_prefix + "html");
  auto content = PrepareContent(tpl.text, false, subject, field_prefix + "text");
  if (auto* ready = std::get_if<CampaignContent>(&content); ready != nullptr && !tpl.html.empty()) {
    auto html = ParsePlaceholders(tpl.html, field_prefix + "html", false);
    if (auto* error = std::get_if<Failure>(&html)) return *error;
    ready->html = std::move(std::get<Template>(html));
  }
  return content;
}

Outcome<CampaignContent> CampaignContentOf(const store::CampaignRecord& campaign,
                                                          const store::TemplateRecord* linked) {
  if (!campaign.template_id) return PrepareContent(campaign.base_template, false, campaign.subject, "base_template");
  if (linked == nullptr) {
    return Failure::NotFound("TEMPLATE_NOT_FOUND", "template " + std::to_string(*campaign.template_id) +
                                                        " of this campaign no longer exists");
  }
  return TemplateContent(*linked, campaign.subject.empty() ? linked->subject : campaign.subject, "");
}

PlaceholderValues ValuesOf(const nlohmann::json& data) {
  PlaceholderValues values;
  if (!data.is_object()) return values;
  for (const auto& [key, value] : data.items()) {
    if (value.is_null()) continue;
    values[text::ToLowerAscii(key)] = value.is_string() ? value.get<std::string>() : value.dump();
  }
  return values;
}

PlaceholderValues ValuesOf(const store::ContactRecord& contact) {
  auto values = ValuesOf(nlohmann::json::parse(contact.attributes_json, nullptr, false));
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

Outcome<RenderedContent> RenderContent(const CampaignContent& content, const PlaceholderValues& values) {
  // A template repeating a placeholder with a large value multiplies it: refuse
  // before building the text, not after.
  const auto lookup = LookupIn(values);
  const std::pair<const Template*, const char*> parts[] = {
      {&content.subject, "subject"}, {&content.body, "content"}, {content.html ? &*content.html : nullptr, "html"}};
  for (const auto& [tpl, field] : parts) {
    if (tpl == nullptr) continue;
    if (const auto size = tpl->UnescapedSize(lookup); size > domain::kMaxEmailBodyBytes) {
      return Failure::Invalid(std::string(field) + ": rendered with these values it would be " +
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

}  // namespace herald::app
