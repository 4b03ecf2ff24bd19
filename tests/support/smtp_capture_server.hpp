// Starts tests/support/smtp_capture.py (Debian's aiosmtpd) on a free loopback port
// for one test, and reads back what it received. Stopped by PID on destruction.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "tests/support/process.hpp"

namespace herald::testing {

class SmtpCaptureServer {
 public:
  // extra_args: e.g. {"--fail-first", "3"}; see smtp_capture.py --help.
  explicit SmtpCaptureServer(const std::string& store_dir, std::vector<std::string> extra_args = {});
  int port() const { return port_; }
  std::string url() const { return "smtp://127.0.0.1:" + std::to_string(port_); }
  const std::string& store_dir() const { return store_dir_; }
  // Number of messages accepted so far (.eml files in the store dir).
  int MessageCount() const;

 private:
  std::string store_dir_;
  std::unique_ptr<ChildProcess> process_;
  int port_ = 0;
};

}  // namespace herald::testing
