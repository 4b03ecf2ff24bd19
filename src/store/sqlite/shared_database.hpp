// One process's way into herald.db, shared by every SQLite store of that
// process: a durable writer, a fast writer for the delivery engine's claims and
// outcomes, a pool of readers, and the one write turn every writer takes (see
// write_turn.hpp). Opening it migrates the schema, or checks that it is current.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "store/sqlite/database.hpp"
#include "store/sqlite/migrations.hpp"
#include "store/sqlite/write_turn.hpp"

namespace herald::store::sqlite {

using store::SchemaPolicy;

class SharedDatabase {
 public:
  // Opens (creating if needed) the file. Throws std::runtime_error naming the
  // file when it cannot be opened, SchemaError when its schema does not fit.
  SharedDatabase(const std::string& path, SchemaPolicy policy);
  SharedDatabase(const SharedDatabase&) = delete;
  SharedDatabase& operator=(const SharedDatabase&) = delete;

  // Exclusive use of one connection; a writer's lease also holds the write turn.
  class Lease {
   public:
    Database& operator*() { return *db_; }
    Database* operator->() { return db_; }

   private:
    friend class SharedDatabase;
    Lease(std::mutex& connection, WriteTurn& turn, Database& db)
        : connection_(connection), turn_(turn), db_(&db) {}
    std::unique_lock<std::mutex> connection_;  // taken first, so one waiter per connection reaches the turn
    std::unique_lock<WriteTurn> turn_;
    Database* db_;
  };

  // A reader borrowed from the pool: WAL lets it run beside the writers.
  class ReadLease {
   public:
    ReadLease(ReadLease&&) = default;
    ~ReadLease();
    Database& operator*() { return *db_; }
    Database* operator->() { return db_.get(); }

   private:
    friend class SharedDatabase;
    ReadLease(SharedDatabase& owner, std::unique_ptr<Database> db) : owner_(&owner), db_(std::move(db)) {}
    SharedDatabase* owner_;
    std::unique_ptr<Database> db_;
  };

  // synchronous=FULL: a commit is on disk before the caller hears "stored".
  Lease Durable() { return Lease(durable_mutex_, write_turn_, durable_); }
  // synchronous=NORMAL: a commit survives a killed process at once and a power
  // cut once the next durable commit syncs the WAL (docs/ARCHITECTURE.md). For
  // the engine's claims and outcomes, whose round trip must not cost an fsync.
  Lease Fast() { return Lease(fast_mutex_, write_turn_, fast_); }
  ReadLease Read();

  const std::string& path() const { return path_; }
  // What opening the file applied (nothing under kRequireCurrent).
  const MigrationReport& migration() const { return migration_; }

 private:
  std::string path_;
  WriteTurn write_turn_;
  std::mutex durable_mutex_;
  Database durable_;
  MigrationReport migration_;
  std::mutex fast_mutex_;
  Database fast_;
  std::mutex readers_mutex_;
  std::vector<std::unique_ptr<Database>> idle_readers_;
};

}  // namespace herald::store::sqlite
