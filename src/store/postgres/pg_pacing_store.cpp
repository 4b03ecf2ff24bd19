#include "store/postgres/pg_pacing_store.hpp"

#include <string>
#include <utility>

#include "store/message_delivery_store.hpp"

namespace herald::store::postgres {
namespace {

// A paced message is a message with its one recipient; the id is the message's.
constexpr const char* kSelect =
    "SELECT m.id, m.owner_id, r.address, m.content, r.status, r.attempts, r.provider_message_id, r.last_error, "
    "m.created_at, r.updated_at, r.sent_at FROM message_recipients r JOIN messages m ON m.id = r.message_id ";

PacedMessage ReadMessage(const PgResult& rows, int row) {
  PacedMessage m;
  m.id = rows.Int(row, 0);
  m.owner_id = rows.Int(row, 1);
  m.to = rows.Text(row, 2);
  m.content = rows.Text(row, 3);
  m.status = rows.Text(row, 4);
  m.attempts = static_cast<int>(rows.Int(row, 5));
  m.provider_message_id = rows.Text(row, 6);
  m.last_error = rows.Text(row, 7);
  m.created_at_ms = rows.Int(row, 8);
  m.updated_at_ms = rows.Int(row, 9);
  if (!rows.IsNull(row, 10)) m.sent_at_ms = rows.Int(row, 10);
  return m;
}

}  // namespace

std::vector<PacedMessage> PgPacingStore::Enqueue(const std::vector<NewPacedMessage>& messages, std::int64_t now_ms) {
  auto db = pool_.Acquire();
  PgTransaction tx(*db);
  std::vector<PacedMessage> stored;
  stored.reserve(messages.size());
  for (const auto& message : messages) {
    PacedMessage m;
    m.id = db->Exec("INSERT INTO messages (owner_id, subject, content, priority, created_at) "
                    "VALUES ($1, '', $2, 0, $3) RETURNING id",
                    {Param(message.owner_id), Param(message.content), Param(now_ms)})
               .Int(0, 0);
    db->Exec(
        "INSERT INTO message_recipients (message_id, lane, channel, address, status, priority, due_at, updated_at) "
        "VALUES ($1, $2, 'sms', $3, 'queued', 0, $4, $4)",
        {Param(m.id), Param(kPacedLane), Param(message.to), Param(now_ms)});
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

std::optional<PacedMessage> PgPacingStore::Get(std::int64_t id) {
  auto db = pool_.Acquire();
  const auto rows = db->Exec(std::string(kSelect) + "WHERE m.id = $1 AND r.lane = $2", {Param(id), Param(kPacedLane)});
  if (rows.Rows() == 0) return std::nullopt;
  return ReadMessage(rows, 0);
}

PacedPage PgPacingStore::ListSent(std::optional<std::int64_t> owner_id, int page, int page_size) {
  auto db = pool_.Acquire();
  // One snapshot for the count and the page.
  PgTransaction tx(*db);
  db->Exec("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY");
  // The lane written out, not a parameter: the partial index of paced sent
  // rows then serves every plan, custom or generic.
  std::vector<PgParam> params;
  std::string where = "WHERE r.lane = '" + std::string(kPacedLane) + "' AND r.status = 'sent'";
  if (owner_id) {
    params.push_back(Param(*owner_id));
    where += " AND m.owner_id = $1";
  }
  PacedPage result;
  result.total_count =
      db->Exec("SELECT COUNT(*) FROM message_recipients r JOIN messages m ON m.id = r.message_id " + where, params)
          .Int(0, 0);
  const auto limit = "$" + std::to_string(params.size() + 1);
  const auto offset = "$" + std::to_string(params.size() + 2);
  params.push_back(Param(page_size));
  params.push_back(Param(static_cast<std::int64_t>(page - 1) * page_size));
  // PostgreSQL puts NULLs first in DESC where SQLite puts them last; a sent row always has sent_at, so the order
  // is SQLite's and the partial index of paced sent rows (sent_at, id) still serves it.
  const auto rows = db->Exec(
      kSelect + where + " ORDER BY r.sent_at DESC, r.id DESC LIMIT " + limit + " OFFSET " + offset, params);
  for (int i = 0; i < rows.Rows(); ++i) result.messages.push_back(ReadMessage(rows, i));
  tx.Commit();
  return result;
}

}  // namespace herald::store::postgres
