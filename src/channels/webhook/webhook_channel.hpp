// WebhookChannel: delivers each message as a JSON POST to one configured URL (a
// customer's endpoint, or an SMS provider with a webhook-style API) through the
// shared asynchronous HttpClient, and turns the HTTP answer or the network
// failure into a DeliveryOutcome.
#pragma once

#include <chrono>
#include <string>

#include "channels/channel.hpp"
#include "channels/http/http_provider_channel.hpp"

namespace herald::channels::webhook {

struct WebhookSettings {
  std::string url;  // http:// or https://, checked at construction
  // One whole header line, e.g. "Authorization: Bearer …" or "x-ins-auth-key: …";
  // empty for none. A secret: sent with every request, never logged or described.
  std::string auth_header;
  std::chrono::milliseconds connect_timeout{5000};  // DNS, TCP and TLS set-up
  std::chrono::milliseconds timeout{30000};         // the whole call, set-up included
  int max_in_flight = 16;                           // requests awaiting an answer at once
};

// Request: {"to", "content", "channel", "subject" (only when set), "message_id"}
// with Content-Type: application/json and Idempotency-Key: <delivery id>, so a
// provider can drop the duplicate when we resend after an unknown outcome.
//
// Outcome, by what came back:
//   2xx with "messageId" in a JSON body  accepted with that provider id
//   2xx without it                       accepted, empty id, detail says so
//   429                                  throttled (Retry-After in the detail)
//   408, 5xx                             transient
//   other 4xx, 1xx, 3xx                  permanent (redirects are not followed)
//   DNS / connect failure or timeout     transient: nothing was sent
//   no answer after the request was sent unknown: the provider may have it
class WebhookChannel final : public http::HttpProviderChannel {
 public:
  // Throws std::invalid_argument for a malformed or non-HTTP URL, an auth header
  // that is not "Name: value" on one line, or a timeout or in-flight cap that is
  // not positive. Described as "webhook:https://host:port/path": no user info,
  // query string or auth header, since any of them may carry a credential.
  WebhookChannel(http::HttpClient& client, WebhookSettings settings);

 private:
  RequestOrOutcome RequestFor(const RenderedMessage& message) const override;
  domain::DeliveryOutcome Classify(const http::HttpResponse& response, const RenderedMessage& message) const override;

  WebhookSettings settings_;
};

}  // namespace herald::channels::webhook
