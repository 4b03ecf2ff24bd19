// End-to-end tests of `herald serve`'s messages API, keys and service endpoints:
// the real binary on a free loopback port, driven over real HTTP.
#include <thread>

#include "tests/e2e/serve_fixture.hpp"

namespace herald::testing {
namespace {

TEST_F(ServeE2E, KeysArePrintedOnceAndStoredOnlyAsDigests) {
  const auto key = CreateKey("ops", "admin");
  EXPECT_EQ(key.rfind("hk_", 0), 0u) << key;
  EXPECT_GE(key.size(), 40u);
  EXPECT_EQ(ReadFile(data_dir_ + "/herald.db").find(key), std::string::npos);
  const auto list = RunCommand({HERALD_BINARY, "keys", "list", "--data-dir", data_dir_}, seconds(30), Environment());
  EXPECT_NE(list.output.find("ops\tadmin\tpremium"), std::string::npos) << list.output;
  EXPECT_EQ(list.output.find(key), std::string::npos);
  EXPECT_EQ(RunCommand({HERALD_BINARY, "keys", "revoke", "1", "--data-dir", data_dir_}, seconds(30), Environment()).exit_code, 0);
  EXPECT_EQ(RunCommand({HERALD_BINARY, "keys", "revoke", "1", "--data-dir", data_dir_}, seconds(30), Environment()).exit_code, 2);
}

TEST_F(ServeE2E, AMessageIsStoredDeliveredOnEveryChannelAndReadBack) {
  const auto key = CreateKey("app");
  StartServer();
  const auto accepted = CallJson("POST", "/api/v1/messages", key, SmsAndEmail("Your code is 4711"), 202);
  ASSERT_TRUE(accepted.contains("id")) << accepted.dump();
  EXPECT_EQ(accepted["recipients"].size(), 2u);
  EXPECT_EQ(accepted["recipients"][0]["to"], "+15551230001");
  const auto message = WaitForStatus(key, accepted["id"], {"sent", "partially_sent", "failed"});
  ASSERT_EQ(message["status"], "sent") << message.dump();
  for (const auto& recipient : message["recipients"]) {
    EXPECT_EQ(recipient["attempts"], 1);
    EXPECT_FALSE(recipient.value("provider_message_id", "").empty()) << recipient.dump();
    EXPECT_TRUE(recipient.contains("sent_at"));
  }
  // The e-mail went to the outbox as an RFC 5322 file with the content.
  int files = 0;
  for (const auto& entry : fs::directory_iterator(data_dir_ + "/outbox")) {
    ++files;
    const auto eml = ReadFile(entry.path().string());
    EXPECT_NE(eml.find("To: ann@example.org"), std::string::npos) << eml;
    EXPECT_NE(eml.find("Subject: Hello"), std::string::npos);
    EXPECT_NE(eml.find("Your code is 4711"), std::string::npos);
  }
  EXPECT_EQ(files, 1);
}

TEST_F(ServeE2E, EveryErrorHasTheSameShapeAndTheRightStatus) {
  const auto key = CreateKey("app");
  StartServer();
  auto expect_error = [](const HttpResponse& response, int status, const std::string& code) {
    ExpectError(response, status, code);
    EXPECT_FALSE(json::parse(response.body, nullptr, false).value("/error/message"_json_pointer, "").empty());
  };
  expect_error(Call("GET", "/api/v1/messages", ""), 401, "UNAUTHORIZED");
  expect_error(Call("GET", "/api/v1/messages", "hk_wrong"), 401, "UNAUTHORIZED");
  expect_error(Call("POST", "/api/v1/messages", key, "{not json"), 400, "INVALID_JSON");
  expect_error(Call("GET", "/api/v1/messages?page=0", key), 400, "INVALID_QUERY");
  expect_error(Call("GET", "/api/v1/messages?page_size=abc", key), 400, "INVALID_QUERY");
  expect_error(Call("GET", "/api/v1/messages?status=lost", key), 400, "INVALID_QUERY");
  expect_error(Call("GET", "/api/v1/messages/999", key), 404, "MESSAGE_NOT_FOUND");
  expect_error(Call("GET", "/api/v1/nothing-here", key), 404, "ROUTE_NOT_FOUND");
  expect_error(Call("POST", "/api/v1/messages", key, std::string(2 << 20, ' ')), 413, "PAYLOAD_TOO_LARGE");
  // A JSON route reads a body declared as JSON (any parameters) or as nothing, and no other.
  const std::string message = json{{"recipients", {{{"channel", "sms"}, {"to", "+15551230001"}}}}, {"content", "x"}}.dump();
  const auto as_text = HttpRequest("POST", Url("/api/v1/messages"), {{"X-API-Key", key}, {"Content-Type", "text/plain"}},
                                   message);
  expect_error(as_text, 415, "UNSUPPORTED_MEDIA_TYPE");
  EXPECT_NE(as_text.body.find("text/plain"), std::string::npos) << as_text.body;
  expect_error(HttpRequest("POST", Url("/api/v1/messages"),
                           {{"X-API-Key", key}, {"Content-Type", "application/x-www-form-urlencoded"}}, message),
               415, "UNSUPPORTED_MEDIA_TYPE");
  EXPECT_EQ(HttpRequest("POST", Url("/api/v1/messages"),
                        {{"X-API-Key", key}, {"Content-Type", "Application/JSON; charset=utf-8"}}, message)
                .status,
            202);
  // An empty value makes libcurl send no Content-Type at all.
  EXPECT_EQ(HttpRequest("POST", Url("/api/v1/messages"), {{"X-API-Key", key}, {"Content-Type", ""}}, message).status,
            202);
  const auto bad_phone = Call("POST", "/api/v1/messages", key,
                              json{{"recipients", {{{"channel", "sms"}, {"to", "0123"}}}}, {"content", "x"}}.dump());
  expect_error(bad_phone, 400, "VALIDATION_FAILED");
  EXPECT_NE(bad_phone.body.find("recipients[0].to"), std::string::npos) << bad_phone.body;
  const auto long_sms = Call("POST", "/api/v1/messages", key,
                             json{{"recipients", {{{"channel", "sms"}, {"to", "+15551230001"}}}},
                                  {"content", std::string(153 * 10 + 1, 'a')}}.dump());
  expect_error(long_sms, 400, "VALIDATION_FAILED");
  EXPECT_NE(long_sms.body.find("segment"), std::string::npos) << long_sms.body;
}

TEST_F(ServeE2E, AStoreFailureIsA500InTheErrorShapeAndTheServerGoesOn) {
  const auto key = CreateKey("app");
  StartServer();
  EXPECT_EQ(Call("GET", "/api/v1/templates", key).status, 200);
  // Break the store under the running server: its next read of templates fails.
  const auto dropped = RunCommand({"sqlite3", "-cmd", ".timeout 10000", data_dir_ + "/herald.db", "DROP TABLE templates"}, seconds(30));
  ASSERT_EQ(dropped.exit_code, 0) << dropped.output;
  const auto failed = Call("GET", "/api/v1/templates", key);
  ExpectError(failed, 500, "INTERNAL");
  EXPECT_EQ(failed.body.find("no such table"), std::string::npos) << "internals stay in the log: " << failed.body;
  EXPECT_NE(ReadFile(dir_.path() + "/serve.log").find("no such table"), std::string::npos);
  // Everything else still works.
  EXPECT_EQ(CallJson("POST", "/api/v1/messages", key, SmsAndEmail("still here"), 202)["status"], "queued");
}

TEST_F(ServeE2E, UsersSeeOnlyTheirOwnMessagesAndAdminsSeeAll) {
  const auto alice = CreateKey("alice");
  const auto bob = CreateKey("bob");
  const auto admin = CreateKey("ops", "admin");
  StartServer();
  const auto id = CallJson("POST", "/api/v1/messages", alice, SmsAndEmail("for alice"), 202)["id"].get<std::int64_t>();
  EXPECT_EQ(Call("GET", "/api/v1/messages/" + std::to_string(id), bob).status, 404);
  EXPECT_EQ(Call("DELETE", "/api/v1/messages/" + std::to_string(id), bob).status, 404);
  EXPECT_EQ(Call("GET", "/api/v1/messages/" + std::to_string(id), admin).status, 200);
  EXPECT_EQ(CallJson("GET", "/api/v1/messages", bob, nullptr, 200)["pagination"]["total_count"], 0);
  EXPECT_EQ(CallJson("GET", "/api/v1/messages", admin, nullptr, 200)["pagination"]["total_count"], 1);
}

TEST_F(ServeE2E, TheSameIdempotencyKeyReturnsTheSameMessage) {
  const auto key = CreateKey("app");
  StartServer();
  const auto body = SmsAndEmail("once").dump();
  const auto first = Call("POST", "/api/v1/messages", key, body, {{"Idempotency-Key", "order-7"}});
  const auto again = Call("POST", "/api/v1/messages", key, body, {{"Idempotency-Key", "order-7"}});
  const auto other = Call("POST", "/api/v1/messages", key, body, {{"Idempotency-Key", "order-8"}});
  ASSERT_EQ(first.status, 202);
  ASSERT_EQ(again.status, 202);
  EXPECT_EQ(json::parse(first.body)["id"], json::parse(again.body)["id"]);
  EXPECT_EQ(again.Header("idempotent-replayed"), "true");
  EXPECT_NE(json::parse(first.body)["id"], json::parse(other.body)["id"]);
  // A key that is not printable ASCII (raw bytes, control characters) or too long
  // is refused at the door, and the list stays readable.
  for (const std::string& bad : {std::string("\xFF\xFE"), std::string("tab\there"), std::string(256, 'k')}) {
    ExpectError(Call("POST", "/api/v1/messages", key, body, {{"Idempotency-Key", bad}}), 400, "INVALID_HEADER");
  }
  EXPECT_EQ(Call("GET", "/api/v1/messages", key).status, 200);
  // Concurrent retries of one request still make one message.
  std::vector<std::thread> threads;
  std::vector<std::int64_t> ids(8);
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&, i] {
      const auto response = Call("POST", "/api/v1/messages", key, body, {{"Idempotency-Key", "burst"}});
      ids[i] = response.status == 202 ? json::parse(response.body)["id"].get<std::int64_t>() : -1;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(std::set<std::int64_t>(ids.begin(), ids.end()).size(), 1u);
  EXPECT_NE(ids[0], -1);
  EXPECT_EQ(CallJson("GET", "/api/v1/messages", key, nullptr, 200)["pagination"]["total_count"], 3);
}

TEST_F(ServeE2E, EachTierIsLimitedPerMinuteWithRetryAfter) {
  const auto free_key = CreateKey("free", "user", "free");
  const auto basic_key = CreateKey("basic", "user", "basic");
  StartServer();
  int allowed = 0;
  HttpResponse last;
  for (int i = 0; i < 61; ++i) {
    last = Call("GET", "/api/v1/messages?page_size=1", free_key);
    if (last.status == 200) ++allowed;
  }
  EXPECT_EQ(allowed, 60);
  EXPECT_EQ(last.status, 429);
  EXPECT_EQ(json::parse(last.body)["error"]["code"], "RATE_LIMITED");
  EXPECT_GE(std::stoi(last.Header("retry-after")), 1);
  EXPECT_EQ(last.Header("ratelimit-limit"), "60");
  EXPECT_EQ(last.Header("ratelimit-remaining"), "0");
  // Another key has its own budget, sized by its tier.
  const auto basic = Call("GET", "/api/v1/messages", basic_key);
  EXPECT_EQ(basic.status, 200);
  EXPECT_EQ(basic.Header("ratelimit-limit"), "300");
  EXPECT_EQ(basic.Header("ratelimit-remaining"), "299");
}

TEST_F(ServeE2E, BulkAcceptsTheValidMessagesAndNamesTheRejectedOnes) {
  const auto key = CreateKey("app");
  StartServer();
  json messages = json::array();
  messages.push_back(SmsAndEmail("one"));
  messages.push_back({{"recipients", {{{"channel", "sms"}, {"to", "nope"}}}}, {"content", "bad"}});
  messages.push_back(SmsAndEmail("two"));
  messages.push_back({{"content", "no recipients"}});
  const auto result = CallJson("POST", "/api/v1/messages/bulk", key, {{"messages", messages}}, 202);
  EXPECT_EQ(result["accepted"], 2);
  ASSERT_EQ(result["rejected"].size(), 2u);
  EXPECT_EQ(result["rejected"][0]["index"], 1);
  EXPECT_EQ(result["rejected"][1]["index"], 3);
  EXPECT_NE(result["rejected"][0]["error"]["message"].get<std::string>().find("messages[1].recipients[0].to"),
            std::string::npos);
  ASSERT_EQ(result["ids"].size(), 2u);
  EXPECT_EQ(CallJson("GET", "/api/v1/messages/" + result["ids"][1].dump(), key, nullptr, 200)["content"], "two");

  json too_many = json::array();
  for (int i = 0; i < 10001; ++i) too_many.push_back(SmsAndEmail("x"));
  EXPECT_EQ(Call("POST", "/api/v1/messages/bulk", key, json{{"messages", too_many}}.dump()).status, 413);
}

TEST_F(ServeE2E, CancelStopsScheduledWorkAndRefusesWhatIsDone) {
  const auto key = CreateKey("app");
  StartServer();
  auto later = SmsAndEmail("later");
  later["scheduled_at"] = Rfc3339(NowMs() + 3600 * 1000);
  const auto scheduled = CallJson("POST", "/api/v1/messages", key, later, 202);
  EXPECT_EQ(scheduled["status"], "scheduled");
  const auto path = "/api/v1/messages/" + scheduled["id"].dump();
  const auto cancelled = CallJson("DELETE", path, key, nullptr, 200);
  EXPECT_EQ(cancelled["status"], "cancelled");
  EXPECT_EQ(cancelled["cancelled_recipients"], 2);
  EXPECT_EQ(json::parse(Call("DELETE", path, key).body)["error"]["code"], "MESSAGE_NOT_CANCELLABLE");

  const auto now = CallJson("POST", "/api/v1/messages", key, SmsAndEmail("now"), 202);
  WaitForStatus(key, now["id"], {"sent"});
  EXPECT_EQ(Call("DELETE", "/api/v1/messages/" + now["id"].dump(), key).status, 409);
}

TEST_F(ServeE2E, ConcurrentCancelsAndDeliveriesNeverOverlap) {
  extra_env_["HERALD_SERVE_MOCK_SUCCESS_RATE"] = "1";
  const auto key = CreateKey("app");
  StartServer();
  constexpr int kMessages = 300;
  // Every third message is scheduled ahead, so some cancels win whatever the
  // machine's speed; the rest race the workers.
  json messages = json::array();
  for (int i = 0; i < kMessages; ++i) {
    auto message = SmsAndEmail("race " + std::to_string(i));
    if (i % 3 == 0) message["scheduled_at"] = Rfc3339(NowMs() + 3600 * 1000);
    messages.push_back(std::move(message));
  }
  const auto ids = CallJson("POST", "/api/v1/messages/bulk", key, {{"messages", messages}}, 202)["ids"];
  ASSERT_EQ(ids.size(), static_cast<std::size_t>(kMessages));

  // Two threads cancel every message at once while the workers deliver them.
  std::vector<std::vector<HttpResponse>> answers(2, std::vector<HttpResponse>(kMessages));
  std::vector<std::thread> cancellers;
  for (int t = 0; t < 2; ++t) {
    cancellers.emplace_back([&, t] {
      for (int i = 0; i < kMessages; ++i) {
        const int index = t == 0 ? i : kMessages - 1 - i;  // opposite orders: both meet in the middle
        answers[t][index] = Call("DELETE", "/api/v1/messages/" + ids[index].dump(), key);
      }
    });
  }
  for (auto& thread : cancellers) thread.join();

  json settled;
  ASSERT_TRUE(WaitFor(
      [&] {
        settled = CallJson("GET", "/api/v1/messages?page_size=500", key, nullptr, 200);
        for (const auto& m : settled["data"]) {
          for (const auto& r : m["recipients"]) {
            if (r["status"] == "queued" || r["status"] == "sending") return false;
          }
        }
        return true;
      },
      seconds(20)));
  std::map<std::int64_t, json> by_id;
  for (const auto& m : settled["data"]) by_id[m["id"].get<std::int64_t>()] = m;
  int cancelled_total = 0, sent_emails = 0;
  for (int i = 0; i < kMessages; ++i) {
    const auto& message = by_id.at(ids[i].get<std::int64_t>());
    int cancelled = 0;
    for (const auto& r : message["recipients"]) {
      ASSERT_TRUE(r["status"] == "sent" || r["status"] == "cancelled") << message.dump();
      if (r["status"] == "cancelled") {
        ++cancelled;
        EXPECT_EQ(r["attempts"], 0) << "a cancelled recipient was attempted: " << message.dump();
        EXPECT_FALSE(r.contains("provider_message_id")) << message.dump();
      } else if (r["channel"] == "email") {
        ++sent_emails;
      }
    }
    // What the DELETEs report cancelling is exactly what ends up cancelled: no
    // recipient is cancelled twice, and a 409 cancelled nothing.
    int reported = 0;
    for (int t = 0; t < 2; ++t) {
      const auto& answer = answers[t][i];
      ASSERT_TRUE(answer.status == 200 || answer.status == 409) << answer.body;
      if (answer.status == 200) reported += json::parse(answer.body)["cancelled_recipients"].get<int>();
    }
    EXPECT_EQ(reported, cancelled) << message.dump();
    cancelled_total += cancelled;
  }
  EXPECT_GE(cancelled_total, 2 * (kMessages / 3));  // at least every scheduled one
  // Every e-mail in the outbox belongs to a recipient recorded as sent.
  int files = 0;
  if (fs::exists(data_dir_ + "/outbox")) {
    for ([[maybe_unused]] const auto& entry : fs::directory_iterator(data_dir_ + "/outbox")) ++files;
  }
  EXPECT_EQ(files, sent_emails);
}

TEST_F(ServeE2E, ScheduledMessagesGoOutWithinASecondOfTheirTime) {
  const auto key = CreateKey("app");
  StartServer();
  auto message = SmsAndEmail("on time");
  const auto at = NowMs() + 2000;
  message["scheduled_at"] = Rfc3339(at);
  const auto id = CallJson("POST", "/api/v1/messages", key, message, 202)["id"];
  EXPECT_EQ(CallJson("GET", "/api/v1/messages/" + id.dump(), key, nullptr, 200)["status"], "scheduled");
  const auto sent = WaitForStatus(key, id, {"sent"}, seconds(10));
  ASSERT_EQ(sent["status"], "sent") << sent.dump();
  for (const auto& recipient : sent["recipients"]) {
    // Sent times are RFC 3339 text; compare through the server's own format.
    const auto sent_at = recipient["sent_at"].get<std::string>();
    EXPECT_GE(sent_at, Rfc3339(at)) << sent_at;
    EXPECT_LE(sent_at, Rfc3339(at + 1000)) << sent_at;
  }
}

TEST_F(ServeE2E, FailingProvidersAreRetriedThenDeadLettered) {
  extra_env_["HERALD_SERVE_MOCK_SUCCESS_RATE"] = "0";
  const auto key = CreateKey("app");
  StartServer();
  const auto id = CallJson("POST", "/api/v1/messages", key,
                           {{"recipients", {{{"channel", "telegram"}, {"to", "123456789"}}}}, {"content", "hi"}}, 202)["id"];
  const auto message = WaitForStatus(key, id, {"failed"});
  ASSERT_EQ(message["status"], "failed") << message.dump();
  const auto& recipient = message["recipients"][0];
  // Transient failures use all three attempts and end dead; a permanent or
  // unknown outcome (the mock gives some of each) stops at once.
  if (recipient["status"] == "dead") {
    EXPECT_EQ(recipient["attempts"], 3);
  } else {
    EXPECT_TRUE(recipient["status"] == "failed" || recipient["status"] == "unknown") << recipient.dump();
  }
  EXPECT_FALSE(recipient.value("error", "").empty());
}

TEST_F(ServeE2E, PagesDoNotRepeatOrSkipWhileMessagesAreAdded) {
  const auto key = CreateKey("app");
  StartServer();
  for (int i = 0; i < 25; ++i) CallJson("POST", "/api/v1/messages", key, SmsAndEmail("m" + std::to_string(i)), 202);
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    while (!stop) Call("POST", "/api/v1/messages", key, SmsAndEmail("while paging").dump());
  });
  const auto first = CallJson("GET", "/api/v1/messages?page_size=10", key, nullptr, 200);
  const auto as_of = first["pagination"]["as_of"].get<std::int64_t>();
  std::set<std::int64_t> seen;
  for (const auto& m : first["data"]) seen.insert(m["id"].get<std::int64_t>());
  for (int page = 2; page <= first["pagination"]["total_pages"].get<int>(); ++page) {
    std::this_thread::sleep_for(milliseconds(50));
    const auto next = CallJson("GET", "/api/v1/messages?page_size=10&page=" + std::to_string(page) +
                                          "&as_of=" + std::to_string(as_of),
                               key, nullptr, 200);
    for (const auto& m : next["data"]) EXPECT_TRUE(seen.insert(m["id"].get<std::int64_t>()).second) << "duplicate";
  }
  stop = true;
  writer.join();
  EXPECT_EQ(static_cast<std::int64_t>(seen.size()), first["pagination"]["total_count"].get<std::int64_t>());
  EXPECT_EQ(*seen.rbegin(), as_of);
  EXPECT_EQ(static_cast<std::int64_t>(seen.size()), as_of);  // ids 1..as_of, none skipped
}

