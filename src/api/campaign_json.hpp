// JSON of the templates (seed 002) and campaigns (seed 003) APIs, and the
// personalisation of campaign text for one contact.
//
// Placeholder policy: {first_name} and {{first_name}} both name a field, case-
// insensitively, with optional spaces inside ({{ first_name }}); Go-style
// {{.first_name}} (seed 002) works too. A field that is missing, null or empty
// renders as empty text, never as the raw placeholder, so no customer ever
// receives "Hi {first_name}". Fields are the contact's first_name, last_name,
// location, preferred_product, phone, email, telegram_chat_id, id, then its
// attributes. A "{{" that opens no placeholder is an error (422 naming the
// field) when the template is stored, never when it is sent. HTML bodies take
// only {{name}} (CSS braces are text) and have values XML-escaped.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <variant>

#include "api/api_error.hpp"
#include "store/campaign_records.hpp"
#include "templating/template.hpp"

namespace herald::api {

// --- templates ---
// A full template from POST or PUT; with `existing` (PATCH) only named fields change.
std::variant<store::TemplateRecord, ApiError> ParseTemplateRequest(const nlohmann::json& body, std::int64_t owner_id,
                                                                   const store::TemplateRecord* existing = nullptr);
nlohmann::json TemplateToJson(const store::TemplateRecord& record);

// --- campaigns ---
// POST /api/v1/campaigns. template_id is not resolved here (the routes check it
// exists); base_template is parsed so a broken one is refused at once.
std::variant<store::CampaignRecord, ApiError> ParseCampaignRequest(const nlohmann::json& body, std::int64_t owner_id,
                                                                   std::int64_t now_ms);
nlohmann::json CampaignToJson(const store::CampaignRecord& campaign);
nlohmann::json StatsToJson(const store::CampaignStats& stats);

// --- personalisation ---
// What a campaign or a template message sends: its body and subject, parsed
// once, rendered per contact or per message.
struct CampaignContent {
  templating::Template body;  // the text, or the HTML when there is no text
  templating::Template subject;
  templating::Escaping escaping = templating::Escaping::kNone;  // kXml: body is HTML
  std::string source;  // the body template as written, for previews
  std::optional<templating::Template> html;  // HTML alternative of a text body, for e-mail
};

// `field` names the source in errors (e.g. "base_template", "override_template").
std::variant<CampaignContent, ApiError> PrepareContent(const std::string& body, bool body_is_html,
                                                       const std::string& subject, const std::string& field);
// A stored template's text (or HTML when it has no text) and its HTML
// alternative; `field_prefix` starts the field names in errors.
std::variant<CampaignContent, ApiError> TemplateContent(const store::TemplateRecord& tpl, const std::string& subject,
                                                        const std::string& field_prefix);
// The campaign's own content: its base_template, or its template's.
std::variant<CampaignContent, ApiError> CampaignContentOf(const store::CampaignRecord& campaign,
                                                          const store::TemplateRecord* linked_template);

// Placeholder values by lower-case name.
using PlaceholderValues = std::map<std::string, std::string, std::less<>>;
// A contact's fields (see the policy above) and attributes.
PlaceholderValues ValuesOf(const store::ContactRecord& contact);
// A JSON object's members (POST /api/v1/messages "data"): strings as they are,
// numbers and booleans as JSON text, nulls left out.
PlaceholderValues ValuesOf(const nlohmann::json& data);

std::string Render(const templating::Template& tpl, const PlaceholderValues& values, templating::Escaping escaping);
std::string RenderForContact(const templating::Template& tpl, const store::ContactRecord& contact,
                             templating::Escaping escaping);

// One message's subject, text and HTML: a text body gives the text and, with
// an HTML alternative, the HTML; an HTML body gives the HTML and its plain-text
// reading (templating/html_text.hpp), so SMS never carries markup.
struct RenderedContent {
  std::string subject;
  std::string content;
  std::string html;  // empty: none
};
// 422 when a part would exceed domain::kMaxEmailBodyBytes (checked before rendering).
std::variant<RenderedContent, ApiError> RenderContent(const CampaignContent& content, const PlaceholderValues& values);

// The contact's address on a channel (phone for sms and whatsapp), or nullopt.
std::optional<std::string> AddressFor(const store::ContactRecord& contact, const std::string& channel);

}  // namespace herald::api
