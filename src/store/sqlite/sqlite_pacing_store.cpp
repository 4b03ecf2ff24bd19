#include "store/sqlite/sqlite_pacing_store.hpp"

#include <utility>

namespace herald::store::sqlite {
namespace {

constexpr const char* kColumns =
    "id, owner_id, recipient, content, status, attempts, provider_message_id, last_error, created_at, updated_at, "
    "sent_at";

PacedMessage ReadMessage(Statement& row) {
  PacedMessage m;
  m.id = row.ColumnInt(0);
  m.owner_id = row.ColumnInt(1);
  m.to = row.ColumnText(2);
  m.content = row.ColumnText(3);
  m.status = row.ColumnText(4);
  m.attempts = static_cast<int>(row.ColumnInt(5));
  m.provider_message_id = row.ColumnText(6);
  m.last_error = row.ColumnText(7);
  m.created_at_ms = row.ColumnInt(8);
  m.updated_at_ms = row.ColumnInt(9);
  if (!row.ColumnIsNull(10)) m.sent_at_ms = row.ColumnInt(10);
  return m;
}

}  // namespace

SqlitePacingStore::SqlitePacingStore(SharedDatabase& db) : db_(db) {}

SqlitePacingStore::SqlitePacingStore(const std::string& path)
    : owned_(std::make_unique<SharedDatabase>(path, SchemaPolicy::kMigrate)), db_(*owned_) {}

std::vector<PacedMessage> SqlitePacingStore::Enqueue(const std::vector<NewPacedMessage>& messages,
                                                     std::int64_t now_ms) {
  auto writer = db_.Durable();
  Transaction tx(*writer);
  auto insert = writer->Prepare(
      "INSERT INTO paced_messages (owner_id, recipient, content, status, created_at, updated_at) "
      "VALUES (?1, ?2, ?3, 'queued', ?4, ?4) RETURNING " + std::string(kColumns));
  std::vector<PacedMessage> stored;
  stored.reserve(messages.size());
  for (const auto& message : messages) {
    insert.Reset();
    insert.Bind(1, message.owner_id).Bind(2, message.to).Bind(3, message.content).Bind(4, now_ms);
    insert.Step();
    stored.push_back(ReadMessage(insert));
    insert.Step();  // completes the statement after RETURNING's row
  }
  tx.Commit();
  return stored;
}

std::optional<PacedMessage> SqlitePacingStore::Get(std::int64_t id) {
  auto reader = db_.Read();
  auto query = reader->Cached("SELECT " + std::string(kColumns) + " FROM paced_messages WHERE id = ?");
  query->Bind(1, id);
  if (!query->Step()) return std::nullopt;
  return ReadMessage(*query);
}

PacedPage SqlitePacingStore::ListSent(std::optional<std::int64_t> owner_id, int page, int page_size) {
  auto reader = db_.Read();
  const std::string where = owner_id ? " WHERE status = 'sent' AND owner_id = ?1" : " WHERE status = 'sent'";
  PacedPage result;
  {
    auto count = reader->Prepare("SELECT COUNT(*) FROM paced_messages" + where);
    if (owner_id) count.Bind(1, *owner_id);
    count.Step();
    result.total_count = count.ColumnInt(0);
  }
  auto rows = reader->Prepare("SELECT " + std::string(kColumns) + " FROM paced_messages" + where +
                              " ORDER BY sent_at DESC, id DESC LIMIT ?2 OFFSET ?3");
  if (owner_id) rows.Bind(1, *owner_id);
  rows.Bind(2, page_size).Bind(3, static_cast<std::int64_t>(page - 1) * page_size);
  while (rows.Step()) result.messages.push_back(ReadMessage(rows));
  return result;
}

void SqlitePacingStore::RecordLocked(Database& db, const PacedOutcome& finished, std::int64_t now_ms) {
  auto update = db.Cached(
      "UPDATE paced_messages SET status = ?1, provider_message_id = ?2, last_error = ?3, updated_at = ?4, "
      "retry_at = CASE WHEN ?1 = 'queued' THEN ?5 ELSE retry_at END, "
      "sent_at = CASE WHEN ?1 = 'sent' THEN ?4 ELSE sent_at END "
      "WHERE id = ?6 AND status = CASE WHEN ?7 THEN 'sending' ELSE 'queued' END");
  update->Bind(1, finished.status)
      .Bind(2, finished.provider_message_id)
      .Bind(3, finished.detail)
      .Bind(4, now_ms)
      .Bind(5, finished.retry_at_ms)
      .Bind(6, finished.id)
      .Bind(7, finished.claimed ? 1 : 0)
      .Step();
}

std::vector<PacedMessage> SqlitePacingStore::TakeDue(int max, std::int64_t now_ms, const std::set<std::int64_t>& held) {
  auto reader = db_.Read();
  // FIFO by id; the partial index holds only queued rows, and the few waiting
  // for a retry are stepped over.
  auto query = reader->Cached("SELECT " + std::string(kColumns) +
                              " FROM paced_messages WHERE status = 'queued' AND retry_at <= ?1 ORDER BY id LIMIT ?2");
  query->Bind(1, now_ms).Bind(2, static_cast<std::int64_t>(max) + static_cast<std::int64_t>(held.size()));
  std::vector<PacedMessage> due;
  while (static_cast<int>(due.size()) < max && query->Step()) {
    if (!held.contains(query->ColumnInt(0))) due.push_back(ReadMessage(*query));
  }
  return due;
}

std::vector<bool> SqlitePacingStore::RecordAndClaimMany(const std::vector<PacedOutcome>& finished,
                                                        const std::vector<std::int64_t>& claims,
                                                        const std::optional<PacerState>& state, std::int64_t now_ms) {
  auto writer = db_.Durable();
  Transaction tx(*writer);
  for (const auto& outcome : finished) RecordLocked(*writer, outcome, now_ms);
  std::vector<bool> claimed;
  claimed.reserve(claims.size());
  auto claim = writer->Cached(
      "UPDATE paced_messages SET status = 'sending', attempts = attempts + 1, updated_at = ?1 "
      "WHERE id = ?2 AND status = 'queued'");
  for (const auto id : claims) {
    claim->Reset();
    claim->Bind(1, now_ms).Bind(2, id).Step();
    claimed.push_back(writer->ChangedRows() == 1);
  }
  if (state) SaveStateLocked(*writer, *state, now_ms);
  tx.Commit();
  return claimed;
}

std::optional<std::int64_t> SqlitePacingStore::NextDueAt() {
  auto reader = db_.Read();
  auto query = reader->Cached("SELECT MIN(retry_at) FROM paced_messages WHERE status = 'queued'");
  if (!query->Step() || query->ColumnIsNull(0)) return std::nullopt;
  return query->ColumnInt(0);
}

bool SqlitePacingStore::HasOpen() {
  auto reader = db_.Read();
  auto query =
      reader->Cached("SELECT EXISTS (SELECT 1 FROM paced_messages WHERE status IN ('queued', 'sending'))");
  query->Step();
  return query->ColumnInt(0) != 0;
}

std::int64_t SqlitePacingStore::ResolveAbandoned(std::int64_t now_ms) {
  auto writer = db_.Durable();
  auto update = writer->Prepare(
      "UPDATE paced_messages SET status = 'unknown', updated_at = ?, "
      "last_error = 'the process stopped during the send; it may or may not have been delivered' "
      "WHERE status = 'sending'");
  update.Bind(1, now_ms).Step();
  return writer->ChangedRows();
}

std::vector<std::pair<std::string, std::int64_t>> SqlitePacingStore::CountByStatus() {
  auto reader = db_.Read();
  auto query = reader->Prepare("SELECT status, COUNT(*) FROM paced_messages GROUP BY status ORDER BY status");
  std::vector<std::pair<std::string, std::int64_t>> counts;
  while (query.Step()) counts.emplace_back(query.ColumnText(0), query.ColumnInt(1));
  return counts;
}

PacerState SqlitePacingStore::LoadState() {
  auto reader = db_.Read();
  auto query = reader->Prepare("SELECT running, next_release_at FROM pacer_state WHERE id = 1");
  PacerState state;
  if (query.Step()) {
    state.running = query.ColumnInt(0) != 0;
    if (!query.ColumnIsNull(1)) state.next_release_at_ms = query.ColumnInt(1);
  }
  return state;
}

void SqlitePacingStore::SaveState(const PacerState& state, std::int64_t now_ms) {
  auto writer = db_.Durable();
  SaveStateLocked(*writer, state, now_ms);
}

void SqlitePacingStore::SaveStateLocked(Database& db, const PacerState& state, std::int64_t now_ms) {
  auto upsert = db.Cached(
      "INSERT INTO pacer_state (id, running, next_release_at, updated_at) VALUES (1, ?1, ?2, ?3) "
      "ON CONFLICT (id) DO UPDATE SET running = ?1, next_release_at = ?2, updated_at = ?3");
  upsert->Bind(1, state.running ? 1 : 0);
  if (state.next_release_at_ms) {
    upsert->Bind(2, *state.next_release_at_ms);
  } else {
    upsert->BindNull(2);
  }
  upsert->Bind(3, now_ms).Step();
}

}  // namespace herald::store::sqlite