TEST_F(ServeE2E, QueuedAndScheduledWorkSurvivesARestart) {
  const auto key = CreateKey("app");
  StartServer();
  auto later = SmsAndEmail("after restart");
  later["scheduled_at"] = Rfc3339(NowMs() + 2500);
  const auto id = CallJson("POST", "/api/v1/messages", key, later, 202)["id"];
  EXPECT_EQ(StopServer(), 0);
  StartServer();
  const auto message = WaitForStatus(key, id, {"sent"}, seconds(10));
  EXPECT_EQ(message["status"], "sent") << message.dump();
}

TEST_F(ServeE2E, StopsPromptlyOnSigterm) {
  CreateKey("app");
  StartServer();
  const auto started = std::chrono::steady_clock::now();
  EXPECT_EQ(StopServer(), 0);
  EXPECT_LT(std::chrono::steady_clock::now() - started, seconds(5));
}

TEST_F(ServeE2E, HealthAndMetricsNeedNoKeyAndMetricsPassPromtool) {
  const auto key = CreateKey("app");
  StartServer();
  CallJson("POST", "/api/v1/messages", key, SmsAndEmail("count me"), 202);
  const auto health = json::parse(Call("GET", "/health", "").body);
  EXPECT_EQ(health["status"], "ok");
  EXPECT_EQ(health["store"]["status"], "ok");
  EXPECT_TRUE(health.contains("uptime_seconds"));
  EXPECT_TRUE(health["providers"].contains("email"));
  const auto metrics = Call("GET", "/metrics", "");
  ASSERT_EQ(metrics.status, 200);
  EXPECT_NE(metrics.body.find("http_requests_total{method=\"POST\",route=\"/api/v1/messages\",status=\"202\"} 1"),
            std::string::npos)
      << metrics.body;
  EXPECT_NE(metrics.body.find("messages_published_total{channel=\"sms\"} 1"), std::string::npos) << metrics.body;
  WriteFile(dir_.path() + "/metrics.txt", metrics.body);
  const auto check = RunCommand({"sh", "-c", "promtool check metrics < " + dir_.path() + "/metrics.txt 2>&1"}, seconds(30));
  EXPECT_EQ(check.exit_code, 0) << check.output;
  EXPECT_EQ(check.output, "") << check.output;
}

