// Shared fixture of the end-to-end tests of `herald certificates`: writes the
// inputs, runs the real binary, and reads back what the SMTP server received.
#pragma once

#include <gtest/gtest.h>
#include <signal.h>

#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "tests/support/process.hpp"
#include "tests/support/smtp_capture_server.hpp"

namespace herald::testing {

namespace fs = std::filesystem;
using nlohmann::json;
using std::chrono::seconds;

inline constexpr const char* kCertificateTemplate = R"(<svg xmlns="http://www.w3.org/2000/svg" width="400" height="200" viewBox="0 0 400 200">
<rect width="400" height="200" fill="#fff"/>
<text x="20" y="60" font-family="DejaVu Sans" font-size="20">{{student_name}}</text>
<text x="20" y="110" font-family="DejaVu Sans" font-size="14">{{event_name}} ({{date}})</text>
<text x="20" y="160" font-family="DejaVu Sans" font-size="10">{{certificate_id}}</text>
</svg>
)";

struct RunResult {
  int exit_code;
  std::string output;  // stdout
  std::string errors;  // stderr
};

class CertificatesE2E : public ::testing::Test {
 public:
  static constexpr const char* kTemplate = kCertificateTemplate;

 protected:
  void SetUp() override {
    WriteFile(dir_.path() + "/template.svg", kTemplate);
    WriteFile(dir_.path() + "/events.txt", "Go Workshop\nAI/ML Bootcamp\n");
  }

  // n students per event, all attended, emails s<i>-<event>@example.org.
  void WriteStudents(int per_event, const std::vector<std::string>& events = {"Go Workshop", "AI/ML Bootcamp"}) {
    std::string csv = "event_name,student_name,student_email,attended\n";
    int e = 0;
    for (const auto& event : events) {
      for (int i = 0; i < per_event; ++i) {
        csv += event + ",Student " + std::to_string(i) + ",s" + std::to_string(i) + "-e" + std::to_string(e) +
               "@example.org,1\n";
        expected_.insert("s" + std::to_string(i) + "-e" + std::to_string(e) + "@example.org");
      }
      ++e;
    }
    WriteFile(dir_.path() + "/students.csv", csv);
  }

  std::vector<std::string> Args(const std::vector<std::string>& extra) const {
    std::vector<std::string> argv = {HERALD_BINARY, "certificates",
                                     "--csv", dir_.path() + "/students.csv",
                                     "--events", dir_.path() + "/events.txt",
                                     "--template", dir_.path() + "/template.svg",
                                     "--out", out_dir(),
                                     "--data-dir", dir_.path() + "/data",
                                     "--from", "Events <events@example.org>",
                                     "--quiet"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return argv;
  }

  RunResult Run(const std::vector<std::string>& extra, std::map<std::string, std::string> env = {}) {
    env.emplace("HERALD_CERTIFICATES_RETRY_BASE_DELAY_MS", "50");
    const auto stderr_path = dir_.path() + "/stderr.txt";
    ChildProcess herald({.argv = Args(extra), .extra_env = env, .stderr_path = stderr_path});
    auto output = herald.ReadAll();
    const auto code = herald.Wait(seconds(180));
    return {code.value_or(-1), std::move(output), ReadFile(stderr_path)};
  }

  std::string out_dir() const { return dir_.path() + "/out"; }

  // After a crash and a re-run: nobody got two copies, and only deliveries the
  // re-run reported as unknown may be missing (the server may or may not have them).
  void ExpectExactlyOnceExceptUnknown(const std::string& store_dir, int unknown) const {
    const auto received = ReceivedPerRecipient(store_dir);
    int missing = 0;
    for (const auto& email : expected_) {
      const auto it = received.find(email);
      const int count = it == received.end() ? 0 : it->second;
      EXPECT_LE(count, 1) << email << " received a second copy";
      if (count == 0) ++missing;
    }
    EXPECT_LE(missing, unknown);
  }

  // Recipient -> number of messages the server received for it.
  static std::map<std::string, int> ReceivedPerRecipient(const std::string& store_dir) {
    std::map<std::string, int> counts;
    for (const auto& entry : fs::directory_iterator(store_dir)) {
      if (entry.path().extension() != ".json") continue;
      const auto meta = json::parse(ReadFile(entry.path().string()));
      for (const auto& rcpt : meta["rcpt_tos"]) counts[rcpt.get<std::string>()]++;
    }
    return counts;
  }

  static json Inspect(const std::string& path) {
    const auto result = RunCommand({HERALD_PYTHON, std::string(HERALD_SOURCE_DIR) + "/tests/support/mail_inspect.py",
                                    path},
                                   seconds(60));
    EXPECT_EQ(result.exit_code, 0);
    return json::parse(result.output);
  }

  TempDir dir_;
  std::set<std::string> expected_;
};

}  // namespace herald::testing
