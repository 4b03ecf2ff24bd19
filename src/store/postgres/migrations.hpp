// Versioned schema migrations of the PostgreSQL store: the SQL files of
// store/postgres/migrations (NNNN_name.sql), compiled in, applied in order in
// one transaction under an advisory lock, each recorded in schema_migrations.
// `herald migrate` applies them; `herald api` and `herald worker` only check.
#pragma once

#include <span>

#include "store/postgres/pg_connection.hpp"
#include "store/stores.hpp"

namespace herald::store::postgres {

// Every migration, by version (1, 2, ...). Generated from the SQL files.
std::span<const Migration> Migrations();
int LatestSchemaVersion();

// The version recorded in the database; 0 when it has none (a new database).
int SchemaVersion(PgConnection& db);

// Applies what the database lacks. Two processes migrating at once apply each
// migration once (the second waits for the first, then finds nothing to do); a
// failure leaves the database as it was. Throws SchemaError when the database
// is newer than this binary or a migration fails.
MigrationReport Migrate(PgConnection& db);

// Throws SchemaError unless the database is at LatestSchemaVersion(), naming
// `herald migrate` when it is behind.
void RequireCurrentSchema(PgConnection& db);

}  // namespace herald::store::postgres
