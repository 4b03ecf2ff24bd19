#include "channels/webhook/webhook_channel.hpp"

#include "channels/http/http_outcome.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string_view>
#include <vector>

namespace herald::channels::webhook {

using domain::DeliveryOutcome;

namespace {

using http::Excerpt;
using http::HasControlCharacter;

// The header value is secret, so errors name only the header name, if that.
void CheckAuthHeader(const std::string& header) {
  if (header.empty()) return;
  if (HasControlCharacter(header)) {
    throw std::invalid_argument("webhook auth_header must be a single line without control characters");
  }
  const auto colon = header.find(':');
  if (colon == std::string::npos || colon == 0) {
    throw std::invalid_argument("webhook auth_header must look like \"Name: value\"");
  }
  for (std::size_t i = 0; i < colon; ++i) {
    const unsigned char c = static_cast<unsigned char>(header[i]);
    // RFC 9110 token characters.
    if (!std::isalnum(c) && std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) == std::string_view::npos) {
      throw std::invalid_argument("webhook auth_header name \"" + header.substr(0, colon) + "\" is not a valid header name");
    }
  }
  if (header.find_first_not_of(' ', colon + 1) == std::string::npos) {
    throw std::invalid_argument("webhook auth_header " + header.substr(0, colon) + " has an empty value");
  }
}

std::string RequestBody(const RenderedMessage& message) {
  nlohmann::json body = {
      {"to", message.to}, {"content", message.text}, {"channel", message.channel}, {"message_id", message.delivery_id}};
  if (!message.subject.empty()) body["subject"] = message.subject;
  // Replace invalid UTF-8 rather than throw: one bad template must not stop a worker.
  return body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}


std::string StatusDetail(long status, const http::HttpResponse& response, std::int64_t retry_after_s) {
  std::string detail = "HTTP " + std::to_string(status);
  if (retry_after_s > 0) detail += ", retry after " + std::to_string(retry_after_s) + " s";
  if (const auto excerpt = Excerpt(response.body); !excerpt.empty()) detail += ": " + excerpt;
  return detail;
}

std::string ProviderMessageId(const http::HttpResponse& response) {
  const auto doc = nlohmann::json::parse(response.body, nullptr, /*allow_exceptions=*/false);
  if (!doc.is_object()) return {};
  const auto it = doc.find("messageId");
  if (it == doc.end()) return {};
  if (it->is_string()) return it->get<std::string>();
  if (it->is_number_integer() || it->is_number_unsigned()) return it->dump();
  return {};
}

DeliveryOutcome ClassifyStatus(const http::HttpResponse& response) {
  const long status = response.status;
  const auto retry_after_s = response.retry_after_s;
  if (status >= 200 && status < 300) {
    std::string id = ProviderMessageId(response);
    std::string detail = StatusDetail(status, response, 0);
    if (response.transfer_code != CURLE_OK) {
      detail += " (answer cut short: " + response.error + ")";
    } else if (response.truncated) {
      detail += " (answer longer than " + std::to_string(http::kMaxResponseBytes) + " bytes)";
    }
    if (id.empty()) detail += "; accepted, but the answer has no messageId";
    auto outcome = DeliveryOutcome::Accepted(std::move(id), std::move(detail));
    outcome.code = static_cast<int>(status);
    return outcome;
  }
  const int code = static_cast<int>(status);
  if (status == 429) {
    return DeliveryOutcome::Throttled(StatusDetail(status, response, retry_after_s), code,
                                      std::chrono::seconds(retry_after_s));
  }
  if (status == 408 || (status >= 500 && status < 600)) {
    auto outcome = DeliveryOutcome::Transient(StatusDetail(status, response, retry_after_s), code);
    outcome.retry_after = std::chrono::seconds(retry_after_s);
    return outcome;
  }
  if (status >= 300 && status < 400) {
    return DeliveryOutcome::Permanent(StatusDetail(status, response, 0) + " (redirects are not followed; fix the url)",
                                      code);
  }
  return DeliveryOutcome::Permanent(StatusDetail(status, response, 0), code);
}

}  // namespace

WebhookChannel::WebhookChannel(http::HttpClient& client, WebhookSettings settings)
    : HttpProviderChannel(client, {settings.connect_timeout, settings.timeout, settings.max_in_flight}, "webhook"),
      settings_(std::move(settings)) {
  description_ = "webhook:" + http::DescribeHttpUrl(settings_.url, "webhook url");
  CheckAuthHeader(settings_.auth_header);
}

http::HttpProviderChannel::RequestOrOutcome WebhookChannel::RequestFor(const RenderedMessage& message) const {
  if (HasControlCharacter(message.delivery_id)) {
    return DeliveryOutcome::Permanent("message id contains control characters; it cannot be an Idempotency-Key");
  }
  http::HttpRequest request;
  request.url = settings_.url;
  request.body = RequestBody(message);
  request.headers = {"Content-Type: application/json", "Accept: application/json"};
  if (!message.delivery_id.empty()) request.headers.push_back("Idempotency-Key: " + message.delivery_id);
  if (!settings_.auth_header.empty()) request.headers.push_back(settings_.auth_header);
  return request;
}

DeliveryOutcome WebhookChannel::Classify(const http::HttpResponse& response, const RenderedMessage&) const {
  return ClassifyStatus(response);
}

}  // namespace herald::channels::webhook
