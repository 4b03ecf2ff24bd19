// Boost 1.74's asio/awaitable.hpp uses std::exchange without including <utility>.
#include <utility>

#include "channels/smtp/smtp_channel.hpp"

#include "mime/transfer_encoding.hpp"

#include <unistd.h>

#include <algorithm>
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <optional>

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
  std::string out;
  mime::AppendBase64(out, in);
  return out;
}

// The message as it goes on the wire: dot-stuffed (RFC 5321 4.5.2) and ended by
// the end-of-data marker. Most messages have no line starting with a dot, so
// they are sent from their own bytes; only the others are copied.
struct FramedData {
  std::string stuffed;  // empty when the message needed no stuffing
  std::string_view body;
  const char* terminator;
};

FramedData FrameData(const std::string& data) {
  const bool needs_stuffing = (!data.empty() && data.front() == '.') || data.find("\n.") != std::string::npos;
  FramedData framed;
  if (needs_stuffing) {
    framed.stuffed.reserve(data.size() + data.size() / 64 + 8);
    bool line_start = true;
    for (char c : data) {
      if (line_start && c == '.') framed.stuffed += '.';
      framed.stuffed += c;
      line_start = c == '\n';
    }
    framed.body = framed.stuffed;
  } else {
    framed.body = data;
  }
  const bool ends_with_crlf = framed.body.size() >= 2 && framed.body.substr(framed.body.size() - 2) == "\r\n";
  framed.terminator = ends_with_crlf ? ".\r\n" : "\r\n.\r\n";
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

std::string Envelope(const RenderedMessage& message) {
  std::string envelope = "MAIL FROM:<" + message.envelope_from + ">\r\n";
  if (message.recipients.empty()) {
    envelope += "RCPT TO:<" + message.to + ">\r\n";
  } else {
    for (const auto& rcpt : message.recipients) envelope += "RCPT TO:<" + rcpt + ">\r\n";
  }
  return envelope + "DATA\r\n";
}

size_t RecipientCount(const RenderedMessage& message) {
  return message.recipients.empty() ? 1 : message.recipients.size();
}

DeliveryOutcome Classify(const std::string& step, const Reply& reply) {
  const auto detail = step + ": " + reply.Summary();
  if (reply.code >= 500) return DeliveryOutcome::Permanent(detail, reply.code);
  return DeliveryOutcome::Transient(detail, reply.code);
}

}  // namespace

// One SMTP session, used by one Send at a time and pooled in between.
class SmtpConnection {
 public:
  SmtpConnection(const asio::any_io_executor& executor, asio::ssl::context& tls, const SmtpSettings& settings)
      : settings_(settings), stream_(executor, tls), timer_(executor) {}

  ~SmtpConnection() { watch_->alive = false; }

  bool open() const { return open_; }
  const std::optional<Reply>& auth_failure() const { return auth_failure_; }

