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
#include <unordered_map>
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

// A statement parameter: text in the type's input syntax, or bytes in its
// binary wire format (arrays: parsing a quoted text[] literal costs the server
// more than the statement itself for a batch of message bodies).
struct PgParam {
  PgParam() = default;  // SQL NULL
  PgParam(std::nullopt_t) {}
  PgParam(std::string text) : value(std::move(text)) {}
  PgParam(const char* text) : value(std::string(text)) {}
  PgParam(std::optional<std::string> text) : value(std::move(text)) {}
  static PgParam Binary(std::string bytes) {
    PgParam param(std::move(bytes));
    param.binary = true;
    return param;
  }

  std::optional<std::string> value;  // nullopt: SQL NULL
  bool binary = false;
};

// bigint[] and text[] in the binary array format, for `$n::bigint[]` and
// `$n::text[]` parameters.
PgParam BigintArray(const std::vector<std::int64_t>& values);
PgParam TextArray(const std::vector<std::string>& values);

class PgConnection {
 public:
  // Connects; throws PgError naming DescribeConnection(url) when it cannot
  // within connect_timeout.
  PgConnection(const std::string& url, std::chrono::milliseconds query_timeout,
               std::chrono::seconds connect_timeout = std::chrono::seconds(10));
  ~PgConnection();
  PgConnection(const PgConnection&) = delete;
  PgConnection& operator=(const PgConnection&) = delete;

  // One statement with $1, $2... parameters sent apart from the SQL text. A
  // statement with parameters is prepared on this connection the first time
  // and executed as prepared after that: the engine runs the same few claims
  // and outcomes thousands of times, and parsing and planning each of them
  // cost the server as much as running it.
  PgResult Exec(const std::string& sql, const std::vector<PgParam>& params = {});
  // Several statements, no parameters (a migration file); one implicit
  // transaction unless the script manages its own.
  void ExecScript(const std::string& sql);

  const std::string& where() const { return where_; }
  // Whether the server dropped the connection (it restarted, or a network failure).
  bool Broken() const;

 private:
  [[noreturn]] void Fail(const std::string& what, pg_result* result);
  // The name `sql` is prepared under on this connection, preparing it first;
  // nullptr once kMaxPrepared statements are (a caller that builds its SQL
  // from its input must not grow the server's memory without end).
  const std::string* Prepared(const std::string& sql);
  PgResult Run(const std::string& sql, const std::vector<PgParam>& params, bool may_run_again);
  void DropStaleStatements();

  static constexpr std::size_t kMaxPrepared = 256;
  pg_conn* conn_ = nullptr;
  std::string where_;
  std::unordered_map<std::string, std::string> prepared_;  // SQL -> statement name
  std::string statement_prefix_;
  std::vector<std::string> stale_statements_;  // prepared for a schema since changed
  std::uint64_t next_statement_ = 0;
  bool prepare_ = true;
};

}  // namespace herald::store::postgres
