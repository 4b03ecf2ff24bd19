// Rows of the API service (seed 004): API keys, messages and their per-recipient
// deliveries, as the store hands them out. Plain data; the state rules live in
// the store and the dispatcher that change them.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace herald::store {

struct ApiKeyRecord {
  std::int64_t id = 0;
  std::string name;
  std::string role;  // "admin" or "user"
  std::string tier;  // "free", "basic" or "premium"
  std::string key_prefix;  // first characters of the key, to tell keys apart in lists
  std::int64_t created_at_ms = 0;
  std::optional<std::int64_t> revoked_at_ms;
};

// A key just made: the only moment its plain text exists outside the client.
struct IssuedKey {
  ApiKeyRecord record;
  std::string key;
};

struct NewRecipient {
  std::string channel;  // "sms", "whatsapp", "email", "telegram"
  std::string address;  // normalised by the caller
};

struct NewMessage {
  std::int64_t owner_id = 0;
  std::string idempotency_key;  // empty: none
  std::string subject;
  std::string content;
  std::string html;  // e-mail's HTML alternative of content; empty: text only
  int priority = 0;  // higher first within a channel
  std::optional<std::int64_t> scheduled_at_ms;
  std::vector<NewRecipient> recipients;
};

// What a provider reported about a recipient after taking it (provider webhooks).
struct TrackingEventRecord {
  std::string provider;  // "twilio", "sendgrid", "ses"
  std::string kind;      // a domain::TrackingKind word: delivered, read, bounced, ...
  std::string detail;    // the provider's own words, e.g. "undelivered: 30003"
  std::int64_t occurred_at_ms = 0;
  std::int64_t received_at_ms = 0;
};

// Delivery states of one recipient. queued -> sending -> sent | failed | dead |
// unknown, or queued -> cancelled; a retry puts a sending row back to queued
// with a later due time.
struct RecipientRecord {
  std::int64_t id = 0;
  std::int64_t message_id = 0;
  std::string channel;
  std::string address;
  std::string status;
  int attempts = 0;
  std::string provider_message_id;
  std::string last_error;
  std::int64_t due_at_ms = 0;
  std::int64_t updated_at_ms = 0;
  std::optional<std::int64_t> sent_at_ms;
  // Oldest first; filled by GetMessage (lists leave it empty).
  std::vector<TrackingEventRecord> events;
};

struct MessageRecord {
  std::int64_t id = 0;
  std::int64_t owner_id = 0;
  std::string idempotency_key;
  std::string subject;
  std::string content;
  std::string html;
  int priority = 0;
  std::optional<std::int64_t> scheduled_at_ms;
  std::int64_t created_at_ms = 0;
  std::vector<RecipientRecord> recipients;
};

// The records a store answers for an accepted message and recipient, with the
// ids it gave them (moves the texts out of `message` / `recipient`).
inline MessageRecord RecordOf(NewMessage& message, std::int64_t id, std::int64_t now_ms) {
  MessageRecord record;
  record.id = id;
  record.owner_id = message.owner_id;
  record.idempotency_key = message.idempotency_key;
  record.subject = std::move(message.subject);
  record.content = std::move(message.content);
  record.html = std::move(message.html);
  record.priority = message.priority;
  record.scheduled_at_ms = message.scheduled_at_ms;
  record.created_at_ms = now_ms;
  return record;
}

inline RecipientRecord RecipientOf(NewRecipient& recipient, std::int64_t id, std::int64_t message_id, std::int64_t due,
                            std::int64_t now_ms) {
  RecipientRecord r;
  r.id = id;
  r.message_id = message_id;
  r.channel = std::move(recipient.channel);
  r.address = std::move(recipient.address);
  r.status = "queued";
  r.due_at_ms = due;
  r.updated_at_ms = now_ms;
  return r;
}

struct AcceptedMessage {
  MessageRecord message;
  bool created = true;  // false: the idempotency key named an earlier message
};

struct MessageFilter {
  std::optional<std::int64_t> owner_id;  // nullopt: every owner (admin)
  std::string status;   // recipient status, empty: any
  std::string channel;  // empty: any
  std::optional<std::int64_t> as_of_id;  // only ids <= this: stable pages while rows are added
};

struct MessagePage {
  std::vector<MessageRecord> messages;
  std::int64_t total_count = 0;
  std::int64_t as_of_id = 0;  // the snapshot the page was cut from
};

// One recipient handed to a worker: everything needed to render and send.
struct ClaimedDelivery {
  RecipientRecord recipient;
  std::string subject;
  std::string content;
  std::string html;
};

// What a worker learnt about one claimed delivery.
struct DeliveryResult {
  std::int64_t recipient_id = 0;
  std::string status;  // "sent", "failed", "dead", "unknown", or "queued" for a retry
  std::string provider_message_id;
  std::string detail;
  std::int64_t retry_at_ms = 0;  // when status is "queued"
  bool claimed = true;           // false: it was never claimed (its render failed while queued)
};

struct CancelResult {
  bool found = false;
  std::int64_t cancelled = 0;    // recipients that will now never be sent
  std::int64_t not_pending = 0;  // already sending or final
};

}  // namespace herald::store
