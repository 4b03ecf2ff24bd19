#include "api/message_json.hpp"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <ctime>
#include <initializer_list>

#include "api/campaign_json.hpp"
#include "app/campaign_content.hpp"
#include "domain/recipient.hpp"

namespace herald::api {
namespace {

using nlohmann::json;

constexpr int kMaxRecipients = 1000;
// A message may wait at most a year: anything later is almost surely a unit mistake.
constexpr std::int64_t kMaxScheduleAheadMs = 366LL * 24 * 3600 * 1000;

std::optional<int> ParsePriority(const json& value) {
  if (value.is_number_integer()) {
    const auto n = value.get<std::int64_t>();
    if (n >= 0 && n <= 9) return static_cast<int>(n);
    return std::nullopt;
  }
  if (!value.is_string()) return std::nullopt;
  const auto name = value.get<std::string>();
  if (name == "low") return 0;
  if (name == "normal") return 1;
  if (name == "high") return 5;
  if (name == "critical") return 9;
  return std::nullopt;
}

}  // namespace

std::variant<std::vector<std::string>, ApiError> ParseRetryStatuses(const nlohmann::json& body) {
  static const std::vector<std::string> kDefault = {"failed", "dead"};
  if (body.is_null()) return kDefault;
  if (!body.is_object()) return ApiError::Invalid("body: must be a JSON object such as {\"statuses\": [\"failed\"]}");
  const auto it = body.find("statuses");
  if (it == body.end() || it->is_null()) return kDefault;
  if (!it->is_array() || it->empty()) {
    return ApiError::Invalid("statuses: must be a non-empty array of failed, dead, unknown");
  }
  std::vector<std::string> statuses;
  for (std::size_t i = 0; i < it->size(); ++i) {
    const auto& value = (*it)[i];
    const auto text = value.is_string() ? value.get<std::string>() : std::string();
    if (text != "failed" && text != "dead" && text != "unknown") {
      return ApiError::Invalid("statuses[" + std::to_string(i) + "]: must be failed, dead or unknown");
    }
    if (std::find(statuses.begin(), statuses.end(), text) == statuses.end()) statuses.push_back(text);
  }
  return statuses;
}

ApiError NothingToRetry(const std::string& what, const std::vector<std::string>& statuses) {
  std::string named;
  for (const auto& status : statuses) named += (named.empty() ? "" : ", ") + status;
  return {409, "NOTHING_TO_RETRY", what + " that is " + named};
}

std::string FormatTimestamp(std::int64_t unix_ms) {
  // Rounded down, not toward zero: a time before 1970 (a campaign may be given
  // one) has a negative remainder, which would print as ".-500".
  std::int64_t whole_seconds = unix_ms / 1000;
  int millis = static_cast<int>(unix_ms % 1000);
  if (millis < 0) {
    millis += 1000;
    --whole_seconds;
  }
  const std::time_t seconds = static_cast<std::time_t>(whole_seconds);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", utc.tm_year + 1900, utc.tm_mon + 1,
                utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec, millis);
  return buffer;
}

std::optional<std::int64_t> ParseTimestamp(const std::string& text) {
  // sscanf's %d also takes a sign or leading spaces ("-027", "T-1:"), which RFC
  // 3339 does not: every field must be digits before it is read.
  auto digits_at = [&text](std::initializer_list<std::size_t> positions) {
    return std::all_of(positions.begin(), positions.end(), [&text](std::size_t i) {
      return i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]));
    });
  };
  if (!digits_at({0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18})) return std::nullopt;
  int year, month, day, hour, minute, second;
  int consumed = 0;
  if (std::sscanf(text.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &year, &month, &day, &hour, &minute, &second,
                  &consumed) != 6 ||
      consumed != 19) {
    return std::nullopt;
  }
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60) return std::nullopt;
  std::size_t pos = 19;
  std::int64_t millis = 0;
  if (pos < text.size() && text[pos] == '.') {
    ++pos;
    int digits = 0;
    while (pos < text.size() && std::isdigit(static_cast<unsigned char>(text[pos]))) {
      if (digits < 3) millis = millis * 10 + (text[pos] - '0');
      ++digits;
      ++pos;
    }
    if (digits == 0) return std::nullopt;
    for (; digits < 3; ++digits) millis *= 10;
  }
  std::int64_t offset_seconds = 0;
  if (pos < text.size() && (text[pos] == 'Z' || text[pos] == 'z')) {
    ++pos;
  } else if (pos + 6 == text.size() && (text[pos] == '+' || text[pos] == '-') && text[pos + 3] == ':' &&
             digits_at({pos + 1, pos + 2, pos + 4, pos + 5})) {
    int oh = 0, om = 0;
    if (std::sscanf(text.c_str() + pos + 1, "%2d:%2d", &oh, &om) != 2 || oh > 23 || om > 59) return std::nullopt;
    offset_seconds = (text[pos] == '+' ? 1 : -1) * (oh * 3600 + om * 60);
    pos += 6;
  } else {
    return std::nullopt;
  }
  if (pos != text.size()) return std::nullopt;
  std::tm utc{};
  utc.tm_year = year - 1900;
  utc.tm_mon = month - 1;
  utc.tm_mday = day;
  utc.tm_hour = hour;
  utc.tm_min = minute;
  utc.tm_sec = second;
  const std::int64_t seconds = timegm(&utc);
  return (seconds - offset_seconds) * 1000 + millis;
}

