// The store contract (store_contract_test.hpp) on PostgreSQL: every suite the
// SQLite backend passes, against a private server, a new database per test.
#include <gtest/gtest.h>

#include <atomic>

#include "store/postgres/postgres_stores.hpp"
#include "store/store_contract_test.hpp"
#include "tests/support/postgres_server.hpp"

namespace herald::store::postgres {
namespace {

class PostgresBackend final : public testing::StoreBackend {
 public:
  PostgresBackend() {
    static std::atomic<int> next{0};
    url_ = herald::testing::SharedPostgresServer().NewDatabaseUrl("contract_" + std::to_string(next++));
  }
  std::unique_ptr<Stores> Open(const Clock& clock) override {
    return std::make_unique<PostgresStores>(url_, 4, std::chrono::seconds(10), SchemaPolicy::kMigrate, clock);
  }

 private:
  std::string url_;
};

}  // namespace
}  // namespace herald::store::postgres

namespace herald::store::testing {
HERALD_INSTANTIATE_STORE_CONTRACT(Postgres, ::testing::Values(StoreBackendFactory([] {
                                    return std::unique_ptr<StoreBackend>(
                                        std::make_unique<postgres::PostgresBackend>());
                                  })));
}  // namespace herald::store::testing
