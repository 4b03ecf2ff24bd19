// A private RabbitMQ node for tests: its own ports, Erlang cookie, data and logs
// in a temporary folder, started from Debian's rabbitmq-server and stopped (with
// its epmd) by PID. Starting takes seconds, so share one per test binary.
#pragma once

#include <map>
#include <memory>
#include <vector>
#include <string>

#include "tests/support/process.hpp"

namespace herald::testing {

class RabbitMqServer {
 public:
  RabbitMqServer();  // throws std::runtime_error if the node does not come up within a minute
  ~RabbitMqServer();
  RabbitMqServer(const RabbitMqServer&) = delete;
  RabbitMqServer& operator=(const RabbitMqServer&) = delete;

  int port() const { return port_; }
  std::string amqp_url() const { return "amqp://guest:guest@127.0.0.1:" + std::to_string(port_) + "/%2f"; }
  // rabbitmqctl against this node, e.g. {"list_queues", "name", "messages"}; returns stdout.
  std::string Ctl(const std::vector<std::string>& args) const;

 private:
  std::map<std::string, std::string> Environment() const;

  TempDir dir_;
  std::string node_;
  int port_ = 0;
  int dist_port_ = 0;
  int epmd_port_ = 0;
  std::unique_ptr<ChildProcess> server_;
};

// One node per test binary, started on first use and stopped when the tests end.
RabbitMqServer& SharedRabbitMqServer();

}  // namespace herald::testing
