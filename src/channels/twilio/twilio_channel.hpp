// TwilioChannel: SMS and WhatsApp through Twilio's Programmable Messaging API
// (POST /2010-04-01/Accounts/{AccountSid}/Messages.json, form-encoded, HTTP
// Basic auth with the account SID and auth token), on the shared asynchronous
// HttpClient. One instance serves one channel: WhatsApp addresses are sent as
// "whatsapp:+E164", as Twilio expects.
#pragma once

#include <chrono>
#include <string>

#include "channels/channel.hpp"
#include "channels/http/http_provider_channel.hpp"

namespace herald::channels::twilio {

struct TwilioSettings {
  std::string base_url = "https://api.twilio.com";  // tests and gateways point elsewhere
  std::string account_sid;                          // "AC…"
  std::string auth_token;                           // a secret: never logged or described
  // The sender: an E.164 number or alphanumeric sender id, or a Messaging
  // Service ("MG…") that picks one; at least one of the two.
  std::string from;
  std::string messaging_service_sid;
  std::string status_callback_url;  // optional: Twilio posts delivery status here
  bool whatsapp = false;            // "whatsapp:" before To and From
  std::chrono::milliseconds connect_timeout{5000};
  std::chrono::milliseconds timeout{30000};
  int max_in_flight = 16;
};

// Outcome, by what came back:
//   2xx with "sid"                    accepted, the sid as provider id
//   429, or Twilio error 20429        throttled, Retry-After honoured
//   408, 5xx                          transient
//   401/403 (e.g. 20003)              permanent, naming the credentials to check
//   other 4xx (e.g. 21211, 21610)     permanent with Twilio's code and message
//   no answer after the request left  unknown: Twilio may have queued it
// Twilio's error code, when the answer has one, is the outcome's code.
class TwilioChannel final : public http::HttpProviderChannel {
 public:
  // Throws std::invalid_argument naming the setting that is missing or malformed
  // (never quoting a secret). Described as "twilio:https://api.twilio.com/ (AC…)":
  // the account, never the token.
  TwilioChannel(http::HttpClient& client, TwilioSettings settings);

 private:
  RequestOrOutcome RequestFor(const RenderedMessage& message) const override;
  domain::DeliveryOutcome Classify(const http::HttpResponse& response, const RenderedMessage& message) const override;

  TwilioSettings settings_;
  std::string messages_url_;
  std::string authorization_;
};

}  // namespace herald::channels::twilio
