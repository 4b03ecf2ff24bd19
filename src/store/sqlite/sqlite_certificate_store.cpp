#include "store/sqlite/sqlite_certificate_store.hpp"

#include <set>

namespace herald::store::sqlite {
namespace {

constexpr std::string_view kColumns =
    "id, certificate_id, event_name, event_slug, student_name, email, variables_json, csv_line, status, attempts, "
    "last_error, provider_id, message_id, pdf_path, updated_at";

CertificateDelivery ReadDelivery(const Statement& row) {
  CertificateDelivery d;
  d.id = row.ColumnText(0);
  d.certificate_id = row.ColumnText(1);
  d.event_name = row.ColumnText(2);
  d.event_slug = row.ColumnText(3);
  d.student_name = row.ColumnText(4);
  d.email = row.ColumnText(5);
  d.variables_json = row.ColumnText(6);
  d.csv_line = static_cast<int>(row.ColumnInt(7));
  d.status = domain::ParseDeliveryStatus(row.ColumnText(8)).value_or(domain::DeliveryStatus::kUnknown);
  d.attempts = static_cast<int>(row.ColumnInt(9));
  d.last_error = row.ColumnText(10);
  d.provider_id = row.ColumnText(11);
  d.message_id = row.ColumnText(12);
  d.pdf_path = row.ColumnText(13);
  d.updated_at_ms = row.ColumnInt(14);
  return d;
}

}  // namespace

SqliteCertificateStore::SqliteCertificateStore(SharedDatabase& db, const Clock& clock) : clock_(clock), shared_(db) {}

SqliteCertificateStore::SqliteCertificateStore(const std::string& db_path, const Clock& clock)
    : clock_(clock), owned_(std::make_unique<SharedDatabase>(db_path, SchemaPolicy::kMigrate)), shared_(*owned_) {}

std::int64_t SqliteCertificateStore::InsertNew(const std::vector<CertificateDelivery>& rows) {
  auto db = shared_.Durable();
  Transaction tx(*db);
  auto insert = db->Prepare(
      "INSERT OR IGNORE INTO certificate_deliveries (id, certificate_id, event_name, event_slug, student_name, email, "
      "variables_json, csv_line, status, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,'queued',?,?)");
  std::int64_t inserted = 0;
  const auto now = NowMs();
  for (const auto& row : rows) {
    insert.Bind(1, row.id).Bind(2, row.certificate_id).Bind(3, row.event_name).Bind(4, row.event_slug);
    insert.Bind(5, row.student_name).Bind(6, row.email).Bind(7, row.variables_json).Bind(8, row.csv_line);
    insert.Bind(9, now).Bind(10, now);
    insert.Step();
    inserted += db->ChangedRows();
    insert.Reset();
  }
  tx.Commit();
  return inserted;
}

std::int64_t SqliteCertificateStore::ReviveCancelled(const std::vector<std::string>& ids) {
  auto db = shared_.Durable();
  Transaction tx(*db);
  auto revive = db->Prepare(
      "UPDATE certificate_deliveries SET status = 'queued', published = 0, last_error = '', updated_at = ? "
      "WHERE id = ? AND status = 'cancelled'");
  std::int64_t revived = 0;
  const auto now = NowMs();
  for (const auto& id : ids) {
    revive.Bind(1, now).Bind(2, id);
    revive.Step();
    revived += db->ChangedRows();
    revive.Reset();
  }
  tx.Commit();
  return revived;
}

std::vector<std::string> SqliteCertificateStore::UnpublishedIds(const std::string& event_slug) {
  auto db = shared_.Durable();
  auto query = db->Prepare(
      "SELECT id FROM certificate_deliveries WHERE event_slug = ? AND status = 'queued' AND published = 0 "
      "ORDER BY csv_line, id");
  query.Bind(1, event_slug);
  std::vector<std::string> ids;
  while (query.Step()) ids.push_back(query.ColumnText(0));
  return ids;
}

void SqliteCertificateStore::MarkPublished(const std::vector<std::string>& ids) {
  auto db = shared_.Durable();
  Transaction tx(*db);
  auto update = db->Prepare("UPDATE certificate_deliveries SET published = 1 WHERE id = ?");
  for (const auto& id : ids) {
    update.Bind(1, id);
    update.Step();
    update.Reset();
  }
  tx.Commit();
}

void SqliteCertificateStore::ForgetPublished(const std::string& event_slug) {
  auto db = shared_.Durable();
  auto update = db->Prepare(
      "UPDATE certificate_deliveries SET published = 0 WHERE event_slug = ? AND status = 'queued' AND published = 1");
  update.Bind(1, event_slug);
  update.Step();
}

std::optional<CertificateDelivery> SqliteCertificateStore::Get(const std::string& id) {
  auto rows = GetMany({id});
  if (rows.empty()) return std::nullopt;
  return std::move(rows.front());
}

std::vector<CertificateDelivery> SqliteCertificateStore::GetMany(const std::vector<std::string>& ids) {
  auto db = shared_.Durable();
  auto query = db->Prepare("SELECT " + std::string(kColumns) + " FROM certificate_deliveries WHERE id = ?");
  std::vector<CertificateDelivery> rows;
  for (const auto& id : ids) {
    query.Bind(1, id);
    if (query.Step()) rows.push_back(ReadDelivery(query));
    query.Reset();
  }
  return rows;
}

bool SqliteCertificateStore::ClaimLocked(Database& db, const std::string& id, const std::string& run_id, std::int64_t now) {
  // A row this run claimed already is its claim again (see the interface).
  auto claim = db.Cached(
      "UPDATE certificate_deliveries SET status = 'sending', attempts = attempts + (status = 'queued'), run_id = ?1, "
      "updated_at = ?2 WHERE id = ?3 AND (status = 'queued' OR (status = 'sending' AND run_id = ?1))");
  claim->Bind(1, run_id).Bind(2, now).Bind(3, id);
  claim->Step();
  return db.ChangedRows() == 1;
}

void SqliteCertificateStore::RecordLocked(Database& db, const std::vector<DeliveryUpdate>& updates, std::int64_t now,
                                          const std::string& run_id) {
  auto update = db.Cached(
      "UPDATE certificate_deliveries SET status = ?1, last_error = ?2, "
      "provider_id = CASE WHEN ?3 = '' THEN provider_id ELSE ?3 END, "
      "message_id = CASE WHEN ?4 = '' THEN message_id ELSE ?4 END, "
      "pdf_path = CASE WHEN ?5 = '' THEN pdf_path ELSE ?5 END, updated_at = ?6 WHERE id = ?7 "
      "AND CASE WHEN ?8 THEN status = 'sending' AND run_id = ?9 ELSE status = 'queued' END");
  for (const auto& u : updates) {
    update->Reset();
    update->Bind(1, domain::ToString(u.status)).Bind(2, u.detail);
    update->Bind(3, u.provider_id).Bind(4, u.message_id).Bind(5, u.pdf_path);
    update->Bind(6, now).Bind(7, u.id);
    update->Bind(8, static_cast<std::int64_t>(u.claimed ? 1 : 0)).Bind(9, run_id);
    update->Step();
  }
}

std::vector<bool> SqliteCertificateStore::RecordAndClaim(const std::vector<DeliveryUpdate>& updates,
                                                         const std::vector<std::string>& claim_ids,
                                                         const std::string& run_id) {
  auto db = shared_.Durable();
  Transaction tx(*db);
  const auto now = NowMs();
  RecordLocked(*db, updates, now, run_id);
  std::vector<bool> claimed;
  claimed.reserve(claim_ids.size());
  std::set<std::string> asked;
  for (const auto& id : claim_ids) claimed.push_back(asked.insert(id).second && ClaimLocked(*db, id, run_id, now));
  tx.Commit();
  return claimed;
}

std::vector<CertificateDelivery> SqliteCertificateStore::ResolveAbandoned(const std::string& current_run_id,
                                                                         std::int64_t alive_since_ms) {
  auto db = shared_.Durable();
  Transaction tx(*db);
  constexpr std::string_view kAbandoned =
      " WHERE status = 'sending' AND run_id <> ?1 AND NOT EXISTS ("
      "SELECT 1 FROM delivery_processes p WHERE p.id = certificate_deliveries.run_id AND p.seen_at >= ?2)";
  auto query = db->Prepare("SELECT " + std::string(kColumns) + " FROM certificate_deliveries" + std::string(kAbandoned));
  query.Bind(1, current_run_id).Bind(2, alive_since_ms);
  std::vector<CertificateDelivery> abandoned;
  while (query.Step()) abandoned.push_back(ReadDelivery(query));
  auto update = db->Prepare(
      "UPDATE certificate_deliveries SET status = 'unknown', updated_at = ?3, "
      "last_error = 'the process stopped while this message was being sent; it may or may not have been delivered'" +
      std::string(kAbandoned));
  update.Bind(1, current_run_id).Bind(2, alive_since_ms).Bind(3, NowMs());
  update.Step();
  tx.Commit();
  for (auto& row : abandoned) row.status = domain::DeliveryStatus::kUnknown;
  return abandoned;
}

std::int64_t SqliteCertificateStore::ResolveOwnUnrecorded(const std::string& run_id) {
  auto db = shared_.Durable();
  auto update = db->Prepare(
      "UPDATE certificate_deliveries SET status = 'unknown', updated_at = ?1, "
      "last_error = 'the outcome of this send could not be recorded; it may or may not have been delivered' "
      "WHERE status = 'sending' AND run_id = ?2");
  update.Bind(1, NowMs()).Bind(2, run_id);
  update.Step();
  return db->ChangedRows();
}

std::int64_t SqliteCertificateStore::Requeue(const std::string& event_slug,
                                             const std::vector<domain::DeliveryStatus>& statuses) {
  auto db = shared_.Durable();
  Transaction tx(*db);
  auto requeue = db->Cached(
      "UPDATE certificate_deliveries SET status = 'queued', attempts = 0, published = 0, updated_at = ?1, "
      "last_error = 'retry requested after: ' || last_error WHERE event_slug = ?2 AND status = ?3");
  std::int64_t requeued = 0;
  for (const auto status : statuses) {
    requeue->Reset();
    requeue->Bind(1, NowMs()).Bind(2, event_slug).Bind(3, domain::ToString(status)).Step();
    requeued += db->ChangedRows();
  }
  tx.Commit();
  return requeued;
}

std::int64_t SqliteCertificateStore::CancelEvent(const std::string& event_slug, const std::string& reason) {
  auto db = shared_.Durable();
  auto cancel = db->Prepare(
      "UPDATE certificate_deliveries SET status = 'cancelled', last_error = ?, updated_at = ? "
      "WHERE event_slug = ? AND status = 'queued'");
  cancel.Bind(1, reason).Bind(2, NowMs()).Bind(3, event_slug);
  cancel.Step();
  return db->ChangedRows();
}

std::map<std::string, StatusCounts> SqliteCertificateStore::CountByEvent() {
  auto db = shared_.Durable();
  auto query = db->Prepare("SELECT event_slug, status, COUNT(*) FROM certificate_deliveries GROUP BY 1, 2");
  std::map<std::string, StatusCounts> counts;
  while (query.Step()) {
    const auto status = domain::ParseDeliveryStatus(query.ColumnText(1));
    if (status) counts[query.ColumnText(0)][*status] = query.ColumnInt(2);
  }
  return counts;
}

std::int64_t SqliteCertificateStore::OpenCount(const std::string& event_slug) {
  auto db = shared_.Durable();
  auto query = db->Prepare(
      "SELECT COUNT(*) FROM certificate_deliveries WHERE event_slug = ? AND status IN ('queued', 'sending')");
  query.Bind(1, event_slug);
  query.Step();
  return query.ColumnInt(0);
}

void SqliteCertificateStore::SaveLane(const EventLane& lane) {
  auto db = shared_.Durable();
  auto upsert = db->Prepare(
      "INSERT INTO certificate_lanes (slug, event_name, queue_name, job) VALUES (?,?,?,?) "
      "ON CONFLICT(slug) DO UPDATE SET event_name = excluded.event_name, queue_name = excluded.queue_name, "
      "job = excluded.job");
  upsert.Bind(1, lane.slug).Bind(2, lane.event_name).Bind(3, lane.queue_name).Bind(4, lane.job);
  upsert.Step();
}

std::vector<EventLane> SqliteCertificateStore::Lanes() {
  auto db = shared_.Durable();
  auto query = db->Prepare("SELECT slug, event_name, queue_name, job FROM certificate_lanes ORDER BY slug");
  std::vector<EventLane> lanes;
  while (query.Step()) {
    lanes.push_back({query.ColumnText(0), query.ColumnText(1), query.ColumnText(2), query.ColumnText(3)});
  }
  return lanes;
}

void SqliteCertificateStore::DeleteLane(const std::string& slug) {
  auto db = shared_.Durable();
  auto del = db->Prepare("DELETE FROM certificate_lanes WHERE slug = ?");
  del.Bind(1, slug);
  del.Step();
}

}  // namespace herald::store::sqlite
