// Thin RAII layer over the SQLite C API: one Database per connection, prepared
// Statements with typed binds, and a Transaction guard that rolls back unless
// committed. Opened in WAL mode with synchronous=FULL: a commit is on disk.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace herald::store::sqlite {

class Statement;
class CachedStatement;

// How far a commit is guaranteed to survive.
enum class Durability {
  // synchronous=FULL: the commit is on disk; survives a power cut.
  kPowerLoss,
  // synchronous=NORMAL: the commit is in the WAL file (the OS has it), so it
  // survives the process being killed; the next kPowerLoss commit on the file
  // puts it on disk. A power cut may lose the most recent ones.
  kProcessCrash,
};

class Database {
 public:
  // Opens (creating if needed) the file and applies durability pragmas.
  // Throws std::runtime_error naming the file when it cannot be opened.
  explicit Database(const std::string& path, Durability durability = Durability::kPowerLoss);
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  void Execute(std::string_view sql);
  Statement Prepare(std::string_view sql);
  // A statement prepared once per connection and reused: for hot paths, where
  // parsing the SQL each time costs more than running it. Reset when released.
  CachedStatement Cached(const std::string& sql);
  std::int64_t ChangedRows() const;
  const std::string& path() const { return path_; }
  sqlite3* handle() { return db_; }

 private:
  sqlite3* db_ = nullptr;
  std::string path_;
  std::unordered_map<std::string, std::unique_ptr<Statement>> cache_;
};

class Statement {
 public:
  Statement(sqlite3* db, std::string_view sql);
  ~Statement();
  Statement(Statement&& other) noexcept;
  Statement& operator=(Statement&&) = delete;
  Statement(const Statement&) = delete;

  Statement& Bind(int index, std::string_view value);
  Statement& Bind(int index, std::int64_t value);
  Statement& Bind(int index, int value) { return Bind(index, static_cast<std::int64_t>(value)); }
  Statement& BindNull(int index);

  // True while a row is available; false when done. Throws on error.
  bool Step();
  // Resets for re-execution with new binds.
  void Reset();

  std::string ColumnText(int column) const;
  std::int64_t ColumnInt(int column) const;
  bool ColumnIsNull(int column) const;

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
};

// A borrowed cached statement; resets it (ending any read it holds open) when done.
class CachedStatement {
 public:
  explicit CachedStatement(Statement& statement) : statement_(&statement) {}
  ~CachedStatement();
  CachedStatement(const CachedStatement&) = delete;
  CachedStatement& operator=(const CachedStatement&) = delete;
  Statement& operator*() { return *statement_; }
  Statement* operator->() { return statement_; }

 private:
  Statement* statement_;
};

// BEGIN IMMEDIATE on construction so writers queue up at the start rather than
// fail at commit; ROLLBACK on destruction unless Commit() was called.
class Transaction {
 public:
  explicit Transaction(Database& db);
  ~Transaction();
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  void Commit();

 private:
  Database& db_;
  bool done_ = false;
};

}  // namespace herald::store::sqlite
