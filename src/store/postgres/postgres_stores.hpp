// Every PostgreSQL store of a process on one connection pool: what the wiring
// hands to the commands when store.kind = "postgres", and what the contract
// suite runs against.
#pragma once

#include <chrono>
#include <string>

#include "common/clock.hpp"
#include "store/postgres/migrations.hpp"
#include "store/postgres/pg_api_store.hpp"
#include "store/postgres/pg_campaign_store.hpp"
#include "store/postgres/pg_certificate_store.hpp"
#include "store/postgres/pg_pacing_store.hpp"
#include "store/postgres/pg_pool.hpp"
#include "store/stores.hpp"

namespace herald::store::postgres {

class PostgresStores final : public Stores {
 public:
  // Throws PgError naming the server when it cannot be reached, SchemaError
  // when its schema does not fit `policy`.
  // relay_outbox: this process's lanes go through a broker, so what it
  // stores or requeues gets outbox rows for the relay (pg_outbox.hpp).
  PostgresStores(const std::string& url, int pool_size, std::chrono::milliseconds query_timeout, SchemaPolicy policy,
                 const Clock& clock, bool relay_outbox = true)
      : pool_(url, pool_size, query_timeout),
        migration_(Prepare(pool_, policy)),
        api_(pool_, relay_outbox),
        campaigns_(pool_, relay_outbox),
        pacing_(pool_),
        certificates_(pool_, clock) {}

  KeyStore& keys() override { return api_; }
  MessageStore& messages() override { return api_; }
  MessageDeliveryStore& deliveries() override { return api_; }
  TrackingStore& tracking() override { return api_; }
  ContactStore& contacts() override { return campaigns_; }
  TemplateStore& templates() override { return campaigns_; }
  CampaignStore& campaigns() override { return campaigns_; }
  PacingStore& pacing() override { return pacing_; }
  CertificateStore& certificates() override { return certificates_; }
  std::string_view kind() const override { return "postgres"; }
  std::string where() const override { return pool_.where(); }
  const MigrationReport& migration() const override { return migration_; }

 private:
  static MigrationReport Prepare(PgPool& pool, SchemaPolicy policy) {
    auto db = pool.Acquire();
    if (policy == SchemaPolicy::kMigrate) return Migrate(*db);
    RequireCurrentSchema(*db);
    return {.from_version = LatestSchemaVersion(), .to_version = LatestSchemaVersion()};
  }

  PgPool pool_;
  MigrationReport migration_;
  PgApiStore api_;
  PgCampaignStore campaigns_;
  PgPacingStore pacing_;
  PgCertificateStore certificates_;
};

}  // namespace herald::store::postgres
