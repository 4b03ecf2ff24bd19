// End-to-end tests of `herald migrate` and of how the real binary treats the
// schema of the data dir's herald.db.
#include <sys/stat.h>

#include "store/sqlite/database.hpp"
#include "store/sqlite/migrations.hpp"
#include "tests/e2e/serve_fixture.hpp"

namespace herald::testing {
namespace {

class MigrateE2E : public ServeE2E {
 protected:
  // stdout and stderr together, so the test reads what a user sees.
  CommandResult Herald(const std::string& args) {
    return RunCommand({"/bin/sh", "-c", std::string(HERALD_BINARY) + " " + args + " 2>&1"}, seconds(30),
                      Environment());
  }
  std::string DbPath() const { return data_dir_ + "/herald.db"; }
};

TEST_F(MigrateE2E, CreatesTheSchemaThenSaysItIsUpToDate) {
  const auto first = Herald("migrate --data-dir " + data_dir_);
  EXPECT_EQ(first.exit_code, 0) << first.output;
  EXPECT_NE(first.output.find(DbPath() + ": created the schema to version " +
                              std::to_string(store::sqlite::LatestSchemaVersion()) + " (applied 0001_initial"),
            std::string::npos)
      << first.output;

  const auto second = Herald("migrate --data-dir " + data_dir_);
  EXPECT_EQ(second.exit_code, 0) << second.output;
  EXPECT_EQ(second.output, DbPath() + ": the schema is up to date at version " +
                               std::to_string(store::sqlite::LatestSchemaVersion()) + "\n");

  // The migrated file is the one the server and the key tool use.
  const auto admin = CreateKey("ops", "admin");
  StartServer();
  EXPECT_EQ(CallJson("GET", "/api/v1/keys", admin, nullptr, 200)["data"].size(), 1u);

  // Not under a running server, which would see a schema its code does not know.
  const auto busy = Herald("migrate --data-dir " + data_dir_);
  EXPECT_EQ(busy.exit_code, 1) << busy.output;
  EXPECT_NE(busy.output.find("is in use by another herald process"), std::string::npos) << busy.output;
}

TEST_F(MigrateE2E, TheDataDirAndTheDatabaseAreTheOwnersAlone) {
  const auto old_mask = ::umask(022);
  const auto result = Herald("keys create --name ops --data-dir " + data_dir_);
  ::umask(old_mask);
  ASSERT_EQ(result.exit_code, 0) << result.output;
  namespace fs = std::filesystem;
  EXPECT_EQ(fs::status(data_dir_).permissions(), fs::perms::owner_all);
  for (const auto* name : {"herald.db", "herald.db-wal", "herald.db-shm"}) {
    const auto path = data_dir_ + "/" + name;
    if (!fs::exists(path)) continue;  // WAL files may be gone after a clean close
    EXPECT_EQ(fs::status(path).permissions(), fs::perms::owner_read | fs::perms::owner_write) << name;
  }
  // A folder the user made keeps the mode the user gave it.
  const auto own = dir_.path() + "/own";
  fs::create_directories(own);
  fs::permissions(own, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec);
  ASSERT_EQ(Herald("migrate --data-dir " + own).exit_code, 0);
  EXPECT_EQ(fs::status(own).permissions(), fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec);
  EXPECT_EQ(fs::status(own + "/herald.db").permissions(), fs::perms::owner_read | fs::perms::owner_write);
}

TEST_F(MigrateE2E, AnOldFileIsUpgradedInPlaceAndKeepsItsRows) {
  std::filesystem::create_directories(data_dir_);
  {
    // herald.db as written before versioned migrations: no schema_migrations,
    // messages without their html column.
    store::sqlite::Database old(DbPath());
    old.Execute(
        "CREATE TABLE api_keys (id INTEGER PRIMARY KEY, name TEXT NOT NULL, role TEXT NOT NULL, tier TEXT NOT NULL,"
        " key_hash TEXT NOT NULL UNIQUE, key_prefix TEXT NOT NULL, created_at INTEGER NOT NULL, revoked_at INTEGER);"
        "CREATE TABLE messages (id INTEGER PRIMARY KEY, owner_id INTEGER NOT NULL REFERENCES api_keys(id),"
        " idempotency_key TEXT, subject TEXT NOT NULL, content TEXT NOT NULL, priority INTEGER NOT NULL,"
        " scheduled_at INTEGER, created_at INTEGER NOT NULL, UNIQUE (owner_id, idempotency_key));"
        "INSERT INTO api_keys VALUES (1, 'old', 'user', 'free', 'h', 'hk_', 1, NULL);");
  }
  const auto result = Herald("migrate --data-dir " + data_dir_);
  EXPECT_EQ(result.exit_code, 0) << result.output;
  EXPECT_NE(result.output.find("upgraded the schema from version 0 to version"), std::string::npos) << result.output;
  const auto keys = RunCommand({HERALD_BINARY, "keys", "list", "--data-dir", data_dir_}, seconds(30));
  EXPECT_EQ(keys.exit_code, 0);
  EXPECT_NE(keys.output.find("\told\tuser\tfree\t"), std::string::npos) << keys.output;
}

TEST_F(MigrateE2E, AFileFromANewerHeraldIsRefusedByEveryCommandWithTheReason) {
  ASSERT_EQ(Herald("migrate --data-dir " + data_dir_).exit_code, 0);
  {
    store::sqlite::Database db(DbPath());
    db.Prepare("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, 'from_a_newer_herald', 0)")
        .Bind(1, store::sqlite::LatestSchemaVersion() + 1)
        .Step();
  }
  const std::vector<std::string> commands = {"migrate", "keys list",
                                            "serve --listen 127.0.0.1:" + std::to_string(FreePort())};
  for (const auto& command : commands) {
    const auto result = Herald(command + " --data-dir " + data_dir_);
    EXPECT_EQ(result.exit_code, 1) << command << ": " << result.output;
    EXPECT_NE(result.output.find("newer than this herald knows"), std::string::npos) << command << ": "
                                                                                      << result.output;
  }
}

}  // namespace
}  // namespace herald::testing
