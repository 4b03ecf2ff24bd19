// The "file" transport: each message becomes <outbox>/<message id>.eml, written
// atomically. It is the default when no SMTP server is configured, so the whole
// pipeline runs on a machine with no mail server, and its output can be opened
// in any mail client or handed to `sendmail` later.
#pragma once

#include <string>

#include "channels/email_transport.hpp"

namespace herald::channels::file {

class OutboxTransport final : public EmailTransport {
 public:
  // Creates the folder if missing; throws std::runtime_error naming it if it cannot.
  explicit OutboxTransport(std::string outbox_dir);

  domain::DeliveryOutcome Send(const OutgoingEmail& email) override;
  std::string Describe() const override { return "outbox:" + dir_; }

 private:
  std::string dir_;
};

// A file name safe on any file system, derived from the Message-ID.
std::string OutboxFileName(const std::string& message_id);

}  // namespace herald::channels::file
