// A private RabbitMQ node for tests: its own ports, Erlang cookie (HOME), data and
// logs in a temporary folder, started from Debian's rabbitmq-server with its own
// epmd, and stopped, both of them, by PID. Starting takes 5-15 s, so share one per
// test binary (SharedRabbitMqServer) and give each test its own queue names.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "tests/support/process.hpp"

namespace herald::testing {

class RabbitMqServer {
 public:
  // Returns once the node has booted (rabbitmqctl await_startup); throws
  // std::runtime_error naming the log folder if it does not within 2 minutes.
  RabbitMqServer();
  // rabbitmqctl stop, then SIGKILL for whatever is left of the node and its epmd.
  ~RabbitMqServer();
  RabbitMqServer(const RabbitMqServer&) = delete;
  RabbitMqServer& operator=(const RabbitMqServer&) = delete;

  int port() const { return port_; }
  const std::string& node() const { return node_; }
  std::string amqp_url() const { return "amqp://guest:guest@127.0.0.1:" + std::to_string(port_) + "/%2f"; }
  // A new virtual host that guest may use, and the URL that names it: queues of
  // fixed names (herald.messages.*) kept apart per test.
  std::string NewVhostUrl(const std::string& vhost) const;
  // Stops the broker application and starts it again (rabbitmqctl stop_app,
  // start_app): every client connection is dropped, durable queues and
  // persistent messages come back from disk. Returns once it accepts clients.
  void Restart() const;
  // rabbitmqctl against this node, e.g. {"list_queues", "name", "messages"}; returns stdout.
  std::string Ctl(const std::vector<std::string>& args) const;
  // Environment that points RabbitMQ's tools at this node (for the herald binary's
  // tests, or for running rabbitmq-diagnostics by hand).
  std::map<std::string, std::string> Environment() const;

 private:
  TempDir dir_;
  std::string node_;
  int port_ = 0;
  int dist_port_ = 0;
  int epmd_port_ = 0;
  std::unique_ptr<ChildProcess> epmd_;
  std::unique_ptr<ChildProcess> server_;
};

// One node per test binary, started on first use and stopped when the tests end.
RabbitMqServer& SharedRabbitMqServer();

}  // namespace herald::testing