std::variant<store::NewMessage, ApiError> ParseMessageRequest(const json& body, std::int64_t owner_id,
                                                              std::int64_t now_ms, const std::string& where,
                                                              const TemplateLookup& templates) {
  auto invalid = [&](const std::string& field, const std::string& problem) {
    return ApiError::Invalid(where + field + ": " + problem);
  };
  if (!body.is_object()) return invalid("body", "must be a JSON object");
  store::NewMessage message;
  message.owner_id = owner_id;

  const auto recipients = body.find("recipients");
  if (recipients == body.end() || !recipients->is_array() || recipients->empty()) {
    return invalid("recipients", "must be a non-empty array of {\"channel\", \"to\"}");
  }
  if (recipients->size() > kMaxRecipients) {
    return invalid("recipients", "at most " + std::to_string(kMaxRecipients) + " per message");
  }
  if (const auto subject = body.find("subject"); subject != body.end() && !subject->is_null()) {
    if (!subject->is_string()) return invalid("subject", "must be a string");
    message.subject = subject->get<std::string>();
  }
  const auto content = body.find("content");
  const auto template_id = body.find("template_id");
  std::optional<store::TemplateRecord> linked;
  if (template_id != body.end() && !template_id->is_null()) {
    if (!template_id->is_number_integer() || template_id->get<std::int64_t>() < 1) {
      return invalid("template_id", "must be a template id (a positive integer)");
    }
    if (content != body.end() && !content->is_null()) {
      return invalid("content", "give either content or template_id with data, not both");
    }
    const auto data = body.find("data");
    if (data != body.end() && !data->is_null() && !data->is_object()) {
      return invalid("data", "must be an object of placeholder values, e.g. {\"first_name\": \"Ada\"}");
    }
    const auto id = template_id->get<std::int64_t>();
    if (templates) linked = templates(id);
    if (!linked) {
      return ApiError::NotFound("TEMPLATE_NOT_FOUND",
                                where + "template_id: template " + std::to_string(id) + " does not exist");
    }
    // The request's subject, if any, overrides the template's; both take placeholders.
    auto prepared = app::TemplateContent(*linked, message.subject.empty() ? linked->subject : message.subject,
                                         where + "template " + std::to_string(id) + " ");
    if (auto* failure = std::get_if<app::Failure>(&prepared)) return ApiError::From(*failure);
    auto rendering = app::RenderContent(std::get<app::CampaignContent>(prepared),
                                        app::ValuesOf(data != body.end() ? *data : json::object()));
    if (auto* failure = std::get_if<app::Failure>(&rendering)) return invalid("template_id", failure->message);
    auto& rendered = std::get<app::RenderedContent>(rendering);
    message.subject = std::move(rendered.subject);
    message.content = std::move(rendered.content);
    message.html = std::move(rendered.html);
  } else {
    if (content == body.end() || !content->is_string()) {
      return invalid("content", "must be a string (or give template_id with data)");
    }
    message.content = content->get<std::string>();
  }
  if (const auto priority = body.find("priority"); priority != body.end() && !priority->is_null()) {
    const auto parsed = ParsePriority(*priority);
    if (!parsed) return invalid("priority", "must be 0..9 or one of low, normal, high, critical");
    message.priority = *parsed;
  } else {
    message.priority = 1;
  }
  if (const auto at = body.find("scheduled_at"); at != body.end() && !at->is_null()) {
    const auto parsed = at->is_string() ? ParseTimestamp(at->get<std::string>()) : std::nullopt;
    if (!parsed) return invalid("scheduled_at", "must be an RFC 3339 time such as \"2026-11-23T10:00:00Z\"");
    if (*parsed > now_ms + kMaxScheduleAheadMs) return invalid("scheduled_at", "must be within a year");
    if (*parsed > now_ms) message.scheduled_at_ms = *parsed;  // a time already passed means "now"
  }
  if (const auto key = body.find("idempotency_key"); key != body.end() && !key->is_null()) {
    if (!key->is_string() || key->get<std::string>().empty() || key->get<std::string>().size() > 255) {
      return invalid("idempotency_key", "must be a string of 1 to 255 characters");
    }
    message.idempotency_key = key->get<std::string>();
    // Campaign sends key their messages "campaign:<id>:contact:<id>"; a client's
    // key must never be taken for one of those.
    if (message.idempotency_key.rfind("campaign:", 0) == 0) {
      return invalid("idempotency_key", "keys starting with \"campaign:\" are reserved for campaign sends");
    }
  }

  for (std::size_t i = 0; i < recipients->size(); ++i) {
    const auto& entry = (*recipients)[i];
    const std::string field = "recipients[" + std::to_string(i) + "]";
    if (!entry.is_object() || !entry.contains("channel") || !entry["channel"].is_string() || !entry.contains("to") ||
        !entry["to"].is_string()) {
      return invalid(field, "must be {\"channel\": \"sms|whatsapp|email|telegram\", \"to\": \"...\"}");
    }
    const auto channel = domain::ParseChannel(entry["channel"].get<std::string>());
    if (!channel) return invalid(field + ".channel", "must be one of sms, whatsapp, email, telegram");
    if (linked && linked->channel && *linked->channel != domain::ToString(*channel)) {
      return invalid(field + ".channel",
                     "template " + std::to_string(linked->id) + " is for " + *linked->channel + " only");
    }
    auto address = domain::NormalizeRecipient(*channel, entry["to"].get<std::string>());
    if (!address) return invalid(field + ".to", address.error().message);
    if (auto valid = domain::ValidateContent(*channel, message.subject, message.content); !valid) {
      return invalid("content", valid.error().message);
    }
    message.recipients.push_back({domain::ToString(*channel), std::move(*address)});
  }
  // Only e-mail carries HTML.
  const bool any_email = std::any_of(message.recipients.begin(), message.recipients.end(),
                                     [](const store::NewRecipient& r) { return r.channel == "email"; });
  if (!any_email) message.html.clear();
  if (message.html.size() > domain::kMaxEmailBodyBytes) {
    return invalid("template_id", "html: the rendered HTML is " + std::to_string(message.html.size()) +
                                      " bytes; the limit is " + std::to_string(domain::kMaxEmailBodyBytes));
  }
  return message;
}

