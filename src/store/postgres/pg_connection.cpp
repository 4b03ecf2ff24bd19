#include "store/postgres/pg_connection.hpp"

#include <libpq-fe.h>

#include <charconv>

namespace herald::store::postgres {
namespace {

std::string Trimmed(const char* text) {
  std::string s = text ? text : "";
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

}  // namespace

std::string DescribeConnection(const std::string& url) {
  char* error = nullptr;
  PQconninfoOption* options = PQconninfoParse(url.c_str(), &error);
  if (options == nullptr) {
    PQfreemem(error);
    return "an unreadable store.url";
  }
  std::string user, host, port, dbname;
  for (auto* option = options; option->keyword != nullptr; ++option) {
    if (option->val == nullptr) continue;
    const std::string keyword = option->keyword;
    if (keyword == "user") user = option->val;
    if (keyword == "host" || (keyword == "hostaddr" && host.empty())) host = option->val;
    if (keyword == "port") port = option->val;
    if (keyword == "dbname") dbname = option->val;
  }
  PQconninfoFree(options);
  std::string where = user.empty() ? "" : user + "@";
  where += host.empty() ? "localhost" : host;
  where += ":" + (port.empty() ? std::string("5432") : port);
  if (!dbname.empty()) where += "/" + dbname;
  return where;
}

PgResult::PgResult(pg_result* result) : result_(result, PQclear) {}

int PgResult::Rows() const { return PQntuples(result_.get()); }

bool PgResult::IsNull(int row, int column) const { return PQgetisnull(result_.get(), row, column) != 0; }

std::string PgResult::Text(int row, int column) const {
  return std::string(PQgetvalue(result_.get(), row, column),
                     static_cast<std::size_t>(PQgetlength(result_.get(), row, column)));
}

std::int64_t PgResult::Int(int row, int column) const {
  const char* text = PQgetvalue(result_.get(), row, column);
  const char* end = text + PQgetlength(result_.get(), row, column);
  std::int64_t value = 0;
  if (std::from_chars(text, end, value).ptr != end) {
    throw PgError("the store answered \"" + std::string(text, end) + "\" where a number was expected", "");
  }
  return value;
}

std::int64_t PgResult::Affected() const {
  const char* count = PQcmdTuples(result_.get());
  return count == nullptr || *count == '\0' ? 0 : std::stoll(count);
}

PgConnection::PgConnection(const std::string& url, std::chrono::milliseconds query_timeout,
                           std::chrono::seconds connect_timeout)
    : where_(DescribeConnection(url)) {
  // The deadlines and the application name first, the URL last: libpq keeps the
  // last value of a repeated setting, so the URL's own choices win.
  const std::string timeout = std::to_string(connect_timeout.count());
  // Warnings and errors only: a migration's "already exists, skipping" notices are noise.
  const std::string options =
      "-c statement_timeout=" + std::to_string(query_timeout.count()) + " -c client_min_messages=warning";
  const char* keywords[] = {"connect_timeout", "options", "application_name", "dbname", nullptr};
  const char* values[] = {timeout.c_str(), options.c_str(), "herald", url.c_str(), nullptr};
  conn_ = PQconnectdbParams(keywords, values, /*expand_dbname=*/1);
  if (conn_ == nullptr) throw PgError("cannot reach the PostgreSQL store at " + where_ + ": out of memory", "");
  if (PQstatus(conn_) != CONNECTION_OK) {
    const std::string reason = Trimmed(PQerrorMessage(conn_));
    PQfinish(conn_);
    conn_ = nullptr;
    throw PgError("cannot reach the PostgreSQL store at " + where_ + ": " + reason, "");
  }
}

PgConnection::~PgConnection() {
  if (conn_ != nullptr) PQfinish(conn_);
}

bool PgConnection::Broken() const { return PQstatus(conn_) != CONNECTION_OK; }

void PgConnection::Fail(const std::string& what, pg_result* result) {
  std::string sqlstate;
  std::string reason;
  if (result != nullptr) {
    if (const char* state = PQresultErrorField(result, PG_DIAG_SQLSTATE)) sqlstate = state;
    reason = Trimmed(PQresultErrorMessage(result));
    PQclear(result);
  }
  if (reason.empty()) reason = Trimmed(PQerrorMessage(conn_));
  throw PgError("PostgreSQL store at " + where_ + ": " + what + ": " + reason, sqlstate);
}

PgResult PgConnection::Exec(const std::string& sql, const std::vector<PgParam>& params) {
  std::vector<const char*> values;
  values.reserve(params.size());
  for (const auto& param : params) values.push_back(param ? param->c_str() : nullptr);
  pg_result* result = PQexecParams(conn_, sql.c_str(), static_cast<int>(values.size()), nullptr, values.data(),
                                   nullptr, nullptr, /*resultFormat=*/0);
  const auto status = result == nullptr ? PGRES_FATAL_ERROR : PQresultStatus(result);
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) Fail("a query failed", result);
  return PgResult(result);
}

void PgConnection::ExecScript(const std::string& sql) {
  pg_result* result = PQexec(conn_, sql.c_str());
  const auto status = result == nullptr ? PGRES_FATAL_ERROR : PQresultStatus(result);
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) Fail("a script failed", result);
  PQclear(result);
}

}  // namespace herald::store::postgres
