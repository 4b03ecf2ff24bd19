#include "store/postgres/migrations.hpp"

#include <chrono>

namespace herald::store::postgres {
namespace {

// pg_advisory_xact_lock's key for schema changes: "herald" in ASCII.
constexpr const char* kMigrationLock = "SELECT pg_advisory_xact_lock(114784820479332)";

int RecordedVersion(PgConnection& db) {
  if (db.Exec("SELECT to_regclass('schema_migrations') IS NOT NULL").Text(0, 0) != "t") return 0;
  const auto max = db.Exec("SELECT MAX(version) FROM schema_migrations");
  return max.IsNull(0, 0) ? 0 : static_cast<int>(max.Int(0, 0));
}

}  // namespace

int LatestSchemaVersion() { return Migrations().empty() ? 0 : Migrations().back().version; }

int SchemaVersion(PgConnection& db) { return RecordedVersion(db); }

MigrationReport Migrate(PgConnection& db) {
  // A read first: opening a current database takes no lock.
  if (const int seen = RecordedVersion(db); seen == LatestSchemaVersion()) {
    return {.from_version = seen, .to_version = seen};
  }
  MigrationReport report;
  db.Exec("BEGIN");
  try {
    db.Exec(kMigrationLock);
    db.Exec(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, "
        "applied_at BIGINT NOT NULL)");
    // The version again, under the lock: another process may have migrated meanwhile.
    report.from_version = RecordedVersion(db);
    CheckSchemaVersion(db.where(), report.from_version, LatestSchemaVersion(), false);
    report.to_version = report.from_version;
    const auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
    for (const auto& migration : Migrations()) {
      if (migration.version <= report.from_version) continue;
      try {
        db.ExecScript(std::string(migration.sql));
      } catch (const std::exception& e) {
        throw SchemaError(db.where() + ": migration " + std::string(migration.name) +
                          " failed, nothing was changed: " + e.what());
      }
      db.Exec("INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
              {std::to_string(migration.version), std::string(migration.name), std::to_string(now_ms)});
      report.applied.emplace_back(migration.name);
      report.to_version = migration.version;
    }
    db.Exec("COMMIT");
  } catch (...) {
    try {
      db.Exec("ROLLBACK");
    } catch (const std::exception&) {
      // The connection is gone: the server rolled back for us.
    }
    throw;
  }
  return report;
}

void RequireCurrentSchema(PgConnection& db) {
  CheckSchemaVersion(db.where(), RecordedVersion(db), LatestSchemaVersion(), true);
}

}  // namespace herald::store::postgres