std::string MessageStatus(const store::MessageRecord& message, std::int64_t now_ms) {
  int pending = 0, in_flight = 0, sent = 0, cancelled = 0, attempted = 0;
  for (const auto& r : message.recipients) {
    if (r.status == "queued") ++pending;
    if (r.status == "sending") ++in_flight;
    if (r.status == "sent") ++sent;
    if (r.status == "cancelled") ++cancelled;
    if (r.attempts > 0) ++attempted;
  }
  const int total = static_cast<int>(message.recipients.size());
  if (cancelled == total) return "cancelled";
  if (pending + in_flight > 0) {
    if (in_flight > 0 || attempted > 0) return "processing";
    return message.scheduled_at_ms && *message.scheduled_at_ms > now_ms ? "scheduled" : "queued";
  }
  if (sent == total) return "sent";
  return sent > 0 ? "partially_sent" : "failed";
}

json MessageToJson(const store::MessageRecord& message, std::int64_t now_ms) {
  json recipients = json::array();
  for (const auto& r : message.recipients) {
    json entry{{"id", r.id},         {"channel", r.channel},   {"to", r.address},
               {"status", r.status}, {"attempts", r.attempts}, {"updated_at", FormatTimestamp(r.updated_at_ms)}};
    if (!r.provider_message_id.empty()) entry["provider_message_id"] = r.provider_message_id;
    if (!r.last_error.empty()) entry["error"] = r.last_error;
    if (r.sent_at_ms) entry["sent_at"] = FormatTimestamp(*r.sent_at_ms);
    if (r.status == "queued" && r.due_at_ms > now_ms) entry["next_attempt_at"] = FormatTimestamp(r.due_at_ms);
    if (!r.events.empty()) {
      json events = json::array();
      for (const auto& event : r.events) {
        // The first report of each kind gives its <kind>_at field: delivered_at, read_at, bounced_at, ...
        const auto field = std::string(event.kind) + "_at";
        if (event.kind != "accepted" && !entry.contains(field)) entry[field] = FormatTimestamp(event.occurred_at_ms);
        events.push_back({{"provider", event.provider},
                          {"type", event.kind},
                          {"detail", event.detail},
                          {"occurred_at", FormatTimestamp(event.occurred_at_ms)},
                          {"received_at", FormatTimestamp(event.received_at_ms)}});
      }
      entry["events"] = std::move(events);
    }
    recipients.push_back(std::move(entry));
  }
  json out{{"id", message.id},
           {"status", MessageStatus(message, now_ms)},
           {"content", message.content},
           {"priority", message.priority},
           {"created_at", FormatTimestamp(message.created_at_ms)},
           {"recipients", std::move(recipients)}};
  if (!message.subject.empty()) out["subject"] = message.subject;
  if (!message.html.empty()) out["html"] = message.html;
  if (message.scheduled_at_ms) out["scheduled_at"] = FormatTimestamp(*message.scheduled_at_ms);
  if (!message.idempotency_key.empty()) out["idempotency_key"] = message.idempotency_key;
  return out;
}

}  // namespace herald::api