  awaitable<void> Connect() {
    tcp::resolver resolver(stream_.get_executor());
    Arm();
    const auto endpoints =
        co_await resolver.async_resolve(settings_.host, std::to_string(settings_.port), asio::use_awaitable);
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

  // Runs messages[i] for every i without an outcome yet, in order, filling
  // outcomes. Throws when the session breaks; then the message whose data went
  // out without an answer already has its unknown outcome, and the ones after
  // it have none (nothing of theirs was sent), so they can go on another session.
  awaitable<void> DeliverAll(std::span<const RenderedMessage> messages,
                             std::vector<std::optional<DeliveryOutcome>>& outcomes) {
    size_t i = 0;
    while (i < messages.size() && outcomes[i]) ++i;
    bool envelope_written = false;
    while (i < messages.size()) {
      const auto& message = messages[i];
      std::vector<Reply> replies;
      if (pipelining_) {
        if (!envelope_written) {
          const auto envelope = Envelope(message);
          co_await WriteText(envelope);
        }
        for (size_t r = 0; r < RecipientCount(message) + 2; ++r) replies.push_back(co_await ReadReply());
      } else {
        replies = co_await EnvelopeOneByOne(message);
      }
      envelope_written = false;
      if (auto refused = co_await CheckEnvelope(replies)) {
        outcomes[i] = std::move(*refused);
        ++i;
        continue;
      }
      // The data, and with it the next message's envelope (RFC 2920: content may
      // open a group, DATA must close it).
      const auto framed = FrameData(message.mime);
      std::string next_envelope;
      const bool pipeline_next = pipelining_ && i + 1 < messages.size();
      if (pipeline_next) next_envelope = Envelope(messages[i + 1]);
      unanswered_ = i;
      outcomes[i] = DeliveryOutcome::Unknown("connection lost after the message was sent");
      // Built before the co_await: GCC 12 cannot keep a braced list's array across a suspension.
      std::vector<asio::const_buffer> wire;
      wire.push_back(asio::buffer(framed.body.data(), framed.body.size()));
      wire.push_back(asio::buffer(framed.terminator, std::char_traits<char>::length(framed.terminator)));
      wire.push_back(asio::buffer(next_envelope));
      co_await Write(wire);
      envelope_written = pipeline_next;
      const auto final_reply = co_await ReadReply();
      unanswered_.reset();
      if (final_reply.code >= 200 && final_reply.code < 300) {
        auto id = QueueIdFrom(final_reply.text);
        outcomes[i] = DeliveryOutcome::Accepted(id.empty() ? message.message_id : id, final_reply.Summary());
      } else {
        outcomes[i] = Classify("end of data", final_reply);
      }
      ++i;
    }
  }

  // The message whose data went out and whose answer has not come (yet).
  std::optional<size_t> unanswered() const { return unanswered_; }

  void Close() {
    open_ = false;
    boost::system::error_code ignored;
    stream_.next_layer().close(ignored);
  }

 private:
  static std::runtime_error ProtocolFailure(const std::string& step, const Reply& reply) {
    return std::runtime_error(step + " refused: " + reply.Summary());
  }

  awaitable<std::vector<Reply>> EnvelopeOneByOne(const RenderedMessage& message) {
    std::vector<Reply> replies;
    replies.push_back(co_await Command("MAIL FROM:<" + message.envelope_from + ">\r\n"));
    if (!replies.back().Positive()) co_return replies;
    const std::vector<std::string> single{message.to};
    for (const auto& rcpt : message.recipients.empty() ? single : message.recipients) {
      replies.push_back(co_await Command("RCPT TO:<" + rcpt + ">\r\n"));
    }
    replies.push_back(co_await Command("DATA\r\n"));
    co_return replies;
  }

  // The outcome when the envelope was refused (the session is ready for the
  // next message again), nullopt when the server waits for the data.
  awaitable<std::optional<DeliveryOutcome>> CheckEnvelope(const std::vector<Reply>& replies) {
    const Reply& mail = replies.front();
    if (!mail.Positive()) {
      co_await Reset();
      co_return Classify("MAIL FROM", mail);
    }
    std::optional<Reply> first_refusal;
    size_t accepted = 0;
    for (size_t r = 1; r + 1 < replies.size(); ++r) {
      if (replies[r].Positive()) {
        ++accepted;
      } else if (!first_refusal) {
        first_refusal = replies[r];
      }
    }
    const Reply& data = replies.size() > 1 ? replies.back() : mail;
    if (accepted == 0) {
      // Some servers still answer DATA with 354 after refusing every recipient;
      // an empty message ends that cleanly.
      if (data.code == 354) co_await Command(".\r\n");
      co_await Reset();
      co_return Classify("RCPT TO", first_refusal.value_or(data));
    }
    if (data.code != 354) {
      co_await Reset();
      co_return Classify("DATA", data);
    }
    co_return std::nullopt;
  }

  awaitable<void> Reset() {
    const auto reply = co_await Command("RSET\r\n");
    if (!reply.Positive()) throw ProtocolFailure("RSET", reply);
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
      reply = co_await Command("AUTH PLAIN " +
                               Base64(std::string(1, '\0') + settings_.username + '\0' + settings_.password) + "\r\n");
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

  awaitable<void> Handshake() {
    Arm();
    co_await stream_.async_handshake(asio::ssl::stream_base::client, asio::use_awaitable);
    Disarm();
    tls_active_ = true;
  }

  awaitable<Reply> Command(const std::string& line) {
    co_await WriteText(line);
    co_return co_await ReadReply();
  }

  awaitable<void> WriteText(const std::string& text) {
    std::vector<asio::const_buffer> wire{asio::buffer(text)};
    co_await Write(wire);
  }

  awaitable<void> Write(const std::vector<asio::const_buffer>& buffers) {
    Arm();
    if (tls_active_) {
      co_await asio::async_write(stream_, buffers, asio::use_awaitable);
    } else {
      co_await asio::async_write(stream_.next_layer(), buffers, asio::use_awaitable);
    }
    Disarm();
  }

  awaitable<std::string> ReadLine() {
    while (true) {
      const auto end = buffer_.find("\r\n", scanned_);
      if (end != std::string::npos) {
        std::string line = buffer_.substr(scanned_, end - scanned_);
        scanned_ = end + 2;
        if (scanned_ == buffer_.size()) {
          buffer_.clear();
          scanned_ = 0;
        }
        co_return line;
      }
      if (buffer_.size() - scanned_ > 64 * 1024) throw std::runtime_error("reply line longer than 64 KB");
      char chunk[8192];
      Arm();
      size_t n = 0;
      if (tls_active_) {
        n = co_await stream_.async_read_some(asio::buffer(chunk), asio::use_awaitable);
      } else {
        n = co_await stream_.next_layer().async_read_some(asio::buffer(chunk), asio::use_awaitable);
      }
      Disarm();
      buffer_.append(chunk, n);
    }
  }

  awaitable<Reply> ReadReply() {
    Reply reply;
    extensions_.clear();
    bool first = true;
    while (true) {
      const auto line = co_await ReadLine();
      if (line.size() < 3 || !std::isdigit(static_cast<unsigned char>(line[0])) ||
          !std::isdigit(static_cast<unsigned char>(line[1])) || !std::isdigit(static_cast<unsigned char>(line[2]))) {
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

  // Every network step has a deadline (settings.timeout from its start). One
  // watchdog timer per session checks it, re-armed only when it fires, rather
  // than a timer set and cancelled per step: each of those would be a system
  // call to reprogram the reactor's timerfd, several per message.
  struct Watch {
    std::chrono::steady_clock::time_point deadline;
    bool busy = false;   // a step is in progress
    bool armed = false;  // the timer is waiting
    bool alive = true;   // the session still exists
  };

  void Arm() {
    watch_->deadline = std::chrono::steady_clock::now() + settings_.timeout;
    watch_->busy = true;
    if (!watch_->armed) StartWatch();
  }
  void Disarm() { watch_->busy = false; }

  void StartWatch() {
    watch_->armed = true;
    timer_.expires_at(watch_->deadline);
    timer_.async_wait([this, watch = watch_](const boost::system::error_code& ec) {
      watch->armed = false;
      if (ec || !watch->alive || !watch->busy) return;
      if (std::chrono::steady_clock::now() < watch->deadline) {
        StartWatch();  // the step in progress started later than the one this was set for
        return;
      }
      // Closing the socket makes the pending operation fail.
      boost::system::error_code ignored;
      stream_.next_layer().close(ignored);
    });
  }

  const SmtpSettings& settings_;
  asio::ssl::stream<tcp::socket> stream_;
  asio::steady_timer timer_;
  std::shared_ptr<Watch> watch_ = std::make_shared<Watch>();
  std::string buffer_;
  size_t scanned_ = 0;  // bytes of buffer_ already returned as lines
  std::vector<std::string> extensions_;
  std::optional<Reply> auth_failure_;
  bool open_ = false;
  bool tls_active_ = false;
  bool pipelining_ = false;
  bool starttls_ = false;
  bool auth_plain_ = false;
  bool auth_login_ = false;
  std::optional<size_t> unanswered_;
};

// A Send waiting for a session: Release hands it one (or a slot) and wakes it.
struct SmtpChannel::Waiter {
  explicit Waiter(const asio::any_io_executor& executor) : timer(executor) {}
  asio::steady_timer timer;
  bool served = false;
  std::unique_ptr<SmtpConnection> connection;  // nullptr with served: open a new one
};

SmtpChannel::SmtpChannel(asio::any_io_executor executor, SmtpSettings settings)
    : executor_(std::move(executor)),
      settings_(std::move(settings)),
      tls_(std::make_unique<asio::ssl::context>(asio::ssl::context::tls_client)) {
  if (settings_.helo_name.empty()) settings_.helo_name = HostName();
  settings_.max_connections = std::max(1, settings_.max_connections);
  settings_.messages_per_session = std::max(1, settings_.messages_per_session);
  tls_->set_default_verify_paths();
  if (!settings_.ca_file.empty()) tls_->load_verify_file(settings_.ca_file);
  tls_->set_verify_mode(settings_.verify_peer ? asio::ssl::verify_peer : asio::ssl::verify_none);
}

SmtpChannel::~SmtpChannel() {
  for (auto& connection : idle_) connection->Close();
}

ChannelLimits SmtpChannel::Limits() const {
  return {settings_.max_connections * settings_.messages_per_session, settings_.messages_per_session};
}

awaitable<std::optional<std::unique_ptr<SmtpConnection>>> SmtpChannel::Acquire(Deadline deadline) {
  if (!idle_.empty()) {
    auto connection = std::move(idle_.back());
    idle_.pop_back();
    co_return connection;
  }
  if (open_connections_ < settings_.max_connections) {
    ++open_connections_;
    co_return std::unique_ptr<SmtpConnection>();
  }
  Waiter waiter(executor_);
  waiter.timer.expires_at(deadline);
  waiters_.push_back(&waiter);
  boost::system::error_code ignored;
  co_await waiter.timer.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
  if (!waiter.served) {
    waiters_.erase(std::find(waiters_.begin(), waiters_.end(), &waiter));
    co_return std::nullopt;
  }
  co_return std::move(waiter.connection);
}

void SmtpChannel::Release(std::unique_ptr<SmtpConnection> connection) {
  if (connection && !connection->open()) connection.reset();
  if (!waiters_.empty()) {
    // A closed session's slot goes to the waiter, which opens a new one.
    Waiter* next = waiters_.front();
    waiters_.pop_front();
    next->served = true;
    next->connection = std::move(connection);
    next->timer.cancel();
    return;
  }
  if (connection) {
    idle_.push_back(std::move(connection));
  } else {
    --open_connections_;
  }
}

awaitable<std::unique_ptr<SmtpConnection>> SmtpChannel::Open(DeliveryOutcome& failure) {
  auto connection = std::make_unique<SmtpConnection>(executor_, *tls_, settings_);
  try {
    co_await connection->Connect();
    co_return connection;
  } catch (const std::exception& e) {
    connection->Close();
    if (connection->auth_failure() && connection->auth_failure()->code >= 500) {
      failure = DeliveryOutcome::Permanent("authentication failed: " + connection->auth_failure()->Summary(),
                                           connection->auth_failure()->code);
    } else {
      failure = DeliveryOutcome::Transient("connecting to " + settings_.Describe() + ": " + e.what());
    }
  }
  co_return nullptr;
}

awaitable<std::vector<DeliveryOutcome>> SmtpChannel::Send(std::span<const RenderedMessage> messages,
                                                          Deadline deadline) {
  std::vector<std::optional<DeliveryOutcome>> outcomes(messages.size());
  auto acquired = co_await Acquire(deadline);
  if (!acquired) {
    co_return std::vector<DeliveryOutcome>(
        messages.size(), DeliveryOutcome::Transient("no connection to " + settings_.Describe() +
                                                    " became free before the send's deadline"));
  }
  auto connection = std::move(*acquired);
  // A pooled session the server has closed meanwhile fails before any data of
  // these messages was sent; so may a session that breaks mid-batch. What has no
  // outcome yet goes once more on a new session.
  for (int session = 0; session < 2; ++session) {
    if (!connection) {
      DeliveryOutcome failure;
      connection = co_await Open(failure);
      if (!connection) {
        for (auto& outcome : outcomes) {
          if (!outcome) outcome = failure;
        }
        break;
      }
    }
    try {
      co_await connection->DeliverAll(messages, outcomes);
      break;
    } catch (const std::exception& e) {
      // The message whose data went out unanswered keeps its kUnknown.
      if (const auto lost = connection->unanswered()) outcomes[*lost]->detail += std::string(": ") + e.what();
      connection->Close();
      connection.reset();
      if (session == 1) {
        for (auto& outcome : outcomes) {
          if (!outcome) {
            outcome = DeliveryOutcome::Transient("connection to " + settings_.Describe() + " failed: " + e.what());
          }
        }
      }
    }
  }
  Release(std::move(connection));
  std::vector<DeliveryOutcome> result;
  result.reserve(outcomes.size());
  for (auto& outcome : outcomes) result.push_back(std::move(*outcome));
  co_return result;
}

}  // namespace herald::channels::smtp
