#include "redis/redis_client.hpp"

#include <hiredis/hiredis.h>
#include <sys/time.h>

#include <charconv>
#include <optional>
#include <string_view>
#include <utility>

namespace herald::redis {
namespace {

timeval ToTimeval(std::chrono::milliseconds span) {
  return timeval{static_cast<time_t>(span.count() / 1000), static_cast<suseconds_t>((span.count() % 1000) * 1000)};
}

std::optional<int> ParseNumber(std::string_view text, int min, int max) {
  int value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size() || value < min || value > max) return std::nullopt;
  return value;
}

std::string PercentDecode(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size()) {
      int value = 0;
      const auto [end, error] = std::from_chars(text.data() + i + 1, text.data() + i + 3, value, 16);
      if (error == std::errc() && end == text.data() + i + 3) {
        out.push_back(static_cast<char>(value));
        i += 2;
        continue;
      }
    }
    out.push_back(text[i]);
  }
  return out;
}

Reply Convert(const redisReply& reply) {
  Reply out;
  switch (reply.type) {
    case REDIS_REPLY_INTEGER:
      out.type = Reply::Type::kInteger;
      out.integer = reply.integer;
      break;
    case REDIS_REPLY_STRING:
      out.type = Reply::Type::kString;
      out.text.assign(reply.str, reply.len);
      break;
    case REDIS_REPLY_STATUS:
      out.type = Reply::Type::kStatus;
      out.text.assign(reply.str, reply.len);
      break;
    case REDIS_REPLY_ARRAY:
      out.type = Reply::Type::kArray;
      out.elements.reserve(reply.elements);
      for (std::size_t i = 0; i < reply.elements; ++i) out.elements.push_back(Convert(*reply.element[i]));
      break;
    default:
      out.type = Reply::Type::kNil;
  }
  return out;
}

struct ReplyDeleter {
  void operator()(redisReply* reply) const { freeReplyObject(reply); }
};
using ReplyPtr = std::unique_ptr<redisReply, ReplyDeleter>;

}  // namespace

Result<RedisUrl> ParseRedisUrl(const std::string& url) {
  const auto fail = [&](const std::string& why) {
    return MakeError("redis.url", "redis.url: " + why + " (expected redis://[:password@]host[:port][/db])");
  };
  constexpr std::string_view kScheme = "redis://";
  if (url.rfind("rediss://", 0) == 0) return fail("TLS (rediss://) is not supported; reach Redis over a private network or a tunnel");
  if (url.rfind(kScheme, 0) != 0) return fail("it does not start with redis://");
  std::string_view rest(url);
  rest.remove_prefix(kScheme.size());
  RedisUrl out;
  if (const auto at = rest.rfind('@'); at != std::string_view::npos) {
    const auto credentials = rest.substr(0, at);
    rest.remove_prefix(at + 1);
    if (const auto colon = credentials.find(':'); colon != std::string_view::npos) {
      out.username = PercentDecode(credentials.substr(0, colon));
      out.password = PercentDecode(credentials.substr(colon + 1));
    } else {
      out.password = PercentDecode(credentials);  // redis://secret@host: a lone token is the password
    }
  }
  std::string_view authority = rest.substr(0, rest.find('/'));
  if (const auto slash = rest.find('/'); slash != std::string_view::npos) {
    auto db = rest.substr(slash + 1);
    if (!db.empty()) {
      const auto number = ParseNumber(db, 0, 1 << 20);
      if (!number) return fail("the database \"" + std::string(db) + "\" is not a number");
      out.db = *number;
    }
  }
  if (const auto colon = authority.rfind(':'); colon != std::string_view::npos && authority.find(']') == std::string_view::npos) {
    const auto port = ParseNumber(authority.substr(colon + 1), 1, 65535);
    if (!port) return fail("the port \"" + std::string(authority.substr(colon + 1)) + "\" is not a number from 1 to 65535");
    out.port = *port;
    authority = authority.substr(0, colon);
  }
  if (authority.empty()) return fail("it names no host");
  out.host = std::string(authority);
  return out;
}

struct RedisClient::Connection {
  redisContext* context = nullptr;
  ~Connection() {
    if (context != nullptr) redisFree(context);
  }
  std::string Error() const {
    if (context == nullptr) return "cannot allocate a connection";
    std::string why = context->errstr;
    if (context->err == REDIS_ERR_IO && why.empty()) why = "I/O error";
    if (context->err == REDIS_ERR_EOF) why = "the server closed the connection";
    if (why.find("Resource temporarily unavailable") != std::string::npos) why = "no answer within the timeout";
    return why;
  }
};

