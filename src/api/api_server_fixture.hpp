// For tests of the HTTP API: a real ApiServer on a free loopback port with
// every route group `herald serve` adds, on a SQLite store in a temporary
// directory, and a blocking client to call it with.
#pragma once

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>

#include "api/http_server.hpp"
#include "channels/mock/mock_channel.hpp"
#include "common/io_runtime.hpp"
#include "dispatch/pacing_rule.hpp"
#include "store/sqlite/sqlite_api_store.hpp"
#include "store/sqlite/sqlite_campaign_store.hpp"
#include "store/sqlite/sqlite_pacing_store.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/process.hpp"

namespace herald::api {

class ApiServerFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    database_ = std::make_unique<store::sqlite::SharedDatabase>(dir_.path() + "/herald.db",
                                                                store::sqlite::SchemaPolicy::kMigrate);
    store_ = std::make_unique<store::sqlite::SqliteApiStore>(*database_);
    pacing_store_ = std::make_unique<store::sqlite::SqlitePacingStore>(*database_);
    campaign_store_ = std::make_unique<store::sqlite::SqliteCampaignStore>(*database_);
    pacer_ = std::make_unique<dispatch::PacingRule>(*store_, clock_, dispatch::PacerSettings{});
    intake_ = std::make_unique<app::MessageIntake>(*store_, clock_, [](const auto&) {});
    ApiServerSettings settings;
    settings.port = testing::FreePort();
    settings.read_threads = 1;
    port_ = settings.port;
    server_ = std::make_unique<ApiServer>(*store_, *store_, *intake_, clock_, settings);
    server_->AddPacing(*pacing_store_, *pacer_);
    campaigns_ = std::make_unique<app::CampaignService>(*campaign_store_, *campaign_store_, *campaign_store_, *intake_,
                                                        clock_);
    server_->AddCampaigns(*campaign_store_, *campaign_store_, *campaign_store_, *campaigns_);
    server_->AddWebhooks(*store_, webhook_settings_, [this](const std::string& url) { return fetch_(url); });
    server_->Start();
    ASSERT_TRUE(testing::WaitFor([&] { return Get("/health").status == 200; }, std::chrono::seconds(10)));
  }

  void TearDown() override {
    if (server_) server_->Stop();
    if (intake_) intake_->Stop();
  }

  // A new key of `role` on the premium tier.
  std::string IssueKey(const std::string& role = "user") {
    return store_->IssueKey("test-" + role, role, "premium", ToUnixMillis(clock_.Now())).key;
  }

  std::string Url(const std::string& path) const { return "http://127.0.0.1:" + std::to_string(port_) + path; }
  testing::HttpResponse Get(const std::string& path) { return Call("GET", path); }
  testing::HttpResponse Call(const std::string& method, const std::string& path,
                             const std::map<std::string, std::string>& headers = {}, const std::string& body = {}) {
    return testing::HttpRequest(method, Url(path), headers, body, std::chrono::seconds(30));
  }

  // Set by a test's constructor: SetUp hands them to the server.
  WebhookSettings webhook_settings_;
  UrlFetcher fetch_ = [](const std::string& url) -> Result<std::string> {
    return MakeError("test.fetch", "this test fetches nothing, asked for " + url);
  };

  IoRuntime runtime_;
  testing::TempDir dir_;
  SystemClock clock_;
  channels::mock::MockChannel channel_{{}};
  std::unique_ptr<store::sqlite::SharedDatabase> database_;
  std::unique_ptr<store::sqlite::SqliteApiStore> store_;
  std::unique_ptr<store::sqlite::SqlitePacingStore> pacing_store_;
  std::unique_ptr<store::sqlite::SqliteCampaignStore> campaign_store_;
  std::unique_ptr<dispatch::PacingRule> pacer_;
  std::unique_ptr<app::MessageIntake> intake_;
  std::unique_ptr<app::CampaignService> campaigns_;
  std::unique_ptr<ApiServer> server_;
  int port_ = 0;
};

}  // namespace herald::api
