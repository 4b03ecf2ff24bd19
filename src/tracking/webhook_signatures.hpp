// How each provider signs the callbacks it posts to Herald, checked here
// before anything in a callback is believed. Every check answers false for a
// malformed input; none throws, and signatures are compared in constant time.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace herald::tracking {

// Twilio: X-Twilio-Signature is base64(HMAC-SHA1(auth token, url + each POST
// parameter, sorted by name (then value), as name followed by value)), where
// `url` is the whole URL Twilio requested, query included.
std::string TwilioSignature(std::string_view auth_token, std::string_view url,
                            std::vector<std::pair<std::string, std::string>> params);
bool TwilioSignatureValid(std::string_view auth_token, std::string_view url,
                          const std::vector<std::pair<std::string, std::string>>& params, std::string_view signature);

// SendGrid's signed Event Webhook: X-Twilio-Email-Event-Webhook-Signature is a
// base64 DER ECDSA (P-256, SHA-256) signature of timestamp + raw body, checked
// with the verification key SendGrid shows (base64 DER SubjectPublicKeyInfo).
bool SendGridSignatureValid(std::string_view public_key_base64, std::string_view timestamp, std::string_view payload,
                            std::string_view signature_base64);
// Why `public_key_base64` is not a usable verification key, or nullopt when it is
// (for the settings check at start-up).
std::optional<std::string> SendGridKeyProblem(std::string_view public_key_base64);

// Amazon SNS: the string a message's Signature covers ("Name\nvalue\n" for the
// fields its Type signs, in order), or nullopt when a signed field is missing.
struct SnsMessage {
  std::string type;  // Notification, SubscriptionConfirmation, UnsubscribeConfirmation
  std::string message_id;
  std::string topic_arn;
  std::optional<std::string> subject;
  std::string message;
  std::string timestamp;
  std::string signature_version;  // "1": SHA1withRSA, "2": SHA256withRSA
  std::string signature;          // base64
  std::string signing_cert_url;
  std::string subscribe_url;  // confirmations only
  std::string token;          // confirmations only
};
std::string SnsStringToSign(const SnsMessage& message);
// Checks message.signature against the X.509 certificate (PEM) named by
// signing_cert_url; false for an unknown SignatureVersion.
bool SnsSignatureValid(const SnsMessage& message, std::string_view certificate_pem);

// Base64 (standard alphabet, padded) in and out; nullopt for text that is not base64.
std::string Base64Encode(std::string_view bytes);
std::optional<std::string> Base64Decode(std::string_view text);

}  // namespace herald::tracking
