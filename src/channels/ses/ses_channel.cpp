#include "channels/ses/ses_channel.hpp"

#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <vector>

#include "channels/http/http_outcome.hpp"
#include "mime/header_writer.hpp"
#include "mime/transfer_encoding.hpp"

namespace herald::channels::ses {

using domain::DeliveryOutcome;

namespace {

constexpr char kSendEmailPath[] = "/v2/email/outbound-emails";

struct SesError {
  std::string type;  // "MessageRejected", "TooManyRequestsException", …
  std::string message;
};

// REST-JSON errors name themselves in x-amzn-ErrorType ("Name:http://…") or in
// the body's "__type" ("namespace#Name"); the words are "message" or "Message".
SesError ErrorOf(const http::HttpResponse& response) {
  SesError error;
  for (const auto& [name, value] : response.headers) {
    if (name == "x-amzn-errortype") error.type = value.substr(0, value.find(':'));
  }
  const auto doc = nlohmann::json::parse(response.body, nullptr, /*allow_exceptions=*/false);
  if (doc.is_object()) {
    if (error.type.empty()) {
      const std::string type = doc.value("__type", "");
      error.type = type.substr(type.find('#') == std::string::npos ? 0 : type.find('#') + 1);
    }
    for (const char* key : {"message", "Message"}) {
      if (const auto it = doc.find(key); it != doc.end() && it->is_string()) error.message = it->get<std::string>();
    }
  }
  return error;
}

std::string Detail(const http::HttpResponse& response, const SesError& error) {
  std::string detail = "HTTP " + std::to_string(response.status);
  if (!error.type.empty()) detail += ", SES " + http::Excerpt(error.type, 64);
  if (response.retry_after_s > 0) detail += ", retry after " + std::to_string(response.retry_after_s) + " s";
  const auto words = http::Excerpt(error.message.empty() ? response.body : error.message);
  if (!words.empty()) detail += ": " + words;
  return detail;
}

bool IsOneOf(const std::string& type, std::initializer_list<const char*> names) {
  return std::any_of(names.begin(), names.end(), [&](const char* name) { return type == name; });
}

DeliveryOutcome ClassifyAnswer(const http::HttpResponse& response) {
  const long status = response.status;
  const int code = static_cast<int>(status);
  if (status >= 200 && status < 300) {
    const auto doc = nlohmann::json::parse(response.body, nullptr, /*allow_exceptions=*/false);
    std::string id = doc.is_object() ? doc.value("MessageId", "") : "";
    auto outcome = DeliveryOutcome::Accepted(
        id, "HTTP " + std::to_string(status) + (id.empty() ? "; accepted, but the answer has no MessageId" : ""));
    outcome.code = code;
    return outcome;
  }
  const auto error = ErrorOf(response);
  const std::chrono::milliseconds retry_after = std::chrono::seconds(response.retry_after_s);
  if (status == 429 || IsOneOf(error.type, {"TooManyRequestsException", "Throttling", "ThrottlingException"})) {
    return DeliveryOutcome::Throttled(Detail(response, error), code, retry_after);
  }
  if (status >= 500 || status == 408 ||
      IsOneOf(error.type, {"SendingPausedException", "AccountSuspendedException", "LimitExceededException"})) {
    auto outcome = DeliveryOutcome::Transient(Detail(response, error), code);
    outcome.retry_after = retry_after;
    return outcome;
  }
  if (status == 401 || status == 403) {
    return DeliveryOutcome::Permanent(
        Detail(response, error) + " (check ses.access_key_id, ses.secret_access_key and ses.region)", code);
  }
  return DeliveryOutcome::Permanent(Detail(response, error), code);
}

// SES tag values take letters, digits, '_' and '-' only.
std::string TagValue(const std::string& text) {
  std::string out = text.substr(0, 256);
  for (auto& c : out) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-') c = '_';
  }
  return out.empty() ? "_" : out;
}

// SES takes at most this many extra headers with Simple content.
constexpr std::size_t kMaxSimpleHeaders = 15;

// RFC 2047 words for text that is not plain ASCII, on one line: SES takes a
// field's value, not a folded header.
std::string OneLineHeaderWords(const std::string& utf8) {
  std::string words = mime::EncodeHeaderWord(utf8);
  for (auto fold = words.find("\r\n"); fold != std::string::npos; fold = words.find("\r\n", fold)) words.erase(fold, 2);
  return words;
}

// "Name <address>", the name as RFC 2047 words when it is not plain ASCII.
std::string AddressOf(const mime::Mailbox& mailbox) {
  if (mailbox.display_name.empty()) return mailbox.address;
  std::string name = OneLineHeaderWords(mailbox.display_name);
  if (name == mailbox.display_name) {
    // Plain ASCII: quoted, so commas and dots in a name stay part of it.
    std::string quoted = "\"";
    for (const char c : name) {
      if (c == '"' || c == '\\') quoted += '\\';
      quoted += c;
    }
    name = quoted + "\"";
  }
  return name + " <" + mailbox.address + ">";
}

// Simple content says what SES should build: possible when Herald has the parts,
// nothing is attached, the recipients are the To addresses, and the extra
// headers fit; anything else goes as the MIME Herald built.
bool FitsSimpleContent(const RenderedMessage& message) {
  const auto& parts = message.parts;
  if (!parts || !parts->attachments.empty() || parts->to.empty() || parts->extra_headers.size() > kMaxSimpleHeaders) {
    return false;
  }
  if (message.recipients.empty()) return parts->to.size() == 1 && parts->to.front().address == message.to;
  if (message.recipients.size() != parts->to.size()) return false;
  for (std::size_t i = 0; i < parts->to.size(); ++i) {
    if (parts->to[i].address != message.recipients[i]) return false;
  }
  return true;
}

nlohmann::json Utf8(const std::string& data) { return {{"Data", data}, {"Charset", "UTF-8"}}; }

}  // namespace

