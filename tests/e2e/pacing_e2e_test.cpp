// End-to-end tests of `herald serve`'s paced sender (seed 001): the real binary,
// driven over HTTP, sending through the webhook provider to a real capturing
// HTTP server (tests/support/webhook_server.py), so the tests count what the
// provider received: order, rate, and exactly once across stops, restarts and a kill.
#include <sstream>

#include "tests/e2e/serve_fixture.hpp"
#include "tests/support/fake_http_server.hpp"

namespace herald::testing {
namespace {

// The SMS provider of seed 001: answers {"messageId": ...} and logs every request.
class ProviderSink : public FakeHttpServer {
 public:
  explicit ProviderSink(const std::string& dir) : FakeHttpServer("webhook_server.py", dir) {}

  // Herald's delivery ids of the messages received, in arrival order ("r<recipient id>":
  // in a fresh data dir of paced messages only, the message ids).
  std::vector<std::string> MessageIds() const {
    std::vector<std::string> ids;
    for (const auto& request : Requests()) ids.push_back(request["body"].value("message_id", ""));
    return ids;
  }
};

std::int64_t ParseRfc3339Ms(const std::string& text) {
  std::tm utc{};
  int millis = 0;
  if (std::sscanf(text.c_str(), "%d-%d-%dT%d:%d:%d.%dZ", &utc.tm_year, &utc.tm_mon, &utc.tm_mday, &utc.tm_hour,
                  &utc.tm_min, &utc.tm_sec, &millis) != 7) {
    ADD_FAILURE() << "not an RFC 3339 time: " << text;
    return 0;
  }
  utc.tm_year -= 1900;
  utc.tm_mon -= 1;
  return static_cast<std::int64_t>(timegm(&utc)) * 1000 + millis;
}

class PacingE2E : public ServeE2E {
 protected:
  void SetUp() override {
    ServeE2E::SetUp();
    // One message a second, so the pace is visible within a test.
    extra_env_["HERALD_SERVE_PACER_BATCH_SIZE"] = "1";
    extra_env_["HERALD_SERVE_PACER_INTERVAL_SECONDS"] = "1";
    extra_env_["HERALD_SERVE_MOCK_SUCCESS_RATE"] = "1";
  }

  void UseProviderSink(const std::string& path = "/accept") {
    if (!sink_) sink_ = std::make_unique<ProviderSink>(dir_.path());
    extra_env_["HERALD_SERVE_PROVIDER"] = "webhook";
    extra_env_["HERALD_SERVE_WEBHOOK_URL"] = sink_->Url(path);
  }

  std::int64_t Enqueue(const std::string& key, int n) {
    const auto body = CallJson("POST", "/api/v1/paced-messages", key,
                               {{"to", "+1 555 123 00" + std::to_string(10 + n)}, {"content", "paced " + std::to_string(n)}},
                               201);
    EXPECT_EQ(body["status"], "queued") << body.dump();
    EXPECT_EQ(body["to"], "+155512300" + std::to_string(10 + n)) << "stored in E.164";
    return body["id"].get<std::int64_t>();
  }

  json Sent(const std::string& key, const std::string& query = "?page_size=500") {
    return CallJson("GET", "/api/v1/paced-messages/sent" + query, key, nullptr, 200);
  }

  std::size_t Received() const { return sink_->Requests().size(); }

