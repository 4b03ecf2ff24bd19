// Where and how to reach an SMTP server, parsed from a URL such as
// smtp://user:pass@mail.example.org:587?starttls=required. Credentials may also be
// supplied separately (HERALD_SMTP_USERNAME / HERALD_SMTP_PASSWORD) by the caller.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "common/result.hpp"

namespace herald::channels::smtp {

enum class TlsMode {
  kNone,          // plain text only (starttls=off)
  kOpportunistic, // STARTTLS when the server offers it (default for smtp://)
  kRequired,      // STARTTLS or fail (starttls=required)
  kImplicit,      // TLS from the first byte (smtps://)
};

struct SmtpSettings {
  std::string host;
  int port = 25;
  TlsMode tls = TlsMode::kOpportunistic;
  std::string username;
  std::string password;
  int max_connections = 4;
  // Messages one Send hands a session, sent back to back with pipelining; the
  // channel keeps up to max_connections * messages_per_session in flight.
  int messages_per_session = 4;
  std::chrono::milliseconds timeout{30000};  // per network step
  std::string helo_name;                     // empty: this machine's host name
  bool verify_peer = true;
  std::string ca_file;  // extra trusted CA (PEM), e.g. a private relay's

  // "smtp://host:port" without credentials, for logs.
  std::string Describe() const;
};

Result<SmtpSettings> ParseSmtpUrl(std::string_view url);

}  // namespace herald::channels::smtp
