// `herald serve` on PostgreSQL (store.kind = postgres): the crash scenario of
// serve_crash_fixture.hpp with the messages, contacts and campaigns in a
// private PostgreSQL server, the message lanes reading its recipients table.
#include "tests/e2e/serve_crash_fixture.hpp"
#include "tests/support/postgres_server.hpp"

namespace herald::testing {
namespace {

class ServePostgresE2E : public ServeCrashE2E {
 protected:
  void UseDatabase(const std::string& name) {
    database_ = name;
    extra_env_["HERALD_STORE_KIND"] = "postgres";
    extra_env_["HERALD_STORE_URL"] = SharedPostgresServer().NewDatabaseUrl(name);
  }
  std::string database_;
};

TEST_F(ServePostgresE2E, KilledFourTimesWhileDeliveringTwentyThousandEmailsEveryoneGetsOneCopy) {
  UseDatabase("crash");
  KillFourTimesWhileDeliveringAndExpectOneCopyEach();
  const auto health = json::parse(HttpRequest("GET", Url("/health"), {}, {}).body);
  EXPECT_EQ(health["store"]["kind"], "postgres") << health.dump();
  // The campaign lives in PostgreSQL, not in a herald.db beside it.
  EXPECT_EQ(SharedPostgresServer().Psql(database_, "SELECT COUNT(*) FROM message_recipients"),
            std::to_string(kRecipients) + "\n");
  EXPECT_FALSE(fs::exists(data_dir_ + "/herald.db"));
}

}  // namespace
}  // namespace herald::testing
