#include "store/sqlite/shared_database.hpp"

#include <utility>

namespace herald::store::sqlite {
namespace {

MigrationReport PrepareSchema(Database& db, SchemaPolicy policy) {
  if (policy == SchemaPolicy::kMigrate) return Migrate(db);
  RequireCurrentSchema(db);
  const int version = SchemaVersion(db);
  return {.from_version = version, .to_version = version};
}

}  // namespace

SharedDatabase::SharedDatabase(const std::string& path, SchemaPolicy policy)
    : path_(path),
      durable_(path),
      migration_(PrepareSchema(durable_, policy)),
      fast_(path, Durability::kProcessCrash) {}

SharedDatabase::ReadLease::~ReadLease() {
  if (!db_) return;
  std::lock_guard lock(owner_->readers_mutex_);
  owner_->idle_readers_.push_back(std::move(db_));
}

SharedDatabase::ReadLease SharedDatabase::Read() {
  {
    std::lock_guard lock(readers_mutex_);
    if (!idle_readers_.empty()) {
      auto db = std::move(idle_readers_.back());
      idle_readers_.pop_back();
      return ReadLease(*this, std::move(db));
    }
  }
  return ReadLease(*this, std::make_unique<Database>(path_));
}

}  // namespace herald::store::sqlite
