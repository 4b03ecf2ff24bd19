// A small, thread-safe Redis client on hiredis: a few connections reused from
// a pool, a deadline on every command, pipelines, and an outage that costs
// callers a fast error instead of a wait per call.
//
// Redis is optional in Herald (redis.url): it shares rate limits between API
// processes and caches seed 001's sent message ids. Nothing in it is the only
// copy of anything, so every caller has a fallback when a command fails.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

#include "common/result.hpp"

namespace herald::redis {

// redis://[[user]:password@]host[:port][/db]
struct RedisUrl {
  std::string host = "127.0.0.1";
  int port = 6379;
  std::string username;
  std::string password;
  int db = 0;
};

// The parts of a redis:// URL; an error naming what is wrong with it.
Result<RedisUrl> ParseRedisUrl(const std::string& url);

struct Reply {
  enum class Type { kNil, kInteger, kString, kStatus, kArray };
  Type type = Type::kNil;
  long long integer = 0;
  std::string text;  // kString, kStatus
  std::vector<Reply> elements;
};

// A command that did not go through: no connection, a timeout, or an error
// reply from the server (the message is the server's, e.g. "NOSCRIPT ...").
class RedisError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct RedisClientOptions {
  // Connecting and every command, each.
  std::chrono::milliseconds timeout{500};
  // After a connection fails, commands fail at once with its error for this
  // long, so an outage does not make every caller wait out the timeout.
  std::chrono::milliseconds retry_after{1000};
  int max_idle_connections = 4;
};

class RedisClient {
 public:
  using Command = std::vector<std::string>;

  RedisClient(RedisUrl url, RedisClientOptions options = {});
  ~RedisClient();
  RedisClient(const RedisClient&) = delete;
  RedisClient& operator=(const RedisClient&) = delete;

  // One command, e.g. {"SET", "k", "v"}. Throws RedisError.
  Reply Run(const Command& command);
  // Commands sent back to back on one connection, their replies in order; an
  // error reply is returned as itself (Type kStatus is never an error here:
  // see `errors`), a connection failure throws RedisError.
  struct PipelineReply {
    std::vector<Reply> replies;
    std::vector<std::string> errors;  // per command: empty, or the server's error
  };
  PipelineReply Pipeline(const std::vector<Command>& commands);

  // Empty while the latest command went through; else why it did not.
  std::string last_error() const;
  // host:port/db, never the password.
  std::string Describe() const;

 private:
  struct Connection;
  std::unique_ptr<Connection> Acquire();
  void Release(std::unique_ptr<Connection> connection);
  void Failed(const std::string& error);

  const RedisUrl url_;
  const RedisClientOptions options_;
  mutable std::mutex mutex_;
  std::vector<std::unique_ptr<Connection>> idle_;
  std::string last_error_;
  std::chrono::steady_clock::time_point fail_fast_until_{};
};

}  // namespace herald::redis
