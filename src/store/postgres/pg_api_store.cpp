#include "store/postgres/pg_api_store.hpp"

#include <algorithm>
#include <set>

#include <utility>

#include "common/hash.hpp"
#include "store/postgres/pg_outbox.hpp"

namespace herald::store::postgres {
namespace {


constexpr const char* kRecipientColumns =
    "id, message_id, channel, address, status, attempts, provider_message_id, last_error, due_at, updated_at, sent_at";

RecipientRecord ReadRecipient(const PgResult& rows, int row, int first = 0) {
  RecipientRecord r;
  r.id = rows.Int(row, first + 0);
  r.message_id = rows.Int(row, first + 1);
  r.channel = rows.Text(row, first + 2);
  r.address = rows.Text(row, first + 3);
  r.status = rows.Text(row, first + 4);
  r.attempts = static_cast<int>(rows.Int(row, first + 5));
  r.provider_message_id = rows.Text(row, first + 6);
  r.last_error = rows.Text(row, first + 7);
  r.due_at_ms = rows.Int(row, first + 8);
  r.updated_at_ms = rows.Int(row, first + 9);
  if (!rows.IsNull(row, first + 10)) r.sent_at_ms = rows.Int(row, first + 10);
  return r;
}

// A recipient with its message's content, the columns ReadDelivery reads: from
// `r` (the recipients table, or rows just taken from it) joined with `m`.
constexpr std::string_view kDeliveryColumns =
    "SELECT r.id, r.message_id, r.channel, r.address, r.status, r.attempts, r.provider_message_id, r.last_error, "
    "r.due_at, r.updated_at, r.sent_at, m.subject, m.content, m.html ";
constexpr std::string_view kJoinMessage = "JOIN messages m ON m.id = r.message_id ";

ClaimedDelivery ReadDelivery(const PgResult& rows, int row) {
  ClaimedDelivery delivery;
  delivery.recipient = ReadRecipient(rows, row);
  delivery.subject = rows.Text(row, 11);
  delivery.content = rows.Text(row, 12);
  delivery.html = rows.Text(row, 13);
  return delivery;
}

constexpr const char* kKeyColumns = "id, name, role, tier, key_prefix, created_at, revoked_at";

ApiKeyRecord ReadKey(const PgResult& rows, int row) {
  ApiKeyRecord key;
  key.id = rows.Int(row, 0);
  key.name = rows.Text(row, 1);
  key.role = rows.Text(row, 2);
  key.tier = rows.Text(row, 3);
  key.key_prefix = rows.Text(row, 4);
  key.created_at_ms = rows.Int(row, 5);
  if (!rows.IsNull(row, 6)) key.revoked_at_ms = rows.Int(row, 6);
  return key;
}

std::vector<RecipientRecord> RecipientsOf(PgConnection& db, std::int64_t message_id) {
  const auto rows = db.Exec(
      "SELECT " + std::string(kRecipientColumns) + " FROM message_recipients WHERE message_id = $1 ORDER BY id",
      {Param(message_id)});
  std::vector<RecipientRecord> recipients;
  recipients.reserve(static_cast<std::size_t>(rows.Rows()));
  for (int i = 0; i < rows.Rows(); ++i) recipients.push_back(ReadRecipient(rows, i));
  return recipients;
}

void AttachEvents(PgConnection& db, MessageRecord& message) {
  const auto rows = db.Exec(
      "SELECT e.recipient_id, e.provider, e.kind, e.detail, e.occurred_at, e.received_at FROM provider_events e "
      "JOIN message_recipients r ON r.id = e.recipient_id WHERE r.message_id = $1 ORDER BY e.occurred_at, e.id",
      {Param(message.id)});
  for (int i = 0; i < rows.Rows(); ++i) {
    const auto recipient_id = rows.Int(i, 0);
    for (auto& recipient : message.recipients) {
      if (recipient.id != recipient_id) continue;
      recipient.events.push_back(
          {rows.Text(i, 1), rows.Text(i, 2), rows.Text(i, 3), rows.Int(i, 4), rows.Int(i, 5)});
      break;
    }
  }
}

enum class WithEvents { kNo, kYes };

std::optional<MessageRecord> LoadMessage(PgConnection& db, std::int64_t id, WithEvents with_events = WithEvents::kYes) {
  const auto rows = db.Exec(
      "SELECT id, owner_id, COALESCE(idempotency_key, ''), subject, content, priority, scheduled_at, created_at, html "
      "FROM messages WHERE id = $1",
      {Param(id)});
  if (rows.Rows() == 0) return std::nullopt;
  MessageRecord m;
  m.id = rows.Int(0, 0);
  m.owner_id = rows.Int(0, 1);
  m.idempotency_key = rows.Text(0, 2);
  m.subject = rows.Text(0, 3);
  m.content = rows.Text(0, 4);
  m.priority = static_cast<int>(rows.Int(0, 5));
  if (!rows.IsNull(0, 6)) m.scheduled_at_ms = rows.Int(0, 6);
  m.created_at_ms = rows.Int(0, 7);
  m.html = rows.Text(0, 8);
  m.recipients = RecipientsOf(db, m.id);
  if (with_events == WithEvents::kYes) AttachEvents(db, m);
  return m;
}

void SaveScheduleOn(PgConnection& db, const LaneSchedule& schedule, std::int64_t now_ms) {
  db.Exec(
      "INSERT INTO pacer_state (id, running, next_release_at, updated_at) VALUES (1, $1::int, $2::bigint, $3::bigint) "
      "ON CONFLICT (id) DO UPDATE SET running = EXCLUDED.running, next_release_at = EXCLUDED.next_release_at, "
      "updated_at = EXCLUDED.updated_at",
      {Param(schedule.running), Param(schedule.next_release_at_ms), Param(now_ms)});
}

// Which of `claims` the claim's rows say were won; a recipient asked for twice
// in one batch is claimed once: the first asker has it.
std::vector<bool> ClaimsWon(const PgResult& rows, const std::vector<std::int64_t>& claims) {
  std::set<std::int64_t> won;
  for (int i = 0; i < rows.Rows(); ++i) won.insert(rows.Int(i, 0));
  std::vector<bool> claimed(claims.size(), false);
  for (std::size_t i = 0; i < claims.size(); ++i) claimed[i] = won.erase(claims[i]) > 0;
  return claimed;
}

// Records `finished` and claims `claims` in one statement, the function of
// migration 0008 (its plan is kept by the connection); returns, per claim,
// whether it was won. A claimed recipient's outcome counts only while the
// claim is still this process's (not resolved as abandoned meanwhile); only
// rows still queued, or this process's claims already, are claimed. The claim
// sees the rows as they were before the outcomes (one snapshot): a recipient
// in both is recorded and claimed in two calls.
std::vector<bool> RecordAndClaimOn(PgConnection& db, const std::vector<DeliveryResult>& finished,
                                   const std::vector<std::int64_t>& claims, std::int64_t now_ms,
                                   const std::string& claimant) {
  if (finished.empty() && claims.empty()) return {};
  std::vector<std::int64_t> ids, retry_at, claimed;
  std::vector<std::string> statuses, provider_ids, details;
  for (const auto& result : finished) {
    ids.push_back(result.recipient_id);
    statuses.push_back(result.status);
    provider_ids.push_back(result.provider_message_id);
    details.push_back(result.detail);
    retry_at.push_back(result.retry_at_ms);
    claimed.push_back(result.claimed ? 1 : 0);
  }
  return ClaimsWon(db.Exec("SELECT * FROM herald_record_and_claim($1, $2::bigint[], $3::text[], $4::text[], "
                           "$5::text[], $6::bigint[], $7::bigint[], $8, $9::bigint[])",
                           {Param(now_ms), Param(ids), Param(statuses), Param(provider_ids), Param(details),
                            Param(retry_at), Param(claimed), Param(claimant), Param(claims)}),
                   claims);
}

}  // namespace

ApiKeyRecord PgApiStore::CreateKey(const std::string& name, const std::string& role, const std::string& tier,
                                   const std::string& key_hash, const std::string& key_prefix, std::int64_t now_ms) {
  auto db = pool_.Acquire();
  const auto rows = db->Exec("INSERT INTO api_keys (name, role, tier, key_hash, key_prefix, created_at) "
                             "VALUES ($1, $2, $3, $4, $5, $6) RETURNING " +
                                 std::string(kKeyColumns),
                             {Param(name), Param(role), Param(tier), Param(key_hash), Param(key_prefix), Param(now_ms)});
  return ReadKey(rows, 0);
}

IssuedKey PgApiStore::IssueKey(const std::string& name, const std::string& role, const std::string& tier,
                               std::int64_t now_ms) {
  std::string key = "hk_" + RandomHex(24);
  auto record = CreateKey(name, role, tier, Sha256Hex(key), key.substr(0, 10), now_ms);
  return {std::move(record), std::move(key)};
}

std::optional<ApiKeyRecord> PgApiStore::FindActiveKey(const std::string& key_hash) {
  auto db = pool_.Acquire();
  const auto rows = db->Exec(
      "SELECT " + std::string(kKeyColumns) + " FROM api_keys WHERE key_hash = $1 AND revoked_at IS NULL",
      {Param(key_hash)});
  if (rows.Rows() == 0) return std::nullopt;
  return ReadKey(rows, 0);
}

std::vector<ApiKeyRecord> PgApiStore::ListKeys() {
  auto db = pool_.Acquire();
  const auto rows = db->Exec("SELECT " + std::string(kKeyColumns) + " FROM api_keys ORDER BY id");
  std::vector<ApiKeyRecord> keys;
  for (int i = 0; i < rows.Rows(); ++i) keys.push_back(ReadKey(rows, i));
  return keys;
}

bool PgApiStore::RevokeKey(std::int64_t id, std::int64_t now_ms) {
  auto db = pool_.Acquire();
  return db->Exec("UPDATE api_keys SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL",
                  {Param(now_ms), Param(id)})
             .Affected() > 0;
}

namespace {

// `count` ids from the identity sequence of `table`, in one round trip. The
// sequence is looked up once, not for every id (a catalog lookup each: 10x
// the cost of the ids themselves).
std::vector<std::int64_t> NextIds(PgConnection& db, const char* table, std::size_t count) {
  const auto rows = db.Exec(std::string("WITH s AS MATERIALIZED (SELECT pg_get_serial_sequence('") + table +
                                "', 'id')::regclass AS sequence) SELECT nextval(s.sequence) FROM s, "
                                "generate_series(1, $1)",
                            {Param(static_cast<std::int64_t>(count))});
  std::vector<std::int64_t> ids;
  ids.reserve(static_cast<std::size_t>(rows.Rows()));
  for (int i = 0; i < rows.Rows(); ++i) ids.push_back(rows.Int(i, 0));
  return ids;
}

}  // namespace

// One statement per table for the whole batch: ids come from the sequences
// first, so each stored row is known by its id; a message whose idempotency key
// is taken (by an earlier request, or earlier in this batch) is not inserted,
// and the one stored under that key is answered instead.
std::vector<AcceptedMessage> PgApiStore::Accept(std::vector<NewMessage> messages, std::int64_t now_ms) {
  auto db = pool_.Acquire();
  PgTransaction tx(*db);
  std::vector<AcceptedMessage> accepted;
  if (messages.empty()) return accepted;
  const auto message_ids = NextIds(*db, "messages", messages.size());
  std::vector<std::int64_t> owners, priorities;
  std::vector<std::string> keys, subjects, contents, scheduled, htmls;
  for (const auto& message : messages) {
    owners.push_back(message.owner_id);
    keys.push_back(message.idempotency_key);
    priorities.push_back(message.priority);
    subjects.push_back(message.subject);
    contents.push_back(message.content);
    htmls.push_back(message.html);
    scheduled.push_back(message.scheduled_at_ms ? std::to_string(*message.scheduled_at_ms) : std::string());
  }
  // ON CONFLICT: two requests with one idempotency key at once store one message.
  const auto inserted_rows = db->Exec(
      "INSERT INTO messages (id, owner_id, idempotency_key, subject, content, priority, scheduled_at, created_at, html) "
      "SELECT id, owner_id, NULLIF(idempotency_key, ''), subject, content, priority, "
      "NULLIF(scheduled_at, '')::bigint, $1, html "
      "FROM unnest($2::bigint[], $3::bigint[], $4::text[], $5::text[], $6::text[], $7::bigint[], $8::text[], "
      "$9::text[]) AS v (id, owner_id, idempotency_key, subject, content, priority, scheduled_at, html) "
      "ORDER BY v.id ON CONFLICT (owner_id, idempotency_key) DO NOTHING RETURNING id",
      {Param(now_ms), Param(message_ids), Param(owners), Param(keys), Param(subjects), Param(contents),
       Param(priorities), Param(scheduled), Param(htmls)});
  std::set<std::int64_t> inserted;
  for (int i = 0; i < inserted_rows.Rows(); ++i) inserted.insert(inserted_rows.Int(i, 0));

  std::vector<std::int64_t> of_message, recipient_priorities, due;
  std::vector<std::string> channels, addresses;
  for (std::size_t m = 0; m < messages.size(); ++m) {
    if (!inserted.contains(message_ids[m])) continue;
    for (const auto& recipient : messages[m].recipients) {
      of_message.push_back(message_ids[m]);
      channels.push_back(recipient.channel);
      addresses.push_back(recipient.address);
      recipient_priorities.push_back(messages[m].priority);
      due.push_back(messages[m].scheduled_at_ms.value_or(now_ms));
    }
  }
  const auto recipient_ids = NextIds(*db, "message_recipients", of_message.size());
  if (!recipient_ids.empty()) {
    const std::string insert =
        "INSERT INTO message_recipients (id, message_id, lane, channel, address, status, priority, due_at, updated_at) "
        "SELECT id, message_id, channel, channel, address, 'queued', priority, due_at, $1 "
        "FROM unnest($2::bigint[], $3::bigint[], $4::text[], $5::text[], $6::bigint[], $7::bigint[]) "
        "AS v (id, message_id, channel, address, priority, due_at)";
    // With the recipients, their outbox rows: committed together, so the relay
    // misses none and the broker gets none that was not stored.
    db->Exec(relay_outbox_ ? "WITH stored AS (" + insert + " RETURNING id, lane, priority, due_at) " +
                                 std::string(kIntoOutbox) + "SELECT id, lane, priority, due_at FROM stored"
                           : insert,
             {Param(now_ms), Param(recipient_ids), Param(of_message), Param(channels), Param(addresses),
              Param(recipient_priorities), Param(due)});
  }
  accepted.reserve(messages.size());
  std::size_t next_recipient = 0;
  for (std::size_t m = 0; m < messages.size(); ++m) {
    if (!inserted.contains(message_ids[m])) {
      const auto existing = db->Exec("SELECT id FROM messages WHERE owner_id = $1 AND idempotency_key = $2",
                                     {Param(messages[m].owner_id), Param(messages[m].idempotency_key)});
      accepted.push_back({*LoadMessage(*db, existing.Int(0, 0)), false});
      continue;
    }
    auto record = RecordOf(messages[m], message_ids[m], now_ms);
    const std::int64_t message_due = record.scheduled_at_ms.value_or(now_ms);
    record.recipients.reserve(messages[m].recipients.size());
    for (auto& recipient : messages[m].recipients) {
      record.recipients.push_back(
          RecipientOf(recipient, recipient_ids[next_recipient++], record.id, message_due, now_ms));
    }
    accepted.push_back({std::move(record), true});
  }
  tx.Commit();
  return accepted;
}

std::optional<MessageRecord> PgApiStore::GetMessage(std::int64_t id) {
  auto db = pool_.Acquire();
  return LoadMessage(*db, id);
}

MessagePage PgApiStore::ListMessages(const MessageFilter& filter, int page, int page_size) {
  auto db = pool_.Acquire();
  // One snapshot for the count and the page.
  PgTransaction tx(*db);
  db->Exec("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY");
  MessagePage result;
  result.as_of_id = filter.as_of_id.value_or(db->Exec("SELECT COALESCE(MAX(id), 0) FROM messages").Int(0, 0));
  // A message matches when any of its recipients matches the channel and status.
  std::vector<PgParam> params = {Param(result.as_of_id)};
  std::string where = " WHERE m.id <= $1";
  const auto next = [&params](PgParam value) {
    params.push_back(std::move(value));
    return "$" + std::to_string(params.size());
  };
  if (filter.owner_id) where += " AND m.owner_id = " + next(Param(*filter.owner_id));
  if (!filter.status.empty() || !filter.channel.empty()) {
    where += " AND EXISTS (SELECT 1 FROM message_recipients r WHERE r.message_id = m.id";
    if (!filter.status.empty()) where += " AND r.status = " + next(Param(filter.status));
    if (!filter.channel.empty()) where += " AND r.channel = " + next(Param(filter.channel));
    where += ")";
  }
  result.total_count = db->Exec("SELECT COUNT(*) FROM messages m" + where, params).Int(0, 0);
  const auto limit = next(Param(page_size));
  const auto offset = next(Param(static_cast<std::int64_t>(page - 1) * page_size));
  const auto ids = db->Exec("SELECT m.id FROM messages m" + where + " ORDER BY m.id DESC LIMIT " + limit +
                                " OFFSET " + offset,
                            params);
  for (int i = 0; i < ids.Rows(); ++i) {
    if (auto message = LoadMessage(*db, ids.Int(i, 0), WithEvents::kNo)) result.messages.push_back(std::move(*message));
  }
  tx.Commit();
  return result;
}

CancelResult PgApiStore::CancelMessage(std::int64_t id, std::int64_t now_ms) {
  auto db = pool_.Acquire();
  PgTransaction tx(*db);
  CancelResult result;
  result.found = db->Exec("SELECT 1 FROM messages WHERE id = $1", {Param(id)}).Rows() > 0;
  if (!result.found) return result;
  result.cancelled = db->Exec(
                           "UPDATE message_recipients SET status = 'cancelled', updated_at = $1 "
                           "WHERE message_id = $2 AND status = 'queued'",
                           {Param(now_ms), Param(id)})
                         .Affected();
  result.not_pending = db->Exec(
                             "SELECT COUNT(*) FROM message_recipients "
                             "WHERE message_id = $1 AND status NOT IN ('queued', 'cancelled')",
                             {Param(id)})
                           .Int(0, 0);
  tx.Commit();
  return result;
}

std::int64_t PgApiStore::RetryMessage(std::int64_t id, const std::vector<std::string>& statuses, std::int64_t now_ms) {
  auto db = pool_.Acquire();
  PgTransaction tx(*db);
  std::int64_t requeued = 0;
  for (const auto& status : statuses) {
    requeued += db->Exec(RequeueStatement("UPDATE message_recipients SET status = 'queued', attempts = 0, due_at = $1, "
                                          "updated_at = $1, last_error = 'retry requested after: ' || last_error "
                                          "WHERE message_id = $2 AND status = $3",
                                          relay_outbox_),
                         {Param(now_ms), Param(id), Param(status)})
                    .Int(0, 0);
  }
  tx.Commit();
  return requeued;
}

std::vector<std::pair<std::pair<std::string, std::string>, std::int64_t>> PgApiStore::CountByLaneAndStatus() {
  auto db = pool_.Acquire();
  const auto rows =
      db->Exec("SELECT lane, status, COUNT(*) FROM message_recipients GROUP BY lane, status ORDER BY lane, status");
  std::vector<std::pair<std::pair<std::string, std::string>, std::int64_t>> counts;
  for (int i = 0; i < rows.Rows(); ++i) counts.push_back({{rows.Text(i, 0), rows.Text(i, 1)}, rows.Int(i, 2)});
  return counts;
}

std::vector<EventRecorded> PgApiStore::RecordEvents(const std::vector<ProviderEvent>& events, std::int64_t now_ms) {
  std::vector<EventRecorded> answers;
  answers.reserve(events.size());
  if (events.empty()) return answers;
  auto db = pool_.Acquire();
  PgTransaction tx(*db);
  for (const auto& event : events) {
    // The recipient's row is read in the same statement, so a missing one inserts nothing.
    const auto rows = db->Exec(
        "WITH target AS (SELECT id FROM message_recipients WHERE id = $3::bigint), "
        "inserted AS (INSERT INTO provider_events (provider, event_id, recipient_id, kind, detail, occurred_at, "
        "received_at) SELECT $1::text, $2::text, id, $4::text, $5::text, $6::bigint, $7::bigint FROM target ON CONFLICT (provider, event_id) DO NOTHING "
        "RETURNING 1) "
        "SELECT (SELECT COUNT(*) FROM target), (SELECT COUNT(*) FROM inserted)",
        {Param(event.provider), Param(event.event_id), Param(event.recipient_id), Param(event.kind),
         Param(event.detail), Param(event.occurred_at_ms), Param(now_ms)});
    if (rows.Int(0, 0) == 0) {
      answers.push_back(EventRecorded::kUnknownRecipient);
    } else {
      answers.push_back(rows.Int(0, 1) > 0 ? EventRecorded::kStored : EventRecorded::kReplay);
    }
  }
  tx.Commit();
  return answers;
}

std::vector<std::pair<std::pair<std::string, std::string>, std::int64_t>> PgApiStore::CountEventsByProviderAndKind() {
  auto db = pool_.Acquire();
  const auto rows = db->Exec(
      "SELECT provider, kind, COUNT(*) FROM provider_events GROUP BY provider, kind ORDER BY provider, kind");
  std::vector<std::pair<std::pair<std::string, std::string>, std::int64_t>> counts;
  for (int i = 0; i < rows.Rows(); ++i) counts.push_back({{rows.Text(i, 0), rows.Text(i, 1)}, rows.Int(i, 2)});
  return counts;
}

void PgApiStore::Heartbeat(std::int64_t now_ms) {
  auto db = pool_.Acquire();
  db->Exec(
      "INSERT INTO delivery_processes (id, started_at, seen_at) VALUES ($1, $2, $2) "
      "ON CONFLICT (id) DO UPDATE SET seen_at = GREATEST(delivery_processes.seen_at, EXCLUDED.seen_at)",
      {Param(claimant_), Param(now_ms)});
}

std::int64_t PgApiStore::ResolveAbandoned(std::int64_t now_ms, std::int64_t alive_since_ms) {
  auto db = pool_.Acquire();
  PgTransaction tx(*db);
  const auto resolved =
      db->Exec(
            "UPDATE message_recipients r SET status = 'unknown', updated_at = $1, "
            "last_error = 'the process stopped during the send; it may or may not have been delivered' "
            "WHERE r.status = 'sending' AND r.claimed_by IS DISTINCT FROM $2 AND NOT EXISTS ("
            "SELECT 1 FROM delivery_processes p WHERE p.id = r.claimed_by AND p.seen_at >= $3)",
            {Param(now_ms), Param(claimant_), Param(alive_since_ms)})
          .Affected();
  db->Exec("DELETE FROM delivery_processes WHERE seen_at < $1 AND id <> $2", {Param(alive_since_ms), Param(claimant_)});
  tx.Commit();
  return resolved;
}

std::optional<std::int64_t> PgApiStore::NextDueAt(const std::string& lane) {
  auto db = pool_.Acquire();
  const auto rows =
      db->Exec("SELECT MIN(due_at) FROM message_recipients WHERE status = 'queued' AND lane = $1", {Param(lane)});
  if (rows.IsNull(0, 0)) return std::nullopt;
  return rows.Int(0, 0);
}

std::vector<ClaimedDelivery> PgApiStore::TakeDue(const std::string& lane, TakeOrder order, int max,
                                                 std::int64_t now_ms, const std::set<std::int64_t>& held) {
  std::vector<ClaimedDelivery> due;
  if (max <= 0) return due;
  auto db = pool_.Acquire();
  // Rows this process holds are still queued: read past them.
  const std::vector<std::int64_t> skip(held.begin(), held.end());
  const std::string order_by =
      order == TakeOrder::kArrival ? "ORDER BY r.id " : "ORDER BY r.priority DESC, r.due_at, r.id ";
  const std::string due_rows =
      "WHERE r.status = 'queued' AND r.lane = $1 AND r.due_at <= $2 AND NOT (r.id = ANY($3::bigint[])) ";
  // The paced lane: every process reads the same oldest rows, since one of
  // them begins each release and no other may hide those rows from it (seed
  // 001 is FIFO). Other lanes: rows another process has taken, and is about to
  // claim, are passed by too: locked ones are skipped and the rest marked as
  // this process's for a while, so workers without a broker take disjoint rows.
  // A lease that runs out (its process died or dropped them) frees the rows
  // again; the claim still decides who sends.
  constexpr std::int64_t kTakeLeaseMs = 30000;
  const auto rows =
      lane == kPacedLane
          ? db->Exec(std::string(kDeliveryColumns) + "FROM message_recipients r " + std::string(kJoinMessage) +
                         due_rows + order_by + "LIMIT $4",
                     {Param(lane), Param(now_ms), Param(skip), Param(max)})
          : db->Exec("WITH picked AS (SELECT r.id FROM message_recipients r " + due_rows +
                         "AND (r.taken_until IS NULL OR r.taken_until <= $2 OR r.taken_by = $5) " + order_by +
                         "LIMIT $4 FOR UPDATE SKIP LOCKED), "
                         "taken AS (UPDATE message_recipients t SET taken_by = $5, taken_until = $6 FROM picked "
                         "WHERE t.id = picked.id RETURNING t.*) " +
                         std::string(kDeliveryColumns) + "FROM taken r " + std::string(kJoinMessage) + order_by,
                     {Param(lane), Param(now_ms), Param(skip), Param(max), Param(claimant_),
                      Param(now_ms + kTakeLeaseMs)});
  due.reserve(static_cast<std::size_t>(rows.Rows()));
  for (int i = 0; i < rows.Rows(); ++i) due.push_back(ReadDelivery(rows, i));
  return due;
}

std::vector<bool> PgApiStore::RecordAndClaimMany(const std::vector<DeliveryResult>& finished,
                                                 const std::vector<std::int64_t>& claims, std::int64_t now_ms,
                                                 const std::optional<LaneSchedule>& schedule) {
  auto db = pool_.Acquire();
  const auto recorded_too = [&finished, &claims] {
    std::set<std::int64_t> recorded;
    for (const auto& result : finished) recorded.insert(result.recipient_id);
    return std::any_of(claims.begin(), claims.end(), [&recorded](std::int64_t id) { return recorded.contains(id); });
  };
  // The engine's commit, thousands of times a campaign: one statement, its
  // own transaction, one round trip.
  if (!schedule && !recorded_too()) return RecordAndClaimOn(*db, finished, claims, now_ms, claimant_);
  PgTransaction tx(*db);
  RecordAndClaimOn(*db, finished, {}, now_ms, claimant_);
  std::vector<bool> claimed(claims.size(), false);
  if (schedule && schedule->only_if_unchanged) {
    // The row exists from the first release on, so that FOR UPDATE always has
    // something to lock: two first releases at once serialise like any other.
    db->Exec(
        "INSERT INTO pacer_state (id, running, next_release_at, updated_at) VALUES (1, 1, NULL, $1) "
        "ON CONFLICT (id) DO NOTHING",
        {Param(now_ms)});
    const auto saved = db->Exec("SELECT next_release_at, running FROM pacer_state WHERE id = 1 FOR UPDATE");
    const std::optional<std::int64_t> current =
        saved.IsNull(0, 0) ? std::nullopt : std::optional<std::int64_t>(saved.Int(0, 0));
    if (current != schedule->seen_release_at_ms || saved.Int(0, 1) == 0) {
      // The outcomes only: another process began this release, or the sender
      // was stopped (over any herald api) since this process last looked.
      tx.Commit();
      return claimed;
    }
  }
  claimed = RecordAndClaimOn(*db, {}, claims, now_ms, claimant_);
  if (schedule) SaveScheduleOn(*db, *schedule, now_ms);
  tx.Commit();
  return claimed;
}

bool PgApiStore::HasOpen(const std::string& lane) {
  auto db = pool_.Acquire();
  return db->Exec("SELECT EXISTS (SELECT 1 FROM message_recipients WHERE lane = $1 AND status IN ('queued', 'sending'))",
                  {Param(lane)})
             .Text(0, 0) == "t";
}

std::vector<UnpublishedDelivery> PgApiStore::TakeUnpublished(int max, std::int64_t now_ms) {
  std::vector<UnpublishedDelivery> due;
  if (max <= 0) return due;
  auto db = pool_.Acquire();
  // Rows of recipients no longer queued (cancelled, or sent by a process
  // taking from the store) leave the outbox as they come up; a row requeued
  // meanwhile has another due time and stays.
  for (;;) {
    const int wanted = max - static_cast<int>(due.size());
    const auto rows = db->Exec(
        "WITH due AS (SELECT o.recipient_id, o.lane, o.priority, o.due_at, r.status FROM message_outbox o "
        "LEFT JOIN message_recipients r ON r.id = o.recipient_id WHERE o.due_at <= $1 "
        "ORDER BY o.due_at, o.recipient_id LIMIT $2), "
        "settled AS (DELETE FROM message_outbox o USING due WHERE o.recipient_id = due.recipient_id "
        "AND o.due_at = due.due_at AND due.status IS DISTINCT FROM 'queued') "
        "SELECT recipient_id, lane, priority, due_at, status = 'queued' FROM due ORDER BY due_at, recipient_id",
        {Param(now_ms), Param(wanted)});
    int settled = 0;
    for (int i = 0; i < rows.Rows(); ++i) {
      if (rows.Text(i, 4) != "t") {
        ++settled;
        continue;
      }
      due.push_back({rows.Int(i, 0), rows.Text(i, 1), static_cast<int>(rows.Int(i, 2)), rows.Int(i, 3)});
    }
    // Settled rows took places in the batch: what they left is taken too, so
    // a full answer still means more is due.
    if (settled == 0 || rows.Rows() < wanted || static_cast<int>(due.size()) >= max) break;
  }
  return due;
}

void PgApiStore::MarkPublished(const std::vector<UnpublishedDelivery>& published) {
  // Committed without waiting for the disk: a delete lost in a crash costs one
  // more publish, whose copy the lane skips.
  if (published.empty()) return;
  std::vector<std::int64_t> ids;
  std::vector<std::int64_t> due_ats;
  ids.reserve(published.size());
  due_ats.reserve(published.size());
  for (const auto& delivery : published) {
    ids.push_back(delivery.recipient_id);
    due_ats.push_back(delivery.due_at_ms);
  }
  auto db = pool_.Acquire();
  PgTransaction tx(*db);
  db->Exec("SET LOCAL synchronous_commit = off");
  db->Exec("DELETE FROM message_outbox o USING unnest($1::bigint[], $2::bigint[]) AS p(recipient_id, due_at) "
           "WHERE o.recipient_id = p.recipient_id AND o.due_at = p.due_at",
           {Param(ids), Param(due_ats)});
  tx.Commit();
}

std::int64_t PgApiStore::ForgetPublished(const std::string& lane, std::int64_t due_before_ms) {
  // Those in the outbox still were never handed over: they stay as they are.
  auto db = pool_.Acquire();
  return db
      ->Exec(std::string(kIntoOutbox) +
                 "SELECT id, lane, priority, due_at FROM message_recipients "
                 "WHERE lane = $1 AND status = 'queued' AND due_at < $2 ON CONFLICT (recipient_id) DO NOTHING",
             {Param(lane), Param(due_before_ms)})
      .Affected();
}

std::vector<ClaimedDelivery> PgApiStore::LoadDeliveries(const std::vector<std::int64_t>& recipient_ids) {
  std::vector<ClaimedDelivery> deliveries;
  if (recipient_ids.empty()) return deliveries;
  auto db = pool_.Acquire();
  // In the order asked for, as on SQLite.
  const auto rows = db->Exec(std::string(kDeliveryColumns) + "FROM message_recipients r " + std::string(kJoinMessage) +
                                 "JOIN unnest($1::bigint[]) WITH ORDINALITY AS asked (id, place) ON asked.id = r.id "
                                 "ORDER BY asked.place",
                             {Param(recipient_ids)});
  deliveries.reserve(static_cast<std::size_t>(rows.Rows()));
  for (int i = 0; i < rows.Rows(); ++i) deliveries.push_back(ReadDelivery(rows, i));
  return deliveries;
}

LaneSchedule PgApiStore::LoadSchedule() {
  auto db = pool_.Acquire();
  const auto rows = db->Exec("SELECT running, next_release_at FROM pacer_state WHERE id = 1");
  LaneSchedule schedule;
  if (rows.Rows() > 0) {
    schedule.running = rows.Int(0, 0) != 0;
    if (!rows.IsNull(0, 1)) schedule.next_release_at_ms = rows.Int(0, 1);
  }
  return schedule;
}

void PgApiStore::SaveSchedule(const LaneSchedule& schedule, std::int64_t now_ms) {
  auto db = pool_.Acquire();
  SaveScheduleOn(*db, schedule, now_ms);
}

}  // namespace herald::store::postgres
