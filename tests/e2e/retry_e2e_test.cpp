// Retry on request over the API: a message's or a campaign's failed and dead
// recipients go back to their lanes; an unknown send only when named.
#include <gtest/gtest.h>

#include "tests/e2e/serve_fixture.hpp"
#include "tests/support/smtp_capture_server.hpp"

namespace herald::testing {
namespace {

class RetryE2E : public ServeE2E {
 protected:
  // E-mail goes to a capturing SMTP server started with `args`; one attempt per
  // recipient, so a temporary refusal ends dead at once.
  void UseSmtp(std::vector<std::string> args) {
    smtp_ = std::make_unique<SmtpCaptureServer>(dir_.path() + "/received", std::move(args));
    extra_env_["HERALD_SMTP_URL"] = smtp_->url();
    extra_env_["HERALD_SERVE_RETRY_MAX_ATTEMPTS"] = "1";
  }

  json Email(const std::vector<std::string>& to) {
    json recipients = json::array();
    for (const auto& address : to) recipients.push_back({{"channel", "email"}, {"to", address}});
    return {{"recipients", recipients}, {"subject", "Hello"}, {"content", "Once, please."}};
  }

  std::map<std::string, std::string> RecipientStatuses(const json& message) {
    std::map<std::string, std::string> statuses;
    for (const auto& r : message["recipients"]) statuses[r["to"]] = r["status"];
    return statuses;
  }

