#include "store/sqlite/migrations.hpp"

#include <chrono>

namespace herald::store::sqlite {
namespace {

constexpr std::string_view kVersionTable = R"sql(
CREATE TABLE IF NOT EXISTS schema_migrations (
  version INTEGER PRIMARY KEY,
  name TEXT NOT NULL,
  applied_at INTEGER NOT NULL
)
)sql";

bool HasTable(Database& db, const std::string& name) {
  return db.Prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").Bind(1, name).Step();
}

bool HasColumn(Database& db, const std::string& table, const std::string& column) {
  auto columns = db.Prepare("SELECT 1 FROM pragma_table_info(?) WHERE name = ?");
  return columns.Bind(1, table).Bind(2, column).Step();
}

bool HasOldPacedVocabulary(Database& db) {
  auto table = db.Prepare("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'paced_messages'");
  return table.Step() && table.ColumnText(0).find("'unsent'") != std::string::npos;
}

// Files made before versioned migrations hold 0001's tables in the shapes of
// their time, and two of those differ from 0001: messages without its html
// column, paced_messages in the vocabulary that said "unsent" for queued and had
// no "dead", and the recipients' due index in an older order. The first gets its
// column here, the index is dropped for 0001 to create, and the paced table is
// moved aside here and copied into the table 0001 creates by FinishAdopting.
bool StartAdopting(Database& db) {
  if (!HasTable(db, "api_keys") && !HasTable(db, "paced_messages") && !HasTable(db, "certificate_deliveries") &&
      !HasTable(db, "contacts")) {
    return false;
  }
  if (HasTable(db, "messages") && !HasColumn(db, "messages", "html")) {
    db.Execute("ALTER TABLE messages ADD COLUMN html TEXT NOT NULL DEFAULT ''");
  }
  // Indexes whose shape changed before versioning: 0001 creates them as they are now.
  db.Execute("DROP INDEX IF EXISTS message_recipients_due");
  db.Execute("DROP INDEX IF EXISTS message_recipients_sending");
  if (HasOldPacedVocabulary(db)) {
    db.Execute("ALTER TABLE paced_messages RENAME TO paced_messages_unsent_era");
    db.Execute("DROP INDEX IF EXISTS paced_messages_unsent");
    db.Execute("DROP INDEX IF EXISTS paced_messages_sent");
    db.Execute("DROP INDEX IF EXISTS paced_messages_sent_by_owner");
  }
  return true;
}

void FinishAdopting(Database& db) {
  if (!HasTable(db, "paced_messages_unsent_era")) return;
  db.Execute(
      "INSERT INTO paced_messages (id, owner_id, recipient, content, status, attempts, retry_at, provider_message_id, "
      "last_error, created_at, updated_at, sent_at) SELECT id, owner_id, recipient, content, "
      "CASE status WHEN 'unsent' THEN 'queued' ELSE status END, attempts, retry_at, provider_message_id, last_error, "
      "created_at, updated_at, sent_at FROM paced_messages_unsent_era");
  db.Execute("DROP TABLE paced_messages_unsent_era");
}

int RecordedVersion(Database& db) {
  if (!HasTable(db, "schema_migrations")) return 0;
  auto query = db.Prepare("SELECT COALESCE(MAX(version), 0) FROM schema_migrations");
  query.Step();
  return static_cast<int>(query.ColumnInt(0));
}

}  // namespace

int LatestSchemaVersion() { return Migrations().empty() ? 0 : Migrations().back().version; }

int SchemaVersion(Database& db) { return RecordedVersion(db); }

MigrationReport Migrate(Database& db) {
  // A read first: opening a current file takes no write lock.
  if (const int seen = RecordedVersion(db); seen == LatestSchemaVersion()) {
    return {.from_version = seen, .to_version = seen};
  }
  MigrationReport report;
  Transaction tx(db);  // then the version again, under the lock: another process may have migrated meanwhile
  report.from_version = RecordedVersion(db);
  CheckSchemaVersion(db.path(), report.from_version, LatestSchemaVersion(), false);
  report.to_version = report.from_version;
  if (report.from_version == LatestSchemaVersion()) return report;  // rolled back: nothing was written

  db.Execute(kVersionTable);
  if (report.from_version == 0) report.adopted_unversioned = StartAdopting(db);
  const auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  for (const auto& migration : Migrations()) {
    if (migration.version <= report.from_version) continue;
    try {
      db.Execute(migration.sql);
    } catch (const std::exception& e) {
      throw SchemaError(db.path() + ": migration " + std::string(migration.name) + " failed, nothing was changed: " +
                        e.what());
    }
    db.Prepare("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?,?,?)")
        .Bind(1, migration.version)
        .Bind(2, migration.name)
        .Bind(3, static_cast<std::int64_t>(now_ms))
        .Step();
    report.applied.emplace_back(migration.name);
    report.to_version = migration.version;
    // The adopted rows join 0001's tables before any later migration reshapes them.
    if (migration.version == 1 && report.adopted_unversioned) FinishAdopting(db);
  }
  tx.Commit();
  return report;
}

void RequireCurrentSchema(Database& db) {
  CheckSchemaVersion(db.path(), RecordedVersion(db), LatestSchemaVersion(), true);
}

}  // namespace herald::store::sqlite
