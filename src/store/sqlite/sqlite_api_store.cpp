#include "store/sqlite/sqlite_api_store.hpp"

#include <utility>

#include "common/hash.hpp"

namespace herald::store::sqlite {
namespace {

// Priorities run 0..kMaxPriority (the API maps names onto them).
constexpr int kMaxPriority = 9;

constexpr const char* kRecipientColumns =
    "id, message_id, channel, address, status, attempts, provider_message_id, last_error, due_at, updated_at, sent_at";

RecipientRecord ReadRecipient(Statement& row, int first = 0) {
  RecipientRecord r;
  r.id = row.ColumnInt(first + 0);
  r.message_id = row.ColumnInt(first + 1);
  r.channel = row.ColumnText(first + 2);
  r.address = row.ColumnText(first + 3);
  r.status = row.ColumnText(first + 4);
  r.attempts = static_cast<int>(row.ColumnInt(first + 5));
  r.provider_message_id = row.ColumnText(first + 6);
  r.last_error = row.ColumnText(first + 7);
  r.due_at_ms = row.ColumnInt(first + 8);
  r.updated_at_ms = row.ColumnInt(first + 9);
  if (!row.ColumnIsNull(first + 10)) r.sent_at_ms = row.ColumnInt(first + 10);
  return r;
}

// A recipient with its message's content: the columns ReadDelivery reads.
constexpr std::string_view kPickDelivery =
    "SELECT r.id, r.message_id, r.channel, r.address, r.status, r.attempts, r.provider_message_id, r.last_error, "
    "r.due_at, r.updated_at, r.sent_at, m.subject, m.content, m.html "
    "FROM message_recipients r JOIN messages m ON m.id = r.message_id ";

ClaimedDelivery ReadDelivery(Statement& row) {
  ClaimedDelivery delivery;
  delivery.recipient = ReadRecipient(row);
  delivery.subject = row.ColumnText(11);
  delivery.content = row.ColumnText(12);
  delivery.html = row.ColumnText(13);
  return delivery;
}

ApiKeyRecord ReadKey(Statement& row) {
  ApiKeyRecord key;
  key.id = row.ColumnInt(0);
  key.name = row.ColumnText(1);
  key.role = row.ColumnText(2);
  key.tier = row.ColumnText(3);
  key.key_prefix = row.ColumnText(4);
  key.created_at_ms = row.ColumnInt(5);
  if (!row.ColumnIsNull(6)) key.revoked_at_ms = row.ColumnInt(6);
  return key;
}

constexpr const char* kKeyColumns = "id, name, role, tier, key_prefix, created_at, revoked_at";

}  // namespace

SqliteApiStore::SqliteApiStore(SharedDatabase& db) : db_(db), claimant_(NewClaimantId()) {}

SqliteApiStore::SqliteApiStore(const std::string& path)
    : owned_(std::make_unique<SharedDatabase>(path, SchemaPolicy::kMigrate)), db_(*owned_), claimant_(NewClaimantId()) {}

SqliteApiStore::~SqliteApiStore() = default;

ApiKeyRecord SqliteApiStore::CreateKey(const std::string& name, const std::string& role, const std::string& tier,
                                       const std::string& key_hash, const std::string& key_prefix,
                                       std::int64_t now_ms) {
  auto writer = db_.Durable();
  auto insert = writer->Prepare(
      "INSERT INTO api_keys (name, role, tier, key_hash, key_prefix, created_at) VALUES (?,?,?,?,?,?) RETURNING " +
      std::string(kKeyColumns));
  insert.Bind(1, name).Bind(2, role).Bind(3, tier).Bind(4, key_hash).Bind(5, key_prefix).Bind(6, now_ms);
  insert.Step();
  return ReadKey(insert);
}

IssuedKey SqliteApiStore::IssueKey(const std::string& name, const std::string& role, const std::string& tier,
                                  std::int64_t now_ms) {
  std::string key = "hk_" + RandomHex(24);
  auto record = CreateKey(name, role, tier, Sha256Hex(key), key.substr(0, 10), now_ms);
  return {std::move(record), std::move(key)};
}

std::optional<ApiKeyRecord> SqliteApiStore::FindActiveKey(const std::string& key_hash) {
  auto reader = db_.Read();
  auto query = (*reader).Cached("SELECT " + std::string(kKeyColumns) +
                                " FROM api_keys WHERE key_hash = ? AND revoked_at IS NULL");
  query->Bind(1, key_hash);
  if (!query->Step()) return std::nullopt;
  return ReadKey(*query);
}

std::vector<ApiKeyRecord> SqliteApiStore::ListKeys() {
  auto reader = db_.Read();
  auto query = (*reader).Prepare("SELECT " + std::string(kKeyColumns) + " FROM api_keys ORDER BY id");
  std::vector<ApiKeyRecord> keys;
  while (query.Step()) keys.push_back(ReadKey(query));
  return keys;
}

bool SqliteApiStore::RevokeKey(std::int64_t id, std::int64_t now_ms) {
  auto writer = db_.Durable();
  auto update = writer->Prepare("UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL");
  update.Bind(1, now_ms).Bind(2, id).Step();
  return writer->ChangedRows() > 0;
}

std::vector<RecipientRecord> SqliteApiStore::RecipientsOf(Database& db, std::int64_t message_id) {
  auto query = db.Cached("SELECT " + std::string(kRecipientColumns) +
                         " FROM message_recipients WHERE message_id = ? ORDER BY id");
  query->Bind(1, message_id);
  std::vector<RecipientRecord> recipients;
  while (query->Step()) recipients.push_back(ReadRecipient(*query));
  return recipients;
}

std::optional<MessageRecord> SqliteApiStore::LoadMessage(Database& db, std::int64_t id) {
  auto cached = db.Cached(
      "SELECT id, owner_id, COALESCE(idempotency_key, ''), subject, content, priority, scheduled_at, created_at, "
      "html FROM messages WHERE id = ?");
  Statement& query = *cached;
  query.Bind(1, id);
  if (!query.Step()) return std::nullopt;
  MessageRecord m;
  m.id = query.ColumnInt(0);
  m.owner_id = query.ColumnInt(1);
  m.idempotency_key = query.ColumnText(2);
  m.subject = query.ColumnText(3);
  m.content = query.ColumnText(4);
  m.priority = static_cast<int>(query.ColumnInt(5));
  if (!query.ColumnIsNull(6)) m.scheduled_at_ms = query.ColumnInt(6);
  m.created_at_ms = query.ColumnInt(7);
  m.html = query.ColumnText(8);
  m.recipients = RecipientsOf(db, m.id);
  AttachEvents(db, m);
  return m;
}

void SqliteApiStore::AttachEvents(Database& db, MessageRecord& message) {
  auto query = db.Cached(
      "SELECT e.recipient_id, e.provider, e.kind, e.detail, e.occurred_at, e.received_at FROM provider_events e "
      "JOIN message_recipients r ON r.id = e.recipient_id WHERE r.message_id = ? ORDER BY e.occurred_at, e.id");
  query->Bind(1, message.id);
  while (query->Step()) {
    const auto recipient_id = query->ColumnInt(0);
    for (auto& recipient : message.recipients) {
      if (recipient.id != recipient_id) continue;
      recipient.events.push_back({query->ColumnText(1), query->ColumnText(2), query->ColumnText(3),
                                  query->ColumnInt(4), query->ColumnInt(5)});
      break;
    }
  }
}

std::vector<EventRecorded> SqliteApiStore::RecordEvents(const std::vector<ProviderEvent>& events,
                                                        std::int64_t now_ms) {
  std::vector<EventRecorded> answers;
  answers.reserve(events.size());
  if (events.empty()) return answers;
  auto writer = db_.Durable();
  Transaction tx(*writer);
  auto exists = writer->Prepare("SELECT 1 FROM message_recipients WHERE id = ?");
  auto insert = writer->Prepare(
      "INSERT INTO provider_events (provider, event_id, recipient_id, kind, detail, occurred_at, received_at) "
      "VALUES (?,?,?,?,?,?,?) ON CONFLICT (provider, event_id) DO NOTHING");
  for (const auto& event : events) {
    exists.Reset();
    exists.Bind(1, event.recipient_id);
    if (!exists.Step()) {
      answers.push_back(EventRecorded::kUnknownRecipient);
      continue;
    }
    insert.Reset();
    insert.Bind(1, event.provider)
        .Bind(2, event.event_id)
        .Bind(3, event.recipient_id)
        .Bind(4, event.kind)
        .Bind(5, event.detail)
        .Bind(6, event.occurred_at_ms)
        .Bind(7, now_ms)
        .Step();
    answers.push_back(writer->ChangedRows() > 0 ? EventRecorded::kStored : EventRecorded::kReplay);
  }
  tx.Commit();
  return answers;
}

std::vector<std::pair<std::pair<std::string, std::string>, std::int64_t>>
SqliteApiStore::CountEventsByProviderAndKind() {
  auto reader = db_.Read();
  auto query = (*reader).Prepare(
      "SELECT provider, kind, COUNT(*) FROM provider_events GROUP BY provider, kind ORDER BY provider, kind");
  std::vector<std::pair<std::pair<std::string, std::string>, std::int64_t>> counts;
  while (query.Step()) counts.push_back({{query.ColumnText(0), query.ColumnText(1)}, query.ColumnInt(2)});
  return counts;
}

std::vector<AcceptedMessage> SqliteApiStore::Accept(std::vector<NewMessage> messages, std::int64_t now_ms) {
  auto writer = db_.Durable();
  Transaction tx(*writer);
  auto find = writer->Prepare("SELECT id FROM messages WHERE owner_id = ? AND idempotency_key = ?");
  auto insert_message = writer->Prepare(
      "INSERT INTO messages (owner_id, idempotency_key, subject, content, priority, scheduled_at, created_at, html) "
      "VALUES (?,?,?,?,?,?,?,?)");
  auto insert_recipient = writer->Prepare(
      "INSERT INTO message_recipients (message_id, lane, channel, address, status, priority, due_at, updated_at) "
      "VALUES (?1,?2,?2,?3,'queued',?4,?5,?6)");
  std::vector<AcceptedMessage> accepted;
  accepted.reserve(messages.size());
  for (auto& message : messages) {
    if (!message.idempotency_key.empty()) {
      find.Reset();
      find.Bind(1, message.owner_id).Bind(2, message.idempotency_key);
      if (find.Step()) {
        const auto existing = find.ColumnInt(0);
        accepted.push_back({*LoadMessage(*writer, existing), false});
        continue;
      }
    }
    insert_message.Reset();
    insert_message.Bind(1, message.owner_id);
    if (message.idempotency_key.empty()) {
      insert_message.BindNull(2);
    } else {
      insert_message.Bind(2, message.idempotency_key);
    }
    insert_message.Bind(3, message.subject).Bind(4, message.content).Bind(5, message.priority);
    if (message.scheduled_at_ms) {
      insert_message.Bind(6, *message.scheduled_at_ms);
    } else {
      insert_message.BindNull(6);
    }
    insert_message.Bind(7, now_ms).Bind(8, message.html).Step();
    auto record = RecordOf(message, sqlite3_last_insert_rowid(writer->handle()), now_ms);
    const std::int64_t due = message.scheduled_at_ms.value_or(now_ms);
    record.recipients.reserve(message.recipients.size());
    for (auto& recipient : message.recipients) {
      insert_recipient.Reset();
      insert_recipient.Bind(1, record.id)
          .Bind(2, recipient.channel)
          .Bind(3, recipient.address)
          .Bind(4, message.priority)
          .Bind(5, due)
          .Bind(6, now_ms);
      insert_recipient.Step();
      record.recipients.push_back(
          RecipientOf(recipient, sqlite3_last_insert_rowid(writer->handle()), record.id, due, now_ms));
    }
    accepted.push_back({std::move(record), true});
  }
  tx.Commit();
  return accepted;
}

std::optional<MessageRecord> SqliteApiStore::GetMessage(std::int64_t id) {
  auto reader = db_.Read();
  return LoadMessage(*reader, id);
}

MessagePage SqliteApiStore::ListMessages(const MessageFilter& filter, int page, int page_size) {
  auto reader = db_.Read();
  Database& db = *reader;
  MessagePage result;
  {
    auto top = db.Prepare("SELECT COALESCE(MAX(id), 0) FROM messages");
    top.Step();
    result.as_of_id = filter.as_of_id.value_or(top.ColumnInt(0));
  }
  // A message matches when any of its recipients matches the channel and status.
  std::string where = " WHERE m.id <= ?1";
  if (filter.owner_id) where += " AND m.owner_id = ?2";
  if (!filter.status.empty() || !filter.channel.empty()) {
    where += " AND EXISTS (SELECT 1 FROM message_recipients r WHERE r.message_id = m.id";
    if (!filter.status.empty()) where += " AND r.status = ?3";
    if (!filter.channel.empty()) where += " AND r.channel = ?4";
    where += ")";
  }
  auto bind = [&](Statement& s) {
    s.Bind(1, result.as_of_id);
    if (filter.owner_id) s.Bind(2, *filter.owner_id);
    if (!filter.status.empty()) s.Bind(3, filter.status);
    if (!filter.channel.empty()) s.Bind(4, filter.channel);
  };
  auto count = db.Prepare("SELECT COUNT(*) FROM messages m" + where);
  bind(count);
  count.Step();
  result.total_count = count.ColumnInt(0);
  auto ids = db.Prepare("SELECT m.id FROM messages m" + where + " ORDER BY m.id DESC LIMIT ?5 OFFSET ?6");
  bind(ids);
  ids.Bind(5, page_size).Bind(6, static_cast<std::int64_t>(page - 1) * page_size);
  std::vector<std::int64_t> page_ids;
  while (ids.Step()) page_ids.push_back(ids.ColumnInt(0));
  for (const auto id : page_ids) {
    if (auto message = LoadMessage(db, id)) result.messages.push_back(std::move(*message));
  }
  return result;
}

CancelResult SqliteApiStore::CancelMessage(std::int64_t id, std::int64_t now_ms) {
  auto writer = db_.Durable();
  Transaction tx(*writer);
  CancelResult result;
  auto exists = writer->Prepare("SELECT 1 FROM messages WHERE id = ?");
  exists.Bind(1, id);
  result.found = exists.Step();
  if (!result.found) return result;
  auto cancel = writer->Prepare(
      "UPDATE message_recipients SET status = 'cancelled', updated_at = ? WHERE message_id = ? AND status = 'queued'");
  cancel.Bind(1, now_ms).Bind(2, id).Step();
  result.cancelled = writer->ChangedRows();
  auto rest = writer->Prepare(
      "SELECT COUNT(*) FROM message_recipients WHERE message_id = ? AND status NOT IN ('queued', 'cancelled')");
  rest.Bind(1, id).Step();
  result.not_pending = rest.ColumnInt(0);
  tx.Commit();
  return result;
}

std::int64_t SqliteApiStore::RetryMessage(std::int64_t id, const std::vector<std::string>& statuses,
                                         std::int64_t now_ms) {
  auto writer = db_.Durable();
  Transaction tx(*writer);
  auto retry = writer->Cached(
      "UPDATE message_recipients SET status = 'queued', attempts = 0, published = 0, due_at = ?1, updated_at = ?1, "
      "last_error = 'retry requested after: ' || last_error WHERE message_id = ?2 AND status = ?3");
  std::int64_t requeued = 0;
  for (const auto& status : statuses) {
    retry->Reset();
    retry->Bind(1, now_ms).Bind(2, id).Bind(3, status).Step();
    requeued += writer->ChangedRows();
  }
  tx.Commit();
  return requeued;
}

void SqliteApiStore::RecordLocked(Database& db, const std::vector<DeliveryResult>& finished, std::int64_t now_ms) {
  if (finished.empty()) return;
  auto update = db.Cached(
      "UPDATE message_recipients SET status = ?1, provider_message_id = ?2, last_error = ?3, updated_at = ?4, "
      "due_at = CASE WHEN ?1 = 'queued' THEN ?5 ELSE due_at END, "
      "sent_at = CASE WHEN ?1 = 'sent' THEN ?4 ELSE sent_at END, "
      // A retry of a lane the broker carries is handed back by the lane itself,
      // never by the relay (as on PostgreSQL, where it writes no outbox row).
      "published = CASE WHEN ?1 = 'queued' AND ?7 THEN 1 ELSE published END "
      "WHERE id = ?6 AND CASE WHEN ?7 THEN status = 'sending' AND claimed_by = ?8 ELSE status = 'queued' END");
  for (const auto& result : finished) {
    update->Reset();
    update->Bind(1, result.status)
        .Bind(2, result.provider_message_id)
        .Bind(3, result.detail)
        .Bind(4, now_ms)
        .Bind(5, result.retry_at_ms)
        .Bind(6, result.recipient_id)
        .Bind(7, result.claimed ? 1 : 0)
        .Bind(8, claimant_)
        .Step();
  }
}

std::vector<ClaimedDelivery> SqliteApiStore::TakeDue(const std::string& lane, TakeOrder order, int max,
                                                     std::int64_t now_ms, const std::set<std::int64_t>& held) {
  std::vector<ClaimedDelivery> due;
  if (max <= 0) return due;
  auto reader = db_.Read();
  Database& db = *reader;
  // Rows the engine holds are still queued, so each query reads past them.
  const auto limit = [&] {
    return static_cast<std::int64_t>(max - static_cast<int>(due.size()) + static_cast<int>(held.size()));
  };
  const auto collect = [&](Statement& pick) {
    while (static_cast<int>(due.size()) < max && pick.Step()) {
      if (held.contains(pick.ColumnInt(0))) continue;
      due.push_back(ReadDelivery(pick));
    }
  };
  if (order == TakeOrder::kArrival) {
    auto pick = db.Cached(std::string(kPickDelivery) +
                          "WHERE r.status = 'queued' AND r.lane = ?1 AND r.due_at <= ?2 ORDER BY r.id LIMIT ?3");
    pick->Bind(1, lane).Bind(2, now_ms).Bind(3, limit());
    collect(*pick);
    return due;
  }
  // Highest priority first, then oldest due: one index seek per priority present
  // (SQLite cannot skip-scan the (lane, priority, due_at) index).
  auto top = db.Cached("SELECT MAX(priority) FROM message_recipients WHERE status = 'queued' AND lane = ?1");
  top->Bind(1, lane);
  if (!top->Step() || top->ColumnIsNull(0)) return due;
  const auto highest = top->ColumnInt(0);
  auto pick = db.Cached(std::string(kPickDelivery) +
                        "WHERE r.status = 'queued' AND r.lane = ?1 AND r.priority = ?2 AND r.due_at <= ?3 "
                        "ORDER BY r.due_at, r.id LIMIT ?4");
  for (std::int64_t priority = highest; priority >= 0 && static_cast<int>(due.size()) < max; --priority) {
    pick->Reset();
    pick->Bind(1, lane).Bind(2, priority).Bind(3, now_ms).Bind(4, limit());
    collect(*pick);
  }
  return due;
}

std::vector<bool> SqliteApiStore::RecordAndClaimMany(const std::vector<DeliveryResult>& finished,
                                                     const std::vector<std::int64_t>& claims, std::int64_t now_ms,
                                                     const std::optional<LaneSchedule>& schedule) {
  auto worker = db_.Fast();
  Transaction tx(*worker);
  RecordLocked(*worker, finished, now_ms);
  std::vector<bool> claimed;
  claimed.reserve(claims.size());
  if (schedule && schedule->only_if_unchanged) {
    auto saved = worker->Cached("SELECT next_release_at, running FROM pacer_state WHERE id = 1");
    std::optional<std::int64_t> current;
    bool running = true;  // no row yet: a fresh store sends
    if (saved->Step()) {
      if (!saved->ColumnIsNull(0)) current = saved->ColumnInt(0);
      running = saved->ColumnInt(1) != 0;
    }
    saved->Reset();
    if (current != schedule->seen_release_at_ms || !running) {
      // The outcomes only: another process began this release, or the sender
      // was stopped since this process last looked.
      tx.Commit();
      return std::vector<bool>(claims.size(), false);
    }
  }
  auto claim = worker->Cached(
      "UPDATE message_recipients SET status = 'sending', updated_at = ?1, claimed_by = ?3, "
      "attempts = attempts + (status = 'queued') "
      "WHERE id = ?2 AND (status = 'queued' OR (status = 'sending' AND claimed_by = ?3))");
  std::set<std::int64_t> asked;
  for (const auto id : claims) {
    if (!asked.insert(id).second) {
      claimed.push_back(false);
      continue;
    }
    claim->Reset();
    claim->Bind(1, now_ms).Bind(2, id).Bind(3, claimant_).Step();
    claimed.push_back(worker->ChangedRows() == 1);
  }
  if (schedule) SaveScheduleLocked(*worker, *schedule, now_ms);
  tx.Commit();
  return claimed;
}

bool SqliteApiStore::HasOpen(const std::string& lane) {
  auto reader = db_.Read();
  auto query = (*reader).Cached(
      "SELECT EXISTS (SELECT 1 FROM message_recipients WHERE lane = ?1 AND status IN ('queued', 'sending'))");
  query->Bind(1, lane);
  query->Step();
  return query->ColumnInt(0) != 0;
}

void SqliteApiStore::Heartbeat(std::int64_t now_ms) {
  auto writer = db_.Fast();
  auto upsert = writer->Cached(
      "INSERT INTO delivery_processes (id, started_at, seen_at) VALUES (?1, ?2, ?2) "
      "ON CONFLICT (id) DO UPDATE SET seen_at = MAX(seen_at, excluded.seen_at)");
  upsert->Bind(1, claimant_).Bind(2, now_ms).Step();
}

std::int64_t SqliteApiStore::ResolveAbandoned(std::int64_t now_ms, std::int64_t alive_since_ms) {
  auto writer = db_.Durable();
  Transaction tx(*writer);
  auto update = writer->Prepare(
      "UPDATE message_recipients SET status = 'unknown', updated_at = ?1, "
      "last_error = 'the process stopped during the send; it may or may not have been delivered' "
      "WHERE status = 'sending' AND claimed_by IS NOT ?2 AND NOT EXISTS ("
      "SELECT 1 FROM delivery_processes p WHERE p.id = message_recipients.claimed_by AND p.seen_at >= ?3)");
  update.Bind(1, now_ms).Bind(2, claimant_).Bind(3, alive_since_ms).Step();
  const auto resolved = writer->ChangedRows();
  auto forget = writer->Prepare("DELETE FROM delivery_processes WHERE seen_at < ?1 AND id <> ?2");
  forget.Bind(1, alive_since_ms).Bind(2, claimant_).Step();
  tx.Commit();
  return resolved;
}

std::optional<std::int64_t> SqliteApiStore::NextDueAt(const std::string& lane) {
  auto reader = db_.Read();
  // One seek per priority in the due index; cheaper than a second index that
  // every claim would have to update.
  auto query = (*reader).Cached(
      "SELECT MIN(due_at) FROM message_recipients WHERE status = 'queued' AND lane = ?1 AND priority = ?2");
  std::optional<std::int64_t> earliest;
  for (int priority = 0; priority <= kMaxPriority; ++priority) {
    query->Reset();
    query->Bind(1, lane).Bind(2, priority);
    if (query->Step() && !query->ColumnIsNull(0)) {
      const auto due = query->ColumnInt(0);
      if (!earliest || due < *earliest) earliest = due;
    }
  }
  return earliest;
}

std::vector<std::pair<std::pair<std::string, std::string>, std::int64_t>> SqliteApiStore::CountByLaneAndStatus() {
  auto reader = db_.Read();
  auto query = (*reader).Prepare(
      "SELECT lane, status, COUNT(*) FROM message_recipients GROUP BY lane, status ORDER BY lane, status");
  std::vector<std::pair<std::pair<std::string, std::string>, std::int64_t>> counts;
  while (query.Step()) counts.push_back({{query.ColumnText(0), query.ColumnText(1)}, query.ColumnInt(2)});
  return counts;
}

std::vector<UnpublishedDelivery> SqliteApiStore::TakeUnpublished(int max, std::int64_t now_ms) {
  std::vector<UnpublishedDelivery> due;
  if (max <= 0) return due;
  auto reader = db_.Read();
  auto pick = (*reader).Cached(
      "SELECT id, lane, priority, due_at FROM message_recipients "
      "WHERE status = 'queued' AND published = 0 AND lane <> 'paced' AND due_at <= ?1 ORDER BY due_at, id LIMIT ?2");
  pick->Bind(1, now_ms).Bind(2, static_cast<std::int64_t>(max));
  while (pick->Step()) {
    due.push_back({pick->ColumnInt(0), pick->ColumnText(1), static_cast<int>(pick->ColumnInt(2)), pick->ColumnInt(3)});
  }
  return due;
}

void SqliteApiStore::MarkPublished(const std::vector<UnpublishedDelivery>& published) {
  if (published.empty()) return;
  // Not durable on its own: a mark lost to a power cut publishes the recipient
  // again, and the claim sends it once. One requeued since it was taken is due
  // at another time and waits for its own hand-over.
  auto writer = db_.Fast();
  Transaction tx(*writer);
  auto mark = writer->Cached("UPDATE message_recipients SET published = 1 WHERE id = ?1 AND due_at = ?2");
  for (const auto& delivery : published) {
    mark->Reset();
    mark->Bind(1, delivery.recipient_id).Bind(2, delivery.due_at_ms).Step();
  }
  tx.Commit();
}

std::int64_t SqliteApiStore::ForgetPublished(const std::string& lane, std::int64_t due_before_ms) {
  auto writer = db_.Durable();
  auto forget = writer->Prepare(
      "UPDATE message_recipients SET published = 0 WHERE lane = ?1 AND status = 'queued' AND published = 1 "
      "AND due_at < ?2");
  forget.Bind(1, lane).Bind(2, due_before_ms).Step();
  return writer->ChangedRows();
}

std::vector<ClaimedDelivery> SqliteApiStore::LoadDeliveries(const std::vector<std::int64_t>& recipient_ids) {
  std::vector<ClaimedDelivery> deliveries;
  deliveries.reserve(recipient_ids.size());
  auto reader = db_.Read();
  auto load = (*reader).Cached(std::string(kPickDelivery) + "WHERE r.id = ?1");
  for (const auto id : recipient_ids) {
    load->Reset();
    load->Bind(1, id);
    if (load->Step()) deliveries.push_back(ReadDelivery(*load));
  }
  return deliveries;
}

LaneSchedule SqliteApiStore::LoadSchedule() {
  auto reader = db_.Read();
  auto query = (*reader).Prepare("SELECT running, next_release_at FROM pacer_state WHERE id = 1");
  LaneSchedule schedule;
  if (query.Step()) {
    schedule.running = query.ColumnInt(0) != 0;
    if (!query.ColumnIsNull(1)) schedule.next_release_at_ms = query.ColumnInt(1);
  }
  return schedule;
}

void SqliteApiStore::SaveSchedule(const LaneSchedule& schedule, std::int64_t now_ms) {
  auto writer = db_.Durable();
  SaveScheduleLocked(*writer, schedule, now_ms);
}

void SqliteApiStore::SaveScheduleLocked(Database& db, const LaneSchedule& schedule, std::int64_t now_ms) {
  auto upsert = db.Cached(
      "INSERT INTO pacer_state (id, running, next_release_at, updated_at) VALUES (1, ?1, ?2, ?3) "
      "ON CONFLICT (id) DO UPDATE SET running = ?1, next_release_at = ?2, updated_at = ?3");
  upsert->Bind(1, schedule.running ? 1 : 0);
  if (schedule.next_release_at_ms) {
    upsert->Bind(2, *schedule.next_release_at_ms);
  } else {
    upsert->BindNull(2);
  }
  upsert->Bind(3, now_ms).Step();
}

}  // namespace herald::store::sqlite
