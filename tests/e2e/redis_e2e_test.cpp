// Redis beside Herald (redis.url), end to end with the real binary and a real
// redis-server on loopback:
// - two `herald api` processes on one PostgreSQL store count one tier quota
//   per key between them, and a key revoked through one is refused by the other
//   within a second;
// - two `herald worker` processes with sms at 20 per second send 20 a second
//   between them (one bucket in Redis), not 20 each; the same for a provider's
//   rate (twilio.per_second) across its two lanes, sms and whatsapp;
// - `herald serve`'s paced sender caches each send's provider message id and
//   time under herald:sent:<id>, the sent list reads through that cache, and a
//   Redis outage costs only the cache (sends go on, the list reads the store,
//   /health says why).
#include <functional>
#include <iostream>
#include <sstream>

#include "tests/e2e/serve_fixture.hpp"
#include "tests/support/fake_http_server.hpp"
#include "tests/support/postgres_server.hpp"
#include "tests/support/redis_server.hpp"

namespace herald::testing {
namespace {

// Two workers' sends: milliseconds from the first to the last, and each one's share.
struct TwoWorkerRun {
  long long span_ms = 0;
  std::vector<int> per_worker;
};

class RedisE2E : public ServeE2E {
 protected:
  void TearDown() override {
    for (auto* process : {&second_api_, &workers_[0], &workers_[1]}) {
      if (!*process) continue;
      (*process)->Signal(SIGTERM);
      (*process)->Wait(seconds(15));
    }
    ServeE2E::TearDown();
  }

  std::string SecondUrl(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(second_port_) + path;
  }

  // 120 messages queued on `database` (one recipient each, from `recipient(i)`),
  // then two `herald worker` processes for `lanes`, until all are sent.
  TwoWorkerRun SendThroughTwoWorkers(const std::string& database, const std::string& lanes,
                                            const std::function<json(int)>& recipient);

