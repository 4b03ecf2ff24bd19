// EmailTransport: hands one finished RFC 5322 message to a mail system and says
// what happened. Implementations: smtp/ (a real server) and file/ (an outbox folder).
// Transports never touch the store; the dispatcher records the outcome.
#pragma once

#include <string>
#include <vector>

#include "domain/delivery_outcome.hpp"

namespace herald::channels {

struct OutgoingEmail {
  std::string envelope_from;            // MAIL FROM address (bare, no display name)
  std::vector<std::string> recipients;  // RCPT TO addresses
  std::string message_id;               // the Message-ID header value, for files and logs
  std::string data;                     // the whole message, CRLF line endings, not dot-stuffed
};

class EmailTransport {
 public:
  virtual ~EmailTransport() = default;
  // Blocking and thread-safe: any worker thread may call it; implementations
  // may pool connections underneath.
  virtual domain::DeliveryOutcome Send(const OutgoingEmail& email) = 0;
  // Short description for logs and health ("smtp://host:port", "outbox:/path").
  virtual std::string Describe() const = 0;
};

}  // namespace herald::channels
