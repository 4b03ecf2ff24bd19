// Provider webhooks: what Twilio, SendGrid and SES (through Amazon SNS) report
// about messages after taking them. No API key: each request is authenticated
// by its provider's signature instead, and one that fails is 401 and changes
// nothing. Events are stored once per provider event id (a replay is
// harmless); events about deliveries this Herald does not know are 200 and
// logged, so the provider stops retrying them.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "api/api_context.hpp"
#include "common/result.hpp"
#include "store/tracking_store.hpp"

namespace herald::api {

struct WebhookSettings {
  // POST /webhooks/twilio: the account's auth token and the public URL given
  // to Twilio as StatusCallback (Twilio signs the URL it called). Either empty:
  // the route answers 404 naming the settings.
  std::string twilio_auth_token;
  std::string twilio_callback_url;
  // POST /webhooks/sendgrid: the Signed Event Webhook's verification key
  // (base64 DER, as SendGrid shows it). Empty: 404.
  std::string sendgrid_public_key;
  // POST /webhooks/ses: the SNS topics whose notifications are taken (anyone
  // can make an SNS topic, so an allow list is what makes AWS's signature mean
  // "ours"). Empty: 404.
  std::vector<std::string> sns_topic_arns;
  // Where SNS signing certificates and subscription confirmations may be
  // fetched from (an ECMAScript regular expression on the whole URL).
  std::string sns_url_pattern = R"(^https://sns\.[a-z0-9-]+\.amazonaws\.com(\.cn)?/)";
};

// A GET of `url`: its body, or an error naming why not. Runs on the read pool.
using UrlFetcher = std::function<Result<std::string>(const std::string& url)>;

// Owned by the server for as long as the router holds its handlers.
class WebhookRoutes {
 public:
  // Throws std::invalid_argument naming the setting when one cannot be used
  // (a SendGrid key that is not an EC public key, a pattern that is not a
  // regular expression).
  WebhookRoutes(ApiContext& context, store::TrackingStore& tracking, WebhookSettings settings, UrlFetcher fetch);
  ~WebhookRoutes();
  WebhookRoutes(const WebhookRoutes&) = delete;
  WebhookRoutes& operator=(const WebhookRoutes&) = delete;
  void Add(Router& router);

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace herald::api
