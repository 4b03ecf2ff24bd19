#include "store/sqlite/database.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <stdexcept>
#include <thread>
#include <utility>

namespace herald::store::sqlite {
namespace {

[[noreturn]] void Fail(sqlite3* db, std::string_view what) {
  throw std::runtime_error(std::string(what) + ": " + (db ? sqlite3_errmsg(db) : "out of memory"));
}

}  // namespace

Database::Database(const std::string& path, Durability durability) : path_(path) {
  // Memory statistics take a global mutex on every SQLite allocation, shared by all
  // connections; nothing here reads them. Must be set before SQLite initialises.
  static const bool configured = [] {
    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
    return true;
  }();
  (void)configured;
  // A new file is the owner's alone (SQLite would make it 0644 under the usual
  // umask); its WAL and shared-memory files take the same mode from it.
  if (const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600); fd >= 0) ::close(fd);
  const int rc = sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                                 nullptr);
  if (rc != SQLITE_OK) {
    std::string message = "cannot open database " + path + ": " + (db_ ? sqlite3_errmsg(db_) : "out of memory");
    sqlite3_close(db_);
    db_ = nullptr;
    throw std::runtime_error(message);
  }
  // Several connections (store, embedded queue) share the file and take turns
  // for its write lock. SQLite's own busy timeout sleeps in steps of up to 100 ms,
  // which leaves workers idle long after the lock is free; poll every 100 us
  // instead, for up to 30 s.
  sqlite3_busy_handler(
      db_,
      [](void*, int attempts) -> int {
        if (attempts >= 300000) return 0;
        std::this_thread::sleep_for(std::chrono::microseconds(100));
        return 1;
      },
      nullptr);
  // Turning a new file to WAL needs it alone for a moment, and SQLite answers
  // "locked" at once (no busy handler) while another connection is opening it:
  // processes starting on a fresh data dir together wait their turn here.
  for (int attempt = 1;; ++attempt) {
    const int wal = sqlite3_exec(db_, "PRAGMA journal_mode=WAL", nullptr, nullptr, nullptr);
    if (wal == SQLITE_OK) break;
    if ((wal != SQLITE_BUSY && wal != SQLITE_LOCKED) || attempt == 30000) Execute("PRAGMA journal_mode=WAL");
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  Execute(durability == Durability::kPowerLoss ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL");
  Execute("PRAGMA foreign_keys=ON");
}

Database::~Database() {
  cache_.clear();  // statements are finalised before the connection closes
  sqlite3_close_v2(db_);
}

CachedStatement Database::Cached(const std::string& sql) {
  auto& slot = cache_[sql];
  if (!slot) slot = std::make_unique<Statement>(db_, sql);
  return CachedStatement(*slot);
}

CachedStatement::~CachedStatement() { statement_->Reset(); }

void Database::Execute(std::string_view sql) {
  char* error = nullptr;
  const std::string text(sql);
  if (sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &error) != SQLITE_OK) {
    const auto start = std::min(text.find_first_not_of(" \n\t"), text.size());
    const auto statement = text.substr(start, std::min<std::size_t>(text.find_first_of("\n;", start) - start, 60));
    std::string message =
        "sqlite (" + path_ + "): " + (error ? error : "unknown error") + " (running " + statement + ")";
    sqlite3_free(error);
    throw std::runtime_error(message);
  }
}

Statement Database::Prepare(std::string_view sql) { return Statement(db_, sql); }

std::int64_t Database::ChangedRows() const { return sqlite3_changes64(db_); }

Statement::Statement(sqlite3* db, std::string_view sql) : db_(db) {
  if (sqlite3_prepare_v3(db, sql.data(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT, &stmt_, nullptr) !=
      SQLITE_OK) {
    Fail(db, "prepare failed for \"" + std::string(sql.substr(0, 60)) + "\"");
  }
}

Statement::~Statement() { sqlite3_finalize(stmt_); }

Statement::Statement(Statement&& other) noexcept : db_(other.db_), stmt_(std::exchange(other.stmt_, nullptr)) {}

Statement& Statement::Bind(int index, std::string_view value) {
  if (sqlite3_bind_text(stmt_, index, value.data(), static_cast<int>(value.size()), SQLITE_TRANSIENT) != SQLITE_OK) {
    Fail(db_, "bind failed");
  }
  return *this;
}

Statement& Statement::Bind(int index, std::int64_t value) {
  if (sqlite3_bind_int64(stmt_, index, value) != SQLITE_OK) Fail(db_, "bind failed");
  return *this;
}

Statement& Statement::BindNull(int index) {
  if (sqlite3_bind_null(stmt_, index) != SQLITE_OK) Fail(db_, "bind failed");
  return *this;
}

bool Statement::Step() {
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  Fail(db_, "statement failed");
}

void Statement::Reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

std::string Statement::ColumnText(int column) const {
  const auto* text = sqlite3_column_text(stmt_, column);
  if (text == nullptr) return {};
  return std::string(reinterpret_cast<const char*>(text), static_cast<size_t>(sqlite3_column_bytes(stmt_, column)));
}

std::int64_t Statement::ColumnInt(int column) const { return sqlite3_column_int64(stmt_, column); }

bool Statement::ColumnIsNull(int column) const { return sqlite3_column_type(stmt_, column) == SQLITE_NULL; }

Transaction::Transaction(Database& db) : db_(db) { db_.Execute("BEGIN IMMEDIATE"); }

Transaction::~Transaction() {
  if (!done_) {
    try {
      db_.Execute("ROLLBACK");
    } catch (...) {
      // Nothing sensible to do while unwinding; SQLite rolls back on close anyway.
    }
  }
}

void Transaction::Commit() {
  db_.Execute("COMMIT");
  done_ = true;
}

}  // namespace herald::store::sqlite