  std::unique_ptr<SmtpCaptureServer> smtp_;
};

TEST_F(RetryE2E, AMessagesDeadRecipientsAreSentAgainOnRequest) {
  UseSmtp({"--fail-first", "2"});
  const auto key = CreateKey("app");
  StartServer();
  const auto id = CallJson("POST", "/api/v1/messages", key, Email({"a@example.org", "b@example.org"}), 202)["id"];
  auto message = WaitForStatus(key, id, {"failed", "dead", "partially_failed"});
  EXPECT_EQ(RecipientStatuses(message),
            (std::map<std::string, std::string>{{"a@example.org", "dead"}, {"b@example.org", "dead"}}))
      << message.dump();
  EXPECT_EQ(smtp_->MessageCount(), 0);

  const auto retried = CallJson("POST", "/api/v1/messages/" + id.dump() + "/retry", key, nullptr, 202);
  EXPECT_EQ(retried["requeued_recipients"], 2);
  ASSERT_TRUE(WaitFor([&] { return smtp_->MessageCount() == 2; }, seconds(10)));
  message = WaitForStatus(key, id, {"sent"});
  EXPECT_EQ(message["status"], "sent") << message.dump();
  // Nothing is left to retry, and nobody got a second copy.
  ExpectError(Call("POST", "/api/v1/messages/" + id.dump() + "/retry", key), 409, "NOTHING_TO_RETRY");
  EXPECT_EQ(smtp_->MessageCount(), 2);

  ExpectError(Call("POST", "/api/v1/messages/" + id.dump() + "/retry", key, json{{"statuses", {"sent"}}}.dump()), 400,
              "VALIDATION_FAILED", "statuses[0]");
  ExpectError(Call("POST", "/api/v1/messages/999999/retry", key), 404, "MESSAGE_NOT_FOUND");
  const auto other = CreateKey("other");
  ExpectError(Call("POST", "/api/v1/messages/" + id.dump() + "/retry", other), 404, "MESSAGE_NOT_FOUND");
}

TEST_F(RetryE2E, AnUnknownSendIsRetriedOnlyWhenNamed) {
  UseSmtp({"--drop-after-data", "1"});
  const auto key = CreateKey("app");
  StartServer();
  const auto id = CallJson("POST", "/api/v1/messages", key, Email({"a@example.org"}), 202)["id"];
  const auto message = WaitForStatus(key, id, {"unknown", "failed", "sent"});
  ASSERT_EQ(RecipientStatuses(message)["a@example.org"], "unknown") << message.dump();
  // It may have arrived: the default retry leaves it alone.
  ExpectError(Call("POST", "/api/v1/messages/" + id.dump() + "/retry", key), 409, "NOTHING_TO_RETRY", "failed, dead");
  const auto retried =
      CallJson("POST", "/api/v1/messages/" + id.dump() + "/retry", key, {{"statuses", {"unknown"}}}, 202);
  EXPECT_EQ(retried["requeued_recipients"], 1);
  EXPECT_EQ(WaitForStatus(key, id, {"sent"})["status"], "sent");
  EXPECT_EQ(smtp_->MessageCount(), 1);
}

TEST_F(RetryE2E, ACampaignsDeadMessagesAreSentAgainAndItEndsSent) {
  UseSmtp({"--fail-first", "3"});
  const auto key = CreateKey("app");
  StartServer();
  for (const auto* address : {"ann@example.org", "bo@example.org", "cy@example.org"}) {
    CallJson("POST", "/api/v1/contacts", key, {{"email", address}, {"first_name", "X"}}, 201);
  }
  const auto id = CallJson("POST", "/api/v1/campaigns", key,
                           {{"name", "news"}, {"channel", "email"}, {"subject", "News"}, {"base_template", "Hi {{first_name}}"}},
                           201)["id"];
  CallJson("POST", "/api/v1/campaigns/" + id.dump() + "/send", key, nullptr, 202);
  json campaign;
  ASSERT_TRUE(WaitFor(
      [&] {
        campaign = CallJson("GET", "/api/v1/campaigns/" + id.dump(), key, nullptr, 200);
        return campaign["stats"]["pending"] == 0 && campaign["status"] == "failed";
      },
      seconds(10)));
  EXPECT_EQ(campaign["stats"]["failed"], 3) << campaign.dump();
  EXPECT_EQ(campaign["status"], "failed");

  const auto retried = CallJson("POST", "/campaigns/" + id.dump() + "/retry", key, nullptr, 202);
  EXPECT_EQ(retried["requeued_messages"], 3);
  EXPECT_EQ(retried["status"], "sending");
  ASSERT_TRUE(WaitFor(
      [&] {
        campaign = CallJson("GET", "/api/v1/campaigns/" + id.dump(), key, nullptr, 200);
        return campaign["stats"]["sent"] == 3 && campaign["status"] == "sent";
      },
      seconds(10)))
      << campaign.dump();
  EXPECT_EQ(campaign["status"], "sent");
  EXPECT_EQ(smtp_->MessageCount(), 3);
  ExpectError(Call("POST", "/api/v1/campaigns/" + id.dump() + "/retry", key), 409, "NOTHING_TO_RETRY");
  ExpectError(Call("POST", "/api/v1/campaigns/999/retry", key), 404, "CAMPAIGN_NOT_FOUND");
}

TEST_F(RetryE2E, HealthIsDegradedWhileEverySendFailsAndRecoversWithTheFirstThatGoesThrough) {
  UseSmtp({"--fail-first", "6"});
  const auto key = CreateKey("app");
  StartServer();
  EXPECT_EQ(DeliveryHealth()["status"], "ok");
  const auto id = CallJson("POST", "/api/v1/messages", key,
                           Email({"a@example.org", "b@example.org", "c@example.org", "d@example.org", "e@example.org",
                                  "f@example.org"}),
                           202)["id"];
  WaitForStatus(key, id, {"failed"});
  const auto degraded = DeliveryHealth();
  EXPECT_EQ(degraded["status"], "degraded") << degraded.dump();
  EXPECT_NE(degraded["reason"].get<std::string>().find("451"), std::string::npos) << degraded.dump();
  EXPECT_EQ(degraded["channels"][smtp_->url()]["consecutive_failures"], 6) << degraded.dump();
  // The server takes mail again: one delivery is enough.
  const auto next = CallJson("POST", "/api/v1/messages", key, Email({"g@example.org"}), 202)["id"];
  EXPECT_EQ(WaitForStatus(key, next, {"sent"})["status"], "sent");
  const auto recovered = DeliveryHealth();
  EXPECT_EQ(recovered["status"], "ok") << recovered.dump();
  EXPECT_EQ(recovered["channels"][smtp_->url()]["status"], "ok");
}

}  // namespace
}  // namespace herald::testing