  std::unique_ptr<ProviderSink> sink_;
};

TEST_F(PacingE2E, ReleasesOldestFirstAtThePacedRateAndHoldsEverythingWhileStopped) {
  UseProviderSink();
  const auto admin = CreateKey("ops", "admin");
  const auto app = CreateKey("app");
  StartServer();
  const auto stopped = CallJson("POST", "/api/v1/pacing/stop", admin, nullptr, 200);
  EXPECT_EQ(stopped["running"], false);
  EXPECT_TRUE(stopped["next_release_at"].is_null());
  for (int i = 1; i <= 4; ++i) EXPECT_EQ(Enqueue(app, i), i);
  EXPECT_FALSE(WaitFor([&] { return Received() > 0; }, milliseconds(2500))) << "sent while stopped";

  const auto started = CallJson("POST", "/api/v1/pacing/start", admin, nullptr, 200);
  EXPECT_EQ(started["running"], true);
  EXPECT_EQ(started["batch_size"], 1);
  EXPECT_EQ(started["interval_seconds"], 1);
  EXPECT_TRUE(started["next_release_at"].is_string()) << started.dump();
  ASSERT_TRUE(WaitFor([&] { return Received() >= 3; }, seconds(10)));
  EXPECT_EQ(CallJson("POST", "/api/v1/pacing/stop", admin, nullptr, 200)["running"], false);
  const auto at_stop = Received();
  ASSERT_LE(at_stop, 4u) << "more sends than messages";
  EXPECT_FALSE(WaitFor([&] { return Received() > at_stop; }, milliseconds(2500))) << "sent after the stop";

  // Oldest first, each once, and what the provider answered is what the API shows.
  const std::vector<std::string> expected = {"r1", "r2", "r3", "r4"};
  EXPECT_EQ(sink_->MessageIds(), std::vector<std::string>(expected.begin(), expected.begin() + at_stop));
  const auto sent = Sent(app);
  ASSERT_EQ(sent["pagination"]["total_count"], at_stop) << sent.dump();
  std::int64_t previous_id = INT64_MAX;
  for (const auto& m : sent["data"]) {
    const auto id = m["id"].get<std::int64_t>();
    EXPECT_LT(id, previous_id) << "newest first";
    previous_id = id;
    EXPECT_EQ(m["status"], "sent");
    EXPECT_EQ(m["attempts"], 1);
    const auto request = sink_->Requests().at(static_cast<std::size_t>(id - 1));
    EXPECT_EQ(m["provider_message_id"], request["answer"]["body"]["messageId"]) << m.dump();
    EXPECT_EQ(request["body"]["to"], m["to"]);
    EXPECT_EQ(request["body"]["content"], m["content"]);
    // sent_at is when the outcome was recorded, after the provider had the request.
    EXPECT_GE(ParseRfc3339Ms(m["sent_at"].get<std::string>()), request["received_at_ms"].get<std::int64_t>() - 5)
        << m.dump();
  }
  // One a second, as the provider saw it. Releases begin an interval apart, and
  // a request reaches the provider after its release (a claim and a connection
  // later), so the i-th arrival is at least i intervals after the first release;
  // only the first request's own delay is allowed for, not that of every one.
  const auto requests = sink_->Requests();
  const auto first_arrival = requests.at(0)["received_at_ms"].get<std::int64_t>();
  for (std::size_t i = 1; i < requests.size(); ++i) {
    EXPECT_GE(requests[i]["received_at_ms"].get<std::int64_t>() - first_arrival, static_cast<std::int64_t>(i) * 1000 - 300)
        << "message " << i + 1 << " reached the provider too soon";
  }
  if (at_stop < 4) {
    EXPECT_EQ(CallJson("GET", "/api/v1/paced-messages/4", app, nullptr, 200)["status"], "queued");
  }
}

TEST_F(PacingE2E, ARestartKeepsTheRunningStateAndSendsNothingTwice) {
  UseProviderSink();
  const auto admin = CreateKey("ops", "admin");
  const auto app = CreateKey("app");
  StartServer();
  CallJson("POST", "/api/v1/pacing/stop", admin, nullptr, 200);
  json messages = json::array();
  for (int i = 0; i < 3; ++i) messages.push_back({{"to", "+15551230099"}, {"content", "bulk " + std::to_string(i)}});
  messages.push_back({{"to", "not a phone"}, {"content", "rejected"}});
  const auto bulk = CallJson("POST", "/api/v1/paced-messages/bulk", app, {{"messages", messages}}, 201);
  EXPECT_EQ(bulk["accepted"], 3);
  ASSERT_EQ(bulk["rejected"].size(), 1u);
  EXPECT_EQ(bulk["rejected"][0]["index"], 3);

  EXPECT_EQ(StopServer(), 0);
  StartServer();
  EXPECT_EQ(CallJson("GET", "/api/v1/pacing", app, nullptr, 200)["running"], false) << "the stop survived";
  EXPECT_FALSE(WaitFor([&] { return Received() > 0; }, milliseconds(2000)));

  CallJson("POST", "/api/v1/pacing/start", admin, nullptr, 200);
  ASSERT_TRUE(WaitFor([&] { return Received() >= 1; }, seconds(10)));
  EXPECT_EQ(StopServer(), 0);
  StartServer();
  EXPECT_EQ(CallJson("GET", "/api/v1/pacing", app, nullptr, 200)["running"], true) << "the start survived";
  ASSERT_TRUE(WaitFor([&] { return Sent(app)["pagination"]["total_count"] == 3; }, seconds(10)));
  EXPECT_FALSE(WaitFor([&] { return Received() > 3; }, milliseconds(2000)));
  EXPECT_EQ(sink_->MessageIds(), (std::vector<std::string>{"r1", "r2", "r3"}));
}

TEST_F(PacingE2E, ASendCutShortByAKillIsReportedUnknownAndNotResent) {
  // The provider holds the first request for 30 s: the process is killed mid-send.
  UseProviderSink("/sleep/30000");
  const auto admin = CreateKey("ops", "admin");
  const auto app = CreateKey("app");
  StartServer();
  CallJson("POST", "/api/v1/pacing/stop", admin, nullptr, 200);
  Enqueue(app, 1);
  Enqueue(app, 2);
  CallJson("POST", "/api/v1/pacing/start", admin, nullptr, 200);
  ASSERT_TRUE(WaitFor([&] { return Received() == 1; }, seconds(10)));
  KillServer();

  UseProviderSink("/accept");
  StartServer();
  // herald serve resolves it at start; split processes once the killed worker
  // has not been seen for 15 s.
  json cut;
  WaitFor(
      [&] {
        cut = CallJson("GET", "/api/v1/paced-messages/1", app, nullptr, 200);
        return cut["status"] != "sending";
      },
      seconds(45));
  EXPECT_EQ(cut["status"], "unknown") << cut.dump();
  EXPECT_FALSE(cut.value("error", "").empty());
  ASSERT_TRUE(WaitFor([&] { return Received() >= 2; }, seconds(10)));
  EXPECT_FALSE(WaitFor([&] { return Received() > 2; }, milliseconds(2000)));
  EXPECT_EQ(sink_->MessageIds(), (std::vector<std::string>{"r1", "r2"}));
  EXPECT_EQ(CallJson("GET", "/api/v1/paced-messages/2", app, nullptr, 200)["status"], "sent");
}

TEST_F(PacingE2E, SeedPathsRolesValidationAndPages) {
  // The mock provider (success rate 1) this time.
  const auto alice = CreateKey("alice");
  const auto bob = CreateKey("bob");
  const auto admin = CreateKey("ops", "admin");
  StartServer();
  ExpectError(Call("POST", "/api/messaging/stop", alice), 403, "FORBIDDEN");
  ExpectError(Call("GET", "/api/v1/pacing", ""), 401, "UNAUTHORIZED");
  ExpectError(Call("GET", "/api/messages/sent", ""), 401, "UNAUTHORIZED");
  const auto stopped = CallJson("POST", "/api/messaging/stop", admin, nullptr, 200);
  EXPECT_EQ(stopped["running"], false);
  const auto status = CallJson("GET", "/api/v1/pacing", alice, nullptr, 200);
  EXPECT_EQ(status, stopped);
  EXPECT_EQ(status["interval_seconds"], 1);

  ExpectError(Call("POST", "/api/v1/paced-messages", alice, "{nope"), 400, "INVALID_JSON");
  const auto bad_phone = Call("POST", "/api/v1/paced-messages", alice, json{{"to", "0123"}, {"content", "x"}}.dump());
  ExpectError(bad_phone, 400, "VALIDATION_FAILED");
  EXPECT_NE(bad_phone.body.find("to:"), std::string::npos) << bad_phone.body;
  ExpectError(Call("POST", "/api/v1/paced-messages", alice, json{{"to", "+15551230001"}}.dump()), 400,
               "VALIDATION_FAILED");
  const auto too_long = Call("POST", "/api/v1/paced-messages", alice,
                             json{{"to", "+15551230001"}, {"content", std::string(153 * 10 + 1, 'a')}}.dump());
  ExpectError(too_long, 400, "VALIDATION_FAILED");
  EXPECT_NE(too_long.body.find("content:"), std::string::npos) << too_long.body;

  const auto first = Enqueue(alice, 1);
  Enqueue(alice, 2);
  Enqueue(bob, 3);
  EXPECT_EQ(CallJson("GET", "/api/messages/sent", admin, nullptr, 200)["pagination"]["total_count"], 0);
  EXPECT_EQ(CallJson("POST", "/api/messaging/start", admin, nullptr, 200)["running"], true);
  ASSERT_TRUE(WaitFor(
      [&] { return CallJson("GET", "/api/messages/sent", admin, nullptr, 200)["pagination"]["total_count"] == 3; },
      seconds(10)));

  const auto mine = CallJson("GET", "/api/messages/sent", alice, nullptr, 200);
  ASSERT_EQ(mine["pagination"]["total_count"], 2) << mine.dump();
  for (const auto& m : mine["data"]) {
    EXPECT_EQ(m["provider_message_id"].get<std::string>().rfind("mock-", 0), 0u) << m.dump();
    EXPECT_TRUE(m["sent_at"].is_string());
  }
  EXPECT_EQ(Sent(bob)["pagination"]["total_count"], 1);
  const auto page1 = Sent(alice, "?page=1&page_size=1");
  const auto page2 = Sent(alice, "?page=2&page_size=1");
  EXPECT_EQ(page1["pagination"]["total_pages"], 2);
  ASSERT_EQ(page1["data"].size(), 1u);
  ASSERT_EQ(page2["data"].size(), 1u);
  EXPECT_GT(page1["data"][0]["id"], page2["data"][0]["id"]) << "newest sent first";
  EXPECT_TRUE(Sent(alice, "?page=3&page_size=1")["data"].empty());
  ExpectError(Call("GET", "/api/messages/sent?page=0", alice), 400, "INVALID_QUERY");
  ExpectError(Call("GET", "/api/v1/paced-messages/sent?page_size=501", alice), 400, "INVALID_QUERY");
  ExpectError(Call("GET", "/api/v1/paced-messages/sent?page_size=abc", alice), 400, "INVALID_QUERY");

  EXPECT_EQ(json::parse(Call("GET", "/health", "").body)["pacer"]["running"], true);
  const auto metrics = HttpRequest("GET", DeliveryUrl("/metrics"), {}, {}).body;
  EXPECT_NE(metrics.find("paced_messages_processed_total{status=\"sent\"} 3"), std::string::npos) << metrics;

  const auto path = "/api/v1/paced-messages/" + std::to_string(first);
  ExpectError(Call("GET", path, bob), 404, "PACED_MESSAGE_NOT_FOUND");
  EXPECT_EQ(CallJson("GET", path, admin, nullptr, 200)["status"], "sent");
}

// Paced messages are messages of their own lane: an API SMS goes at once while
// the pacer is stopped, a paced one waits; both are seen, and the paced one is
// cancelled, through the messages API; the paced list never shows the API's.
TEST_F(PacingE2E, PacedAndApiSmsShareOneTableButNotOneLane) {
  UseProviderSink();
  const auto admin = CreateKey("ops", "admin");
  const auto app = CreateKey("app");
  StartServer();
  CallJson("POST", "/api/v1/pacing/stop", admin, nullptr, 200);
  const auto paced = Enqueue(app, 1);
  const auto waiting = Enqueue(app, 2);
  const auto api = CallJson("POST", "/api/v1/messages", app,
                            {{"recipients", {{{"channel", "sms"}, {"to", "+15551239999"}}}}, {"content", "api sms"}},
                            202);
  const auto api_id = api["id"].get<std::int64_t>();
  ASSERT_TRUE(WaitFor([&] { return Received() == 1; }, seconds(10)));
  EXPECT_FALSE(WaitFor([&] { return Received() > 1; }, milliseconds(1500))) << "a paced message went while stopped";
  EXPECT_EQ(sink_->Requests().at(0)["body"].value("content", ""), "api sms");

  const auto seen = CallJson("GET", "/api/v1/messages/" + std::to_string(paced), app, nullptr, 200);
  EXPECT_EQ(seen["recipients"][0]["channel"], "sms") << seen.dump();
  EXPECT_EQ(seen["recipients"][0]["status"], "queued") << seen.dump();
  const auto cancelled = CallJson("DELETE", "/api/v1/messages/" + std::to_string(waiting), app, nullptr, 200);
  EXPECT_EQ(cancelled["cancelled_recipients"], 1) << cancelled.dump();
  ExpectError(Call("GET", "/api/v1/paced-messages/" + std::to_string(api_id), app), 404, "PACED_MESSAGE_NOT_FOUND");

  CallJson("POST", "/api/v1/pacing/start", admin, nullptr, 200);
  ASSERT_TRUE(WaitFor([&] { return Received() == 2; }, seconds(10)));
  EXPECT_FALSE(WaitFor([&] { return Received() > 2; }, milliseconds(2500))) << "the cancelled one was sent";
  EXPECT_EQ(sink_->Requests().at(1)["body"].value("content", ""), "paced 1");
  ASSERT_TRUE(WaitFor([&] { return Sent(app)["pagination"]["total_count"] == 1; }, seconds(10)));
  EXPECT_EQ(Sent(app)["data"][0]["id"], paced);
  EXPECT_EQ(CallJson("GET", "/api/v1/paced-messages/" + std::to_string(waiting), app, nullptr, 200)["status"],
            "cancelled");
  const auto metrics = HttpRequest("GET", DeliveryUrl("/metrics"), {}, {}).body;
  EXPECT_NE(metrics.find("paced_messages_processed_total{status=\"sent\"} 1"), std::string::npos) << metrics;
}

}  // namespace
}  // namespace herald::testing
