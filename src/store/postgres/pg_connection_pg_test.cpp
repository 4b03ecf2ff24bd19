// PgConnection against a private server: statements with parameters are
// prepared once per connection and survive the server forgetting them or a
// schema change; arrays travel in the binary format, any text as it is.
#include "store/postgres/pg_pool.hpp"

#include <gtest/gtest.h>

#include "tests/support/postgres_server.hpp"

namespace herald::store::postgres {
namespace {

constexpr std::chrono::milliseconds kQueryTimeout{10000};

std::int64_t PreparedCount(PgConnection& db) {
  return db.Exec("SELECT COUNT(*) FROM pg_prepared_statements").Int(0, 0);
}

TEST(PostgresConnection, AStatementWithParametersIsPreparedOnceAndRunAsPreparedAfter) {
  PgConnection db(herald::testing::SharedPostgresServer().NewDatabaseUrl("prepared_once"), kQueryTimeout);
  for (int n = 0; n < 10; ++n) EXPECT_EQ(db.Exec("SELECT $1::bigint + 1", {Param(n)}).Int(0, 0), n + 1);
  EXPECT_EQ(PreparedCount(db), 1);
  db.Exec("SELECT $1::bigint * 2", {Param(3)});
  EXPECT_EQ(PreparedCount(db), 2);
  // Planned for its values each time: a generic plan made while a table was
  // small would scan it whole for every claim once it has grown (measured:
  // 10x the store's CPU on a first campaign of 50,000).
  EXPECT_EQ(db.Exec("SHOW plan_cache_mode").Text(0, 0), "force_custom_plan");
}

// Server options in the URL add to herald's (and win where they name the
// same setting), except the planning, which herald sets after connecting.
TEST(PostgresConnection, OptionsInTheUrlAddToHeraldsAndDoNotUndoPlanningForTheValues) {
  const auto url = herald::testing::SharedPostgresServer().NewDatabaseUrl("plan_options");
  const auto with = [&url](const std::string& options) {
    return url + (url.find('?') == std::string::npos ? "?" : "&") + "options=" + options;
  };
  PgConnection db(with("-c%20plan_cache_mode%3Dauto%20-c%20search_path%3Dpg_catalog"), kQueryTimeout);
  EXPECT_EQ(db.Exec("SHOW plan_cache_mode").Text(0, 0), "force_custom_plan");
  EXPECT_EQ(db.Exec("SHOW search_path").Text(0, 0), "pg_catalog");
  EXPECT_EQ(db.Exec("SHOW statement_timeout").Text(0, 0), "10s") << "herald's deadline is kept";
  PgConnection own_deadline(with("-c%20statement_timeout%3D3s"), kQueryTimeout);
  EXPECT_EQ(own_deadline.Exec("SHOW statement_timeout").Text(0, 0), "3s") << "the URL's choice wins";
}

// A pooler may hand one server connection to several clients in turn: two
// connections never prepare under the same name.
TEST(PostgresConnection, TwoConnectionsPrepareUnderDifferentNames) {
  const auto url = herald::testing::SharedPostgresServer().NewDatabaseUrl("prepared_names");
  PgConnection first(url, kQueryTimeout);
  PgConnection second(url, kQueryTimeout);
  first.Exec("SELECT $1::bigint", {Param(1)});
  second.Exec("SELECT $1::bigint", {Param(1)});
  const auto name = [](PgConnection& db) { return db.Exec("SELECT name FROM pg_prepared_statements").Text(0, 0); };
  EXPECT_NE(name(first), name(second));
  EXPECT_EQ(name(first).rfind("herald_", 0), 0u);
}

// Prepared statements that vanish mean something between us and the server
// discards them (DISCARD ALL, a pooler): the connection stops preparing.
TEST(PostgresConnection, WhenTheServerForgetsWhatWasPreparedStatementsRunUnprepared) {
  PgConnection db(herald::testing::SharedPostgresServer().NewDatabaseUrl("prepared_forgotten"), kQueryTimeout);
  EXPECT_EQ(db.Exec("SELECT $1::bigint + 1", {Param(1)}).Int(0, 0), 2);
  db.Exec("DEALLOCATE ALL");
  EXPECT_EQ(db.Exec("SELECT $1::bigint + 1", {Param(2)}).Int(0, 0), 3);
  EXPECT_EQ(db.Exec("SELECT $1::bigint * 3", {Param(2)}).Int(0, 0), 6);
  EXPECT_EQ(PreparedCount(db), 0);
}

TEST(PostgresConnection, AStatementTheServerForgotInsideATransactionFailsThatTransactionOnly) {
  PgConnection db(herald::testing::SharedPostgresServer().NewDatabaseUrl("prepared_forgotten_tx"), kQueryTimeout);
  EXPECT_EQ(db.Exec("SELECT $1::bigint + 1", {Param(1)}).Int(0, 0), 2);
  db.Exec("DEALLOCATE ALL");
  db.Exec("BEGIN");
  EXPECT_THROW(db.Exec("SELECT $1::bigint + 1", {Param(1)}), PgError);
  db.Exec("ROLLBACK");
  EXPECT_EQ(db.Exec("SELECT $1::bigint + 1", {Param(4)}).Int(0, 0), 5);
}

TEST(PostgresConnection, AStatementWhoseResultChangedWithTheSchemaIsPreparedAgain) {
  PgConnection db(herald::testing::SharedPostgresServer().NewDatabaseUrl("prepared_schema"), kQueryTimeout);
  db.Exec("CREATE TABLE t (a BIGINT)");
  db.Exec("INSERT INTO t VALUES (1)");
  const std::string sql = "SELECT * FROM t WHERE a = $1";
  EXPECT_EQ(db.Exec(sql, {Param(1)}).Rows(), 1);
  db.Exec("ALTER TABLE t ADD COLUMN b TEXT");
  // The server refuses the old plan ("cached plan must not change result
  // type"); outside a transaction the statement is prepared again at once.
  const auto again = db.Exec(sql, {Param(1)});
  EXPECT_EQ(again.Rows(), 1);
  EXPECT_TRUE(again.IsNull(0, 1));
  db.Exec("ALTER TABLE t ADD COLUMN c TEXT");
  db.Exec("BEGIN");
  std::string refused;
  try {
    db.Exec(sql, {Param(1)});
  } catch (const PgError& e) {
    refused = e.sqlstate();
  }
  EXPECT_EQ(refused, "0A000");
  db.Exec("ROLLBACK");
  EXPECT_EQ(db.Exec(sql, {Param(1)}).Rows(), 1);
  EXPECT_EQ(PreparedCount(db), 1) << "the plans made for the old schema are dropped";
}

TEST(PostgresConnection, ArraysCarryEveryValueAsItIs) {
  PgConnection db(herald::testing::SharedPostgresServer().NewDatabaseUrl("binary_arrays"), kQueryTimeout);
  const std::vector<std::string> texts = {"", "plain", "with \"quotes\", {braces} and \\backslashes\\", "NULL",
                                          "line\nbreak\ttab", "ünïcödé ✓"};
  const auto rows = db.Exec("SELECT v, ordinality FROM unnest($1::text[]) WITH ORDINALITY AS u (v, ordinality) "
                            "ORDER BY ordinality",
                            {Param(texts)});
  ASSERT_EQ(rows.Rows(), static_cast<int>(texts.size()));
  for (int i = 0; i < rows.Rows(); ++i) {
    EXPECT_FALSE(rows.IsNull(i, 0));
    EXPECT_EQ(rows.Text(i, 0), texts[static_cast<std::size_t>(i)]);
  }
  const std::vector<std::int64_t> numbers = {0, -1, 1, INT64_MAX, INT64_MIN, 4'294'967'296};
  const auto sums = db.Exec("SELECT v::text FROM unnest($1::bigint[]) WITH ORDINALITY AS u (v, o) ORDER BY o",
                            {Param(numbers)});
  ASSERT_EQ(sums.Rows(), static_cast<int>(numbers.size()));
  for (int i = 0; i < sums.Rows(); ++i) EXPECT_EQ(sums.Text(i, 0), std::to_string(numbers[static_cast<std::size_t>(i)]));
  EXPECT_EQ(db.Exec("SELECT cardinality($1::bigint[]), cardinality($2::text[])",
                    {Param(std::vector<std::int64_t>{}), Param(std::vector<std::string>{})})
                .Text(0, 0),
            "0");
}

}  // namespace
}  // namespace herald::store::postgres
