// MessageChannel: sends one rendered message to one recipient over SMS, WhatsApp,
// Telegram or a webhook, and says what happened. The API's workers pick a channel
// per lane; like EmailTransport, a channel never touches the store.
#pragma once

#include <string>

#include "domain/delivery_outcome.hpp"

namespace herald::channels {

struct OutgoingMessage {
  std::string channel;     // "sms", "whatsapp", "telegram" (lane names)
  std::string to;          // E.164 phone number, or Telegram chat id
  std::string subject;     // may be empty
  std::string body;        // rendered text
  std::string message_id;  // Herald's recipient id: stable across attempts, for idempotent providers
};

class MessageChannel {
 public:
  virtual ~MessageChannel() = default;
  // Blocking and thread-safe: any worker thread may call it. Every call has a
  // deadline; a timeout after the request was written is kUnknown.
  virtual domain::DeliveryOutcome Send(const OutgoingMessage& message) = 0;
  // Short description for logs and /health ("mock(success=0.95)", "webhook:http://host/path").
  virtual std::string Describe() const = 0;
};

}  // namespace herald::channels
