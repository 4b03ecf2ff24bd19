#include "tests/support/rabbitmq_server.hpp"

#include <signal.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <stdexcept>

namespace herald::testing {
namespace {

constexpr const char* kRabbitBin = "/usr/lib/rabbitmq/bin/";
constexpr const char* kDistributionArgs = "-kernel inet_dist_use_interface {127,0,0,1}";

bool PortAcceptsConnections(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const bool ok = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  close(fd);
  return ok;
}

}  // namespace

std::map<std::string, std::string> RabbitMqServer::Environment() const {
  const auto& d = dir_.path();
  return {
      {"HOME", d},
      {"RABBITMQ_NODENAME", node_},
      {"RABBITMQ_NODE_IP_ADDRESS", "127.0.0.1"},
      {"RABBITMQ_NODE_PORT", std::to_string(port_)},
      {"RABBITMQ_DIST_PORT", std::to_string(dist_port_)},
      {"ERL_EPMD_PORT", std::to_string(epmd_port_)},
      {"ERL_EPMD_ADDRESS", "127.0.0.1"},
      {"RABBITMQ_MNESIA_BASE", d + "/mnesia"},
      {"RABBITMQ_LOG_BASE", d + "/log"},
      {"RABBITMQ_CONFIG_FILE", d + "/rabbitmq.conf"},
      {"RABBITMQ_ENABLED_PLUGINS_FILE", d + "/enabled_plugins"},
      {"RABBITMQ_PID_FILE", d + "/rabbitmq.pid"},
      {"RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS", kDistributionArgs},
      {"RABBITMQ_CTL_ERL_ARGS", kDistributionArgs},
  };
}

RabbitMqServer::RabbitMqServer() {
  port_ = FreePort();
  dist_port_ = FreePort();
  epmd_port_ = FreePort();
  node_ = "herald" + std::to_string(port_) + "@localhost";
  WriteFile(dir_.path() + "/enabled_plugins", "[].\n");
  WriteFile(dir_.path() + "/rabbitmq.conf", "listeners.tcp.default = " + std::to_string(port_) + "\n");
  server_ = std::make_unique<ChildProcess>(ChildProcess::Options{
      .argv = {std::string(kRabbitBin) + "rabbitmq-server"},
      .extra_env = Environment(),
      .stdout_path = dir_.path() + "/server.out",
      .stderr_path = dir_.path() + "/server.err"});
  // The AMQP port opens once the broker is ready to accept clients.
  if (!WaitFor([&] { return PortAcceptsConnections(port_); }, std::chrono::seconds(90))) {
    throw std::runtime_error("RabbitMQ did not start; see " + dir_.path() + "/log");
  }
}

RabbitMqServer::~RabbitMqServer() {
  Ctl({"stop"});
  server_->Wait(std::chrono::seconds(20));
  // The node started its own epmd on our port; stop it by its PID.
  const auto epmd = RunCommand({"pgrep", "-f", "epmd.*-port " + std::to_string(epmd_port_)}, std::chrono::seconds(5));
  std::istringstream pids(epmd.output);
  for (int pid; pids >> pid;) kill(pid, SIGKILL);
  const auto any_epmd = RunCommand({"bash", "-c", "ss -ltnp 2>/dev/null | grep ':" + std::to_string(epmd_port_) +
                                                      " ' | grep -o 'pid=[0-9]*' | cut -d= -f2"},
                                   std::chrono::seconds(5));
  std::istringstream more(any_epmd.output);
  for (int pid; more >> pid;) kill(pid, SIGKILL);
}

std::string RabbitMqServer::Ctl(const std::vector<std::string>& args) const {
  std::vector<std::string> argv = {std::string(kRabbitBin) + "rabbitmqctl", "-n", node_, "-q"};
  argv.insert(argv.end(), args.begin(), args.end());
  return RunCommand(argv, std::chrono::seconds(60), Environment()).output;
}

RabbitMqServer& SharedRabbitMqServer() {
  static RabbitMqServer* server = nullptr;
  if (server == nullptr) {
    server = new RabbitMqServer();
    // Stopped by gtest's environment teardown, before static destructors run.
    class StopAtExit : public ::testing::Environment {
     public:
      void TearDown() override {
        delete server;
        server = nullptr;
      }
    };
    ::testing::AddGlobalTestEnvironment(new StopAtExit);
  }
  return *server;
}

}  // namespace herald::testing
