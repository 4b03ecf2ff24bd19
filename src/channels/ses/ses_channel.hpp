// SesChannel: e-mail through Amazon SES's v2 API (POST /v2/email/outbound-emails),
// signed with AWS Signature Version 4, on the shared asynchronous HttpClient.
// A message with text and HTML only goes as Simple content (subject, bodies and
// extra headers; SES writes the MIME). One with attachments (certificates), or
// any message when ses.content = "raw", goes as Raw content: the MIME Herald
// built, Message-ID and signature headers included, is what SES sends.
#pragma once

#include <chrono>
#include <string>

#include "channels/channel.hpp"
#include "channels/http/http_provider_channel.hpp"
#include "channels/ses/sigv4.hpp"
#include "common/clock.hpp"

namespace herald::channels::ses {

enum class SesContent {
  kAuto,  // Simple when the message allows it, else Raw
  kRaw,   // always the MIME Herald built
};

struct SesSettings {
  std::string region;    // e.g. "eu-west-1"
  std::string base_url;  // empty: https://email.<region>.amazonaws.com
  AwsCredentials credentials;
  std::string configuration_set;  // optional ConfigurationSetName (event publishing)
  SesContent content = SesContent::kAuto;
  std::chrono::milliseconds connect_timeout{5000};
  std::chrono::milliseconds timeout{30000};
  int max_in_flight = 16;
};

// Outcome, by what came back (the error's name from x-amzn-ErrorType or the body):
//   200 with MessageId                         accepted, the MessageId as provider id
//   429, TooManyRequestsException, Throttling  throttled, Retry-After honoured
//   5xx; SendingPaused, AccountSuspended,
//   LimitExceeded (the account, not the message)  transient
//   403 (signature, credentials, access)       permanent, naming the credentials to check
//   other 4xx (MessageRejected, MailFromDomainNotVerified, BadRequest)  permanent with SES's words
//   no answer after the request left           unknown
class SesChannel final : public http::HttpProviderChannel {
 public:
  // Throws std::invalid_argument naming the setting that is missing or
  // malformed (never quoting a secret). Described as
  // "ses:https://email.eu-west-1.amazonaws.com/ (AKIA…)": the key id, never the secret.
  SesChannel(http::HttpClient& client, SesSettings settings, const Clock& clock);

 private:
  RequestOrOutcome RequestFor(const RenderedMessage& message) const override;
  domain::DeliveryOutcome Classify(const http::HttpResponse& response, const RenderedMessage& message) const override;

  SesSettings settings_;
  const Clock& clock_;
  std::string url_;
  std::string host_;  // as the Host header says it, port included when given
  std::string path_;
};

}  // namespace herald::channels::ses
