// What a provider reported about a message after it took it (delivery status
// callbacks, bounces, complaints, opens): one vocabulary for Twilio's,
// SendGrid's and SES's words. These never change a delivery's status (that
// ended at "sent" when the provider accepted it); they are stored beside it.
#pragma once

#include <optional>
#include <string_view>

namespace herald::domain {

enum class TrackingKind {
  kAccepted,      // the provider queued or handed it on (Twilio queued/sent, SendGrid processed, SES Send)
  kDeferred,      // the receiving side asked to try later; the provider keeps trying
  kDelivered,     // the receiving server or handset took it
  kRead,          // opened (e-mail) or read (WhatsApp)
  kClicked,       // a link in it was followed
  kBounced,       // it will not arrive: a bounce, a drop, Twilio undelivered/failed
  kComplained,    // the recipient marked it as spam
  kUnsubscribed,  // the recipient unsubscribed through the provider
};

inline const char* ToString(TrackingKind kind) {
  switch (kind) {
    case TrackingKind::kAccepted: return "accepted";
    case TrackingKind::kDeferred: return "deferred";
    case TrackingKind::kDelivered: return "delivered";
    case TrackingKind::kRead: return "read";
    case TrackingKind::kClicked: return "clicked";
    case TrackingKind::kBounced: return "bounced";
    case TrackingKind::kComplained: return "complained";
    case TrackingKind::kUnsubscribed: return "unsubscribed";
  }
  return "accepted";
}

inline std::optional<TrackingKind> ParseTrackingKind(std::string_view text) {
  for (auto kind : {TrackingKind::kAccepted, TrackingKind::kDeferred, TrackingKind::kDelivered, TrackingKind::kRead,
                    TrackingKind::kClicked, TrackingKind::kBounced, TrackingKind::kComplained,
                    TrackingKind::kUnsubscribed}) {
    if (text == ToString(kind)) return kind;
  }
  return std::nullopt;
}

}  // namespace herald::domain
