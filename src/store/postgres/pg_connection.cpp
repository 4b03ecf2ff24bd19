#include "store/postgres/pg_connection.hpp"

#include <libpq-fe.h>

#include <charconv>
#include <limits>
#include <map>
#include <optional>
#include <string_view>

#include "common/hash.hpp"

namespace herald::store::postgres {
namespace {

std::string Trimmed(const char* text) {
  std::string s = text ? text : "";
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

// The settings a connection URL names, or nullopt when libpq cannot read it.
std::optional<std::map<std::string, std::string>> ParseConnectionUrl(const std::string& url) {
  char* error = nullptr;
  PQconninfoOption* options = PQconninfoParse(url.c_str(), &error);
  if (options == nullptr) {
    PQfreemem(error);
    return std::nullopt;
  }
  std::map<std::string, std::string> values;
  for (auto* option = options; option->keyword != nullptr; ++option) {
    if (option->val != nullptr) values[option->keyword] = option->val;
  }
  PQconninfoFree(options);
  return values;
}

}  // namespace

std::string DescribeConnection(const std::string& url) {
  const auto values = ParseConnectionUrl(url);
  if (!values) return "an unreadable store.url";
  const auto value = [&values](const char* keyword) {
    const auto it = values->find(keyword);
    return it == values->end() ? std::string() : it->second;
  };
  const std::string user = value("user");
  const std::string host = values->contains("host") ? value("host") : value("hostaddr");
  const std::string port = value("port");
  const std::string dbname = value("dbname");
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
  // The deadline and the application name first, the URL next: libpq keeps
  // the last value of a repeated setting, so the URL's own choices win. The
  // server options come last, herald's followed by the URL's (the server
  // keeps the last of each), so the URL can change them without losing the
  // others. Warnings and errors only: a migration's "already exists,
  // skipping" notices are noise.
  const std::string timeout = std::to_string(connect_timeout.count());
  std::string options =
      "-c statement_timeout=" + std::to_string(query_timeout.count()) + " -c client_min_messages=warning";
  // Server options in the URL (libpq keeps one value per setting, so the
  // URL's would otherwise replace herald's, or herald's the URL's).
  if (const auto values = ParseConnectionUrl(url); values && values->contains("options")) {
    options += " " + values->at("options");
  }
  const char* keywords[] = {"connect_timeout", "application_name", "dbname", "options", nullptr};
  const char* values[] = {timeout.c_str(), "herald", url.c_str(), options.c_str(), nullptr};
  conn_ = PQconnectdbParams(keywords, values, /*expand_dbname=*/1);
  if (conn_ == nullptr) throw PgError("cannot reach the PostgreSQL store at " + where_ + ": out of memory", "");
  // The destructor does not run for a constructor that throws.
  const auto refuse = [this](const std::string& sentence) {
    PQfinish(conn_);
    conn_ = nullptr;
    throw PgError(sentence, "");
  };
  if (PQstatus(conn_) != CONNECTION_OK) {
    refuse("cannot reach the PostgreSQL store at " + where_ + ": " + Trimmed(PQerrorMessage(conn_)));
  }
  if (const auto version = PQserverVersion(conn_); version < 120000) {
    refuse("the PostgreSQL store at " + where_ + " runs version " + std::to_string(version / 10000) +
           "; herald needs PostgreSQL 12 or newer");
  }
  // Prepared statements are planned for their values every time: a generic
  // plan made while a table is still small (a new store, its first campaign)
  // would scan the whole table for each claim once it holds 50,000 rows. Set
  // after connecting, so options in the URL cannot undo it.
  pg_result* planning = PQexec(conn_, "SET plan_cache_mode = force_custom_plan");
  const bool planned = planning != nullptr && PQresultStatus(planning) == PGRES_COMMAND_OK;
  const std::string reason =
      planned ? "" : Trimmed(planning != nullptr ? PQresultErrorMessage(planning) : PQerrorMessage(conn_));
  PQclear(planning);
  if (!planned) refuse("the PostgreSQL store at " + where_ + " cannot plan statements for their values: " + reason);
  // Names no other client of the same server connection uses (a pooler may
  // share one among several): a clash would fail the preparation.
  statement_prefix_ = "herald_" + RandomHex(6) + "_";
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

const std::string* PgConnection::Prepared(const std::string& sql) {
  if (const auto it = prepared_.find(sql); it != prepared_.end()) return &it->second;
  if (prepared_.size() >= kMaxPrepared) return nullptr;
  std::string name = statement_prefix_ + std::to_string(next_statement_++);
  pg_result* result = PQprepare(conn_, name.c_str(), sql.c_str(), 0, nullptr);
  if (result == nullptr || PQresultStatus(result) != PGRES_COMMAND_OK) Fail("a query failed", result);
  PQclear(result);
  return &prepared_.emplace(sql, std::move(name)).first->second;
}

void PgConnection::DropStaleStatements() {
  for (const auto& name : stale_statements_) {
    PQclear(PQexec(conn_, ("DEALLOCATE " + name).c_str()));
  }
  stale_statements_.clear();
}

PgResult PgConnection::Exec(const std::string& sql, const std::vector<PgParam>& params) {
  return Run(sql, params, /*may_run_again=*/true);
}

PgResult PgConnection::Run(const std::string& sql, const std::vector<PgParam>& params, bool may_run_again) {
  if (!stale_statements_.empty() && PQtransactionStatus(conn_) == PQTRANS_IDLE) DropStaleStatements();
  std::vector<const char*> values;
  std::vector<int> lengths, formats;
  values.reserve(params.size());
  for (const auto& param : params) {
    if (param.value && param.value->size() > static_cast<std::size_t>(std::numeric_limits<int>::max())) {
      throw PgError("PostgreSQL store at " + where_ + ": a value of " + std::to_string(param.value->size()) +
                        " bytes is more than one query can carry",
                    "");
    }
    values.push_back(param.value ? param.value->data() : nullptr);
    lengths.push_back(param.value ? static_cast<int>(param.value->size()) : 0);
    formats.push_back(param.binary ? 1 : 0);
  }
  const auto count = static_cast<int>(values.size());
  // Statements without parameters (BEGIN, COMMIT, SET ...) are cheap to parse
  // and are never prepared: a prepared ROLLBACK would be one more thing that
  // can fail in an aborted transaction.
  const std::string* name = params.empty() || !prepare_ ? nullptr : Prepared(sql);
  pg_result* result = name != nullptr ? PQexecPrepared(conn_, name->c_str(), count, values.data(), lengths.data(),
                                                       formats.data(), /*resultFormat=*/0)
                                      : PQexecParams(conn_, sql.c_str(), count, nullptr, values.data(), lengths.data(),
                                                     formats.data(), /*resultFormat=*/0);
  const auto status = result == nullptr ? PGRES_FATAL_ERROR : PQresultStatus(result);
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
    const char* state = result == nullptr ? nullptr : PQresultErrorField(result, PG_DIAG_SQLSTATE);
    const std::string_view sqlstate = state == nullptr ? "" : state;
    if (name != nullptr && (sqlstate == "26000" || sqlstate == "0A000")) {
      if (sqlstate == "26000") {
        // The server forgot what this connection prepared (DISCARD ALL, or a
        // pooler handing it statements on another server connection): from
        // now on its statements run unprepared.
        prepare_ = false;
        prepared_.clear();
      } else {
        // Its plan's result changed with the schema: prepared again under a
        // new name, the old one dropped once no transaction is in the way.
        stale_statements_.push_back(*name);
        prepared_.erase(sql);
      }
      // Outside a transaction nothing else was lost, so it runs again at once;
      // inside one, the transaction failed and its caller's retry runs anew.
      if (may_run_again && PQtransactionStatus(conn_) == PQTRANS_IDLE) {
        PQclear(result);
        return Run(sql, params, /*may_run_again=*/false);
      }
    }
    Fail("a query failed", result);
  }
  return PgResult(result);
}

namespace {

void AppendInt32(std::string& out, std::int32_t value) {
  const auto bits = static_cast<std::uint32_t>(value);
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>((bits >> shift) & 0xff));
}

void AppendInt64(std::string& out, std::int64_t value) {
  const auto bits = static_cast<std::uint64_t>(value);
  for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<char>((bits >> shift) & 0xff));
}

// The header of a one-dimensional array without NULLs (array_recv's format).
std::string ArrayHeader(std::uint32_t element_type, std::size_t count) {
  std::string out;
  AppendInt32(out, 1);  // dimensions
  AppendInt32(out, 0);  // no NULLs
  AppendInt32(out, static_cast<std::int32_t>(element_type));
  AppendInt32(out, static_cast<std::int32_t>(count));
  AppendInt32(out, 1);  // lower bound
  return out;
}

constexpr std::uint32_t kInt8Oid = 20;
constexpr std::uint32_t kTextOid = 25;

}  // namespace

PgParam BigintArray(const std::vector<std::int64_t>& values) {
  auto out = ArrayHeader(kInt8Oid, values.size());
  out.reserve(out.size() + values.size() * 12);
  for (const auto value : values) {
    AppendInt32(out, 8);
    AppendInt64(out, value);
  }
  return PgParam::Binary(std::move(out));
}

PgParam TextArray(const std::vector<std::string>& values) {
  auto out = ArrayHeader(kTextOid, values.size());
  std::size_t bytes = out.size();
  for (const auto& value : values) bytes += 4 + value.size();
  out.reserve(bytes);
  for (const auto& value : values) {
    AppendInt32(out, static_cast<std::int32_t>(value.size()));
    out += value;
  }
  return PgParam::Binary(std::move(out));
}

void PgConnection::ExecScript(const std::string& sql) {
  pg_result* result = PQexec(conn_, sql.c_str());
  const auto status = result == nullptr ? PGRES_FATAL_ERROR : PQresultStatus(result);
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) Fail("a script failed", result);
  PQclear(result);
}

}  // namespace herald::store::postgres
