// A test's HTTP provider: one of the Python servers in tests/support
// (webhook_server.py, provider_server.py) started on a free loopback port, and
// the requests it logged, one JSON object each.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tests/support/process.hpp"

namespace herald::testing {

class FakeHttpServer {
 public:
  // `script`: a file name in tests/support; the log goes to <dir>/<script>.jsonl.
  // Throws std::runtime_error when the server does not come up.
  FakeHttpServer(const std::string& script, const std::string& dir, const std::vector<std::string>& extra_args = {});
  ~FakeHttpServer();
  FakeHttpServer(const FakeHttpServer&) = delete;
  FakeHttpServer& operator=(const FakeHttpServer&) = delete;

  int port() const { return port_; }
  std::string Url(const std::string& path) const { return "http://127.0.0.1:" + std::to_string(port_) + path; }
  // Every request received so far, oldest first.
  std::vector<nlohmann::json> Requests() const;

 private:
  std::string log_path_;
  std::unique_ptr<ChildProcess> process_;
  int port_ = 0;
};

}  // namespace herald::testing
