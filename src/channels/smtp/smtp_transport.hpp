// EmailTransport over SMTP: a pool of reusable connections driven by Boost.Asio
// coroutines on the transport's own I/O thread. Uses PIPELINING (RFC 2920) when
// offered, STARTTLS and AUTH PLAIN/LOGIN when configured, and a deadline on every
// network step. Classifies each send as Postfix's smtp client does: 2xx accepted,
// 4xx or a failure before the end of data transient, 5xx permanent, and a
// connection lost after the end-of-data marker unknown (never resent here).
#pragma once

#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "channels/email_transport.hpp"
#include "channels/smtp/smtp_settings.hpp"

namespace herald::channels::smtp {

class SmtpConnection;

class SmtpTransport final : public EmailTransport {
 public:
  explicit SmtpTransport(SmtpSettings settings);
  ~SmtpTransport() override;

  domain::DeliveryOutcome Send(const OutgoingEmail& email) override;
  std::string Describe() const override { return settings_.Describe(); }

 private:
  std::unique_ptr<SmtpConnection> Acquire();
  void Release(std::unique_ptr<SmtpConnection> connection);

  struct IoRuntime;
  SmtpSettings settings_;
  std::unique_ptr<IoRuntime> io_;
  std::mutex pool_mutex_;
  std::condition_variable pool_changed_;
  std::vector<std::unique_ptr<SmtpConnection>> idle_;
  int open_connections_ = 0;
};

}  // namespace herald::channels::smtp
