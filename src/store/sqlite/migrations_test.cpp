#include "store/sqlite/migrations.hpp"

#include <gtest/gtest.h>

#include <thread>

#include "store/sqlite/shared_database.hpp"
#include "tests/support/process.hpp"

namespace herald::store::sqlite {
namespace {

using herald::testing::TempDir;

bool HasTable(Database& db, const std::string& name) {
  return db.Prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").Bind(1, name).Step();
}

std::vector<std::string> RecordedMigrations(Database& db) {
  std::vector<std::string> names;
  auto rows = db.Prepare("SELECT version, name FROM schema_migrations ORDER BY version");
  while (rows.Step()) names.push_back(std::to_string(rows.ColumnInt(0)) + " " + rows.ColumnText(1));
  return names;
}

TEST(Migrations, AreNumberedFromOneWithoutAGap) {
  ASSERT_FALSE(Migrations().empty());
  int expected = 1;
  for (const auto& migration : Migrations()) {
    EXPECT_EQ(migration.version, expected++);
    EXPECT_FALSE(migration.sql.empty()) << migration.name;
  }
  EXPECT_EQ(Migrations().front().name, "0001_initial");
  EXPECT_EQ(LatestSchemaVersion(), Migrations().back().version);
}

TEST(Migrations, ANewFileGetsEverySchemaOnceAndASecondRunAppliesNothing) {
  TempDir dir;
  Database db(dir.path() + "/herald.db");
  EXPECT_EQ(SchemaVersion(db), 0);
  const auto first = Migrate(db);
  EXPECT_EQ(first.from_version, 0);
  EXPECT_EQ(first.to_version, LatestSchemaVersion());
  EXPECT_FALSE(first.adopted_unversioned);
  ASSERT_EQ(first.applied.size(), Migrations().size());
  EXPECT_EQ(first.applied.front(), "0001_initial");
  for (const auto* table : {"api_keys", "messages", "message_recipients", "contacts", "templates", "campaigns",
                            "campaign_messages", "pacer_state", "certificate_deliveries",
                            "certificate_lanes", "queue_lanes", "queue_items", "queue_dead"}) {
    EXPECT_TRUE(HasTable(db, table)) << table;
  }
  EXPECT_FALSE(HasTable(db, "paced_messages")) << "paced messages are messages since 0003";
  EXPECT_EQ(RecordedMigrations(db).size(), Migrations().size());
  EXPECT_EQ(RecordedMigrations(db).front(), "1 0001_initial");

  const auto second = Migrate(db);
  EXPECT_TRUE(second.applied.empty());
  EXPECT_EQ(second.from_version, LatestSchemaVersion());
  EXPECT_EQ(RecordedMigrations(db).size(), Migrations().size());
  EXPECT_NO_THROW(RequireCurrentSchema(db));
}

TEST(Migrations, AFileBehindIsRefusedWithTheCommandThatFixesIt) {
  TempDir dir;
  Database db(dir.path() + "/herald.db");
  try {
    RequireCurrentSchema(db);
    FAIL() << "a new file is behind";
  } catch (const SchemaError& e) {
    EXPECT_NE(std::string(e.what()).find("schema version 0"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("herald migrate"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(dir.path()), std::string::npos) << e.what();
  }
  EXPECT_FALSE(HasTable(db, "api_keys")) << "checking must not write";
}

TEST(Migrations, AFileFromANewerHeraldIsRefusedWhetherMigratingOrNot) {
  TempDir dir;
  const auto path = dir.path() + "/herald.db";
  {
    Database db(path);
    Migrate(db);
    db.Prepare("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, 'from_the_future', 0)")
        .Bind(1, LatestSchemaVersion() + 1)
        .Step();
  }
  for (const auto policy : {SchemaPolicy::kMigrate, SchemaPolicy::kRequireCurrent}) {
    try {
      SharedDatabase db(path, policy);
      FAIL() << "a newer schema was accepted";
    } catch (const SchemaError& e) {
      EXPECT_NE(std::string(e.what()).find("newer than this herald"), std::string::npos) << e.what();
    }
  }
}

TEST(Migrations, AFailedMigrationChangesNothingAndNamesTheMigration) {
  TempDir dir;
  Database db(dir.path() + "/herald.db");
  // A view where 0001 creates a table: creating the table is skipped (IF NOT
  // EXISTS), indexing it then fails, halfway through the migration.
  db.Execute("CREATE VIEW message_recipients AS SELECT 1 AS message_id");
  try {
    Migrate(db);
    FAIL() << "the migration cannot succeed";
  } catch (const SchemaError& e) {
    EXPECT_NE(std::string(e.what()).find("0001_initial failed, nothing was changed"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(HasTable(db, "api_keys"));
  EXPECT_FALSE(HasTable(db, "schema_migrations"));
  EXPECT_EQ(SchemaVersion(db), 0);
}

TEST(Migrations, ProcessesOpeningANewFileAtOnceApplyEachMigrationOnce) {
  TempDir dir;
  const auto path = dir.path() + "/herald.db";
  constexpr int kOpeners = 4;
  std::vector<MigrationReport> reports(kOpeners);
  std::vector<std::thread> openers;
  for (int i = 0; i < kOpeners; ++i) {
    openers.emplace_back([&, i] { reports[i] = SharedDatabase(path, SchemaPolicy::kMigrate).migration(); });
  }
  for (auto& opener : openers) opener.join();
  std::size_t applied = 0;
  for (const auto& report : reports) {
    applied += report.applied.size();
    EXPECT_EQ(report.to_version, LatestSchemaVersion());
  }
  EXPECT_EQ(applied, Migrations().size());
  Database db(path);
  EXPECT_EQ(RecordedMigrations(db).size(), Migrations().size());
}

TEST(Migrations, AdoptingAnOldFileGivesItTodaysIndexes) {
  TempDir dir;
  Database db(dir.path() + "/herald.db");
  // The recipients table as an early version left it: the due index in another
  // order, and an index that no longer exists.
  db.Execute(
      "CREATE TABLE api_keys (id INTEGER PRIMARY KEY, name TEXT NOT NULL, role TEXT NOT NULL, tier TEXT NOT NULL,"
      " key_hash TEXT NOT NULL UNIQUE, key_prefix TEXT NOT NULL, created_at INTEGER NOT NULL, revoked_at INTEGER);"
      "CREATE TABLE message_recipients (id INTEGER PRIMARY KEY, message_id INTEGER NOT NULL, channel TEXT NOT NULL,"
      " address TEXT NOT NULL, status TEXT NOT NULL, priority INTEGER NOT NULL, due_at INTEGER NOT NULL,"
      " attempts INTEGER NOT NULL DEFAULT 0, provider_message_id TEXT NOT NULL DEFAULT '',"
      " last_error TEXT NOT NULL DEFAULT '', updated_at INTEGER NOT NULL, sent_at INTEGER);"
      "CREATE INDEX message_recipients_due ON message_recipients (channel, priority DESC, due_at)"
      " WHERE status = 'queued';"
      "CREATE INDEX message_recipients_sending ON message_recipients (status) WHERE status = 'sending';");
  const auto report = Migrate(db);
  EXPECT_TRUE(report.adopted_unversioned);
  auto index = db.Prepare("SELECT sql FROM sqlite_master WHERE type = 'index' AND name = ?");
  ASSERT_TRUE(index.Bind(1, "message_recipients_due").Step());
  EXPECT_NE(index.ColumnText(0).find("(lane, priority, due_at, id)"), std::string::npos) << index.ColumnText(0);
  index.Reset();
  EXPECT_FALSE(index.Bind(1, "message_recipients_sending").Step());
}

// A file at version 1 whose embedded queue made its own tables (as it did
// before 0002) keeps its queued items.
TEST(Migrations, TheQueueTablesAQueueMadeBeforeVersion2AreAdoptedWithTheirItems) {
  TempDir dir;
  Database db(dir.path() + "/herald.db");
  db.Execute(std::string(Migrations().front().sql));
  db.Execute(
      "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL);"
      "INSERT INTO schema_migrations VALUES (1, '0001_initial', 0);"
      "CREATE TABLE queue_lanes (name TEXT PRIMARY KEY);"
      "CREATE TABLE queue_items (id INTEGER PRIMARY KEY AUTOINCREMENT, lane TEXT NOT NULL, message_id TEXT NOT NULL,"
      " body TEXT NOT NULL, priority INTEGER NOT NULL DEFAULT 0, available_at INTEGER NOT NULL,"
      " leased_until INTEGER NOT NULL DEFAULT 0, delivery_count INTEGER NOT NULL DEFAULT 0, UNIQUE (lane, message_id));"
      "INSERT INTO queue_lanes VALUES ('herald.certificates.go');"
      "INSERT INTO queue_items (lane, message_id, body, available_at) VALUES ('herald.certificates.go', 'd1', '{}', 0);");
  const auto report = Migrate(db);
  EXPECT_EQ(report.from_version, 1);
  EXPECT_EQ(report.to_version, LatestSchemaVersion());
  ASSERT_FALSE(report.applied.empty());
  EXPECT_EQ(report.applied.front(), "0002_embedded_queue");
  EXPECT_TRUE(HasTable(db, "queue_dead"));
  auto items = db.Prepare("SELECT message_id FROM queue_items WHERE lane = 'herald.certificates.go'");
  ASSERT_TRUE(items.Step());
  EXPECT_EQ(items.ColumnText(0), "d1");
}

// A version-2 file: its paced messages become messages of the lane 'paced'
// (ids moved past the messages there were), every state and time kept; the
// API's recipients are in their channel's lane; the schedule stays.
TEST(Migrations, PacedMessagesOfAVersion2FileBecomeMessagesOfThePacedLaneWithTheirState) {
  TempDir dir;
  Database db(dir.path() + "/herald.db");
  db.Execute(std::string(Migrations()[0].sql));
  db.Execute(std::string(Migrations()[1].sql));
  db.Execute(
      "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL);"
      "INSERT INTO schema_migrations VALUES (1, '0001_initial', 0), (2, '0002_embedded_queue', 0);"
      "INSERT INTO api_keys VALUES (7, 'k', 'user', 'free', 'hash', 'hk_', 0, NULL);"
      "INSERT INTO messages (id, owner_id, subject, content, priority, created_at) VALUES"
      " (1, 7, 's', 'api one', 0, 10), (2, 7, 's', 'api two', 5, 11);"
      "INSERT INTO message_recipients (message_id, channel, address, status, priority, due_at, updated_at) VALUES"
      " (1, 'email', 'a@example.com', 'queued', 0, 10, 10), (2, 'sms', '+15550000009', 'sent', 5, 11, 11);"
      "INSERT INTO paced_messages (id, owner_id, recipient, content, status, attempts, retry_at,"
      " provider_message_id, last_error, created_at, updated_at, sent_at) VALUES"
      " (1, 7, '+15550000001', 'paced sent', 'sent', 1, 0, 'SM1', '', 100, 150, 150),"
      " (2, 7, '+15550000002', 'paced retry', 'queued', 1, 9000, '', 'busy', 200, 250, NULL),"
      " (3, 7, '+15550000003', 'paced waiting', 'queued', 0, 0, '', '', 300, 300, NULL);"
      "INSERT INTO pacer_state VALUES (1, 0, 4242, 1);");
  const auto report = Migrate(db);
  EXPECT_EQ(report.from_version, 2);
  EXPECT_EQ(report.applied, (std::vector<std::string>{"0003_paced_messages_are_messages", "0004_message_outbox",
                                                       "0005_delivery_claimants", "0006_certificate_jobs",
                                                       "0007_provider_events"}));
  EXPECT_FALSE(HasTable(db, "paced_messages"));

  auto rows = db.Prepare(
      "SELECT m.id, m.owner_id, m.content, r.lane, r.channel, r.address, r.status, r.attempts, r.due_at,"
      " r.provider_message_id, r.last_error, COALESCE(r.sent_at, -1), m.created_at"
      " FROM message_recipients r JOIN messages m ON m.id = r.message_id ORDER BY m.id");
  std::vector<std::string> seen;
  while (rows.Step()) {
    std::string row;
    for (int column = 0; column < 13; ++column) row += (column ? "|" : "") + rows.ColumnText(column);
    seen.push_back(row);
  }
  EXPECT_EQ(seen, (std::vector<std::string>{
                      "1|7|api one|email|email|a@example.com|queued|0|10|||-1|10",
                      "2|7|api two|sms|sms|+15550000009|sent|0|11|||-1|11",
                      "3|7|paced sent|paced|sms|+15550000001|sent|1|100|SM1||150|100",
                      "4|7|paced retry|paced|sms|+15550000002|queued|1|9000||busy|-1|200",
                      "5|7|paced waiting|paced|sms|+15550000003|queued|0|300|||-1|300",
                  }));
  // 0004: no recipient was handed to a broker yet.
  auto published = db.Prepare("SELECT COUNT(*) FROM message_recipients WHERE published <> 0");
  ASSERT_TRUE(published.Step());
  EXPECT_EQ(published.ColumnInt(0), 0);
  auto schedule = db.Prepare("SELECT running, next_release_at FROM pacer_state");
  ASSERT_TRUE(schedule.Step());
  EXPECT_EQ(schedule.ColumnInt(0), 0);
  EXPECT_EQ(schedule.ColumnInt(1), 4242);
  // New messages go on after the moved ones.
  db.Execute("INSERT INTO messages (owner_id, subject, content, priority, created_at) VALUES (7, '', 'new', 0, 1)");
  EXPECT_EQ(sqlite3_last_insert_rowid(db.handle()), 6);
}

TEST(SharedDatabase, RequiringTheCurrentSchemaOpensAMigratedFileAndRefusesANewOne) {
  TempDir dir;
  const auto path = dir.path() + "/herald.db";
  EXPECT_THROW(SharedDatabase(path, SchemaPolicy::kRequireCurrent), SchemaError);
  const auto applied = SharedDatabase(path, SchemaPolicy::kMigrate).migration().applied;
  EXPECT_EQ(applied.size(), Migrations().size());
  SharedDatabase current(path, SchemaPolicy::kRequireCurrent);
  EXPECT_TRUE(current.migration().applied.empty());
  EXPECT_EQ(current.migration().to_version, LatestSchemaVersion());
}

TEST(SharedDatabase, WritersOnBothConnectionsNeverLoseARowAndReadersSeeTheirCommits) {
  TempDir dir;
  SharedDatabase db(dir.path() + "/herald.db", SchemaPolicy::kMigrate);
  constexpr int kRows = 200;
  auto write = [&](bool durable, int base) {
    for (int i = 0; i < kRows; ++i) {
      auto writer = durable ? db.Durable() : db.Fast();
      Transaction tx(*writer);
      writer->Prepare("INSERT INTO certificate_lanes (slug, event_name, queue_name) VALUES (?, 'e', 'q')")
          .Bind(1, std::to_string(base + i))
          .Step();
      tx.Commit();
    }
  };
  std::thread durable(write, true, 0);
  std::thread fast(write, false, kRows);
  durable.join();
  fast.join();
  auto reader = db.Read();
  auto count = reader->Prepare("SELECT COUNT(*) FROM certificate_lanes");
  ASSERT_TRUE(count.Step());
  EXPECT_EQ(count.ColumnInt(0), 2 * kRows);
}

}  // namespace
}  // namespace herald::store::sqlite
