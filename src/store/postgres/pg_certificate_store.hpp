// The certificate job's deliveries on PostgreSQL: one row per (event,
// student), its state, and the lanes of the listed events, as on SQLite. A
// claim is a conditional UPDATE, so workers of several processes claim each
// delivery once.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.hpp"
#include "store/certificate_store.hpp"
#include "store/postgres/pg_pool.hpp"

namespace herald::store::postgres {

class PgCertificateStore final : public CertificateStore {
 public:
  PgCertificateStore(PgPool& pool, const Clock& clock) : pool_(pool), clock_(clock) {}

  std::int64_t InsertNew(const std::vector<CertificateDelivery>& rows) override;
  std::int64_t ReviveCancelled(const std::vector<std::string>& ids) override;
  std::vector<std::string> UnpublishedIds(const std::string& event_slug) override;
  void MarkPublished(const std::vector<std::string>& ids) override;
  void ForgetPublished(const std::string& event_slug) override;
  std::optional<CertificateDelivery> Get(const std::string& id) override;
  std::vector<CertificateDelivery> GetMany(const std::vector<std::string>& ids) override;
  std::vector<bool> RecordAndClaim(const std::vector<DeliveryUpdate>& updates,
                                   const std::vector<std::string>& claim_ids, const std::string& run_id) override;
  std::vector<CertificateDelivery> ResolveAbandoned(const std::string& current_run_id,
                                                    std::int64_t alive_since_ms) override;
  std::int64_t ResolveOwnUnrecorded(const std::string& run_id) override;
  std::int64_t Requeue(const std::string& event_slug, const std::vector<domain::DeliveryStatus>& statuses) override;
  std::int64_t CancelEvent(const std::string& event_slug, const std::string& reason) override;
  std::map<std::string, StatusCounts> CountByEvent() override;
  std::int64_t OpenCount(const std::string& event_slug) override;
  void SaveLane(const EventLane& lane) override;
  std::vector<EventLane> Lanes() override;
  void DeleteLane(const std::string& slug) override;

 private:
  std::int64_t NowMs() const { return ToUnixMillis(clock_.Now()); }

  PgPool& pool_;
  const Clock& clock_;
};

}  // namespace herald::store::postgres
