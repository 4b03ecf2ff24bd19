#include "tracking/provider_callbacks.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdio>
#include <ctime>

#include "domain/tracking_event.hpp"

namespace herald::tracking {
namespace {

using domain::TrackingKind;
using nlohmann::json;

std::string_view FormValue(const std::vector<std::pair<std::string, std::string>>& form, std::string_view name) {
  for (const auto& [key, value] : form) {
    if (key == name) return value;
  }
  return {};
}

std::optional<TrackingKind> TwilioKind(std::string_view status) {
  if (status == "queued" || status == "accepted" || status == "scheduled" || status == "sending" || status == "sent") {
    return TrackingKind::kAccepted;
  }
  if (status == "delivered") return TrackingKind::kDelivered;
  if (status == "read") return TrackingKind::kRead;
  if (status == "undelivered" || status == "failed" || status == "canceled") return TrackingKind::kBounced;
  return std::nullopt;
}

std::optional<TrackingKind> SendGridKind(std::string_view event) {
  if (event == "processed") return TrackingKind::kAccepted;
  if (event == "deferred") return TrackingKind::kDeferred;
  if (event == "delivered") return TrackingKind::kDelivered;
  if (event == "open") return TrackingKind::kRead;
  if (event == "click") return TrackingKind::kClicked;
  if (event == "bounce" || event == "dropped") return TrackingKind::kBounced;
  if (event == "spamreport") return TrackingKind::kComplained;
  if (event == "unsubscribe" || event == "group_unsubscribe") return TrackingKind::kUnsubscribed;
  return std::nullopt;
}

std::optional<TrackingKind> SesKind(std::string_view type) {
  if (type == "Send") return TrackingKind::kAccepted;
  if (type == "DeliveryDelay") return TrackingKind::kDeferred;
  if (type == "Delivery") return TrackingKind::kDelivered;
  if (type == "Open") return TrackingKind::kRead;
  if (type == "Click") return TrackingKind::kClicked;
  if (type == "Bounce" || type == "Reject" || type == "RenderingFailure") return TrackingKind::kBounced;
  if (type == "Complaint") return TrackingKind::kComplained;
  if (type == "Subscription") return TrackingKind::kUnsubscribed;
  return std::nullopt;
}

std::string StringField(const json& object, const char* name) {
  const auto it = object.find(name);
  if (it == object.end()) return {};
  if (it->is_string()) return it->get<std::string>();
  if (it->is_number_integer()) return std::to_string(it->get<std::int64_t>());
  return {};
}

// "2026-12-04T09:30:00.123Z" (what SES writes) as Unix milliseconds.
std::optional<std::int64_t> ParseIsoUtc(const std::string& text) {
  std::tm utc{};
  int millis = 0;
  char zone = 0;
  if (std::sscanf(text.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d.%3d%c", &utc.tm_year, &utc.tm_mon, &utc.tm_mday,
                  &utc.tm_hour, &utc.tm_min, &utc.tm_sec, &millis, &zone) != 8 &&
      std::sscanf(text.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%c", &utc.tm_year, &utc.tm_mon, &utc.tm_mday, &utc.tm_hour,
                  &utc.tm_min, &utc.tm_sec, &zone) != 7) {
    return std::nullopt;
  }
  if (zone != 'Z') return std::nullopt;
  utc.tm_year -= 1900;
  utc.tm_mon -= 1;
  return static_cast<std::int64_t>(timegm(&utc)) * 1000 + millis;
}

void AddEvent(ParsedCallback& parsed, store::ProviderEvent event, std::string_view delivery_id) {
  const auto recipient = RecipientOfDeliveryId(delivery_id);
  if (!recipient) {
    parsed.unmatched.push_back(event.provider + " " + event.kind + " event " + event.event_id + " names delivery \"" +
                               std::string(delivery_id) + "\", no message recipient of this herald");
    return;
  }
  event.recipient_id = *recipient;
  parsed.events.push_back(std::move(event));
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::optional<std::string> DecodeFormText(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '+') {
      out += ' ';
    } else if (text[i] != '%') {
      out += text[i];
    } else {
      if (i + 2 >= text.size()) return std::nullopt;
      const int high = HexValue(text[i + 1]);
      const int low = HexValue(text[i + 2]);
      if (high < 0 || low < 0) return std::nullopt;
      out += static_cast<char>(high * 16 + low);
      i += 2;
    }
  }
  return out;
}

}  // namespace

std::optional<std::vector<std::pair<std::string, std::string>>> DecodeForm(std::string_view body) {
  std::vector<std::pair<std::string, std::string>> pairs;
  std::size_t begin = 0;
  while (begin < body.size()) {
    const auto end = std::min(body.find('&', begin), body.size());
    const auto pair = body.substr(begin, end - begin);
    begin = end + 1;
    if (pair.empty()) continue;
    const auto equals = pair.find('=');
    auto name = DecodeFormText(pair.substr(0, equals));
    auto value = DecodeFormText(equals == std::string_view::npos ? std::string_view() : pair.substr(equals + 1));
    if (!name || !value) return std::nullopt;
    pairs.emplace_back(std::move(*name), std::move(*value));
  }
  return pairs;
}

std::optional<std::int64_t> RecipientOfDeliveryId(std::string_view delivery_id) {
  if (delivery_id.size() < 2 || delivery_id.front() != 'r') return std::nullopt;
  std::int64_t id = 0;
  const auto* end = delivery_id.data() + delivery_id.size();
  const auto [at, error] = std::from_chars(delivery_id.data() + 1, end, id);
  if (error != std::errc() || at != end || id <= 0) return std::nullopt;
  return id;
}

