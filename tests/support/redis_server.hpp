// A private Redis 7 server for tests: redis-server in the foreground on an
// ephemeral loopback port, nothing persisted, stopped by PID. Starting takes
// well under a second.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "tests/support/process.hpp"

namespace herald::testing {

class RedisServer {
 public:
  // Returns once the server answers PING; throws std::runtime_error naming the log otherwise.
  RedisServer();
  ~RedisServer();
  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;

  int port() const { return port_; }
  std::string url() const { return "redis://127.0.0.1:" + std::to_string(port_); }
  // redis-cli against this server; returns stdout, trimmed of the final newline.
  std::string Cli(const std::vector<std::string>& args) const;
  // SIGKILL; Start() brings it back, empty, on the same port.
  void Kill();
  void Start();

 private:
  TempDir dir_;
  int port_ = 0;
  std::unique_ptr<ChildProcess> server_;
};

}  // namespace herald::testing
