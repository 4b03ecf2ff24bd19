// Every SQLite store of a process on one SharedDatabase (herald.db).
#pragma once

#include <string>

#include "common/clock.hpp"
#include "store/sqlite/shared_database.hpp"
#include "store/sqlite/sqlite_api_store.hpp"
#include "store/sqlite/sqlite_campaign_store.hpp"
#include "store/sqlite/sqlite_certificate_store.hpp"
#include "store/sqlite/sqlite_pacing_store.hpp"
#include "store/stores.hpp"

namespace herald::store::sqlite {

class SqliteStores final : public Stores {
 public:
  // Throws std::runtime_error naming the file when it cannot be opened,
  // SchemaError when its schema does not fit `policy`.
  SqliteStores(const std::string& path, SchemaPolicy policy, const Clock& clock)
      : db_(path, policy), api_(db_), campaigns_(db_), pacing_(db_), certificates_(db_, clock) {}

  KeyStore& keys() override { return api_; }
  MessageStore& messages() override { return api_; }
  MessageDeliveryStore& deliveries() override { return api_; }
  TrackingStore& tracking() override { return api_; }
  ContactStore& contacts() override { return campaigns_; }
  TemplateStore& templates() override { return campaigns_; }
  CampaignStore& campaigns() override { return campaigns_; }
  PacingStore& pacing() override { return pacing_; }
  CertificateStore& certificates() override { return certificates_; }
  std::string_view kind() const override { return "sqlite"; }
  std::string where() const override { return db_.path(); }
  const MigrationReport& migration() const override { return db_.migration(); }

 private:
  SharedDatabase db_;
  SqliteApiStore api_;
  SqliteCampaignStore campaigns_;
  SqlitePacingStore pacing_;
  SqliteCertificateStore certificates_;
};

}  // namespace herald::store::sqlite