std::variant<ParsedCallback, std::string> ParseTwilioStatus(const std::vector<std::pair<std::string, std::string>>& form,
                                                           std::string_view delivery_id, std::int64_t now_ms) {
  const auto sid = FormValue(form, "MessageSid");
  const auto status = FormValue(form, "MessageStatus");
  if (sid.empty()) return std::string("the callback has no MessageSid");
  if (status.empty()) return std::string("the callback has no MessageStatus");
  ParsedCallback parsed;
  const auto kind = TwilioKind(status);
  if (!kind) {
    parsed.unmatched.push_back("twilio status \"" + std::string(status) + "\" of " + std::string(sid) +
                               " is not one herald records");
    return parsed;
  }
  std::string detail(status);
  if (const auto code = FormValue(form, "ErrorCode"); !code.empty()) detail += ": " + std::string(code);
  if (const auto message = FormValue(form, "ErrorMessage"); !message.empty()) detail += " " + std::string(message);
  // Twilio sends each status of a message once (and again only as a retry of the same callback).
  AddEvent(parsed, {"twilio", std::string(sid) + ":" + std::string(status), 0, domain::ToString(*kind), detail, now_ms},
           delivery_id);
  return parsed;
}

std::variant<ParsedCallback, std::string> ParseSendGridEvents(const json& body) {
  if (!body.is_array()) return std::string("the body must be a JSON array of events");
  ParsedCallback parsed;
  for (std::size_t i = 0; i < body.size(); ++i) {
    const auto& item = body[i];
    const auto where = "event " + std::to_string(i);
    if (!item.is_object()) return where + " is not an object";
    const auto event_id = StringField(item, "sg_event_id");
    const auto type = StringField(item, "event");
    if (event_id.empty()) return where + " has no sg_event_id";
    if (type.empty()) return where + " has no event";
    const auto kind = SendGridKind(type);
    if (!kind) {
      parsed.unmatched.push_back("sendgrid event \"" + type + "\" (" + event_id + ") is not one herald records");
      continue;
    }
    std::int64_t at_ms = 0;
    if (const auto ts = item.find("timestamp"); ts != item.end() && ts->is_number_integer()) {
      at_ms = ts->get<std::int64_t>() * 1000;
    }
    std::string detail = type;
    for (const char* field : {"type", "status", "reason", "response", "url"}) {
      if (auto value = StringField(item, field); !value.empty()) detail += " " + value;
    }
    AddEvent(parsed, {"sendgrid", event_id, 0, domain::ToString(*kind), detail, at_ms},
             StringField(item, std::string(kDeliveryIdField).c_str()));
  }
  return parsed;
}

std::variant<ParsedCallback, std::string> ParseSesNotification(std::string_view message,
                                                              std::string_view sns_message_id) {
  const auto event = json::parse(message, nullptr, false);
  if (!event.is_object()) return std::string("the SNS Message is not a JSON object");
  // Configuration-set event publishing says eventType; identity notifications notificationType.
  auto type = StringField(event, "eventType");
  if (type.empty()) type = StringField(event, "notificationType");
  if (type.empty()) return std::string("the SNS Message has no eventType");
  const auto mail = event.find("mail");
  if (mail == event.end() || !mail->is_object()) return std::string("the SNS Message has no mail object");
  ParsedCallback parsed;
  const auto kind = SesKind(type);
  if (!kind) {
    parsed.unmatched.push_back("ses event \"" + type + "\" is not one herald records");
    return parsed;
  }
  std::string delivery_id;
  if (const auto tags = mail->find("tags"); tags != mail->end() && tags->is_object()) {
    if (const auto tag = tags->find(kDeliveryIdField); tag != tags->end() && tag->is_array() && !tag->empty() &&
                                                       (*tag)[0].is_string()) {
      delivery_id = (*tag)[0].get<std::string>();
    }
  }
  // The event's own object (bounce, delivery, …) says when and why.
  std::string section = type;
  section[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(section[0])));
  if (type == "DeliveryDelay") section = "deliveryDelay";
  if (type == "RenderingFailure") section = "failure";
  std::string detail = type;
  std::int64_t at_ms = 0;
  if (const auto at = ParseIsoUtc(StringField(*mail, "timestamp"))) at_ms = *at;
  if (const auto details = event.find(section); details != event.end() && details->is_object()) {
    if (const auto at = ParseIsoUtc(StringField(*details, "timestamp"))) at_ms = *at;
    for (const char* field : {"bounceType", "bounceSubType", "complaintFeedbackType", "delayType", "reason",
                              "smtpResponse", "errorMessage", "link"}) {
      if (auto value = StringField(*details, field); !value.empty()) detail += " " + value;
    }
    if (const auto bounced = details->find("bouncedRecipients"); bounced != details->end() && bounced->is_array()) {
      for (const auto& recipient : *bounced) {
        if (!recipient.is_object()) continue;
        if (auto code = StringField(recipient, "diagnosticCode"); !code.empty()) detail += " " + code;
      }
    }
  }
  AddEvent(parsed, {"ses", std::string(sns_message_id), 0, domain::ToString(*kind), detail, at_ms}, delivery_id);
  return parsed;
}

}  // namespace herald::tracking
