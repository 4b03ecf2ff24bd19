#include "api/webhook_routes.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <map>
#include <mutex>
#include <regex>
#include <stdexcept>
#include <variant>

#include "tracking/provider_callbacks.hpp"
#include "tracking/webhook_signatures.hpp"

namespace herald::api {
namespace {

using nlohmann::json;

// A Twilio callback is one form; SendGrid batches events (its documented
// maximum is a few hundred per post, well under this); an SNS message is at most 256 KB.
constexpr std::size_t kMaxTwilioBody = 64 << 10;
constexpr std::size_t kMaxSendGridBody = 4 << 20;
constexpr std::size_t kMaxSnsBody = 512 << 10;
// Distinct SNS signing certificates kept; AWS rotates them rarely.
constexpr std::size_t kMaxCachedCertificates = 16;

ApiError NotConfigured(const std::string& provider, const std::string& settings) {
  return ApiError::NotFound("WEBHOOK_NOT_CONFIGURED",
                            provider + " webhooks are not configured on this server: set " + settings);
}

ApiError BadSignature(const std::string& what) { return {401, "INVALID_SIGNATURE", what}; }

std::string Header(const Request& req, std::string_view name) {
  const auto* value = req->header().try_get_field(name);
  return value != nullptr ? *value : std::string();
}

std::string StringField(const json& object, const char* name) {
  const auto it = object.find(name);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

}  // namespace

class WebhookRoutes::Impl {
 public:
  Impl(ApiContext& context, store::TrackingStore& tracking, WebhookSettings settings, UrlFetcher fetch)
      : context_(context), tracking_(tracking), settings_(std::move(settings)), fetch_(std::move(fetch)) {
    if (!settings_.sendgrid_public_key.empty()) {
      if (const auto problem = tracking::SendGridKeyProblem(settings_.sendgrid_public_key)) {
        throw std::invalid_argument("webhooks.sendgrid_public_key " + *problem);
      }
    }
    try {
      sns_url_pattern_ = std::regex(settings_.sns_url_pattern, std::regex::ECMAScript);
    } catch (const std::regex_error& e) {
      throw std::invalid_argument("webhooks.sns_url_pattern is not a regular expression: " + std::string(e.what()));
    }
    const auto query = settings_.twilio_callback_url.find('?');
    twilio_url_base_ = settings_.twilio_callback_url.substr(0, query);
  }

  void Add(Router& router) {
    const auto post = restinio::http_method_post();
    context_.AddRoute(router, post, "/webhooks/twilio", "/webhooks/twilio", false,
                      [this](auto& req, auto&, auto*, auto& route) { Twilio(req, route); });
    context_.AddRoute(router, post, "/webhooks/sendgrid", "/webhooks/sendgrid", false,
                      [this](auto& req, auto&, auto*, auto& route) { SendGrid(req, route); });
    context_.AddRoute(router, post, "/webhooks/ses", "/webhooks/ses", false,
                      [this](auto& req, auto&, auto*, auto& route) { Ses(req, route); });
  }

 private:
  bool TooLarge(const Request& req, const std::string& route, std::size_t limit) {
    if (req->body().size() <= limit) return false;
    context_.RespondError(req, route,
                          {413, "PAYLOAD_TOO_LARGE", "the body is larger than " + std::to_string(limit) + " bytes"});
    return true;
  }

  void Twilio(const Request& req, const std::string& route) {
    if (settings_.twilio_auth_token.empty() || settings_.twilio_callback_url.empty()) {
      return context_.RespondError(
          req, route,
          NotConfigured("twilio", "twilio.auth_token and twilio.status_callback_url (the URL Twilio calls)"));
    }
    if (TooLarge(req, route, kMaxTwilioBody)) return;
    const auto form = tracking::DecodeForm(req->body());
    if (!form) {
      return context_.RespondError(
          req, route, ApiError::BadRequest("INVALID_FORM", "the body is not application/x-www-form-urlencoded"));
    }
    // Twilio signs the URL it called: the configured one, with the query this request came with.
    const std::string query(req->header().query());
    const auto url = twilio_url_base_ + (query.empty() ? "" : "?" + query);
    if (!tracking::TwilioSignatureValid(settings_.twilio_auth_token, url, *form, Header(req, "X-Twilio-Signature"))) {
      return context_.RespondError(
          req, route,
          BadSignature("X-Twilio-Signature does not sign this request for " + twilio_url_base_ +
                       " with twilio.auth_token (is twilio.status_callback_url the URL Twilio calls?)"));
    }
    std::string delivery_id;
    if (const auto params = tracking::DecodeForm(query)) {
      for (const auto& [name, value] : *params) {
        if (name == tracking::kDeliveryIdField) delivery_id = value;
      }
    }
    Record(req, route, "twilio", tracking::ParseTwilioStatus(*form, delivery_id, context_.NowMs()));
  }