SesChannel::SesChannel(http::HttpClient& client, SesSettings settings, const Clock& clock)
    : HttpProviderChannel(client, {settings.connect_timeout, settings.timeout, settings.max_in_flight}, "ses"),
      settings_(std::move(settings)),
      clock_(clock) {
  auto& region = settings_.region;
  if (region.empty() || !std::all_of(region.begin(), region.end(), [](char c) {
        return std::islower(static_cast<unsigned char>(c)) || std::isdigit(static_cast<unsigned char>(c)) || c == '-';
      })) {
    throw std::invalid_argument("ses.region must name an AWS region such as \"eu-west-1\" (or set AWS_REGION)");
  }
  const auto& credentials = settings_.credentials;
  if (credentials.access_key_id.empty() || credentials.secret_access_key.empty()) {
    throw std::invalid_argument("ses.access_key_id and ses.secret_access_key must be set (or AWS_ACCESS_KEY_ID and "
                                "AWS_SECRET_ACCESS_KEY)");
  }
  for (const auto* value : {&credentials.access_key_id, &credentials.secret_access_key, &credentials.session_token}) {
    if (http::HasControlCharacter(*value) || value->find(' ') != std::string::npos) {
      throw std::invalid_argument("the SES credentials must be single words without spaces or control characters");
    }
  }
  if (settings_.base_url.empty()) settings_.base_url = "https://email." + region + ".amazonaws.com";
  const auto base = http::DescribeHttpUrl(settings_.base_url, "ses.base_url");
  const auto url = http::SplitHttpUrl(settings_.base_url, "ses.base_url");
  host_ = url.host + (url.port.empty() ? "" : ":" + url.port);
  path_ = url.path;
  while (!path_.empty() && path_.back() == '/') path_.pop_back();
  path_ += kSendEmailPath;
  url_ = url.scheme + "://" + host_ + path_;
  description_ = "ses:" + base + " (" + credentials.access_key_id + ")";
}

http::HttpProviderChannel::RequestOrOutcome SesChannel::RequestFor(const RenderedMessage& message) const {
  nlohmann::json body = {
      {"EmailTags", {{{"Name", "herald_delivery_id"}, {"Value", TagValue(message.delivery_id)}}}}};
  if (settings_.content == SesContent::kAuto && FitsSimpleContent(message)) {
    const auto& parts = *message.parts;
    nlohmann::json simple = {{"Subject", Utf8(parts.subject)}, {"Body", {{"Text", Utf8(parts.text_body)}}}};
    if (!parts.html_body.empty()) simple["Body"]["Html"] = Utf8(parts.html_body);
    for (const auto& [name, value] : parts.extra_headers) {
      simple["Headers"].push_back({{"Name", name}, {"Value", OneLineHeaderWords(value)}});
    }
    std::vector<std::string> to;
    for (const auto& mailbox : parts.to) to.push_back(AddressOf(mailbox));
    body["FromEmailAddress"] = AddressOf(parts.from);
    body["Destination"] = {{"ToAddresses", std::move(to)}};
    body["Content"] = {{"Simple", std::move(simple)}};
  } else {
    if (message.mime.empty()) return DeliveryOutcome::Permanent("SES sends e-mail: the message has no MIME body");
    std::string data;
    mime::AppendBase64(data, message.mime);
    body["FromEmailAddress"] = message.envelope_from;
    body["Destination"] = {
        {"ToAddresses", message.recipients.empty() ? std::vector<std::string>{message.to} : message.recipients}};
    body["Content"] = {{"Raw", {{"Data", std::move(data)}}}};
  }
  if (!settings_.configuration_set.empty()) body["ConfigurationSetName"] = settings_.configuration_set;

  SigningRequest signing{.method = "POST",
                         .path = path_,
                         .headers = {{"Content-Type", "application/json"}, {"Host", host_}},
                         .payload = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace),
                         .region = settings_.region,
                         .service = "ses",
                         .amz_date = AmzDate(ToUnixMillis(clock_.Now()) / 1000)};
  const auto signed_request = SignV4(signing, settings_.credentials);
  http::HttpRequest request;
  request.url = url_;
  request.body = std::move(signing.payload);
  request.headers = {"Content-Type: application/json", "Accept: application/json", "Host: " + host_};
  for (const auto& [name, value] : signed_request.headers) request.headers.push_back(name + ": " + value);
  return request;
}

DeliveryOutcome SesChannel::Classify(const http::HttpResponse& response, const RenderedMessage&) const {
  return ClassifyAnswer(response);
}

}  // namespace herald::channels::ses
