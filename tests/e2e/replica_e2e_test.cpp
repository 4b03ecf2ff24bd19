// Seed 002's read replica, end to end: `herald api` on a private PostgreSQL
// primary with a real hot standby streaming from it (pg_basebackup -R), named
// by HERALD_STORE_REPLICA_URL.
// - With the standby's replay paused, a message, contact and template written
//   through the API are missing from the lists (the replica answers them) yet
//   readable by id at once, and a message can name the new template (a row the
//   replica lacks is read from the primary).
// - With the standby killed, every GET still answers, from the primary, and
//   /health names the replica and why; once it is back, reads return to it.
#include "tests/e2e/serve_fixture.hpp"
#include "tests/support/postgres_server.hpp"

namespace herald::testing {
namespace {

class ReplicaE2E : public ServeE2E {
 protected:
  void SetUp() override {
    ServeE2E::SetUp();
    extra_env_["HERALD_STORE_KIND"] = "postgres";
    extra_env_["HERALD_STORE_URL"] = primary_.NewDatabaseUrl("herald");
    const auto migrated = RunCommand({HERALD_BINARY, "migrate", "--data-dir", data_dir_}, seconds(60), Environment());
    ASSERT_EQ(migrated.exit_code, 0) << migrated.output;
    replica_ = PostgresServer::StartReplicaOf(primary_);
    extra_env_["HERALD_STORE_REPLICA_URL"] =
        "postgresql://postgres@127.0.0.1:" + std::to_string(replica_->port()) + "/herald";
  }

  void TearDown() override {
    ServeE2E::TearDown();
    replica_.reset();
  }

  std::int64_t Total(const std::string& path, const std::string& key) {
    return CallJson("GET", path, key, nullptr, 200)["pagination"]["total_count"].get<std::int64_t>();
  }

  json Health() { return json::parse(HttpRequest("GET", Url("/health"), {}, {}).body, nullptr, false); }

  void PauseReplay() {
    replica_->Psql("postgres", "SELECT pg_wal_replay_pause()");
    ASSERT_TRUE(WaitFor([&] { return replica_->Psql("postgres", "SELECT pg_get_wal_replay_pause_state()") == "paused\n"; },
                        seconds(10)));
  }