  void SendGrid(const Request& req, const std::string& route) {
    if (settings_.sendgrid_public_key.empty()) {
      return context_.RespondError(req, route,
                                   NotConfigured("sendgrid", "webhooks.sendgrid_public_key (the Signed Event Webhook's "
                                                             "verification key)"));
    }
    if (TooLarge(req, route, kMaxSendGridBody)) return;
    if (!tracking::SendGridSignatureValid(settings_.sendgrid_public_key,
                                          Header(req, "X-Twilio-Email-Event-Webhook-Timestamp"), req->body(),
                                          Header(req, "X-Twilio-Email-Event-Webhook-Signature"))) {
      return context_.RespondError(
          req, route,
          BadSignature("X-Twilio-Email-Event-Webhook-Signature does not sign X-Twilio-Email-Event-Webhook-Timestamp "
                       "and this body with webhooks.sendgrid_public_key"));
    }
    auto body = ParseJson(req->body());
    if (auto* error = std::get_if<ApiError>(&body)) return context_.RespondError(req, route, *error);
    Record(req, route, "sendgrid", tracking::ParseSendGridEvents(std::get<json>(body)));
  }

  void Ses(const Request& req, const std::string& route) {
    if (settings_.sns_topic_arns.empty()) {
      return context_.RespondError(
          req, route, NotConfigured("ses", "webhooks.sns_topic_arns (the SNS topics of your SES configuration set)"));
    }
    if (TooLarge(req, route, kMaxSnsBody)) return;
    // SNS posts JSON declared as text/plain, so the declared type is not checked.
    auto body = ParseJson(req->body());
    if (auto* error = std::get_if<ApiError>(&body)) return context_.RespondError(req, route, *error);
    const auto& object = std::get<json>(body);
    if (!object.is_object()) {
      return context_.RespondError(req, route, ApiError::Invalid("body: must be an Amazon SNS message (a JSON object)"));
    }
    tracking::SnsMessage sns{.type = StringField(object, "Type"),
                             .message_id = StringField(object, "MessageId"),
                             .topic_arn = StringField(object, "TopicArn"),
                             .message = StringField(object, "Message"),
                             .timestamp = StringField(object, "Timestamp"),
                             .signature_version = StringField(object, "SignatureVersion"),
                             .signature = StringField(object, "Signature"),
                             .signing_cert_url = StringField(object, "SigningCertURL"),
                             .subscribe_url = StringField(object, "SubscribeURL"),
                             .token = StringField(object, "Token")};
    if (const auto subject = object.find("Subject"); subject != object.end() && subject->is_string()) {
      sns.subject = subject->get<std::string>();
    }
    for (const auto& [field, value] : {std::pair{"Type", &sns.type}, std::pair{"MessageId", &sns.message_id},
                                       std::pair{"TopicArn", &sns.topic_arn}, std::pair{"Signature", &sns.signature},
                                       std::pair{"SigningCertURL", &sns.signing_cert_url}}) {
      if (value->empty()) return context_.RespondError(req, route, ApiError::Invalid(std::string(field) + ": missing"));
    }
    const auto& topics = settings_.sns_topic_arns;
    if (std::find(topics.begin(), topics.end(), sns.topic_arn) == topics.end()) {
      return context_.RespondError(req, route,
                                   {403, "TOPIC_NOT_ALLOWED",
                                    "TopicArn " + sns.topic_arn + " is not in webhooks.sns_topic_arns"});
    }
    if (!std::regex_search(sns.signing_cert_url, sns_url_pattern_)) {
      return context_.RespondError(
          req, route, BadSignature("SigningCertURL " + sns.signing_cert_url + " is not one webhooks.sns_url_pattern allows"));
    }
    // Fetching the certificate (once per URL) and confirming a subscription block: off the I/O thread.
    context_.Offload(req, route, nullptr, [this, req, route, sns = std::move(sns)](const Caller*) {
      const auto certificate = Certificate(sns.signing_cert_url);
      if (!certificate) {
        return context_.RespondError(req, route,
                                     {503, "CERTIFICATE_UNAVAILABLE",
                                      "the SNS signing certificate could not be fetched: " + certificate.error().message},
                                     nullptr, {{"Retry-After", "10"}});
      }
      if (!tracking::SnsSignatureValid(sns, *certificate)) {
        return context_.RespondError(req, route,
                                     BadSignature("Signature does not verify with the certificate at SigningCertURL"));
      }
      if (sns.type == "SubscriptionConfirmation") return ConfirmSubscription(req, route, sns);
      if (sns.type != "Notification") {
        spdlog::info("webhook ses: {} for {} taken, nothing to do", sns.type, sns.topic_arn);
        return context_.RespondJson(req, route, 200, {{"stored", 0}, {"replayed", 0}, {"unmatched", 0}}, nullptr);
      }
      RecordNow(req, route, "ses", tracking::ParseSesNotification(sns.message, sns.message_id));
    });
  }

