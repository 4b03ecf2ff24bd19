// The PostgreSQL store's connection and migrations against a private server
// (tests/support/postgres_server): schema created once, refused when behind or
// newer, safe when two processes migrate at once, deadlines on queries, and
// errors that name the server but never the password.
#include "store/postgres/migrations.hpp"
#include "store/postgres/pg_pool.hpp"

#include <gtest/gtest.h>

#include <thread>

#include "tests/support/postgres_server.hpp"

namespace herald::store::postgres {
namespace {

using herald::testing::SharedPostgresServer;
using std::chrono::milliseconds;

constexpr milliseconds kQueryTimeout{10000};

std::string NewDatabase(const std::string& name) { return SharedPostgresServer().NewDatabaseUrl(name); }

bool HasTable(PgConnection& db, const std::string& table) {
  return db.Exec("SELECT to_regclass($1) IS NOT NULL", {table}).Text(0, 0) == "t";
}

TEST(PostgresMigrations, AreNumberedFromOneWithoutAGap) {
  ASSERT_FALSE(Migrations().empty());
  int expected = 1;
  for (const auto& migration : Migrations()) EXPECT_EQ(migration.version, expected++);
  EXPECT_EQ(Migrations().front().name, "0001_initial");
}

TEST(PostgresMigrations, ANewDatabaseGetsTheSchemaOnceAndASecondRunAppliesNothing) {
  PgConnection db(NewDatabase("fresh"), kQueryTimeout);
  EXPECT_EQ(SchemaVersion(db), 0);
  const auto first = Migrate(db);
  EXPECT_EQ(first.from_version, 0);
  EXPECT_EQ(first.to_version, LatestSchemaVersion());
  ASSERT_EQ(first.applied.size(), Migrations().size());
  for (const auto* table : {"api_keys", "messages", "message_recipients", "contacts", "templates", "campaigns",
                            "campaign_messages", "pacer_state", "certificate_deliveries", "certificate_lanes"}) {
    EXPECT_TRUE(HasTable(db, table)) << table;
  }
  const auto second = Migrate(db);
  EXPECT_TRUE(second.applied.empty());
  EXPECT_EQ(second.from_version, LatestSchemaVersion());
  EXPECT_EQ(db.Exec("SELECT COUNT(*) FROM schema_migrations").Int(0, 0), static_cast<std::int64_t>(Migrations().size()));
  EXPECT_NO_THROW(RequireCurrentSchema(db));
}

// 0006 moves the outbox off the recipient rows: what was queued and never
// published is in the outbox after it, nothing else is.
TEST(PostgresMigrations, RecipientsNeverPublishedAreInTheOutboxAfterVersion6) {
  PgConnection db(NewDatabase("outbox_moved"), kQueryTimeout);
  for (const auto& migration : Migrations()) {
    if (migration.version < 6) db.ExecScript(std::string(migration.sql));
  }
  db.ExecScript(
      "INSERT INTO api_keys (id, name, role, tier, key_hash, key_prefix, created_at) "
      "VALUES (1, 'k', 'user', 'free', 'h', 'p', 1);"
      "INSERT INTO messages (id, owner_id, subject, content, priority, created_at) VALUES (1, 1, '', 'x', 0, 1);"
      "INSERT INTO message_recipients (id, message_id, lane, channel, address, status, priority, due_at, "
      "updated_at, published) VALUES "
      "(1, 1, 'email', 'email', 'a@example.org', 'queued', 3, 10, 1, 0),"
      "(2, 1, 'email', 'email', 'b@example.org', 'queued', 0, 10, 1, 1),"
      "(3, 1, 'sms', 'sms', '+15551230001', 'sent', 0, 10, 1, 0),"
      "(4, 1, 'paced', 'email', 'c@example.org', 'queued', 0, 10, 1, 0);");
  db.ExecScript(std::string(Migrations()[5].sql));
  const auto outbox = db.Exec("SELECT recipient_id, lane, priority, due_at FROM message_outbox ORDER BY 1");
  ASSERT_EQ(outbox.Rows(), 1);
  EXPECT_EQ(outbox.Int(0, 0), 1);
  EXPECT_EQ(outbox.Text(0, 1), "email");
  EXPECT_EQ(outbox.Int(0, 2), 3);
  EXPECT_EQ(outbox.Int(0, 3), 10);
  EXPECT_EQ(db.Exec("SELECT COUNT(*) FROM information_schema.columns WHERE table_name = 'message_recipients' "
                    "AND column_name = 'published'")
                .Int(0, 0),
            0);
}

TEST(PostgresMigrations, MessageBodiesAreCompressedWithLz4) {
  PgConnection db(NewDatabase("lz4_bodies"), kQueryTimeout);
  Migrate(db);
  const auto methods = db.Exec(
      "SELECT attname, attcompression FROM pg_attribute WHERE attrelid = 'messages'::regclass "
      "AND attname IN ('content', 'html') ORDER BY attname");
  ASSERT_EQ(methods.Rows(), 2);
  EXPECT_EQ(methods.Text(0, 1), "l") << methods.Text(0, 0);
  EXPECT_EQ(methods.Text(1, 1), "l") << methods.Text(1, 0);
}

TEST(PostgresMigrations, ADatabaseBehindIsRefusedWithTheCommandThatFixesIt) {
  PgConnection db(NewDatabase("behind"), kQueryTimeout);
  try {
    RequireCurrentSchema(db);
    FAIL() << "a new database is behind";
  } catch (const SchemaError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("schema version 0"), std::string::npos) << what;
    EXPECT_NE(what.find("herald migrate"), std::string::npos) << what;
    EXPECT_NE(what.find("127.0.0.1:" + std::to_string(SharedPostgresServer().port()) + "/behind"), std::string::npos)
        << what;
  }
  EXPECT_FALSE(HasTable(db, "api_keys")) << "checking must not write";
}

TEST(PostgresMigrations, ADatabaseFromANewerHeraldIsRefusedAndLeftAlone) {
  PgConnection db(NewDatabase("newer"), kQueryTimeout);
  Migrate(db);
  db.Exec("INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, 'from_a_newer_herald', 0)",
          {std::to_string(LatestSchemaVersion() + 1)});
  EXPECT_THROW(Migrate(db), SchemaError);
  EXPECT_THROW(RequireCurrentSchema(db), SchemaError);
  EXPECT_EQ(SchemaVersion(db), LatestSchemaVersion() + 1);
}

TEST(PostgresMigrations, ProcessesMigratingAtOnceApplyEachMigrationOnce) {
  const auto url = NewDatabase("race");
  std::vector<MigrationReport> reports(4);
  std::vector<std::thread> racers;
  for (auto& report : reports) {
    racers.emplace_back([&url, &report] {
      PgConnection db(url, kQueryTimeout);
      report = Migrate(db);
    });
  }
  for (auto& racer : racers) racer.join();
  std::size_t applied = 0;
  for (const auto& report : reports) {
    applied += report.applied.size();
    EXPECT_EQ(report.to_version, LatestSchemaVersion());
  }
  EXPECT_EQ(applied, Migrations().size()) << "each migration applied by exactly one of them";
  PgConnection db(url, kQueryTimeout);
  EXPECT_EQ(db.Exec("SELECT COUNT(*) FROM schema_migrations").Int(0, 0), static_cast<std::int64_t>(Migrations().size()));
}

TEST(PostgresConnection, EveryQueryHasADeadline) {
  PgConnection db(NewDatabase("deadline"), milliseconds(200));
  const auto started = std::chrono::steady_clock::now();
  try {
    db.Exec("SELECT pg_sleep(10)");
    FAIL() << "the query outlived its deadline";
  } catch (const PgError& e) {
    EXPECT_EQ(e.sqlstate(), "57014") << e.what();  // query_canceled
  }
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(5));
  EXPECT_EQ(db.Exec("SELECT 1 + $1::int", {"1"}).Int(0, 0), 2) << "the connection stays usable";
}

