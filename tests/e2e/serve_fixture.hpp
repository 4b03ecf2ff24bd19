// Shared fixture of the end-to-end tests of `herald serve`: starts the real
// binary on a free loopback port with a temporary data dir, creates API keys
// with `herald keys create`, and calls the API over real HTTP.
#pragma once

#include <gtest/gtest.h>
#include <signal.h>

#include <cctype>
#include <ctime>
#include <filesystem>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "tests/support/http_client.hpp"
#include "tests/support/process.hpp"
#ifdef HERALD_E2E_SPLIT_PROCESSES
#include "tests/support/postgres_server.hpp"
#endif

namespace herald::testing {

namespace fs = std::filesystem;
using nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::seconds;

inline std::int64_t NowMs() {
  return std::chrono::duration_cast<milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

inline std::string Rfc3339(std::int64_t unix_ms) {
  const std::time_t t = unix_ms / 1000;
  std::tm utc{};
  gmtime_r(&t, &utc);
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", utc.tm_year + 1900, utc.tm_mon + 1,
                utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec, static_cast<int>(unix_ms % 1000));
  return buffer;
}

// The API's one error shape with this status and code; the message names
// `mentions` when given.
inline void ExpectError(const HttpResponse& response, int status, const std::string& code,
                        const std::string& mentions = "") {
  EXPECT_EQ(response.status, status) << response.body;
  const auto body = json::parse(response.body, nullptr, false);
  ASSERT_TRUE(body.is_object() && body.contains("error")) << response.body;
  EXPECT_EQ(body["error"]["code"], code) << response.body;
  EXPECT_NE(body["error"]["message"].get<std::string>().find(mentions), std::string::npos) << response.body;
}

// Built with HERALD_E2E_SPLIT_PROCESSES, the same tests run against Herald
// scaled out: `herald api` plus one `herald worker` (every lane), on a database
// of its own per test in a private PostgreSQL server, where the others run
// `herald serve` on SQLite. StartServer and StopServer start and stop both.
#ifdef HERALD_E2E_SPLIT_PROCESSES
inline constexpr bool kSplitProcesses = true;
#else
inline constexpr bool kSplitProcesses = false;
#endif

class ServeE2E : public ::testing::Test {
 protected:
  void SetUp() override {
    data_dir_ = dir_.path() + "/data";
#ifdef HERALD_E2E_SPLIT_PROCESSES
    std::string database = "t";
    for (const char c : std::string(::testing::UnitTest::GetInstance()->current_test_info()->name())) {
      database += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    database = database.substr(0, 60);
    extra_env_["HERALD_STORE_KIND"] = "postgres";
    extra_env_["HERALD_STORE_URL"] = SharedPostgresServer().NewDatabaseUrl(database);
    const auto migrated = RunCommand({HERALD_BINARY, "migrate", "--data-dir", data_dir_}, seconds(60), Environment());
    ASSERT_EQ(migrated.exit_code, 0) << migrated.output;
#endif
  }

  void TearDown() override {
    for (auto* process : {&server_, &worker_}) {
      if (*process) {
        (*process)->Signal(SIGTERM);
        (*process)->Wait(seconds(15));
      }
    }
  }

  std::map<std::string, std::string> Environment() const {
    // Quick retries so retry tests finish in a second; everything else default.
    std::map<std::string, std::string> env = {{"HERALD_SERVE_RETRY_BASE_DELAY_MS", "20"},
                                              {"HERALD_SERVE_RETRY_MAX_DELAY_MS", "100"}};
    for (const auto& [k, v] : extra_env_) env[k] = v;
    return env;
  }

  // The port the next StartServer listens on, known before it starts (for
  // settings that name the server's own URL, such as provider callbacks).
  int ReservePort() {
    if (reserved_port_ == 0) reserved_port_ = FreePort();
    return reserved_port_;
  }

  void StartServer() {
    port_ = reserved_port_ != 0 ? std::exchange(reserved_port_, 0) : FreePort();
    server_ = std::make_unique<ChildProcess>(ChildProcess::Options{
        .argv = {HERALD_BINARY, kSplitProcesses ? "api" : "serve", "--listen", "127.0.0.1:" + std::to_string(port_),
                 "--data-dir", data_dir_},
        .extra_env = Environment(),
        .stderr_path = dir_.path() + "/serve.log"});
    if (kSplitProcesses) {
      worker_port_ = FreePort();
      worker_ = std::make_unique<ChildProcess>(ChildProcess::Options{
          .argv = {HERALD_BINARY, "worker", "--listen", "127.0.0.1:" + std::to_string(worker_port_), "--data-dir",
                   data_dir_},
          .extra_env = Environment(),
          .stderr_path = dir_.path() + "/worker.log"});
    }
    ASSERT_TRUE(WaitFor([&] { return HttpRequest("GET", Url("/health"), {}, {}, seconds(1)).status == 200; },
                        seconds(20)))
        << ReadFile(dir_.path() + "/serve.log");
    if (kSplitProcesses) {
      ASSERT_TRUE(WaitFor(
          [&] { return HttpRequest("GET", DeliveryUrl("/health"), {}, {}, seconds(1)).status == 200; }, seconds(20)))
          << ReadFile(dir_.path() + "/worker.log");
    }
  }

  // One `herald api` on a free port, answering /health; its stderr in the
  // test's folder under `log`.
  void StartApiProcess(std::unique_ptr<ChildProcess>& process, int& port, const std::string& log) {
    port = FreePort();
    process = std::make_unique<ChildProcess>(ChildProcess::Options{
        .argv = {HERALD_BINARY, "api", "--listen", "127.0.0.1:" + std::to_string(port), "--data-dir", data_dir_},
        .extra_env = Environment(),
        .stderr_path = dir_.path() + "/" + log});
    const auto url = "http://127.0.0.1:" + std::to_string(port) + "/health";
    ASSERT_TRUE(WaitFor([&] { return HttpRequest("GET", url, {}, {}, seconds(1)).status == 200; }, seconds(20)))
        << ReadFile(dir_.path() + "/" + log);
  }

  // SIGKILL for herald serve (herald api and its worker, when split).
  void KillServer() {
    for (auto* process : {&server_, &worker_}) {
      if (!*process) continue;
      (*process)->Signal(SIGKILL);
      (*process)->Wait(seconds(10));
      process->reset();
    }
  }

  // The exit code of herald serve (of herald api, when split; the worker's must be 0 too).
  int StopServer() {
    int worker_code = 0;
    if (worker_) {
      worker_->Signal(SIGTERM);
      worker_code = worker_->Wait(seconds(15)).value_or(-1);
      worker_.reset();
    }
    server_->Signal(SIGTERM);
    const auto code = server_->Wait(seconds(15));
    server_.reset();
    return worker_code != 0 ? worker_code : code.value_or(-1);
  }

  std::string CreateKey(const std::string& name, const std::string& role = "user", const std::string& tier = "premium") {
    const auto result = RunCommand({HERALD_BINARY, "keys", "create", "--name", name, "--role", role, "--tier", tier,
                                    "--data-dir", data_dir_},
                                   seconds(30), Environment());
    EXPECT_EQ(result.exit_code, 0);
    std::string key = result.output;
    EXPECT_EQ(std::count(key.begin(), key.end(), '\n'), 1) << "the key must be the only line on stdout";
    key.erase(key.find_last_not_of('\n') + 1);
    return key;
  }

  std::string Url(const std::string& path) const { return "http://127.0.0.1:" + std::to_string(port_) + path; }
  // Where the delivery's /health and /metrics are: herald serve's, or the worker's.
  std::string DeliveryUrl(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(kSplitProcesses ? worker_port_ : port_) + path;
  }
  json DeliveryHealth() const {
    const auto response = HttpRequest("GET", DeliveryUrl("/health"), {}, {});
    EXPECT_EQ(response.status, 200) << response.body;
    return json::parse(response.body, nullptr, false);
  }

  HttpResponse Call(const std::string& method, const std::string& path, const std::string& key,
                    const std::string& body = {}, std::map<std::string, std::string> headers = {}) {
    if (!key.empty()) headers["X-API-Key"] = key;
    if (!body.empty()) headers["Content-Type"] = "application/json";
    return HttpRequest(method, Url(path), headers, body);
  }

  json CallJson(const std::string& method, const std::string& path, const std::string& key, const json& body,
                int expected_status) {
    const auto response = Call(method, path, key, body.is_null() ? std::string() : body.dump());
    EXPECT_EQ(response.status, expected_status) << method << " " << path << ": " << response.body;
    return json::parse(response.body, nullptr, false);
  }

  // Polls the message until its status is one of `statuses`.
  json WaitForStatus(const std::string& key, std::int64_t id, const std::set<std::string>& statuses,
                     milliseconds timeout = seconds(10)) {
    json message;
    WaitFor(
        [&] {
          message = json::parse(Call("GET", "/api/v1/messages/" + std::to_string(id), key).body, nullptr, false);
          return message.is_object() && statuses.count(message.value("status", "")) > 0;
        },
        timeout);
    return message;
  }

  static json SmsAndEmail(const std::string& content) {
    return {{"recipients", {{{"channel", "sms"}, {"to", "+15551230001"}}, {{"channel", "email"}, {"to", "ann@example.org"}}}},
            {"subject", "Hello"},
            {"content", content}};
  }

  TempDir dir_;
  std::string data_dir_;
  int port_ = 0;
  int reserved_port_ = 0;  // set by ReservePort, taken by the next StartServer
  int worker_port_ = 0;  // split processes only
  std::map<std::string, std::string> extra_env_;
  std::unique_ptr<ChildProcess> server_;
  std::unique_ptr<ChildProcess> worker_;  // split processes only
};

}  // namespace herald::testing
