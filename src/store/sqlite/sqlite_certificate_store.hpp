// CertificateStore on the embedded SQLite database in the data dir, through
// the shared Durable() writer: each call is one short transaction, committed
// (fsynced) before it returns.
#pragma once

#include <memory>

#include "common/clock.hpp"
#include "store/certificate_store.hpp"
#include "store/sqlite/shared_database.hpp"

namespace herald::store::sqlite {

class SqliteCertificateStore final : public CertificateStore {
 public:
  SqliteCertificateStore(SharedDatabase& db, const Clock& clock);
  // On a SharedDatabase of its own (migrating the file), for tools and tests.
  SqliteCertificateStore(const std::string& db_path, const Clock& clock);

  std::int64_t InsertNew(const std::vector<CertificateDelivery>& rows) override;
  std::int64_t ReviveCancelled(const std::vector<std::string>& ids) override;
  std::vector<std::string> UnpublishedIds(const std::string& event_slug) override;
  void MarkPublished(const std::vector<std::string>& ids) override;
  void ForgetPublished(const std::string& event_slug) override;
  std::optional<CertificateDelivery> Get(const std::string& id) override;
  std::vector<CertificateDelivery> GetMany(const std::vector<std::string>& ids) override;
  std::vector<bool> RecordAndClaim(const std::vector<DeliveryUpdate>& updates, const std::vector<std::string>& claim_ids,
                                           const std::string& run_id) override;
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
  // On the Durable() writer `db`, in its transaction.
  bool ClaimLocked(Database& db, const std::string& id, const std::string& run_id, std::int64_t now);
  void RecordLocked(Database& db, const std::vector<DeliveryUpdate>& updates, std::int64_t now,
                    const std::string& run_id);
  std::int64_t NowMs() const { return ToUnixMillis(clock_.Now()); }

  const Clock& clock_;
  std::unique_ptr<SharedDatabase> owned_;  // set by the path constructor only
  SharedDatabase& shared_;
};

}  // namespace herald::store::sqlite
