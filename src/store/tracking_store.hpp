// TrackingStore: what providers report after they took a message (delivered,
// read, bounced, complained, ...), stored beside the recipient it is about.
// Webhook handlers record; GET /api/v1/messages/{id}, campaign stats and
// metrics read.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace herald::store {

struct ProviderEvent {
  std::string provider;           // "twilio", "sendgrid", "ses"
  std::string event_id;           // unique per provider: a replayed callback carries the same
  std::int64_t recipient_id = 0;  // the message recipient it is about
  std::string kind;               // a domain::TrackingKind word
  std::string detail;             // the provider's status and reason, as it said them
  std::int64_t occurred_at_ms = 0;
};

enum class EventRecorded {
  kStored,
  kReplay,            // (provider, event_id) was stored before: nothing changed
  kUnknownRecipient,  // no such recipient: nothing stored
};

class TrackingStore {
 public:
  virtual ~TrackingStore() = default;
  // Stores the events in one transaction; one answer per event, in order.
  virtual std::vector<EventRecorded> RecordEvents(const std::vector<ProviderEvent>& events,
                                                  std::int64_t now_ms) = 0;
  // Events stored per (provider, kind), for metrics.
  virtual std::vector<std::pair<std::pair<std::string, std::string>, std::int64_t>> CountEventsByProviderAndKind() = 0;
};

}  // namespace herald::store
