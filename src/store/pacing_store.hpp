// PacingStore: the paced sender of seed 001 - SMS messages released a few at a
// time in FIFO order, and the release schedule (running or stopped, when the
// next batch may go), kept so a restart neither forgets a stop nor resets it.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace herald::store {

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

class PacingStore {
 public:
  virtual ~PacingStore() = default;

  // Stores the messages as queued in one transaction; returns them with their ids.
  virtual std::vector<PacedMessage> Enqueue(const std::vector<NewPacedMessage>& messages, std::int64_t now_ms) = 0;
  virtual std::optional<PacedMessage> Get(std::int64_t id) = 0;
  // Sent messages, newest sent first; owner nullopt: everyone's.
  virtual PacedPage ListSent(std::optional<std::int64_t> owner_id, int page, int page_size) = 0;

  // --- the paced lane of the delivery engine ---
  // Up to `max` queued messages due at `now_ms`, oldest first, leaving out `held`.
  virtual std::vector<PacedMessage> TakeDue(int max, std::int64_t now_ms, const std::set<std::int64_t>& held) = 0;
  // In one transaction: records `finished`, claims `claims` (queued -> sending,
  // one more attempt) and saves `state` (the release schedule that the claims
  // used up), so a crash never buys an extra release. Per claim: still queued.
  virtual std::vector<bool> RecordAndClaimMany(const std::vector<PacedOutcome>& finished,
                                               const std::vector<std::int64_t>& claims,
                                               const std::optional<PacerState>& state, std::int64_t now_ms) = 0;
  virtual std::optional<std::int64_t> NextDueAt() = 0;
  virtual bool HasOpen() = 0;
  // Rows left "sending" by a process that died may have reached the provider:
  // they become "unknown", never sent again. Returns how many. Call at start-up.
  virtual std::int64_t ResolveAbandoned(std::int64_t now_ms) = 0;
  // Messages per status, for health and metrics.
  virtual std::vector<std::pair<std::string, std::int64_t>> CountByStatus() = 0;

  virtual PacerState LoadState() = 0;
  virtual void SaveState(const PacerState& state, std::int64_t now_ms) = 0;
};

}  // namespace herald::store
