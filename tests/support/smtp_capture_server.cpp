#include "tests/support/smtp_capture_server.hpp"

#include <filesystem>
#include <stdexcept>

namespace herald::testing {

SmtpCaptureServer::SmtpCaptureServer(const std::string& store_dir, std::vector<std::string> extra_args)
    : store_dir_(store_dir) {
  std::filesystem::create_directories(store_dir);
  std::vector<std::string> argv = {HERALD_PYTHON, std::string(HERALD_SOURCE_DIR) + "/tests/support/smtp_capture.py",
                                   "--dir", store_dir, "--port", "0"};
  argv.insert(argv.end(), extra_args.begin(), extra_args.end());
  process_ = std::make_unique<ChildProcess>(ChildProcess::Options{.argv = argv});
  while (auto line = process_->ReadLine(std::chrono::seconds(20))) {
    if (line->rfind("PORT ", 0) == 0) {
      port_ = std::stoi(line->substr(5));
      return;
    }
  }
  throw std::runtime_error("smtp_capture.py did not report its port");
}

int SmtpCaptureServer::MessageCount() const {
  int count = 0;
  for (const auto& entry : std::filesystem::directory_iterator(store_dir_)) {
    if (entry.path().extension() == ".eml") ++count;
  }
  return count;
}

}  // namespace herald::testing
