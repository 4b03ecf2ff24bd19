// The paced sender's store (seed 001) in the data dir's herald.db: SMS messages
// released a few at a time in FIFO order, and the pacer's running/stopped state,
// kept so a restart neither forgets a stop nor resets the schedule.
#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "store/sqlite/database.hpp"

namespace herald::store::sqlite {

// States of one paced message, the delivery states every job shares: queued ->
// sending -> sent | failed | unknown | dead; a transient failure puts a sending
// row back to queued for a later release.
struct PacedMessage {
  std::int64_t id = 0;
  std::int64_t owner_id = 0;
  std::string to;  // E.164, normalised by the caller
  std::string content;
  std::string status;
  int attempts = 0;
  std::string provider_message_id;
  std::string last_error;
  std::int64_t created_at_ms = 0;
  std::int64_t updated_at_ms = 0;
  std::optional<std::int64_t> sent_at_ms;
};

struct NewPacedMessage {
  std::int64_t owner_id = 0;
  std::string to;
  std::string content;
};

// What the pacer learnt about one claimed message.
struct PacedOutcome {
  std::int64_t id = 0;
  std::string status;  // "sent", "failed", "unknown", "dead", or "queued" to retry in a later release
  std::string provider_message_id;
  std::string detail;
  std::int64_t retry_at_ms = 0;  // when status is "queued": not claimable before this
  bool claimed = true;           // false: never claimed (it could not be rendered)
};

struct PacerState {
  bool running = true;  // a fresh data dir sends automatically, as seed 001 asks
  // Earliest time the next batch may go; kept while stopped so a stop and start
  // within one interval cannot release an extra batch.
  std::optional<std::int64_t> next_release_at_ms;
};

struct PacedPage {
  std::vector<PacedMessage> messages;
  std::int64_t total_count = 0;
};

class SqlitePacingStore {
 public:
  // Opens (creating if needed) the file and the pacing tables. Throws
  // std::runtime_error naming the file when it cannot.
  explicit SqlitePacingStore(const std::string& path);
  SqlitePacingStore(const SqlitePacingStore&) = delete;
  SqlitePacingStore& operator=(const SqlitePacingStore&) = delete;

  // Stores the messages as queued in one transaction; returns them with their ids.
  std::vector<PacedMessage> Enqueue(const std::vector<NewPacedMessage>& messages, std::int64_t now_ms);
  std::optional<PacedMessage> Get(std::int64_t id);
  // Sent messages, newest sent first; owner nullopt: everyone's.
  PacedPage ListSent(std::optional<std::int64_t> owner_id, int page, int page_size);

  // --- the paced lane of the delivery engine ---
  // Up to `max` queued messages due at `now_ms`, oldest first, leaving out `held`.
  std::vector<PacedMessage> TakeDue(int max, std::int64_t now_ms, const std::set<std::int64_t>& held);
  // In one transaction: records `finished`, claims `claims` (queued -> sending,
  // one more attempt) and saves `state` (the release schedule that the claims
  // used up), so a crash never buys an extra release. Per claim: still queued.
  std::vector<bool> RecordAndClaimMany(const std::vector<PacedOutcome>& finished, const std::vector<std::int64_t>& claims,
                                       const std::optional<PacerState>& state, std::int64_t now_ms);
  std::optional<std::int64_t> NextDueAt();
  bool HasOpen();
  // Rows left "sending" by a process that died may have reached the provider:
  // they become "unknown", never sent again. Returns how many. Call at start-up.
  std::int64_t ResolveAbandoned(std::int64_t now_ms);
  // Messages per status, for health and metrics.
  std::vector<std::pair<std::string, std::int64_t>> CountByStatus();

  PacerState LoadState();
  void SaveState(const PacerState& state, std::int64_t now_ms);

 private:
  void RecordLocked(const PacedOutcome& finished, std::int64_t now_ms);  // writer_, in a transaction
  void SaveStateLocked(const PacerState& state, std::int64_t now_ms);   // writer_

  std::mutex writer_mutex_;
  Database writer_;  // synchronous=FULL: a claim is on disk before its send
  std::mutex reader_mutex_;
  Database reader_;  // WAL: reads never wait for a claim's commit
};

}  // namespace herald::store::sqlite
