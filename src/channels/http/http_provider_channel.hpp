// HttpProviderChannel: the part every one-request-per-message HTTP adapter
// (webhook, Twilio, Telegram, SES) shares. A subclass says what request a
// message becomes and what an answer means; this class bounds the call by the
// send's deadline, sends it on the shared HttpClient, and turns a missing
// answer into transient (nothing left) or unknown (the provider may have it).
#pragma once

#include <chrono>
#include <string>
#include <variant>

#include "channels/channel.hpp"
#include "channels/http/http_client.hpp"

namespace herald::channels::http {

struct ProviderLimits {
  std::chrono::milliseconds connect_timeout{5000};  // DNS, TCP and TLS set-up
  std::chrono::milliseconds timeout{30000};         // the whole call, set-up included
  int max_in_flight = 16;                           // requests awaiting an answer at once
};

class HttpProviderChannel : public Channel {
 public:
  HttpProviderChannel(const HttpProviderChannel&) = delete;
  HttpProviderChannel& operator=(const HttpProviderChannel&) = delete;

  boost::asio::awaitable<std::vector<domain::DeliveryOutcome>> Send(std::span<const RenderedMessage> messages,
                                                                    Deadline deadline) final;
  ChannelLimits Limits() const final { return {limits_.max_in_flight, 1}; }
  // Never a secret: subclasses describe a URL without credentials.
  std::string Describe() const final { return description_; }

 protected:
  // Throws std::invalid_argument, naming `setting` ("twilio", "webhook"), for a
  // timeout or in-flight cap that is not positive.
  HttpProviderChannel(HttpClient& client, ProviderLimits limits, const std::string& setting);

  // The request for one message (its timeouts are set here), or the outcome
  // that ends the message before any request (a recipient the provider cannot take).
  using RequestOrOutcome = std::variant<HttpRequest, domain::DeliveryOutcome>;
  virtual RequestOrOutcome RequestFor(const RenderedMessage& message) const = 0;
  // What an answer with a status line means for that message.
  virtual domain::DeliveryOutcome Classify(const HttpResponse& response, const RenderedMessage& message) const = 0;

  std::string description_;

 private:
  boost::asio::awaitable<domain::DeliveryOutcome> SendOne(const RenderedMessage& message, Deadline deadline);

  HttpClient& client_;
  ProviderLimits limits_;
};

}  // namespace herald::channels::http