  RedisServer redis_;
  std::unique_ptr<ChildProcess> second_api_;
  std::unique_ptr<ChildProcess> workers_[2];
  int second_port_ = 0;
};

TEST_F(RedisE2E, TwoApiProcessesShareOneQuotaPerKeyAndSeeARevocationWithinASecond) {
  extra_env_["HERALD_STORE_KIND"] = "postgres";
  extra_env_["HERALD_STORE_URL"] = SharedPostgresServer().NewDatabaseUrl("redis_quota");
  extra_env_["HERALD_REDIS_URL"] = redis_.url();
  const auto migrated = RunCommand({HERALD_BINARY, "migrate", "--data-dir", data_dir_}, seconds(60), Environment());
  ASSERT_EQ(migrated.exit_code, 0) << migrated.output;
  StartApiProcess(server_, port_, "api1.log");
  StartApiProcess(second_api_, second_port_, "api2.log");

  const auto admin = CreateKey("ops", "admin", "premium");
  const auto issued = CallJson("POST", "/api/v1/keys", admin, {{"name", "free app"}, {"role", "user"}, {"tier", "free"}}, 201);
  const std::string key = issued.value("key", "");
  ASSERT_FALSE(key.empty()) << issued.dump();

  // 70 requests, alternating between the processes: 60 pass in all, not 60 each.
  int allowed = 0, refused = 0;
  for (int i = 0; i < 70; ++i) {
    const auto url = i % 2 == 0 ? Url("/api/v1/messages") : SecondUrl("/api/v1/messages");
    const auto response = HttpRequest("GET", url, {{"X-API-Key", key}}, {});
    if (response.status == 200) ++allowed;
    if (response.status == 429) {
      ++refused;
      EXPECT_NE(response.body.find("RATE_LIMITED"), std::string::npos) << response.body;
    }
  }
  EXPECT_EQ(allowed, 60);
  EXPECT_EQ(refused, 10);
  const auto health = json::parse(HttpRequest("GET", SecondUrl("/health"), {}, {}).body);
  EXPECT_EQ(health["redis"]["status"], "ok") << health.dump();
  EXPECT_EQ(health["redis"]["url"], "127.0.0.1:" + std::to_string(redis_.port()) + "/0");

  // The admin key is known to both processes (cached); revoking it through the
  // first must reach the second within a second.
  const auto victim = CallJson("POST", "/api/v1/keys", admin, {{"name", "victim"}, {"role", "user"}, {"tier", "premium"}}, 201);
  const std::string victim_key = victim.value("key", "");
  EXPECT_EQ(HttpRequest("GET", SecondUrl("/api/v1/messages"), {{"X-API-Key", victim_key}}, {}).status, 200);
  Call("DELETE", "/api/v1/keys/" + victim["id"].dump(), admin);
  const auto revoked = std::chrono::steady_clock::now();
  ASSERT_TRUE(WaitFor(
      [&] { return HttpRequest("GET", SecondUrl("/api/v1/messages"), {{"X-API-Key", victim_key}}, {}).status == 401; },
      seconds(5)));
  EXPECT_LE(std::chrono::steady_clock::now() - revoked, milliseconds(1200));

  // Redis gone: each process limits on its own (a fresh key gets its quota
  // from each) and says so; nothing is refused for the outage itself.
  redis_.Kill();
  const auto fresh = CallJson("POST", "/api/v1/keys", admin, {{"name", "during outage"}, {"role", "user"}, {"tier", "free"}}, 201);
  int during_outage = 0;
  for (int i = 0; i < 10; ++i) {
    during_outage += HttpRequest("GET", i % 2 ? Url("/api/v1/messages") : SecondUrl("/api/v1/messages"),
                                 {{"X-API-Key", fresh.value("key", "")}}, {})
                         .status == 200;
  }
  EXPECT_EQ(during_outage, 10);
  const auto degraded = json::parse(HttpRequest("GET", Url("/health"), {}, {}).body);
  EXPECT_EQ(degraded["status"], "degraded") << degraded.dump();
  EXPECT_EQ(degraded["redis"]["status"], "error");
  EXPECT_NE(degraded.value("reason", "").find("rate limits are counted per process"), std::string::npos) << degraded.dump();
}

TwoWorkerRun RedisE2E::SendThroughTwoWorkers(const std::string& database, const std::string& lanes,
                                             const std::function<json(int)>& recipient) {
  extra_env_["HERALD_STORE_KIND"] = "postgres";
  extra_env_["HERALD_STORE_URL"] = SharedPostgresServer().NewDatabaseUrl(database);
  extra_env_["HERALD_REDIS_URL"] = redis_.url();
  extra_env_["HERALD_SERVE_MOCK_SUCCESS_RATE"] = "1";
  // Each worker holds a few rows at a time (4 in flight, 8 ready), so both have work throughout.
  extra_env_["HERALD_SERVE_MAX_IN_FLIGHT"] = "4";
  const auto migrated = RunCommand({HERALD_BINARY, "migrate", "--data-dir", data_dir_}, seconds(60), Environment());
  EXPECT_EQ(migrated.exit_code, 0) << migrated.output;
  StartApiProcess(server_, port_, "api.log");
  const auto key = CreateKey("app");
  json messages = json::array();
  for (int i = 0; i < 120; ++i) messages.push_back({{"recipients", {recipient(i)}}, {"content", "rate " + std::to_string(i)}});
  // Queued before the workers start, so both find work from the first moment.
  CallJson("POST", "/api/v1/messages/bulk", key, {{"messages", messages}}, 202);
  for (int i = 0; i < 2; ++i) {
    workers_[i] = std::make_unique<ChildProcess>(ChildProcess::Options{
        .argv = {HERALD_BINARY, "worker", "--lanes", lanes, "--data-dir", data_dir_ + "-worker" + std::to_string(i)},
        .extra_env = Environment(),
        .stderr_path = dir_.path() + "/worker" + std::to_string(i) + ".log"});
  }
  const auto sent = [&] {
    return SharedPostgresServer().Psql(database, "SELECT COUNT(*) FROM message_recipients WHERE status = 'sent'");
  };
  TwoWorkerRun run;
  EXPECT_TRUE(WaitFor([&] { return sent() == "120\n"; }, seconds(30))) << sent();
  std::istringstream shares(SharedPostgresServer().Psql(
      database, "SELECT COUNT(*) FROM message_recipients WHERE status = 'sent' GROUP BY claimed_by"));
  for (std::string line; std::getline(shares, line);) run.per_worker.push_back(std::stoi(line));
  run.span_ms = std::stoll(SharedPostgresServer().Psql(
      database, "SELECT MAX(sent_at) - MIN(sent_at) FROM message_recipients WHERE status = 'sent'"));
  return run;
}

TEST_F(RedisE2E, TwoWorkersShareOneLaneRate) {
  extra_env_["HERALD_SERVE_SMS_PER_SECOND"] = "20";
  const auto run = SendThroughTwoWorkers("redis_rate", "sms", [](int i) {
    return json{{"channel", "sms"}, {"to", "+1555123" + std::to_string(1000 + i)}};
  });
  // Both worked throughout: each sent at least a quarter.
  ASSERT_EQ(run.per_worker.size(), 2u) << "both workers sent";
  EXPECT_GE(std::min(run.per_worker[0], run.per_worker[1]), 30) << run.per_worker[0] << " and " << run.per_worker[1];
  // One second's burst (20), then 20 a second between them: the last of 120 at
  // least 5 s after the first. Buckets of their own (20 a second each) would
  // be done in 3.5 s even with 90 of the 120 on one worker.
  std::cout << "120 sms by two workers at 20/s: " << run.span_ms << " ms from first to last (" << run.per_worker[0]
            << " + " << run.per_worker[1] << ")\n";
  EXPECT_GE(run.span_ms, 4500);
  EXPECT_LE(run.span_ms, 7500);
}

TEST_F(RedisE2E, TwoWorkersShareOneProviderRateAcrossItsLanes) {
  // One Twilio account at 20 a second, for sms and whatsapp, on both workers.
  FakeHttpServer twilio{"provider_server.py", dir_.path(), {"--twilio-sid", "AC" + std::string(32, 'a')}};
  extra_env_["HERALD_CHANNELS_SMS_PROVIDERS"] = "twilio";
  extra_env_["HERALD_CHANNELS_WHATSAPP_PROVIDERS"] = "twilio";
  extra_env_["HERALD_TWILIO_BASE_URL"] = twilio.Url("");
  extra_env_["HERALD_TWILIO_ACCOUNT_SID"] = "AC" + std::string(32, 'a');
  extra_env_["HERALD_TWILIO_AUTH_TOKEN"] = "twilio-test-token";
  extra_env_["HERALD_TWILIO_FROM"] = "+15005550006";
  extra_env_["HERALD_TWILIO_WHATSAPP_FROM"] = "+14155238886";
  extra_env_["HERALD_TWILIO_PER_SECOND"] = "20";
  const auto run = SendThroughTwoWorkers("redis_provider_rate", "sms,whatsapp", [](int i) {
    return json{{"channel", i % 2 ? "whatsapp" : "sms"}, {"to", "+1555123" + std::to_string(1000 + i)}};
  });
  ASSERT_EQ(run.per_worker.size(), 2u) << "both workers sent";
  EXPECT_EQ(twilio.Requests().size(), 120u);
  // As one lane's: 5 s at least from first to last. Per worker, or per lane,
  // the 120 would be through in under 3.5 s.
  std::cout << "120 twilio sends (sms + whatsapp) by two workers at twilio.per_second = 20: " << run.span_ms
            << " ms from first to last (" << run.per_worker[0] << " + " << run.per_worker[1] << ")\n";
  EXPECT_GE(run.span_ms, 4500);
  EXPECT_LE(run.span_ms, 7500);
}

TEST_F(RedisE2E, TwoWorkersKeepOneProvidersRequestsInFlightAcrossItsLanes) {
  // Twilio allows 3 requests at once for the account and answers each after 150 ms.
  FakeHttpServer twilio{"provider_server.py", dir_.path(),
                        {"--twilio-sid", "AC" + std::string(32, 'a'), "--answer-delay-ms", "150"}};
  extra_env_["HERALD_CHANNELS_SMS_PROVIDERS"] = "twilio";
  extra_env_["HERALD_CHANNELS_WHATSAPP_PROVIDERS"] = "twilio";
  extra_env_["HERALD_TWILIO_BASE_URL"] = twilio.Url("");
  extra_env_["HERALD_TWILIO_ACCOUNT_SID"] = "AC" + std::string(32, 'a');
  extra_env_["HERALD_TWILIO_AUTH_TOKEN"] = "twilio-test-token";
  extra_env_["HERALD_TWILIO_FROM"] = "+15005550006";
  extra_env_["HERALD_TWILIO_WHATSAPP_FROM"] = "+14155238886";
  extra_env_["HERALD_TWILIO_MAX_IN_FLIGHT"] = "3";
  const auto run = SendThroughTwoWorkers("redis_provider_slots", "sms,whatsapp", [](int i) {
    return json{{"channel", i % 2 ? "whatsapp" : "sms"}, {"to", "+1555123" + std::to_string(1000 + i)}};
  });
  ASSERT_EQ(run.per_worker.size(), 2u) << "both workers sent";
  const auto requests = twilio.Requests();
  ASSERT_EQ(requests.size(), 120u);
  int most = 0;
  for (const auto& request : requests) {
    EXPECT_EQ(request["answer"]["status"], 201) << request.dump();
    most = std::max(most, request["in_flight"].get<int>());
  }
  // Per lane, or per worker, up to 12 or 6 would have been at Twilio at once.
  std::cout << "120 twilio sends by two workers with twilio.max_in_flight = 3: at most " << most
            << " at once, " << run.span_ms << " ms from first to last (" << run.per_worker[0] << " + "
            << run.per_worker[1] << ")\n";
  EXPECT_EQ(most, 3) << "the account's limit was used and never passed";
  // 120 requests of 150 ms, 3 at a time: 6 s at the least.
  EXPECT_GE(run.span_ms, 5500);
}

TEST_F(RedisE2E, TwoWorkersWritingToOneTelegramChatKeepItsOneMessageASecond) {
  const std::string token = "777000:e2e-bot-token";
  // Telegram's flood control for one chat (429 within 900 ms: a little lenient for timers' jitter).
  FakeHttpServer telegram{"provider_server.py", dir_.path(),
                          {"--telegram-token", token, "--telegram-chat-interval-ms", "900"}};
  extra_env_["HERALD_CHANNELS_TELEGRAM_PROVIDERS"] = "telegram";
  extra_env_["HERALD_TELEGRAM_BASE_URL"] = telegram.Url("");
  extra_env_["HERALD_TELEGRAM_BOT_TOKEN"] = token;
  // Every 20th message to one chat (6 of 120), the rest to chats of their own.
  const auto run = SendThroughTwoWorkers("redis_chat_turns", "telegram", [](int i) {
    return json{{"channel", "telegram"}, {"to", i % 20 == 0 ? std::string("424242") : std::to_string(5000 + i)}};
  });
  ASSERT_EQ(run.per_worker.size(), 2u) << "both workers sent";
  std::vector<std::int64_t> same_chat;
  for (const auto& request : telegram.Requests()) {
    EXPECT_EQ(request["answer"]["status"], 200) << "no flood control answer: " << request.dump();
    if (request["body"]["chat_id"] == "424242") same_chat.push_back(request["received_at_ms"]);
  }
  ASSERT_EQ(same_chat.size(), 6u) << "each once, never retried";
  std::sort(same_chat.begin(), same_chat.end());
  for (std::size_t i = 1; i < same_chat.size(); ++i) EXPECT_GE(same_chat[i] - same_chat[i - 1], 950) << i;
}

TEST_F(RedisE2E, ThePacedSentListReadsThroughTheCacheAndAnOutageCostsOnlyTheCache) {
  extra_env_["HERALD_REDIS_URL"] = redis_.url();
  extra_env_["HERALD_SERVE_PACER_BATCH_SIZE"] = "1";
  extra_env_["HERALD_SERVE_PACER_INTERVAL_SECONDS"] = "1";
  extra_env_["HERALD_SERVE_MOCK_SUCCESS_RATE"] = "1";
  StartServer();
  const auto admin = CreateKey("ops", "admin");
  std::vector<std::int64_t> ids;
  for (int n = 0; n < 3; ++n) {
    ids.push_back(CallJson("POST", "/api/v1/paced-messages", admin,
                           {{"to", "+1555123001" + std::to_string(n)}, {"content", "paced " + std::to_string(n)}}, 201)["id"]
                      .get<std::int64_t>());
  }
  const auto sent_list = [&] { return CallJson("GET", "/api/v1/paced-messages/sent", admin, nullptr, 200); };
  ASSERT_TRUE(WaitFor([&] { return sent_list()["data"].size() == 3; }, seconds(15)));

  // Each send was cached by the worker with the provider's id and time.
  for (const auto id : ids) {
    ASSERT_TRUE(WaitFor([&] { return !redis_.Cli({"GET", "herald:sent:" + std::to_string(id)}).empty(); }, seconds(5)));
    const auto cached = json::parse(redis_.Cli({"GET", "herald:sent:" + std::to_string(id)}));
    const auto row = CallJson("GET", "/api/v1/paced-messages/" + std::to_string(id), admin, nullptr, 200);
    EXPECT_EQ(cached["provider_message_id"], row["provider_message_id"]) << cached.dump() << row.dump();
    EXPECT_FALSE(cached["provider_message_id"].get<std::string>().empty());
  }
  auto listed = sent_list();
  EXPECT_EQ(listed["cache"]["status"], "ok") << listed.dump();
  EXPECT_EQ(listed["cache"]["hits"], 3) << listed.dump();

  // The list takes the cache's word: a value changed in Redis shows in it.
  redis_.Cli({"SET", "herald:sent:" + std::to_string(ids[0]), R"({"provider_message_id":"from-cache","sent_at_ms":1764547200000})"});
  listed = sent_list();
  bool shown = false;
  for (const auto& message : listed["data"]) {
    if (message["id"] == ids[0]) {
      shown = message["provider_message_id"] == "from-cache" && message["sent_at"] == "2025-12-01T00:00:00.000Z";
    }
  }
  EXPECT_TRUE(shown) << listed.dump();

  // Redis down: sends go on, the list is whole from the store, /health says why.
  redis_.Kill();
  ids.push_back(CallJson("POST", "/api/v1/paced-messages", admin, {{"to", "+15551230019"}, {"content", "during outage"}}, 201)["id"]
                    .get<std::int64_t>());
  ASSERT_TRUE(WaitFor([&] { return sent_list()["data"].size() == 4; }, seconds(15)));
  listed = sent_list();
  EXPECT_EQ(listed["cache"]["status"], "unavailable") << listed.dump();
  for (const auto& message : listed["data"]) EXPECT_NE(message.value("provider_message_id", ""), "from-cache");
  const auto health = json::parse(HttpRequest("GET", Url("/health"), {}, {}).body);
  EXPECT_EQ(health["status"], "degraded");
  EXPECT_EQ(health["redis"]["status"], "error") << health.dump();

  // Back, empty: the first read fills the cache from the store, the next hits it.
  redis_.Start();
  ASSERT_TRUE(WaitFor([&] { return sent_list()["cache"]["status"] == "ok"; }, seconds(5)));
  EXPECT_EQ(sent_list()["cache"]["hits"], 4);
  EXPECT_EQ(json::parse(HttpRequest("GET", Url("/health"), {}, {}).body)["redis"]["status"], "ok");
}

}  // namespace
}  // namespace herald::testing
