// The store contract on SQLite (one SharedDatabase on a temporary herald.db),
// and what only the SQLite backend does: opening files from earlier versions.
#include <gtest/gtest.h>

#include "store/sqlite/sqlite_stores.hpp"
#include "store/store_contract_test.hpp"
#include "tests/support/process.hpp"

namespace herald::store::sqlite {
namespace {

class SqliteBackend final : public testing::StoreBackend {
 public:
  std::unique_ptr<Stores> Open(const Clock& clock) override {
    return std::make_unique<SqliteStores>(dir_.path() + "/herald.db", SchemaPolicy::kMigrate, clock);
  }

 private:
  herald::testing::TempDir dir_;
};

}  // namespace
}  // namespace herald::store::sqlite

namespace herald::store::testing {
HERALD_INSTANTIATE_STORE_CONTRACT(Sqlite, ::testing::Values(StoreBackendFactory([] {
                                    return std::unique_ptr<StoreBackend>(std::make_unique<sqlite::SqliteBackend>());
                                  })));
}  // namespace herald::store::testing

namespace herald::store::sqlite {
namespace {

// A store written before messages had an html column opens, gains the column,
// keeps its rows, and carries HTML to the worker from then on.
TEST(SqliteStoreUpgrade, AddsTheHtmlColumnToAStoreFromBeforeVersionedMigrations) {
  herald::testing::TempDir dir;
  const auto path = dir.path() + "/herald.db";
  {
    Database old(path);
    old.Execute(
        "CREATE TABLE api_keys (id INTEGER PRIMARY KEY, name TEXT NOT NULL, role TEXT NOT NULL, tier TEXT NOT NULL,"
        " key_hash TEXT NOT NULL UNIQUE, key_prefix TEXT NOT NULL, created_at INTEGER NOT NULL, revoked_at INTEGER);"
        "CREATE TABLE messages (id INTEGER PRIMARY KEY, owner_id INTEGER NOT NULL REFERENCES api_keys(id),"
        " idempotency_key TEXT, subject TEXT NOT NULL, content TEXT NOT NULL, priority INTEGER NOT NULL,"
        " scheduled_at INTEGER, created_at INTEGER NOT NULL, UNIQUE (owner_id, idempotency_key));"
        "INSERT INTO api_keys VALUES (1, 'old', 'user', 'free', 'h', 'hk_', 1, NULL);"
        "INSERT INTO messages VALUES (7, 1, NULL, '', 'from before', 1, NULL, 1);");
  }
  SqliteApiStore store(path);
  EXPECT_EQ(store.GetMessage(7)->content, "from before");
  EXPECT_EQ(store.GetMessage(7)->html, "");
  NewMessage message;
  message.owner_id = 1;
  message.subject = "Hi";
  message.content = "text";
  message.html = "<p>html</p>";
  message.recipients = {{"email", "ann@example.org"}};
  const auto id = store.Accept({message}, 10).at(0).message.id;
  EXPECT_EQ(store.GetMessage(id)->html, "<p>html</p>");
  const auto due = store.TakeDue("email", TakeOrder::kPriorityThenDue, 1, 10, {});
  ASSERT_EQ(due.size(), 1u);
  EXPECT_EQ(due[0].html, "<p>html</p>");
  // Opening it again finds the column there and changes nothing.
  SharedDatabase reopened(path, SchemaPolicy::kMigrate);
  EXPECT_TRUE(reopened.migration().applied.empty());
  SqliteApiStore again(reopened);
  EXPECT_EQ(again.GetMessage(id)->html, "<p>html</p>");
}

TEST(SqliteDatabase, UnopenablePathNamesTheFile) {
  try {
    Database db("/nonexistent-dir/x/herald.db");
    FAIL() << "expected an exception";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent-dir/x/herald.db"), std::string::npos);
  }
}

}  // namespace
}  // namespace herald::store::sqlite
