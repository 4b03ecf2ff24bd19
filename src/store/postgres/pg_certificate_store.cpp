#include "store/postgres/pg_certificate_store.hpp"

#include <set>
#include <utility>

namespace herald::store::postgres {
namespace {

constexpr std::string_view kColumns =
    "id, certificate_id, event_name, event_slug, student_name, email, variables_json, csv_line, status, attempts, "
    "last_error, provider_id, message_id, pdf_path, updated_at";

CertificateDelivery ReadDelivery(const PgResult& rows, int row) {
  CertificateDelivery d;
  d.id = rows.Text(row, 0);
  d.certificate_id = rows.Text(row, 1);
  d.event_name = rows.Text(row, 2);
  d.event_slug = rows.Text(row, 3);
  d.student_name = rows.Text(row, 4);
  d.email = rows.Text(row, 5);
  d.variables_json = rows.Text(row, 6);
  d.csv_line = static_cast<int>(rows.Int(row, 7));
  d.status = domain::ParseDeliveryStatus(rows.Text(row, 8)).value_or(domain::DeliveryStatus::kUnknown);
  d.attempts = static_cast<int>(rows.Int(row, 9));
  d.last_error = rows.Text(row, 10);
  d.provider_id = rows.Text(row, 11);
  d.message_id = rows.Text(row, 12);
  d.pdf_path = rows.Text(row, 13);
  d.updated_at_ms = rows.Int(row, 14);
  return d;
}

void RecordOn(PgConnection& db, const std::vector<DeliveryUpdate>& updates, std::int64_t now,
              const std::string& run_id) {
  for (const auto& u : updates) {
    // An empty provider id, Message-ID or PDF path keeps what an earlier attempt stored.
    db.Exec(
        "UPDATE certificate_deliveries SET status = $1, last_error = $2, "
        "provider_id = CASE WHEN $3::text = '' THEN provider_id ELSE $3::text END, "
        "message_id = CASE WHEN $4::text = '' THEN message_id ELSE $4::text END, "
        "pdf_path = CASE WHEN $5::text = '' THEN pdf_path ELSE $5::text END, updated_at = $6 WHERE id = $7 "
        "AND CASE WHEN $8::boolean THEN status = 'sending' AND run_id = $9 ELSE status = 'queued' END",
        {Param(domain::ToString(u.status)), Param(u.detail), Param(u.provider_id), Param(u.message_id),
         Param(u.pdf_path), Param(now), Param(u.id), Param(u.claimed), Param(run_id)});
  }
}

}  // namespace

std::int64_t PgCertificateStore::InsertNew(const std::vector<CertificateDelivery>& rows) {
  auto db = pool_.Acquire();
  PgTransaction tx(*db);
  std::int64_t inserted = 0;
  const auto now = NowMs();
  for (const auto& row : rows) {
    inserted += db->Exec(
                      "INSERT INTO certificate_deliveries (id, certificate_id, event_name, event_slug, student_name, "
                      "email, variables_json, csv_line, status, created_at, updated_at) "
                      "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'queued', $9, $9) ON CONFLICT (id) DO NOTHING",
                      {Param(row.id), Param(row.certificate_id), Param(row.event_name), Param(row.event_slug),
                       Param(row.student_name), Param(row.email), Param(row.variables_json), Param(row.csv_line),
                       Param(now)})
                    .Affected();
  }
  tx.Commit();
  return inserted;
}

std::int64_t PgCertificateStore::ReviveCancelled(const std::vector<std::string>& ids) {
  if (ids.empty()) return 0;
  auto db = pool_.Acquire();
  return db
      ->Exec(
          "UPDATE certificate_deliveries SET status = 'queued', published = 0, last_error = '', updated_at = $1 "
          "WHERE id = ANY($2::text[]) AND status = 'cancelled'",
          {Param(NowMs()), Param(ids)})
      .Affected();
}

std::vector<std::string> PgCertificateStore::UnpublishedIds(const std::string& event_slug) {
  auto db = pool_.Acquire();
  const auto rows = db->Exec(
      "SELECT id FROM certificate_deliveries WHERE event_slug = $1 AND status = 'queued' AND published = 0 "
      "ORDER BY csv_line, id",
      {Param(event_slug)});
  std::vector<std::string> ids;
  ids.reserve(static_cast<std::size_t>(rows.Rows()));
  for (int i = 0; i < rows.Rows(); ++i) ids.push_back(rows.Text(i, 0));
  return ids;
}

void PgCertificateStore::MarkPublished(const std::vector<std::string>& ids) {
  if (ids.empty()) return;
  auto db = pool_.Acquire();
  db->Exec("UPDATE certificate_deliveries SET published = 1 WHERE id = ANY($1::text[])", {Param(ids)});
}

void PgCertificateStore::ForgetPublished(const std::string& event_slug) {
  auto db = pool_.Acquire();
  db->Exec(
      "UPDATE certificate_deliveries SET published = 0 WHERE event_slug = $1 AND status = 'queued' AND published = 1",
      {Param(event_slug)});
}

std::optional<CertificateDelivery> PgCertificateStore::Get(const std::string& id) {
  auto rows = GetMany({id});
  if (rows.empty()) return std::nullopt;
  return std::move(rows.front());
}

std::vector<CertificateDelivery> PgCertificateStore::GetMany(const std::vector<std::string>& ids) {
  std::vector<CertificateDelivery> found;
  if (ids.empty()) return found;
  auto db = pool_.Acquire();
  // In the order asked for (a name asked twice comes back twice), as on SQLite.
  const auto rows = db->Exec("SELECT " + std::string(kColumns) +
                                 " FROM certificate_deliveries JOIN unnest($1::text[]) WITH ORDINALITY AS asked "
                                 "(asked_id, place) ON asked.asked_id = id ORDER BY asked.place",
                             {Param(ids)});
  found.reserve(static_cast<std::size_t>(rows.Rows()));
  for (int i = 0; i < rows.Rows(); ++i) found.push_back(ReadDelivery(rows, i));
  return found;
}

std::vector<bool> PgCertificateStore::RecordAndClaim(const std::vector<DeliveryUpdate>& updates,
                                                     const std::vector<std::string>& claim_ids,
                                                     const std::string& run_id) {
  auto db = pool_.Acquire();
  PgTransaction tx(*db);
  const auto now = NowMs();
  RecordOn(*db, updates, now, run_id);
  std::vector<bool> claimed(claim_ids.size(), false);
  if (!claim_ids.empty()) {
    // Only rows still queued are claimed: a second process claiming the same row gets nothing.
    const auto rows = db->Exec(
        "UPDATE certificate_deliveries SET status = 'sending', run_id = $1, updated_at = $2, "
        "attempts = attempts + CASE WHEN status = 'queued' THEN 1 ELSE 0 END WHERE id = ANY($3::text[]) "
        "AND (status = 'queued' OR (status = 'sending' AND run_id = $1)) RETURNING id",
        {Param(run_id), Param(now), Param(claim_ids)});
    std::set<std::string> won;
    for (int i = 0; i < rows.Rows(); ++i) won.insert(rows.Text(i, 0));
    // A name asked twice in one batch is claimed once: the first asker has it.
    for (std::size_t i = 0; i < claim_ids.size(); ++i) claimed[i] = won.erase(claim_ids[i]) > 0;
  }
  tx.Commit();
  return claimed;
}

std::vector<CertificateDelivery> PgCertificateStore::ResolveAbandoned(const std::string& current_run_id,
                                                                     std::int64_t alive_since_ms) {
  auto db = pool_.Acquire();
  PgTransaction tx(*db);
  // FOR UPDATE keeps the rows reported and the rows marked the same set: a row its run finishes meanwhile is read
  // as it ended and left alone. Like SQLite, the rows come back as they were before, only their status changed.
  // In insertion order as near as PostgreSQL has one (SQLite read them in rowid order), which also locks rows in
  // one order for every caller.
  const auto rows = db->Exec("SELECT " + std::string(kColumns) +
                                 " FROM certificate_deliveries d WHERE status = 'sending' AND run_id <> $1 AND NOT EXISTS ("
                                 "SELECT 1 FROM delivery_processes p WHERE p.id = d.run_id AND p.seen_at >= $2) "
                                 "ORDER BY created_at, csv_line, id FOR UPDATE OF d",
                             {Param(current_run_id), Param(alive_since_ms)});
  std::vector<CertificateDelivery> abandoned;
  std::vector<std::string> ids;
  abandoned.reserve(static_cast<std::size_t>(rows.Rows()));
  ids.reserve(static_cast<std::size_t>(rows.Rows()));
  for (int i = 0; i < rows.Rows(); ++i) {
    abandoned.push_back(ReadDelivery(rows, i));
    ids.push_back(abandoned.back().id);
  }
  if (!ids.empty()) {
    db->Exec(
        "UPDATE certificate_deliveries SET status = 'unknown', updated_at = $1, "
        "last_error = 'the process stopped while this message was being sent; it may or may not have been delivered' "
        "WHERE id = ANY($2::text[])",
        {Param(NowMs()), Param(ids)});
  }
  tx.Commit();
  for (auto& row : abandoned) row.status = domain::DeliveryStatus::kUnknown;
  return abandoned;
}

std::int64_t PgCertificateStore::ResolveOwnUnrecorded(const std::string& run_id) {
  auto db = pool_.Acquire();
  return db
      ->Exec("UPDATE certificate_deliveries SET status = 'unknown', updated_at = $1, "
             "last_error = 'the outcome of this send could not be recorded; it may or may not have been delivered' "
             "WHERE status = 'sending' AND run_id = $2",
             {Param(NowMs()), Param(run_id)})
      .Affected();
}

std::int64_t PgCertificateStore::Requeue(const std::string& event_slug,
                                         const std::vector<domain::DeliveryStatus>& statuses) {
  auto db = pool_.Acquire();
  PgTransaction tx(*db);
  std::int64_t requeued = 0;
  for (const auto status : statuses) {
    requeued += db->Exec(
                      "UPDATE certificate_deliveries SET status = 'queued', attempts = 0, published = 0, "
                      "updated_at = $1, last_error = 'retry requested after: ' || last_error "
                      "WHERE event_slug = $2 AND status = $3",
                      {Param(NowMs()), Param(event_slug), Param(domain::ToString(status))})
                    .Affected();
  }
  tx.Commit();
  return requeued;
}

std::int64_t PgCertificateStore::CancelEvent(const std::string& event_slug, const std::string& reason) {
  auto db = pool_.Acquire();
  return db
      ->Exec(
          "UPDATE certificate_deliveries SET status = 'cancelled', last_error = $1, updated_at = $2 "
          "WHERE event_slug = $3 AND status = 'queued'",
          {Param(reason), Param(NowMs()), Param(event_slug)})
      .Affected();
}

std::map<std::string, StatusCounts> PgCertificateStore::CountByEvent() {
  auto db = pool_.Acquire();
  const auto rows = db->Exec("SELECT event_slug, status, COUNT(*) FROM certificate_deliveries GROUP BY 1, 2");
  std::map<std::string, StatusCounts> counts;
  for (int i = 0; i < rows.Rows(); ++i) {
    if (const auto status = domain::ParseDeliveryStatus(rows.Text(i, 1))) {
      counts[rows.Text(i, 0)][*status] = rows.Int(i, 2);
    }
  }
  return counts;
}

std::int64_t PgCertificateStore::OpenCount(const std::string& event_slug) {
  auto db = pool_.Acquire();
  return db
      ->Exec("SELECT COUNT(*) FROM certificate_deliveries WHERE event_slug = $1 AND status IN ('queued', 'sending')",
             {Param(event_slug)})
      .Int(0, 0);
}

void PgCertificateStore::SaveLane(const EventLane& lane) {
  auto db = pool_.Acquire();
  db->Exec(
      "INSERT INTO certificate_lanes (slug, event_name, queue_name, job) VALUES ($1, $2, $3, $4) "
      "ON CONFLICT (slug) DO UPDATE SET event_name = EXCLUDED.event_name, queue_name = EXCLUDED.queue_name, "
      "job = EXCLUDED.job",
      {Param(lane.slug), Param(lane.event_name), Param(lane.queue_name), Param(lane.job)});
}

std::vector<EventLane> PgCertificateStore::Lanes() {
  auto db = pool_.Acquire();
  const auto rows = db->Exec("SELECT slug, event_name, queue_name, job FROM certificate_lanes ORDER BY slug");
  std::vector<EventLane> lanes;
  for (int i = 0; i < rows.Rows(); ++i) {
    lanes.push_back({rows.Text(i, 0), rows.Text(i, 1), rows.Text(i, 2), rows.Text(i, 3)});
  }
  return lanes;
}

void PgCertificateStore::DeleteLane(const std::string& slug) {
  auto db = pool_.Acquire();
  db->Exec("DELETE FROM certificate_lanes WHERE slug = $1", {Param(slug)});
}

}  // namespace herald::store::postgres