TEST(PostgresConnection, ParametersTravelApartFromTheSqlAndNullsStayNull) {
  PgConnection db(NewDatabase("params"), kQueryTimeout);
  const auto row = db.Exec("SELECT $1::text, $2::text IS NULL", {"'; DROP TABLE x; --", std::nullopt});
  EXPECT_EQ(row.Text(0, 0), "'; DROP TABLE x; --");
  EXPECT_EQ(row.Text(0, 1), "t");
}

TEST(PostgresConnection, AnUnreachableServerIsNamedWithoutThePassword) {
  const int closed = herald::testing::FreePort();
  const auto url = "postgresql://herald:hunter2@127.0.0.1:" + std::to_string(closed) + "/herald";
  try {
    PgConnection db(url, kQueryTimeout, std::chrono::seconds(2));
    FAIL() << "connected to a closed port";
  } catch (const PgError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("herald@127.0.0.1:" + std::to_string(closed) + "/herald"), std::string::npos) << what;
    EXPECT_EQ(what.find("hunter2"), std::string::npos) << what;
  }
  EXPECT_EQ(DescribeConnection(url), "herald@127.0.0.1:" + std::to_string(closed) + "/herald");
}

TEST(PostgresPool, AConnectionLostToAServerRestartIsReplaced) {
  PgPool pool(NewDatabase("restart"), 1, kQueryTimeout);
  {
    auto db = pool.Acquire();
    ASSERT_EQ(db->Exec("SELECT 1").Int(0, 0), 1);
  }
  SharedPostgresServer().Restart();
  {
    // The one pooled connection died with the server: its next query fails...
    auto db = pool.Acquire();
    EXPECT_THROW(db->Exec("SELECT 1"), PgError);
  }
  // ...and the pool opens a new one instead of handing the dead one out again.
  auto db = pool.Acquire();
  EXPECT_EQ(db->Exec("SELECT 1").Int(0, 0), 1);
}

TEST(PostgresConnection, AQueryErrorCarriesItsSqlstateAndTheServer) {
  PgConnection db(NewDatabase("errors"), kQueryTimeout);
  try {
    db.Exec("SELECT * FROM no_such_table");
    FAIL();
  } catch (const PgError& e) {
    EXPECT_EQ(e.sqlstate(), "42P01") << e.what();  // undefined_table
    EXPECT_NE(std::string(e.what()).find("no_such_table"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace herald::store::postgres
