#include "tests/support/rabbitmq_server.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <stdexcept>

#include "tests/support/shared_server.hpp"

namespace herald::testing {
namespace {

constexpr const char* kRabbitBin = "/usr/lib/rabbitmq/bin/";
// Erlang distribution on loopback only: tests never open ports to the network.
constexpr const char* kDistributionArgs = "-kernel inet_dist_use_interface {127,0,0,1}";
constexpr auto kStartTimeout = std::chrono::minutes(2);

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
      {"HOME", d},  // the Erlang cookie is created there
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
  const auto& d = dir_.path();
  WriteFile(d + "/enabled_plugins", "[].\n");
  WriteFile(d + "/rabbitmq.conf", "listeners.tcp.default = 127.0.0.1:" + std::to_string(port_) + "\n");

  // Our own epmd, in the foreground, so that it has a PID we know; otherwise the
  // node starts a daemonised one that outlives the test.
  epmd_ = std::make_unique<ChildProcess>(ChildProcess::Options{
      .argv = {"epmd", "-address", "127.0.0.1", "-port", std::to_string(epmd_port_)},
      .extra_env = Environment(),
      .stdout_path = d + "/epmd.out",
      .stderr_path = d + "/epmd.err"});
  if (!WaitFor([&] { return PortAcceptsConnections(epmd_port_) || epmd_->Wait(std::chrono::milliseconds(0)); },
               std::chrono::seconds(10)) ||
      epmd_->Wait(std::chrono::milliseconds(0))) {
    throw std::runtime_error("epmd did not start on port " + std::to_string(epmd_port_) + "; see " + d + "/epmd.err");
  }

  server_ = std::make_unique<ChildProcess>(ChildProcess::Options{
      .argv = {std::string(kRabbitBin) + "rabbitmq-server"},
      .extra_env = Environment(),
      .stdout_path = d + "/server.out",
      .stderr_path = d + "/server.err"});
  // The listener opens near the end of boot; a node that fails exits instead.
  const bool up = WaitFor([&] { return PortAcceptsConnections(port_) || server_->Wait(std::chrono::milliseconds(0)); },
                          kStartTimeout);
  if (!up || server_->Wait(std::chrono::milliseconds(0))) {
    throw std::runtime_error("RabbitMQ node " + node_ + " did not start; see " + d + "/log and " + d + "/server.out");
  }
  // The port could belong to someone else; this confirms it is our node, fully booted.
  const auto awaited = RunCommand({std::string(kRabbitBin) + "rabbitmqctl", "-n", node_, "-q", "await_startup",
                                   "--timeout", "60"},
                                  std::chrono::seconds(90), Environment());
  if (awaited.exit_code != 0) {
    throw std::runtime_error("rabbitmqctl await_startup failed for " + node_ + "; see " + d + "/log");
  }
}

RabbitMqServer::~RabbitMqServer() {
  if (server_ && !server_->Wait(std::chrono::milliseconds(0))) {
    Ctl({"stop"});
    server_->Wait(std::chrono::seconds(30));
  }
  server_.reset();  // SIGKILLs the node's process group if it is still there
  epmd_.reset();
}

std::string RabbitMqServer::Ctl(const std::vector<std::string>& args) const {
  std::vector<std::string> argv = {std::string(kRabbitBin) + "rabbitmqctl", "-n", node_, "-q"};
  argv.insert(argv.end(), args.begin(), args.end());
  return RunCommand(argv, std::chrono::seconds(60), Environment()).output;
}

std::string RabbitMqServer::NewVhostUrl(const std::string& vhost) const {
  Ctl({"add_vhost", vhost});
  Ctl({"set_permissions", "-p", vhost, "guest", ".*", ".*", ".*"});
  return "amqp://guest:guest@127.0.0.1:" + std::to_string(port_) + "/" + vhost;
}

void RabbitMqServer::Restart() const {
  Ctl({"stop_app"});
  Ctl({"start_app"});
  Ctl({"await_startup"});
}

RabbitMqServer& SharedRabbitMqServer() { return SharedPerTestBinary<RabbitMqServer>(); }

}  // namespace herald::testing
