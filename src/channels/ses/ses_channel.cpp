#include "channels/ses/ses_channel.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <memory>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <vector>

#include "channels/http/http_outcome.hpp"
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

DeliveryOutcome Classify(const http::HttpResponse& response) {
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

struct UrlDeleter {
  void operator()(CURLU* url) const { curl_url_cleanup(url); }
};

std::string Part(CURLU* url, CURLUPart part) {
  char* value = nullptr;
  if (curl_url_get(url, part, &value, 0) != CURLUE_OK || value == nullptr) return {};
  std::string out(value);
  curl_free(value);
  return out;
}

}  // namespace

SesChannel::SesChannel(http::HttpClient& client, SesSettings settings, const Clock& clock)
    : client_(client), settings_(std::move(settings)), clock_(clock) {
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
  std::unique_ptr<CURLU, UrlDeleter> url(curl_url());
  if (!url || curl_url_set(url.get(), CURLUPART_URL, settings_.base_url.c_str(), 0) != CURLUE_OK) {
    throw std::invalid_argument("ses.base_url is malformed");
  }
  const auto port = Part(url.get(), CURLUPART_PORT);
  host_ = Part(url.get(), CURLUPART_HOST) + (port.empty() ? "" : ":" + port);
  path_ = Part(url.get(), CURLUPART_PATH);
  while (!path_.empty() && path_.back() == '/') path_.pop_back();
  path_ += kSendEmailPath;
  url_ = Part(url.get(), CURLUPART_SCHEME) + "://" + host_ + path_;
  if (settings_.connect_timeout.count() <= 0 || settings_.timeout.count() <= 0) {
    throw std::invalid_argument("ses connect_timeout and timeout must be positive");
  }
  if (settings_.max_in_flight < 1) throw std::invalid_argument("ses max_in_flight must be at least 1");
  description_ = "ses:" + base + " (" + credentials.access_key_id + ")";
}

boost::asio::awaitable<std::vector<DeliveryOutcome>> SesChannel::Send(std::span<const RenderedMessage> messages,
                                                                      Deadline deadline) {
  return SendEach(messages, [this, deadline](const RenderedMessage& message) { return SendOne(message, deadline); });
}

boost::asio::awaitable<DeliveryOutcome> SesChannel::SendOne(const RenderedMessage& message, Deadline deadline) {
  if (message.mime.empty()) co_return DeliveryOutcome::Permanent("SES sends e-mail: the message has no MIME body");
  const auto left = http::TimeLeft(deadline);
  if (!left) co_return DeliveryOutcome::Transient("the send's deadline passed before the request to SES was made");
  std::string data;
  mime::AppendBase64(data, message.mime);
  nlohmann::json body = {
      {"FromEmailAddress", message.envelope_from},
      {"Destination", {{"ToAddresses", message.recipients.empty() ? std::vector<std::string>{message.to}
                                                                   : message.recipients}}},
      {"Content", {{"Raw", {{"Data", std::move(data)}}}}},
      {"EmailTags", {{{"Name", "herald_delivery_id"}, {"Value", TagValue(message.delivery_id)}}}}};
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
  request.connect_timeout = std::min(settings_.connect_timeout, *left);
  request.timeout = std::min(settings_.timeout, *left);
  const auto request_bytes = static_cast<std::int64_t>(request.body.size());
  const auto response = co_await client_.Perform(std::move(request));
  if (response.status > 0) co_return Classify(response);
  co_return http::NoAnswerOutcome(response, request_bytes, description_);
}

}  // namespace herald::channels::ses
