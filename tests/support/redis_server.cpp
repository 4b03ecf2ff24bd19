#include "tests/support/redis_server.hpp"

#include <csignal>
#include <stdexcept>

namespace herald::testing {

RedisServer::RedisServer() {
  port_ = FreePort();
  Start();
}

void RedisServer::Start() {
  server_ = std::make_unique<ChildProcess>(ChildProcess::Options{
      .argv = {"redis-server", "--port", std::to_string(port_), "--bind", "127.0.0.1", "--save", "", "--appendonly",
               "no", "--daemonize", "no", "--dir", dir_.path()},
      .stdout_path = dir_.path() + "/server.log",
      .stderr_path = dir_.path() + "/server.err"});
  const bool up = WaitFor(
      [&] { return server_->Wait(std::chrono::milliseconds(0)).has_value() || Cli({"PING"}) == "PONG"; },
      std::chrono::seconds(30));
  if (!up || server_->Wait(std::chrono::milliseconds(0))) {
    throw std::runtime_error("redis-server did not start on port " + std::to_string(port_) + "; see " + dir_.path() +
                             "/server.log");
  }
}

RedisServer::~RedisServer() {
  if (server_ && !server_->Wait(std::chrono::milliseconds(0))) {
    server_->Signal(SIGTERM);
    server_->Wait(std::chrono::seconds(10));
  }
  server_.reset();
}

void RedisServer::Kill() {
  server_->Signal(SIGKILL);
  server_->Wait(std::chrono::seconds(10));
}

std::string RedisServer::Cli(const std::vector<std::string>& args) const {
  std::vector<std::string> argv = {"redis-cli", "-h", "127.0.0.1", "-p", std::to_string(port_)};
  argv.insert(argv.end(), args.begin(), args.end());
  auto output = RunCommand(argv, std::chrono::seconds(10)).output;
  while (!output.empty() && (output.back() == '\n' || output.back() == '\r')) output.pop_back();
  return output;
}

}  // namespace herald::testing
