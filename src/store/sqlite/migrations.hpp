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

struct Migration {
  int version = 0;
  std::string_view name;  // the file's name without .sql, e.g. "0001_initial"
  std::string_view sql;
};

// Every migration, by version (1, 2, ...). Generated from the SQL files.
std::span<const Migration> Migrations();
int LatestSchemaVersion();

using store::MigrationReport;

// A file whose schema is not the one this binary needs; the message says what to do.
class SchemaError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

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