  PostgresServer primary_;
  std::unique_ptr<PostgresServer> replica_;
};

TEST_F(ReplicaE2E, ListsReadTheReplicaWhileDetailsAndTemplateLookupsFallBackToThePrimary) {
  StartApiProcess(server_, port_, "api.log");
  const auto key = CreateKey("app");
  auto health = Health();
  ASSERT_EQ(health["store"]["replica"]["status"], "ok") << health.dump();
  EXPECT_EQ(health["store"]["replica"]["where"], "postgres@127.0.0.1:" + std::to_string(replica_->port()) + "/herald");

  CallJson("POST", "/api/v1/messages", key, SmsAndEmail("before the pause"), 202);
  // Streaming: the replica has it a moment later.
  ASSERT_TRUE(WaitFor([&] { return Total("/api/v1/messages", key) == 1; }, seconds(10)));

  PauseReplay();
  if (HasFatalFailure()) return;
  const auto message = CallJson("POST", "/api/v1/messages", key, SmsAndEmail("during the pause"), 202);
  const auto contact = CallJson("POST", "/api/v1/contacts", key, {{"email", "ann@example.org"}, {"first_name", "Ann"}}, 201);
  const auto tmpl = CallJson("POST", "/api/v1/templates", key,
                             {{"name", "welcome"}, {"subject", "Welcome {{first_name}}"}, {"text", "Hi {{first_name}}"}},
                             201);
  // The lists are the paused replica's.
  EXPECT_EQ(Total("/api/v1/messages", key), 1);
  EXPECT_EQ(Total("/api/v1/contacts", key), 0);
  EXPECT_EQ(Total("/api/v1/templates", key), 0);
  // Each new row by id, and a message naming the new template: from the primary.
  const auto id = message["id"].get<std::int64_t>();
  EXPECT_EQ(CallJson("GET", "/api/v1/messages/" + std::to_string(id), key, nullptr, 200)["content"], "during the pause");
  EXPECT_EQ(CallJson("GET", "/api/v1/contacts/" + contact["id"].dump(), key, nullptr, 200)["first_name"], "Ann");
  EXPECT_EQ(CallJson("GET", "/api/v1/templates/" + tmpl["id"].dump(), key, nullptr, 200)["name"], "welcome");
  const auto templated = CallJson(
      "POST", "/api/v1/messages", key,
      {{"recipients", {{{"channel", "email"}, {"to", "bo@example.org"}}}}, {"template_id", tmpl["id"]}, {"data", {{"first_name", "Bo"}}}},
      202);
  EXPECT_EQ(CallJson("GET", "/api/v1/messages/" + templated["id"].dump(), key, nullptr, 200)["subject"], "Welcome Bo");
  health = Health();
  EXPECT_EQ(health["status"], "ok") << health.dump();
  EXPECT_GE(health["store"]["replica"]["primary_reads"].get<int>(), 4) << health.dump();
  EXPECT_GE(health["store"]["replica"]["reads"].get<int>(), 5) << health.dump();

  replica_->Psql("postgres", "SELECT pg_wal_replay_resume()");
  EXPECT_TRUE(WaitFor([&] { return Total("/api/v1/messages", key) == 3 && Total("/api/v1/contacts", key) == 1; },
                      seconds(10)));
}

TEST_F(ReplicaE2E, WithTheReplicaDownReadsGoToThePrimaryAndHealthSaysSoUntilItIsBack) {
  StartApiProcess(server_, port_, "api.log");
  const auto key = CreateKey("app");
  const auto message = CallJson("POST", "/api/v1/messages", key, SmsAndEmail("hello"), 202);
  ASSERT_TRUE(WaitFor([&] { return Total("/api/v1/messages", key) == 1; }, seconds(10)));

  replica_->Kill();
  // Every read still answers, with the primary's rows.
  CallJson("POST", "/api/v1/messages", key, SmsAndEmail("while the replica is down"), 202);
  EXPECT_EQ(Total("/api/v1/messages", key), 2);
  EXPECT_EQ(CallJson("GET", "/api/v1/messages/" + message["id"].dump(), key, nullptr, 200)["content"], "hello");
  EXPECT_EQ(Total("/api/v1/campaigns", key), 0);
  auto health = Health();
  EXPECT_EQ(health["status"], "degraded") << health.dump();
  EXPECT_EQ(health["store"]["status"], "ok") << health.dump();
  EXPECT_EQ(health["store"]["replica"]["status"], "error") << health.dump();
  EXPECT_NE(health.value("reason", "").find("store replica postgres@127.0.0.1:" + std::to_string(replica_->port())),
            std::string::npos)
      << health.dump();
  EXPECT_NE(health.value("reason", "").find("reads go to the primary"), std::string::npos) << health.dump();
  EXPECT_EQ(HttpRequest("GET", Url("/ready"), {}, {}).status, 200) << "the primary serves every read";

  replica_->StartAgain();
  // Tried again every couple of seconds: back within a few, and reading it again.
  ASSERT_TRUE(WaitFor([&] { return Health()["store"]["replica"]["status"] == "ok"; }, seconds(15))) << Health().dump();
  const auto before = Health()["store"]["replica"]["reads"].get<int>();
  EXPECT_TRUE(WaitFor([&] { return Total("/api/v1/messages", key) == 2; }, seconds(10)));
  EXPECT_GT(Health()["store"]["replica"]["reads"].get<int>(), before);
  EXPECT_EQ(Health()["status"], "ok");
}

TEST_F(ReplicaE2E, AnUnreachableReplicaAtStartIsNoErrorAndIsUsedOnceItAnswers) {
  replica_->Kill();
  StartApiProcess(server_, port_, "api.log");
  const auto key = CreateKey("app");
  CallJson("POST", "/api/v1/messages", key, SmsAndEmail("hello"), 202);
  EXPECT_EQ(Total("/api/v1/messages", key), 1);
  EXPECT_EQ(Health()["store"]["replica"]["status"], "error");
  EXPECT_NE(ReadFile(dir_.path() + "/api.log").find("reads go to the primary until it answers"), std::string::npos)
      << ReadFile(dir_.path() + "/api.log");
  replica_->StartAgain();
  EXPECT_TRUE(WaitFor([&] { return Health()["store"]["replica"]["status"] == "ok"; }, seconds(15))) << Health().dump();
}

}  // namespace
}  // namespace herald::testing
