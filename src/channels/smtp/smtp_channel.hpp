// The SMTP channel: a pool of reusable sessions driven by Boost.Asio coroutines,
// with no thread per message. Each Send call takes one session and runs its
// messages through it back to back, pipelined (RFC 2920): the next envelope
// travels with the previous message's data, so a session costs one round trip
// per message. STARTTLS and AUTH PLAIN/LOGIN when configured, a deadline on every
// network step. Outcomes as Postfix's smtp client classifies them: 2xx accepted,
// 4xx or a failure before the end of data transient, 5xx permanent, and a
// connection lost after the end-of-data marker unknown (never resent here).
#pragma once

#include <deque>
#include <optional>
#include <memory>
#include <vector>

#include "channels/channel.hpp"
#include "channels/smtp/smtp_settings.hpp"

namespace boost::asio::ssl {
class context;
}

namespace herald::channels::smtp {

class SmtpConnection;

class SmtpChannel final : public Channel {
 public:
  // Every Send must run on `executor` (one thread: the pool has no lock).
  SmtpChannel(boost::asio::any_io_executor executor, SmtpSettings settings);
  ~SmtpChannel() override;
  SmtpChannel(const SmtpChannel&) = delete;
  SmtpChannel& operator=(const SmtpChannel&) = delete;

  boost::asio::awaitable<std::vector<domain::DeliveryOutcome>> Send(std::span<const RenderedMessage> messages,
                                                                    Deadline deadline) override;
  // One message per session in flight at a time, each Send up to
  // messages_per_session of them: max_connections * messages_per_session in all.
  ChannelLimits Limits() const override;
  std::string Describe() const override { return settings_.Describe(); }

 private:
  struct Waiter;
  // A pooled session, or nullptr: a slot to open a new one; nullopt when the
  // deadline passed before either was free.
  boost::asio::awaitable<std::optional<std::unique_ptr<SmtpConnection>>> Acquire(Deadline deadline);
  void Release(std::unique_ptr<SmtpConnection> connection);
  boost::asio::awaitable<std::unique_ptr<SmtpConnection>> Open(domain::DeliveryOutcome& failure);

  boost::asio::any_io_executor executor_;
  SmtpSettings settings_;
  std::unique_ptr<boost::asio::ssl::context> tls_;
  std::vector<std::unique_ptr<SmtpConnection>> idle_;
  std::deque<Waiter*> waiters_;
  int open_connections_ = 0;  // idle, in use, or being opened
};

}  // namespace herald::channels::smtp