// The binary serves the document compiled into it (it reads no file for it),
// and that is the one in the source tree.
TEST_F(ServeE2E, OpenApiDocumentNeedsNoKeyAndIsTheOneInTheSourceTree) {
  StartServer();
  const auto response = Call("GET", "/openapi.json", "");
  ASSERT_EQ(response.status, 200) << response.body;
  EXPECT_EQ(response.Header("content-type"), "application/json");
  const auto served = json::parse(response.body, nullptr, false);
  ASSERT_FALSE(served.is_discarded()) << "not JSON: " << response.body.substr(0, 200);
  const auto source = json::parse(ReadFile(std::string(HERALD_SOURCE_DIR) + "/src/api/openapi.json"));
  EXPECT_EQ(served, source) << "rebuild: the binary serves another document than src/api/openapi.json";
  EXPECT_EQ(served["info"]["version"], json::parse(Call("GET", "/health", "").body)["version"]);
}

// herald serve answers for its delivery itself; split, herald worker --listen
// does, with the delivery's health and metrics and none of the API.
TEST_F(ServeE2E, TheDeliveringProcessServesHealthAndMetrics) {
  StartServer();
  const auto health = DeliveryHealth();
  EXPECT_EQ(health["store"]["status"], "ok") << health.dump();
  EXPECT_TRUE(health["pacer"].contains("running")) << health.dump();
  const auto metrics = HttpRequest("GET", DeliveryUrl("/metrics"), {}, {});
  EXPECT_EQ(metrics.status, 200);
  EXPECT_NE(metrics.body.find("# TYPE messages_processed_total counter"), std::string::npos) << metrics.body;
  EXPECT_EQ(HttpRequest("GET", DeliveryUrl("/ready"), {}, {}).body, R"({"status":"ready"})");
  EXPECT_EQ(HttpRequest("GET", Url("/ready"), {}, {}).status, 200);
  const auto listed = HttpRequest("GET", DeliveryUrl("/api/v1/messages"), {{"X-API-Key", CreateKey("app")}}, {});
  EXPECT_EQ(listed.status, kSplitProcesses ? 404 : 200) << listed.body;
}

}  // namespace
}  // namespace herald::testing
