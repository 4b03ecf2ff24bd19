// `herald serve` killed with SIGKILL while it delivers a 20,000-recipient
// campaign to a real SMTP server (Postfix's smtp-sink, which keeps a file per
// message it accepted), then started again on the same data dir, four times.
// Every recipient must have received the campaign exactly once, except the
// sends reported unknown, at most one per in-flight slot per kill. Run on the
// embedded queue and on RabbitMQ (serve_crash_e2e_test, serve_crash_rmq_e2e_test).
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <sstream>

#include "tests/e2e/serve_fixture.hpp"

namespace herald::testing {

constexpr int kRecipients = 20000;
constexpr int kKills = 4;
// The SMTP channel's default in flight: 4 sessions x 4 messages.
constexpr int kInFlightSlots = 16;

class ServeCrashE2E : public ServeE2E {
 protected:
  void StartSink() {
    dump_dir_ = dir_.path() + "/dump";
    fs::create_directories(dump_dir_);
    sink_port_ = FreePort();
    sink_ = std::make_unique<ChildProcess>(ChildProcess::Options{
        .argv = {"/usr/sbin/smtp-sink", "-u", "root", "-d", dump_dir_ + "/%M.", "127.0.0.1:" + std::to_string(sink_port_),
                 "1000"}});
    ASSERT_TRUE(WaitFor(
        [&] {
          return RunCommand({"bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/" + std::to_string(sink_port_)}, seconds(5))
                     .exit_code == 0;
        },
        seconds(10)));
    extra_env_["HERALD_SMTP_URL"] = "smtp://127.0.0.1:" + std::to_string(sink_port_);
  }

  int Received() const {
    int files = 0;
    for ([[maybe_unused]] const auto& entry : fs::directory_iterator(dump_dir_)) ++files;
    return files;
  }

  // Messages the sink accepted, per RCPT TO address.
  std::map<std::string, int> ReceivedPerRecipient() const {
    std::map<std::string, int> received;
    for (const auto& entry : fs::directory_iterator(dump_dir_)) {
      std::ifstream in(entry.path());
      for (std::string line; std::getline(in, line);) {
        if (line.rfind("X-Rcpt-Args: <", 0) == 0) {
          ++received[line.substr(14, line.find('>') - 14)];
          break;
        }
      }
    }
    return received;
  }

  void Kill() {
    server_->Signal(SIGKILL);
    server_->Wait(seconds(10));
    server_.reset();
  }

  // Imports kRecipients contacts and sends them one e-mail campaign; returns its id.
  json SendCampaignToEveryone(const std::string& key) {
    std::ostringstream csv;
    csv << "email,first_name\n";
    for (int i = 0; i < kRecipients; ++i) csv << "reader" << i << "@example.org,Reader" << i << "\n";
    const auto imported = HttpRequest("POST", Url("/api/v1/contacts/import"),
                                      {{"X-API-Key", key}, {"Content-Type", "text/csv"}}, csv.str(), seconds(60));
    EXPECT_EQ(imported.status, 201) << imported.body.substr(0, 300);
    const auto campaign = CallJson("POST", "/api/v1/campaigns", key,
                                   {{"name", "crash"},
                                    {"channel", "email"},
                                    {"subject", "Hello {{first_name}}"},
                                    {"base_template", "Dear {{first_name}}, this is your one copy."}},
                                   201)["id"];
    const auto sent =
        CallJson("POST", "/api/v1/campaigns/" + campaign.dump() + "/send", key, nullptr, 202)["messages_queued"];
    EXPECT_EQ(sent, kRecipients);
    return campaign;
  }

  // Waits until a further share of the campaign arrived (step of steps), and
  // checks it is not over yet, so the fault that follows lands mid-delivery.
  void WaitUntilDelivered(int step, int steps) {
    const int target = step * kRecipients / (steps + 1);
    ASSERT_TRUE(WaitFor([&] { return Received() >= target; }, seconds(120))) << "received " << Received();
    ASSERT_LT(Received(), kRecipients) << "finished before fault " << step << "; the test proves nothing";
  }

  // Once the campaign is over: everyone got exactly one copy, except the sends
  // reported unknown (at most `max_unknown`), who got at most one.
  void ExpectOneCopyEach(const std::string& key, const json& campaign, int max_unknown) {
    json stats;
    ASSERT_TRUE(WaitFor(
        [&] {
          stats = CallJson("GET", "/api/v1/campaigns/" + campaign.dump(), key, nullptr, 200)["stats"];
          return stats["pending"] == 0;
        },
        seconds(180)))
        << stats.dump();

    // The sends cut short by the kills, by recipient.
    std::set<std::string> unknown;
    for (int page = 1;; ++page) {
      const auto listed = CallJson("GET", "/api/v1/messages?status=unknown&page_size=500&page=" + std::to_string(page),
                                   key, nullptr, 200);
      for (const auto& message : listed["data"]) unknown.insert(message["recipients"][0]["to"].get<std::string>());
      if (listed["data"].size() < 500) break;
    }
    RecordProperty("unknown", static_cast<int>(unknown.size()));
    std::cout << "unknown: " << unknown.size() << " (at most " << max_unknown << ")\n";
    EXPECT_LE(unknown.size(), static_cast<std::size_t>(max_unknown));
    EXPECT_EQ(stats["total"], kRecipients);
    EXPECT_EQ(stats["sent"].get<int>() + static_cast<int>(unknown.size()), kRecipients) << stats.dump();

    const auto received = ReceivedPerRecipient();
    int missing = 0;
    for (int i = 0; i < kRecipients; ++i) {
      const auto address = "reader" + std::to_string(i) + "@example.org";
      const auto it = received.find(address);
      const int copies = it == received.end() ? 0 : it->second;
      if (unknown.contains(address)) {
        EXPECT_LE(copies, 1) << address << " was unknown and yet received twice";
      } else {
        EXPECT_EQ(copies, 1) << address;
        missing += copies == 0 ? 1 : 0;
      }
    }
    EXPECT_EQ(missing, 0);
    const auto readers = std::count_if(received.begin(), received.end(),
                                       [](const auto& entry) { return entry.first.rfind("reader", 0) == 0; });
    EXPECT_LE(readers, kRecipients);
  }

  void KillFourTimesWhileDeliveringAndExpectOneCopyEach() {
    StartSink();
    const auto key = CreateKey("app");
    StartServer();
    const auto campaign = SendCampaignToEveryone(key);
    for (int kill = 1; kill <= kKills; ++kill) {
      WaitUntilDelivered(kill, kKills);
      if (HasFatalFailure()) return;
      Kill();
      StartServer();
    }
    // The last start delivers the rest.
    ExpectOneCopyEach(key, campaign, kKills * kInFlightSlots);
  }

  std::string dump_dir_;
  int sink_port_ = 0;
  std::unique_ptr<ChildProcess> sink_;
};

}  // namespace herald::testing
