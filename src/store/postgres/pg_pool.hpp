// The PostgreSQL store's connections: a fixed-size pool, each connection used
// by one thread at a time, opened when first needed and replaced when it broke
// (a server restart), and transactions that roll back unless committed.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "store/postgres/pg_connection.hpp"

namespace herald::store::postgres {

class PgPool {
 public:
  PgPool(std::string url, int size, std::chrono::milliseconds query_timeout);

  class Lease {
   public:
    Lease(Lease&& other) noexcept : pool_(other.pool_), connection_(std::move(other.connection_)) {}
    ~Lease();
    PgConnection& operator*() { return *connection_; }
    PgConnection* operator->() { return connection_.get(); }

   private:
    friend class PgPool;
    Lease(PgPool& pool, std::unique_ptr<PgConnection> connection)
        : pool_(&pool), connection_(std::move(connection)) {}
    PgPool* pool_;
    std::unique_ptr<PgConnection> connection_;
  };

  // Waits for a free connection. Throws PgError when a new one cannot be opened.
  Lease Acquire();
  const std::string& where() const { return where_; }

 private:
  void Release(std::unique_ptr<PgConnection> connection);

  const std::string url_;
  const std::string where_;
  const std::chrono::milliseconds query_timeout_;
  std::mutex mutex_;
  std::condition_variable freed_;
  std::vector<std::unique_ptr<PgConnection>> idle_;
  int unopened_;  // connections the pool may still open
};

class PgTransaction {
 public:
  explicit PgTransaction(PgConnection& db) : db_(db) { db_.Exec("BEGIN"); }
  ~PgTransaction();
  PgTransaction(const PgTransaction&) = delete;
  PgTransaction& operator=(const PgTransaction&) = delete;
  void Commit();

 private:
  PgConnection& db_;
  bool done_ = false;
};

// Parameters as PgConnection sends them: scalars as text, arrays binary.
inline PgParam Param(std::int64_t value) { return std::to_string(value); }
inline PgParam Param(int value) { return std::to_string(value); }
inline PgParam Param(bool value) { return value ? "1" : "0"; }
inline PgParam Param(std::string value) { return value; }
inline PgParam Param(const char* value) { return std::string(value); }
// A bigint[] or text[], for `= ANY($n::bigint[])` or `unnest($n::text[])`: one
// statement for a batch.
inline PgParam Param(const std::vector<std::int64_t>& values) { return BigintArray(values); }
inline PgParam Param(const std::vector<std::string>& values) { return TextArray(values); }
template <typename T>
PgParam Param(const std::optional<T>& value) {
  return value ? Param(*value) : PgParam{};
}

}  // namespace herald::store::postgres
