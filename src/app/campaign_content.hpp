// The personalisation of campaign and template messages: parsing a body and
// subject once, rendering them per contact or per message.
//
// Placeholder policy: {first_name} and {{first_name}} both name a field, case-
// insensitively, with optional spaces inside ({{ first_name }}); Go-style
// {{.first_name}} (seed 002) works too. A field that is missing, null or empty
// renders as empty text, never as the raw placeholder, so no customer ever
// receives "Hi {first_name}". Fields are the contact's first_name, last_name,
// location, preferred_product, phone, email, telegram_chat_id, id, then its
// attributes. A "{{" that opens no placeholder is an error (400 naming the
// field) when the template is stored, never when it is sent. HTML bodies take
// only {{name}} (CSS braces are text) and have values XML-escaped.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "app/failure.hpp"
#include "store/campaign_records.hpp"
#include "templating/template.hpp"

namespace herald::app {

// Parses a placeholder text; `field` names it in the error. single_brace:
// {name} counts as a placeholder too (not in HTML, where braces are CSS).
Outcome<templating::Template> ParsePlaceholders(const std::string& text, const std::string& field, bool single_brace);
// The field names a template uses, in order of first use, without Go's leading dot.
void AddVariables(std::vector<std::string>& out, const templating::Template& tpl);

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
Outcome<CampaignContent> PrepareContent(const std::string& body, bool body_is_html,
                                                       const std::string& subject, const std::string& field);
// A stored template's text (or HTML when it has no text) and its HTML
// alternative; `field_prefix` starts the field names in errors.
Outcome<CampaignContent> TemplateContent(const store::TemplateRecord& tpl, const std::string& subject,
                                                        const std::string& field_prefix);
// The campaign's own content: its base_template, or its template's.
Outcome<CampaignContent> CampaignContentOf(const store::CampaignRecord& campaign,
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
// Invalid when a part would exceed domain::kMaxEmailBodyBytes (checked before rendering).
Outcome<RenderedContent> RenderContent(const CampaignContent& content, const PlaceholderValues& values);

// The contact's address on a channel (phone for sms and whatsapp), or nullopt.
std::optional<std::string> AddressFor(const store::ContactRecord& contact, const std::string& channel);

}  // namespace herald::app
