// What Twilio's status callbacks, SendGrid's Event Webhook and SES's event
// notifications (through SNS) say, in Herald's tracking words: one
// store::ProviderEvent per report about a recipient Herald sent. Signatures are
// checked before these run (webhook_signatures.hpp); these only read.
#pragma once

#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "store/tracking_store.hpp"

namespace herald::tracking {

// The name Herald gives its delivery id wherever a provider carries it back:
// SendGrid custom_args, SES EmailTags, the query of Twilio's StatusCallback.
inline constexpr std::string_view kDeliveryIdField = "herald_delivery_id";

// The message recipient a delivery id ("r123") names; nullopt for other
// deliveries (a certificate's) and for anything malformed.
std::optional<std::int64_t> RecipientOfDeliveryId(std::string_view delivery_id);

// An application/x-www-form-urlencoded body ("a=1&b=x+y%21") as its pairs, in
// order, repeats kept; nullopt for a broken %-escape.
std::optional<std::vector<std::pair<std::string, std::string>>> DecodeForm(std::string_view body);

struct ParsedCallback {
  std::vector<store::ProviderEvent> events;
  // Reports that name no message recipient of Herald's, described for the log.
  std::vector<std::string> unmatched;
};

// A Twilio status callback: form fields (MessageSid, MessageStatus, ErrorCode,
// …) and the delivery id from the callback URL's query. An error names what
// is missing.
std::variant<ParsedCallback, std::string> ParseTwilioStatus(const std::vector<std::pair<std::string, std::string>>& form,
                                                           std::string_view delivery_id, std::int64_t now_ms);

// SendGrid's Event Webhook body: a JSON array of events.
std::variant<ParsedCallback, std::string> ParseSendGridEvents(const nlohmann::json& body);

// One SES event notification: the Message of an SNS Notification (a JSON text),
// with the SNS MessageId as the event's id.
std::variant<ParsedCallback, std::string> ParseSesNotification(std::string_view message, std::string_view sns_message_id);

}  // namespace herald::tracking
