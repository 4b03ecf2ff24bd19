// Boost 1.74's asio/awaitable.hpp uses std::exchange without including <utility>.
#include <utility>

#include "channels/smtp/smtp_transport.hpp"

#include <unistd.h>

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <future>
#include <optional>
#include <sstream>

namespace herald::channels::smtp {

namespace asio = boost::asio;
using asio::awaitable;
using asio::ip::tcp;
using domain::DeliveryOutcome;

namespace {

struct Reply {
  int code = 0;
  std::string text;  // all lines, joined with " / "
  bool Positive() const { return code >= 200 && code < 400; }
  std::string Summary() const { return std::to_string(code) + " " + text; }
};

std::string Base64(std::string_view in) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    const unsigned v = (static_cast<unsigned char>(in[i]) << 16) | (static_cast<unsigned char>(in[i + 1]) << 8) |
                       static_cast<unsigned char>(in[i + 2]);
    out += kAlphabet[v >> 18];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += kAlphabet[v & 63];
  }
  if (i < in.size()) {
    unsigned v = static_cast<unsigned char>(in[i]) << 16;
    if (i + 1 < in.size()) v |= static_cast<unsigned char>(in[i + 1]) << 8;
    out += kAlphabet[v >> 18];
    out += kAlphabet[(v >> 12) & 63];
    out += i + 1 < in.size() ? kAlphabet[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

// Dot-stuffing (RFC 5321 4.5.2) and the end-of-data marker.
std::string FrameData(const std::string& data) {
  std::string framed;
  framed.reserve(data.size() + data.size() / 64 + 8);
  bool line_start = true;
  for (char c : data) {
    if (line_start && c == '.') framed += '.';
    framed += c;
    line_start = c == '\n';
  }
  if (framed.size() < 2 || framed.compare(framed.size() - 2, 2, "\r\n") != 0) framed += "\r\n";
  framed += ".\r\n";
  return framed;
}

// The queue id a server names in its 250 reply ("250 2.0.0 Ok: queued as 4F2B1C"),
// when there is one.
std::string QueueIdFrom(const std::string& text) {
  const auto pos = text.find("queued as ");
  if (pos == std::string::npos) return {};
  std::string id;
  for (size_t i = pos + 10; i < text.size() && text[i] != ' ' && text[i] != '/'; ++i) id += text[i];
  return id;
}

std::string HostName() {
  char name[256] = {};
  if (gethostname(name, sizeof name - 1) != 0 || name[0] == '\0') return "localhost";
  return name;
}

}  // namespace

// One SMTP session. Lives on the transport's I/O thread while a coroutine uses it,
// and in the idle pool between messages.
class SmtpConnection {
 public:
  SmtpConnection(asio::io_context& io, asio::ssl::context& tls, const SmtpSettings& settings)
      : settings_(settings), stream_(io, tls), timer_(io) {}

  bool open() const { return open_; }

  awaitable<void> Connect() {
    tcp::resolver resolver(stream_.get_executor());
    Arm();
    const auto endpoints = co_await resolver.async_resolve(settings_.host, std::to_string(settings_.port),
                                                           asio::use_awaitable);
    co_await asio::async_connect(stream_.next_layer(), endpoints, asio::use_awaitable);
    Disarm();
    stream_.next_layer().set_option(tcp::no_delay(true));
    if (settings_.tls == TlsMode::kImplicit) co_await Handshake();
    const auto greeting = co_await ReadReply();
    if (greeting.code != 220) throw ProtocolFailure("greeting", greeting);
    co_await Hello();
    if (!tls_active_ && settings_.tls != TlsMode::kNone && (starttls_ || settings_.tls == TlsMode::kRequired)) {
      if (!starttls_) throw std::runtime_error("the server does not offer STARTTLS, which starttls=required demands");
      const auto reply = co_await Command("STARTTLS\r\n");
      if (reply.code != 220) throw ProtocolFailure("STARTTLS", reply);
      co_await Handshake();
      co_await Hello();
    }
    if (!settings_.username.empty()) co_await Authenticate();
    open_ = true;
  }

  // Sends one message on an established session.
  awaitable<DeliveryOutcome> Deliver(const OutgoingEmail& email) {
    data_written_ = false;
    std::vector<Reply> replies;
    std::string envelope = "MAIL FROM:<" + email.envelope_from + ">\r\n";
    for (const auto& rcpt : email.recipients) envelope += "RCPT TO:<" + rcpt + ">\r\n";
    envelope += "DATA\r\n";
    if (pipelining_) {
      co_await Write(envelope);
      for (size_t i = 0; i < email.recipients.size() + 2; ++i) replies.push_back(co_await ReadReply());
    } else {
      replies.push_back(co_await Command("MAIL FROM:<" + email.envelope_from + ">\r\n"));
      if (replies.back().Positive()) {
        for (const auto& rcpt : email.recipients) replies.push_back(co_await Command("RCPT TO:<" + rcpt + ">\r\n"));
        replies.push_back(co_await Command("DATA\r\n"));
      }
    }
    const Reply& mail = replies.front();
    if (!mail.Positive()) co_return co_await FailTransaction("MAIL FROM", mail);
    std::optional<Reply> first_refusal;
    size_t accepted = 0;
    for (size_t i = 1; i + 1 < replies.size(); ++i) {
      if (replies[i].Positive()) ++accepted;
      else if (!first_refusal) first_refusal = replies[i];
    }
    const Reply& data = replies.back();
    if (accepted == 0) {
      // Some servers still answer DATA with 354 after refusing every recipient;
      // an empty message ends that cleanly.
      if (data.code == 354) co_await Command(".\r\n");
      co_await Reset();
      co_return Classify("RCPT TO", first_refusal.value_or(data));
    }
    if (data.code != 354) co_return co_await FailTransaction("DATA", data);

    co_await Write(FrameData(email.data), /*marks_end_of_data=*/true);
    Reply final_reply;
    try {
      final_reply = co_await ReadReply();
    } catch (const std::exception& e) {
      open_ = false;
      co_return DeliveryOutcome::Unknown(std::string("connection lost after the message was sent: ") + e.what());
    }
    if (final_reply.code >= 200 && final_reply.code < 300) {
      auto id = QueueIdFrom(final_reply.text);
      co_return DeliveryOutcome::Accepted(id.empty() ? email.message_id : id, final_reply.Summary());
    }
    co_return Classify("end of data", final_reply);
  }

  bool data_written() const { return data_written_; }
  void Close() {
    open_ = false;
    boost::system::error_code ignored;
    stream_.next_layer().close(ignored);
  }

 private:
  static std::runtime_error ProtocolFailure(const std::string& step, const Reply& reply) {
    return std::runtime_error(step + " refused: " + reply.Summary());
  }

  DeliveryOutcome Classify(const std::string& step, const Reply& reply) {
    const auto detail = step + ": " + reply.Summary();
    if (reply.code >= 500) return DeliveryOutcome::Permanent(detail, reply.code);
    return DeliveryOutcome::Transient(detail, reply.code);
  }

  awaitable<DeliveryOutcome> FailTransaction(const std::string& step, const Reply& reply) {
    co_await Reset();
    co_return Classify(step, reply);
  }

  awaitable<void> Reset() {
    const auto reply = co_await Command("RSET\r\n");
    if (!reply.Positive()) Close();
  }

  awaitable<void> Hello() {
    const auto helo = settings_.helo_name.empty() ? HostName() : settings_.helo_name;
    const auto reply = co_await Command("EHLO " + helo + "\r\n");
    if (reply.code != 250) throw ProtocolFailure("EHLO", reply);
    pipelining_ = starttls_ = auth_plain_ = auth_login_ = false;
    for (const auto& line : extensions_) {
      std::string upper;
      for (char c : line) upper += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      if (upper.rfind("PIPELINING", 0) == 0) pipelining_ = true;
      if (upper.rfind("STARTTLS", 0) == 0) starttls_ = true;
      if (upper.rfind("AUTH", 0) == 0) {
        auth_plain_ = upper.find("PLAIN") != std::string::npos;
        auth_login_ = upper.find("LOGIN") != std::string::npos;
      }
    }
  }

  awaitable<void> Authenticate() {
    if (!tls_active_ && settings_.tls != TlsMode::kNone) {
      // Never send a password in clear text unless the URL said starttls=off.
      throw std::runtime_error("refusing to send credentials without TLS (use starttls=required or smtps://)");
    }
    Reply reply;
    if (auth_plain_) {
      reply = co_await Command("AUTH PLAIN " + Base64(std::string(1, '\0') + settings_.username + '\0' +
                                                      settings_.password) + "\r\n");
    } else if (auth_login_) {
      reply = co_await Command("AUTH LOGIN\r\n");
      if (reply.code == 334) reply = co_await Command(Base64(settings_.username) + "\r\n");
      if (reply.code == 334) reply = co_await Command(Base64(settings_.password) + "\r\n");
    } else {
      throw std::runtime_error("the server offers neither AUTH PLAIN nor AUTH LOGIN");
    }
    if (reply.code != 235) {
      auth_failure_ = reply;
      throw ProtocolFailure("AUTH", reply);
    }
  }

 public:
  std::optional<Reply> auth_failure_;

 private:
  awaitable<void> Handshake() {
    Arm();
    co_await stream_.async_handshake(asio::ssl::stream_base::client, asio::use_awaitable);
    Disarm();
    tls_active_ = true;
  }

  awaitable<Reply> Command(const std::string& line) {
    co_await Write(line);
    co_return co_await ReadReply();
  }

  awaitable<void> Write(const std::string& bytes, bool marks_end_of_data = false) {
    Arm();
    if (tls_active_) {
      co_await asio::async_write(stream_, asio::buffer(bytes), asio::use_awaitable);
    } else {
      co_await asio::async_write(stream_.next_layer(), asio::buffer(bytes), asio::use_awaitable);
    }
    Disarm();
    if (marks_end_of_data) data_written_ = true;
  }

  awaitable<std::string> ReadLine() {
    while (true) {
      const auto end = buffer_.find("\r\n");
      if (end != std::string::npos) {
        std::string line = buffer_.substr(0, end);
        buffer_.erase(0, end + 2);
        co_return line;
      }
      char chunk[4096];
      Arm();
      size_t n = 0;
      if (tls_active_) {
        n = co_await stream_.async_read_some(asio::buffer(chunk), asio::use_awaitable);
      } else {
        n = co_await stream_.next_layer().async_read_some(asio::buffer(chunk), asio::use_awaitable);
      }
      Disarm();
      buffer_.append(chunk, n);
      if (buffer_.size() > 64 * 1024) throw std::runtime_error("reply line longer than 64 KB");
    }
  }

  awaitable<Reply> ReadReply() {
    Reply reply;
    extensions_.clear();
    bool first = true;
    while (true) {
      const auto line = co_await ReadLine();
      if (line.size() < 3 || !std::isdigit(static_cast<unsigned char>(line[0]))) {
        throw std::runtime_error("malformed SMTP reply: \"" + line.substr(0, 80) + "\"");
      }
      reply.code = std::stoi(line.substr(0, 3));
      const auto text = line.size() > 4 ? line.substr(4) : std::string();
      if (!first) extensions_.push_back(text);
      reply.text += (reply.text.empty() ? "" : " / ") + text;
      first = false;
      if (line.size() == 3 || line[3] != '-') co_return reply;
    }
  }

  // The deadline of the current network step: when it fires, the socket is
  // closed and the pending operation fails.
  void Arm() {
    timer_.expires_after(settings_.timeout);
    timer_.async_wait([this](const boost::system::error_code& ec) {
      if (!ec) {
        boost::system::error_code ignored;
        stream_.next_layer().close(ignored);
      }
    });
  }
  void Disarm() { timer_.cancel(); }

  const SmtpSettings& settings_;
  asio::ssl::stream<tcp::socket> stream_;
  asio::steady_timer timer_;
  std::string buffer_;
  std::vector<std::string> extensions_;
  bool open_ = false;
  bool tls_active_ = false;
  bool pipelining_ = false;
  bool starttls_ = false;
  bool auth_plain_ = false;
  bool auth_login_ = false;
  bool data_written_ = false;
};

struct SmtpTransport::IoRuntime {
  asio::io_context io;
  asio::executor_work_guard<asio::io_context::executor_type> work{io.get_executor()};
  asio::ssl::context tls{asio::ssl::context::tls_client};
  std::thread thread;
};

SmtpTransport::SmtpTransport(SmtpSettings settings) : settings_(std::move(settings)), io_(std::make_unique<IoRuntime>()) {
  if (settings_.helo_name.empty()) settings_.helo_name = HostName();
  io_->tls.set_default_verify_paths();
  if (!settings_.ca_file.empty()) io_->tls.load_verify_file(settings_.ca_file);
  io_->tls.set_verify_mode(settings_.verify_peer ? asio::ssl::verify_peer : asio::ssl::verify_none);
  io_->thread = std::thread([this] { io_->io.run(); });
}

SmtpTransport::~SmtpTransport() {
  {
    std::lock_guard lock(pool_mutex_);
    // Close idle sessions on the I/O thread that owns them.
    asio::post(io_->io, [idle = std::move(idle_)]() mutable {
      for (auto& connection : idle) connection->Close();
      idle.clear();
    });
  }
  io_->work.reset();
  if (io_->thread.joinable()) io_->thread.join();
}

std::unique_ptr<SmtpConnection> SmtpTransport::Acquire() {
  std::unique_lock lock(pool_mutex_);
  pool_changed_.wait(lock, [this] { return !idle_.empty() || open_connections_ < settings_.max_connections; });
  if (!idle_.empty()) {
    auto connection = std::move(idle_.back());
    idle_.pop_back();
    return connection;
  }
  ++open_connections_;
  return nullptr;  // a slot for a new connection
}

void SmtpTransport::Release(std::unique_ptr<SmtpConnection> connection) {
  {
    std::lock_guard lock(pool_mutex_);
    if (connection && connection->open()) {
      idle_.push_back(std::move(connection));
    } else {
      --open_connections_;
    }
  }
  pool_changed_.notify_one();
}

DeliveryOutcome SmtpTransport::Send(const OutgoingEmail& email) {
  auto connection = Acquire();
  const bool reused = connection != nullptr;
  auto attempt = [&](std::unique_ptr<SmtpConnection>& conn, bool fresh) -> awaitable<DeliveryOutcome> {
    if (fresh) {
      conn = std::make_unique<SmtpConnection>(io_->io, io_->tls, settings_);
      try {
        co_await conn->Connect();
      } catch (const std::exception& e) {
        conn->Close();
        if (conn->auth_failure_ && conn->auth_failure_->code >= 500) {
          co_return DeliveryOutcome::Permanent("authentication failed: " + conn->auth_failure_->Summary(),
                                               conn->auth_failure_->code);
        }
        co_return DeliveryOutcome::Transient("connecting to " + settings_.Describe() + ": " + e.what());
      }
    }
    try {
      co_return co_await conn->Deliver(email);
    } catch (const std::exception& e) {
      const bool unknown = conn->data_written();
      conn->Close();
      if (unknown) co_return DeliveryOutcome::Unknown(std::string("connection lost after the message was sent: ") + e.what());
      co_return DeliveryOutcome::Transient(std::string("connection to ") + settings_.Describe() + " failed: " + e.what());
    }
  };
  auto run = [&](bool fresh) {
    return asio::co_spawn(io_->io, attempt(connection, fresh), asio::use_future).get();
  };
  auto outcome = run(!reused);
  // A pooled session the server has since closed fails before anything of this
  // message was sent: try once more on a new session.
  if (reused && outcome.kind == domain::OutcomeKind::kTransient && !connection->open() && outcome.code == 0) {
    outcome = run(true);
  }
  Release(std::move(connection));
  return outcome;
}

}  // namespace herald::channels::smtp
