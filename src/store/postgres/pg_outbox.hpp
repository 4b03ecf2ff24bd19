// The message lanes' outbox on PostgreSQL (migration 0006): a row per
// recipient that no broker was handed yet, written in the transaction that
// stores or requeues the recipient, deleted once the relay published it.
// Written only by processes whose lanes a broker carries (queue.kind =
// rabbitmq): without a relay, nothing would ever empty it.
#pragma once

#include <string>

namespace herald::store::postgres {

inline constexpr const char* kIntoOutbox = "INSERT INTO message_outbox (recipient_id, lane, priority, due_at) ";

// `update` (an UPDATE putting recipients back in the queue) as one statement
// answering how many it requeued, with the outbox rows of those the relay
// publishes when `relay_outbox` (the paced lane is never published).
inline std::string RequeueStatement(const std::string& update, bool relay_outbox) {
  if (!relay_outbox) return "WITH requeued AS (" + update + " RETURNING id) SELECT COUNT(*) FROM requeued";
  return "WITH requeued AS (" + update + " RETURNING id, lane, priority, due_at), outboxed AS (" +
         std::string(kIntoOutbox) +
         "SELECT id, lane, priority, due_at FROM requeued WHERE lane <> 'paced' "
         "ON CONFLICT (recipient_id) DO UPDATE SET due_at = EXCLUDED.due_at) SELECT COUNT(*) FROM requeued";
}

}  // namespace herald::store::postgres
