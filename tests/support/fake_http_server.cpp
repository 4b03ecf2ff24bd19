#include "tests/support/fake_http_server.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <sstream>
#include <stdexcept>

namespace herald::testing {
namespace {

bool AcceptsConnections(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  const bool ok = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  close(fd);
  return ok;
}

}  // namespace

FakeHttpServer::FakeHttpServer(const std::string& script, const std::string& dir,
                               const std::vector<std::string>& extra_args)
    : log_path_(dir + "/" + script + ".jsonl") {
  std::vector<std::string> argv = {HERALD_PYTHON, std::string(HERALD_SOURCE_DIR) + "/tests/support/" + script,
                                   "--port", "0", "--log", log_path_};
  argv.insert(argv.end(), extra_args.begin(), extra_args.end());
  process_ = std::make_unique<ChildProcess>(ChildProcess::Options{.argv = argv});
  while (auto line = process_->ReadLine(std::chrono::seconds(20))) {
    if (line->rfind("PORT ", 0) == 0) {
      port_ = std::stoi(line->substr(5));
      break;
    }
  }
  if (port_ == 0) throw std::runtime_error(script + " did not report its port");
  if (!WaitFor([&] { return AcceptsConnections(port_); }, std::chrono::seconds(10))) {
    throw std::runtime_error(script + " does not accept connections");
  }
}

FakeHttpServer::~FakeHttpServer() {
  process_->Signal(SIGTERM);
  process_->Wait(std::chrono::seconds(5));
}

std::vector<nlohmann::json> FakeHttpServer::Requests() const {
  std::vector<nlohmann::json> out;
  if (!std::filesystem::exists(log_path_)) return out;  // nothing received yet
  std::istringstream lines(ReadFile(log_path_));
  for (std::string line; std::getline(lines, line);) {
    if (!line.empty()) out.push_back(nlohmann::json::parse(line));
  }
  return out;
}

}  // namespace herald::testing
