// `herald migrate` and `herald keys` on PostgreSQL (store.kind = postgres),
// against a private server started by the test.
#include "tests/e2e/serve_fixture.hpp"
#include "tests/support/postgres_server.hpp"

namespace herald::testing {
namespace {

class MigratePostgresE2E : public ServeE2E {
 protected:
  // stdout and stderr together, so the test reads what a user sees.
  CommandResult Herald(const std::string& args) {
    return RunCommand({"/bin/sh", "-c", std::string(HERALD_BINARY) + " " + args + " 2>&1"}, seconds(30),
                      Environment());
  }
  void UseDatabase(const std::string& name) {
    extra_env_["HERALD_STORE_KIND"] = "postgres";
    extra_env_["HERALD_STORE_URL"] = SharedPostgresServer().NewDatabaseUrl(name);
    where_ = "postgres@127.0.0.1:" + std::to_string(SharedPostgresServer().port()) + "/" + name;
  }
  std::string where_;
};

TEST_F(MigratePostgresE2E, CreatesTheSchemaThenSaysItIsUpToDate) {
  UseDatabase("migrate_twice");
  const auto first = Herald("migrate --data-dir " + data_dir_);
  EXPECT_EQ(first.exit_code, 0) << first.output;
  EXPECT_EQ(first.output.rfind(where_ + ": created the schema to version ", 0), 0u) << first.output;
  EXPECT_NE(first.output.find("(applied 0001_initial"), std::string::npos) << first.output;
  EXPECT_EQ(SharedPostgresServer().Psql("migrate_twice", "SELECT COUNT(*) FROM message_recipients"), "0\n");

  const auto second = Herald("migrate --data-dir " + data_dir_);
  EXPECT_EQ(second.exit_code, 0) << second.output;
  EXPECT_EQ(second.output.rfind(where_ + ": the schema is up to date at version ", 0), 0u) << second.output;
}

TEST_F(MigratePostgresE2E, AnUnreachableServerIsNamedAndItsPasswordIsNot) {
  const int closed = FreePort();
  extra_env_["HERALD_STORE_KIND"] = "postgres";
  extra_env_["HERALD_STORE_URL"] = "postgresql://herald:hunter2@127.0.0.1:" + std::to_string(closed) + "/herald";
  const auto result = Herald("migrate --data-dir " + data_dir_);
  EXPECT_NE(result.exit_code, 0);
  EXPECT_NE(result.output.find("herald@127.0.0.1:" + std::to_string(closed) + "/herald"), std::string::npos)
      << result.output;
  EXPECT_EQ(result.output.find("hunter2"), std::string::npos) << result.output;
}

TEST_F(MigratePostgresE2E, PostgresWithoutAUrlIsRefusedNamingTheSetting) {
  extra_env_["HERALD_STORE_KIND"] = "postgres";
  const auto no_url = Herald("migrate --data-dir " + data_dir_);
  EXPECT_EQ(no_url.exit_code, 2) << no_url.output;
  EXPECT_NE(no_url.output.find("store.url"), std::string::npos) << no_url.output;
}

TEST_F(MigratePostgresE2E, KeysMadeByTheCliAreTheOnesTheServerOnPostgresAccepts) {
  UseDatabase("keys_and_serve");
  const auto admin = CreateKey("ops", "admin");
  StartServer();
  const auto keys = CallJson("GET", "/api/v1/keys", admin, nullptr, 200);
  ASSERT_EQ(keys["data"].size(), 1u) << keys.dump();
  EXPECT_EQ(keys["data"][0]["name"], "ops");
  EXPECT_EQ(SharedPostgresServer().Psql("keys_and_serve", "SELECT name FROM api_keys"), "ops\n");
}

}  // namespace
}  // namespace herald::testing
