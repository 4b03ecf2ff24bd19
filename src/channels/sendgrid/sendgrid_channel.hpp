// SendGridChannel: e-mail through SendGrid's v3 Mail Send API (POST
// /v3/mail/send, Bearer API key) on the shared asynchronous HttpClient. The
// message goes as fields (from, subject, text and HTML content, base64
// attachments), not MIME. Messages of one Send call whose content is the same
// (an API message to many recipients) share one request, up to 1,000
// personalizations; each personalization carries its delivery id in
// custom_args, so SendGrid's events name it.
#pragma once

#include <chrono>
#include <string>

#include "channels/channel.hpp"
#include "channels/http/http_client.hpp"
#include "common/clock.hpp"

namespace herald::channels::sendgrid {

inline constexpr int kMaxPersonalizations = 1000;  // SendGrid's limit per request

struct SendGridSettings {
  std::string base_url = "https://api.sendgrid.com";
  std::string api_key;  // "SG.…"; a secret, never logged or described
  std::chrono::milliseconds connect_timeout{5000};
  std::chrono::milliseconds timeout{30000};
  int max_in_flight = 16;
};

// Outcome, by what came back (the same for every message of a request):
//   2xx                                 accepted; X-Message-Id as provider id
//   429                                 throttled until X-RateLimit-Reset (or Retry-After)
//   5xx                                 transient
//   401/403                             permanent, naming sendgrid.api_key
//   other 4xx                           permanent with SendGrid's errors[] (field: message)
//   no answer after the request left    unknown
class SendGridChannel final : public Channel {
 public:
  SendGridChannel(http::HttpClient& client, SendGridSettings settings, const Clock& clock);
  SendGridChannel(const SendGridChannel&) = delete;
  SendGridChannel& operator=(const SendGridChannel&) = delete;

  boost::asio::awaitable<std::vector<domain::DeliveryOutcome>> Send(std::span<const RenderedMessage> messages,
                                                                    Deadline deadline) override;
  ChannelLimits Limits() const override { return {settings_.max_in_flight, kMaxPersonalizations}; }
  std::string Describe() const override { return description_; }

 private:
  boost::asio::awaitable<void> SendGroups(std::span<const RenderedMessage> messages,
                                          const std::vector<std::vector<std::size_t>>& groups,
                                          std::vector<domain::DeliveryOutcome>& outcomes, Deadline deadline);
  boost::asio::awaitable<domain::DeliveryOutcome> SendGroup(std::span<const RenderedMessage* const> group,
                                                            Deadline deadline);

  http::HttpClient& client_;
  SendGridSettings settings_;
  const Clock& clock_;
  std::string url_;
  std::string description_;
};

}  // namespace herald::channels::sendgrid
