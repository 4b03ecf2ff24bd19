#include "channels/twilio/twilio_channel.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <vector>

#include "channels/http/http_outcome.hpp"

namespace herald::channels::twilio {

using domain::DeliveryOutcome;

namespace {

constexpr int kTooManyRequests = 20429;  // Twilio's own code for a rate-limited request

// Twilio's error body: {"code": 21211, "message": "...", "more_info": "...", "status": 400}.
struct TwilioError {
  int code = 0;
  std::string message;
};

TwilioError ErrorOf(const http::HttpResponse& response) {
  TwilioError error;
  const auto doc = nlohmann::json::parse(response.body, nullptr, /*allow_exceptions=*/false);
  if (!doc.is_object()) return error;
  if (const auto it = doc.find("code"); it != doc.end() && it->is_number_integer()) error.code = it->get<int>();
  if (const auto it = doc.find("message"); it != doc.end() && it->is_string()) error.message = it->get<std::string>();
  return error;
}

std::string Detail(const http::HttpResponse& response, const TwilioError& error) {
  std::string detail = "HTTP " + std::to_string(response.status);
  if (error.code != 0) detail += ", Twilio error " + std::to_string(error.code);
  if (response.retry_after_s > 0) detail += ", retry after " + std::to_string(response.retry_after_s) + " s";
  const auto words = http::Excerpt(error.message.empty() ? response.body : error.message);
  if (!words.empty()) detail += ": " + words;
  return detail;
}

DeliveryOutcome ClassifyAnswer(const http::HttpResponse& response) {
  const long status = response.status;
  if (status >= 200 && status < 300) {
    const auto doc = nlohmann::json::parse(response.body, nullptr, /*allow_exceptions=*/false);
    std::string sid;
    std::string state;
    if (doc.is_object()) {
      sid = doc.value("sid", "");
      if (const auto it = doc.find("status"); it != doc.end() && it->is_string()) state = it->get<std::string>();
    }
    std::string detail = "HTTP " + std::to_string(status) + (state.empty() ? "" : ", Twilio status " + state);
    if (sid.empty()) detail += "; accepted, but the answer has no sid";
    auto outcome = DeliveryOutcome::Accepted(std::move(sid), std::move(detail));
    outcome.code = static_cast<int>(status);
    return outcome;
  }
  const auto error = ErrorOf(response);
  const int code = error.code != 0 ? error.code : static_cast<int>(status);
  const std::chrono::milliseconds retry_after = std::chrono::seconds(response.retry_after_s);
  if (status == 429 || error.code == kTooManyRequests) {
    return DeliveryOutcome::Throttled(Detail(response, error), code, retry_after);
  }
  if (status == 408 || status >= 500) {
    auto outcome = DeliveryOutcome::Transient(Detail(response, error), code);
    outcome.retry_after = retry_after;
    return outcome;
  }
  if (status == 401 || status == 403) {
    return DeliveryOutcome::Permanent(
        Detail(response, error) + " (check twilio.account_sid and twilio.auth_token)", code);
  }
  return DeliveryOutcome::Permanent(Detail(response, error), code);
}

void Require(bool ok, const std::string& message) {
  if (!ok) throw std::invalid_argument(message);
}

// Twilio SIDs are two letters and 32 hex digits; a typo is caught here, not at the first send.
bool LooksLikeSid(const std::string& sid, const char* prefix) {
  return sid.size() == 34 && sid.rfind(prefix, 0) == 0 &&
         std::all_of(sid.begin() + 2, sid.end(), [](char c) { return std::isxdigit(static_cast<unsigned char>(c)); });
}

std::string WhatsAppAddress(const std::string& address) {
  return address.rfind("whatsapp:", 0) == 0 ? address : "whatsapp:" + address;
}

}  // namespace

TwilioChannel::TwilioChannel(http::HttpClient& client, TwilioSettings settings)
    : HttpProviderChannel(client, {settings.connect_timeout, settings.timeout, settings.max_in_flight}, "twilio"),
      settings_(std::move(settings)) {
  auto base = http::DescribeHttpUrl(settings_.base_url, "twilio.base_url");
  while (!settings_.base_url.empty() && settings_.base_url.back() == '/') settings_.base_url.pop_back();
  Require(LooksLikeSid(settings_.account_sid, "AC"),
          "twilio.account_sid must be the account SID from the Twilio console: \"AC\" and 32 hex digits");
  Require(!settings_.auth_token.empty() && !http::HasControlCharacter(settings_.auth_token),
          "twilio.auth_token must be set (HERALD_TWILIO_AUTH_TOKEN), on one line");
  Require(settings_.messaging_service_sid.empty() || LooksLikeSid(settings_.messaging_service_sid, "MG"),
          "twilio.messaging_service_sid must be \"MG\" and 32 hex digits, or empty");
  const char* from_setting = settings_.whatsapp ? "twilio.whatsapp_from" : "twilio.from";
  Require(!settings_.from.empty() || !settings_.messaging_service_sid.empty(),
          std::string(from_setting) + " (the sender number) or twilio.messaging_service_sid must be set");
  Require(!http::HasControlCharacter(settings_.from), std::string(from_setting) + " must be on one line");
  if (!settings_.status_callback_url.empty()) http::DescribeHttpUrl(settings_.status_callback_url, "twilio.status_callback_url");
  messages_url_ = settings_.base_url + "/2010-04-01/Accounts/" + settings_.account_sid + "/Messages.json";
  authorization_ = http::BasicAuthorization(settings_.account_sid, settings_.auth_token);
  description_ = "twilio:" + base + " (" + settings_.account_sid + (settings_.whatsapp ? ", whatsapp)" : ")");
}

http::HttpProviderChannel::RequestOrOutcome TwilioChannel::RequestFor(const RenderedMessage& message) const {
  std::vector<std::pair<std::string, std::string>> form;
  form.emplace_back("To", settings_.whatsapp ? WhatsAppAddress(message.to) : message.to);
  if (!settings_.messaging_service_sid.empty()) {
    form.emplace_back("MessagingServiceSid", settings_.messaging_service_sid);
  } else {
    form.emplace_back("From", settings_.whatsapp ? WhatsAppAddress(settings_.from) : settings_.from);
  }
  form.emplace_back("Body", message.text);
  if (!settings_.status_callback_url.empty()) {
    // The delivery id rides in the callback's query, so /webhooks/twilio knows
    // the recipient without a lookup by sid (Twilio signs the whole URL).
    const char joiner = settings_.status_callback_url.find('?') == std::string::npos ? '?' : '&';
    form.emplace_back("StatusCallback", settings_.status_callback_url + joiner +
                                            http::FormEncode({{"herald_delivery_id", message.delivery_id}}));
  }
  http::HttpRequest request;
  request.url = messages_url_;
  request.body = http::FormEncode(form);
  request.headers = {"Content-Type: application/x-www-form-urlencoded", "Accept: application/json", authorization_};
  return request;
}

DeliveryOutcome TwilioChannel::Classify(const http::HttpResponse& response, const RenderedMessage&) const {
  return ClassifyAnswer(response);
}

}  // namespace herald::channels::twilio