RedisClient::RedisClient(RedisUrl url, RedisClientOptions options) : url_(std::move(url)), options_(options) {}

RedisClient::~RedisClient() = default;

std::string RedisClient::Describe() const {
  return url_.host + ":" + std::to_string(url_.port) + "/" + std::to_string(url_.db);
}

std::string RedisClient::last_error() const {
  std::lock_guard lock(mutex_);
  return last_error_;
}

void RedisClient::Failed(const std::string& error) {
  std::lock_guard lock(mutex_);
  last_error_ = error;
}

std::unique_ptr<RedisClient::Connection> RedisClient::Acquire() {
  {
    std::lock_guard lock(mutex_);
    if (!idle_.empty()) {
      auto connection = std::move(idle_.back());
      idle_.pop_back();
      return connection;
    }
    if (std::chrono::steady_clock::now() < fail_fast_until_) throw RedisError(last_error_);
  }
  auto connection = std::make_unique<Connection>();
  const auto timeout = ToTimeval(options_.timeout);
  connection->context = redisConnectWithTimeout(url_.host.c_str(), url_.port, timeout);
  const auto refuse = [&](const std::string& why) {
    const std::string error = "redis at " + Describe() + ": " + why;
    std::lock_guard lock(mutex_);
    last_error_ = error;
    fail_fast_until_ = std::chrono::steady_clock::now() + options_.retry_after;
    throw RedisError(error);
  };
  if (connection->context == nullptr || connection->context->err != 0) refuse("cannot connect: " + connection->Error());
  redisSetTimeout(connection->context, timeout);
  const auto setup = [&](const std::vector<std::string>& argv) {
    std::vector<const char*> args;
    std::vector<std::size_t> lengths;
    for (const auto& arg : argv) {
      args.push_back(arg.data());
      lengths.push_back(arg.size());
    }
    ReplyPtr reply(static_cast<redisReply*>(
        redisCommandArgv(connection->context, static_cast<int>(args.size()), args.data(), lengths.data())));
    if (!reply) refuse(connection->Error());
    if (reply->type == REDIS_REPLY_ERROR) refuse(std::string(argv[0]) + " refused: " + std::string(reply->str, reply->len));
  };
  if (!url_.password.empty()) {
    if (url_.username.empty()) {
      setup({"AUTH", url_.password});
    } else {
      setup({"AUTH", url_.username, url_.password});
    }
  }
  if (url_.db != 0) setup({"SELECT", std::to_string(url_.db)});
  return connection;
}

void RedisClient::Release(std::unique_ptr<Connection> connection) {
  std::lock_guard lock(mutex_);
  last_error_.clear();
  if (static_cast<int>(idle_.size()) < options_.max_idle_connections) idle_.push_back(std::move(connection));
}

Reply RedisClient::Run(const Command& command) {
  auto result = Pipeline({command});
  if (!result.errors.at(0).empty()) throw RedisError(result.errors[0]);
  return std::move(result.replies.at(0));
}

RedisClient::PipelineReply RedisClient::Pipeline(const std::vector<Command>& commands) {
  auto connection = Acquire();
  for (const auto& command : commands) {
    std::vector<const char*> args;
    std::vector<std::size_t> lengths;
    args.reserve(command.size());
    lengths.reserve(command.size());
    for (const auto& arg : command) {
      args.push_back(arg.data());
      lengths.push_back(arg.size());
    }
    if (redisAppendCommandArgv(connection->context, static_cast<int>(args.size()), args.data(), lengths.data()) !=
        REDIS_OK) {
      const std::string error = "redis at " + Describe() + ": " + connection->Error();
      Failed(error);
      throw RedisError(error);
    }
  }
  PipelineReply out;
  out.replies.reserve(commands.size());
  out.errors.resize(commands.size());
  for (std::size_t i = 0; i < commands.size(); ++i) {
    void* raw = nullptr;
    if (redisGetReply(connection->context, &raw) != REDIS_OK || raw == nullptr) {
      // The connection is dropped with `connection`: its state is unknown.
      const std::string error = "redis at " + Describe() + ": " + connection->Error();
      Failed(error);
      throw RedisError(error);
    }
    ReplyPtr reply(static_cast<redisReply*>(raw));
    if (reply->type == REDIS_REPLY_ERROR) {
      out.errors[i].assign(reply->str, reply->len);
      out.replies.emplace_back();
    } else {
      out.replies.push_back(Convert(*reply));
    }
  }
  Release(std::move(connection));
  return out;
}

}  // namespace herald::redis
