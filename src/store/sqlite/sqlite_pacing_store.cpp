#include "store/sqlite/sqlite_pacing_store.hpp"

#include <utility>

namespace herald::store::sqlite {
namespace {

// A paced message is a message with its one recipient; the id is the message's.
constexpr const char* kSelect =
    "SELECT m.id, m.owner_id, r.address, m.content, r.status, r.attempts, r.provider_message_id, r.last_error, "
    "m.created_at, r.updated_at, r.sent_at FROM message_recipients r JOIN messages m ON m.id = r.message_id ";

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
  auto insert_message = writer->Prepare(
      "INSERT INTO messages (owner_id, subject, content, priority, created_at) VALUES (?1, '', ?2, 0, ?3)");
  auto insert_recipient = writer->Prepare(
      "INSERT INTO message_recipients (message_id, lane, channel, address, status, priority, due_at, updated_at) "
      "VALUES (?1, ?2, 'sms', ?3, 'queued', 0, ?4, ?4)");
  std::vector<PacedMessage> stored;
  stored.reserve(messages.size());
  for (const auto& message : messages) {
    insert_message.Reset();
    insert_message.Bind(1, message.owner_id).Bind(2, message.content).Bind(3, now_ms).Step();
    PacedMessage m;
    m.id = sqlite3_last_insert_rowid(writer->handle());
    insert_recipient.Reset();
    insert_recipient.Bind(1, m.id).Bind(2, kPacedLane).Bind(3, message.to).Bind(4, now_ms).Step();
    m.owner_id = message.owner_id;
    m.to = message.to;
    m.content = message.content;
    m.status = "queued";
    m.created_at_ms = now_ms;
    m.updated_at_ms = now_ms;
    stored.push_back(std::move(m));
  }
  tx.Commit();
  return stored;
}

std::optional<PacedMessage> SqlitePacingStore::Get(std::int64_t id) {
  auto reader = db_.Read();
  auto query = reader->Cached(std::string(kSelect) + "WHERE m.id = ?1 AND r.lane = ?2");
  query->Bind(1, id).Bind(2, kPacedLane);
  if (!query->Step()) return std::nullopt;
  return ReadMessage(*query);
}

PacedPage SqlitePacingStore::ListSent(std::optional<std::int64_t> owner_id, int page, int page_size) {
  auto reader = db_.Read();
  const std::string where =
      owner_id ? "WHERE r.lane = ?4 AND r.status = 'sent' AND m.owner_id = ?1" : "WHERE r.lane = ?4 AND r.status = 'sent'";
  PacedPage result;
  {
    auto count = reader->Prepare("SELECT COUNT(*) FROM message_recipients r JOIN messages m ON m.id = r.message_id " +
                                 where);
    if (owner_id) count.Bind(1, *owner_id);
    count.Bind(4, kPacedLane);
    count.Step();
    result.total_count = count.ColumnInt(0);
  }
  auto rows = reader->Prepare(kSelect + where + " ORDER BY r.sent_at DESC, r.id DESC LIMIT ?2 OFFSET ?3");
  if (owner_id) rows.Bind(1, *owner_id);
  rows.Bind(2, page_size).Bind(3, static_cast<std::int64_t>(page - 1) * page_size).Bind(4, kPacedLane);
  while (rows.Step()) result.messages.push_back(ReadMessage(rows));
  return result;
}

}  // namespace herald::store::sqlite
