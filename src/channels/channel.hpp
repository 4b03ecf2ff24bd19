// Channel: hands rendered messages to one provider (an SMTP server, an outbox
// folder, an SMS or chat API, a webhook) and says what happened to each one.
// One interface for every job: asynchronous (Asio coroutines), a span of
// messages per call so adapters can pipeline or batch, limits the engine
// respects, and no exceptions: every failure is a DeliveryOutcome. Channels
// never touch the store; the delivery engine records what they report.
#pragma once

// Boost 1.74's asio/awaitable.hpp uses std::exchange without including <utility>.
#include <utility>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "domain/delivery_outcome.hpp"
#include "mime/email_message.hpp"

namespace herald::channels {

using Deadline = std::chrono::steady_clock::time_point;

// One message ready to go. E-mail channels read the envelope and `mime`; the
// others read `to`, `subject` and `text`.
struct RenderedMessage {
  std::string delivery_id;  // stable across attempts: idempotency key for providers, log correlation
  std::string channel;      // "email", "sms", "whatsapp", "telegram"
  std::string to;           // e-mail address, E.164 number or Telegram chat id
  std::string subject;      // may be empty
  std::string text;         // text channels: the rendered body (Telegram: the document's caption)
  // Text channels: files sent with the text (Telegram: sendDocument, one per message).
  std::vector<mime::Attachment> attachments;
  // E-mail only.
  std::string envelope_from;            // MAIL FROM (bare address)
  std::vector<std::string> recipients;  // RCPT TO; empty: `to`
  std::string message_id;               // the Message-ID header value
  std::string mime;                     // the whole RFC 5322 message, CRLF line ends, not dot-stuffed
  // What `mime` was built from, for providers that take fields rather than a
  // message (SendGrid); shared, since a message may be copied into a batch.
  std::shared_ptr<const mime::EmailContent> parts;
};

struct ChannelLimits {
  int max_in_flight = 1;  // messages handed over and not yet answered, across all calls
  int max_batch = 1;      // messages per Send call
};

class Channel {
 public:
  virtual ~Channel() = default;
  // One outcome per message, in the same order. Must not throw: an adapter
  // turns its own failures into outcomes (SendNoThrow guards the rest). A
  // message whose data may have reached the provider is never kTransient.
  virtual boost::asio::awaitable<std::vector<domain::DeliveryOutcome>> Send(std::span<const RenderedMessage> messages,
                                                                            Deadline deadline) = 0;
  virtual ChannelLimits Limits() const = 0;
  // Short description for logs and /health ("smtp://host:port", "outbox:/path"); never a secret.
  virtual std::string Describe() const = 0;
};

// For adapters that send one message per request: one outcome per message, in
// order, from `send_one(message)` (an awaitable of DeliveryOutcome).
template <typename SendOne>
boost::asio::awaitable<std::vector<domain::DeliveryOutcome>> SendEach(std::span<const RenderedMessage> messages,
                                                                      SendOne send_one) {
  std::vector<domain::DeliveryOutcome> outcomes;
  outcomes.reserve(messages.size());
  for (const auto& message : messages) outcomes.push_back(co_await send_one(message));
  co_return outcomes;
}

// Calls channel.Send and keeps its promise for it: an exception escaping the
// adapter, or a wrong number of outcomes, becomes kUnknown for the messages it
// concerns (their data may have left), never a crash or a resend.
boost::asio::awaitable<std::vector<domain::DeliveryOutcome>> SendNoThrow(Channel& channel,
                                                                         std::span<const RenderedMessage> messages,
                                                                         Deadline deadline);

// Sends one message and waits for its outcome on the calling thread, running the
// send on `executor`: for command-line tools and tests, never on an I/O thread.
domain::DeliveryOutcome SendAndWait(const boost::asio::any_io_executor& executor, Channel& channel,
                                    const RenderedMessage& message,
                                    std::chrono::milliseconds timeout = std::chrono::seconds(60));

}  // namespace herald::channels
