// One libpq connection to the PostgreSQL store: parameterised queries, a
// deadline on every statement (statement_timeout) and on connecting
// (connect_timeout), and errors that name the server and the SQLSTATE but
// never the password.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

struct pg_conn;
struct pg_result;

namespace herald::store::postgres {

class PgError : public std::runtime_error {
 public:
  PgError(const std::string& message, std::string sqlstate)
      : std::runtime_error(message), sqlstate_(std::move(sqlstate)) {}
  // Five characters such as "40001"; empty when the server never answered.
  const std::string& sqlstate() const { return sqlstate_; }

 private:
  std::string sqlstate_;
};

// "user@host:port/database" of a libpq URI or key=value string, without its
// password; the URI itself when libpq cannot read it.
std::string DescribeConnection(const std::string& url);

class PgResult {
 public:
  explicit PgResult(pg_result* result);
  int Rows() const;
  bool IsNull(int row, int column) const;
  std::string Text(int row, int column) const;
  std::int64_t Int(int row, int column) const;
  // Rows changed by an INSERT, UPDATE or DELETE.
  std::int64_t Affected() const;

 private:
  std::shared_ptr<pg_result> result_;
};

using PgParam = std::optional<std::string>;  // nullopt: SQL NULL

class PgConnection {
 public:
  // Connects; throws PgError naming DescribeConnection(url) when it cannot
  // within connect_timeout.
  PgConnection(const std::string& url, std::chrono::milliseconds query_timeout,
               std::chrono::seconds connect_timeout = std::chrono::seconds(10));
  ~PgConnection();
  PgConnection(const PgConnection&) = delete;
  PgConnection& operator=(const PgConnection&) = delete;

  // One statement with $1, $2... parameters sent apart from the SQL text.
  PgResult Exec(const std::string& sql, const std::vector<PgParam>& params = {});
  // Several statements, no parameters (a migration file); one implicit
  // transaction unless the script manages its own.
  void ExecScript(const std::string& sql);

  const std::string& where() const { return where_; }
  // Whether the server dropped the connection (it restarted, or a network failure).
  bool Broken() const;

 private:
  [[noreturn]] void Fail(const std::string& what, pg_result* result);

  pg_conn* conn_ = nullptr;
  std::string where_;
};

}  // namespace herald::store::postgres
