// Versioned schema migrations of herald.db: the SQL files of
// store/sqlite/migrations (NNNN_name.sql), compiled in, applied in order, each
// recorded in schema_migrations. `herald migrate` applies them; the all-in-one
// commands apply them when they open the file.
#pragma once

#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "store/sqlite/database.hpp"
#include "store/stores.hpp"

namespace herald::store::sqlite {

using store::Migration;

// Every migration, by version (1, 2, ...). Generated from the SQL files.
std::span<const Migration> Migrations();
int LatestSchemaVersion();

using store::MigrationReport;

using store::SchemaError;

// The version recorded in the file; 0 when none is (a new file, or one from
// before versioned migrations).
int SchemaVersion(Database& db);

// Applies the migrations the file lacks, all in one transaction taken with the
// write lock, so two processes opening the file at once apply each migration
// once and a failure leaves the file as it was. Throws SchemaError when the
// file is newer than this binary.
MigrationReport Migrate(Database& db);

// Throws SchemaError unless the file is at LatestSchemaVersion(), naming
// `herald migrate` when it is behind.
void RequireCurrentSchema(Database& db);

}  // namespace herald::store::sqlite