  void ConfirmSubscription(const Request& req, const std::string& route, const tracking::SnsMessage& sns) {
    if (sns.subscribe_url.empty() || !std::regex_search(sns.subscribe_url, sns_url_pattern_)) {
      return context_.RespondError(
          req, route,
          ApiError::Invalid("SubscribeURL " + sns.subscribe_url + " is not one webhooks.sns_url_pattern allows"));
    }
    const auto confirmed = fetch_(sns.subscribe_url);
    if (!confirmed) {
      spdlog::warn("webhook ses: the subscription to {} could not be confirmed: {}", sns.topic_arn,
                   confirmed.error().message);
      return context_.RespondError(req, route,
                                   {502, "CONFIRMATION_FAILED",
                                    "the subscription could not be confirmed: " + confirmed.error().message});
    }
    spdlog::info("webhook ses: subscribed to {}", sns.topic_arn);
    context_.RespondJson(req, route, 200, {{"subscribed", sns.topic_arn}}, nullptr);
  }

  Result<std::string> Certificate(const std::string& url) {
    {
      std::lock_guard lock(certificates_mutex_);
      if (const auto it = certificates_.find(url); it != certificates_.end()) return it->second;
    }
    auto fetched = fetch_(url);
    if (!fetched) return fetched;
    std::lock_guard lock(certificates_mutex_);
    if (certificates_.size() >= kMaxCachedCertificates) certificates_.clear();
    certificates_.emplace(url, *fetched);
    return fetched;
  }

  void Record(const Request& req, const std::string& route, const char* provider,
              std::variant<tracking::ParsedCallback, std::string> parsed) {
    context_.Offload(req, route, nullptr, [this, req, route, provider, parsed = std::move(parsed)](const Caller*) mutable {
      RecordNow(req, route, provider, std::move(parsed));
    });
  }

  void RecordNow(const Request& req, const std::string& route, const char* provider,
                 std::variant<tracking::ParsedCallback, std::string> parsed) {
    if (auto* error = std::get_if<std::string>(&parsed)) {
      return context_.RespondError(req, route, ApiError::Invalid(*error));
    }
    auto& callback = std::get<tracking::ParsedCallback>(parsed);
    for (const auto& unmatched : callback.unmatched) spdlog::info("webhook {}: {}", provider, unmatched);
    int stored = 0;
    int replayed = 0;
    int unknown = static_cast<int>(callback.unmatched.size());
    if (!callback.events.empty()) {
      const auto answers = tracking_.RecordEvents(callback.events, context_.NowMs());
      for (std::size_t i = 0; i < answers.size(); ++i) {
        switch (answers[i]) {
          case store::EventRecorded::kStored:
            ++stored;
            break;
          case store::EventRecorded::kReplay:
            ++replayed;
            break;
          case store::EventRecorded::kUnknownRecipient:
            ++unknown;
            spdlog::info("webhook {}: {} event {} names recipient {}, which this herald does not have", provider,
                         callback.events[i].kind, callback.events[i].event_id, callback.events[i].recipient_id);
            break;
        }
      }
    }
    context_.RespondJson(req, route, 200, {{"stored", stored}, {"replayed", replayed}, {"unmatched", unknown}},
                         nullptr);
  }

  ApiContext& context_;
  store::TrackingStore& tracking_;
  const WebhookSettings settings_;
  UrlFetcher fetch_;
  std::regex sns_url_pattern_;
  std::string twilio_url_base_;
  std::mutex certificates_mutex_;
  std::map<std::string, std::string> certificates_;
};

WebhookRoutes::WebhookRoutes(ApiContext& context, store::TrackingStore& tracking, WebhookSettings settings,
                             UrlFetcher fetch)
    : impl_(std::make_unique<Impl>(context, tracking, std::move(settings), std::move(fetch))) {}
WebhookRoutes::~WebhookRoutes() = default;
void WebhookRoutes::Add(Router& router) { impl_->Add(router); }

}  // namespace herald::api
