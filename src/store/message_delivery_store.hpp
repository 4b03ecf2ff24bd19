// MessageDeliveryStore: what the delivery engine's message lanes need from the
// store that holds API, campaign and paced messages. Every recipient belongs to
// one lane: its channel's name for API and campaign messages, "paced" for the
// paced sender's. Per lane, due recipients are read without changing them, then
// claimed and recorded in batches, one transaction at a time. A second backend
// (PostgreSQL) implements the same calls and passes the same contract tests.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "store/api_records.hpp"

namespace herald::store {

// The lane of the paced sender's messages (seed 001), over SMS.
inline constexpr char kPacedLane[] = "paced";

// The order a lane takes its due recipients in.
enum class TakeOrder {
  kPriorityThenDue,  // highest priority first, then earliest due (API and campaign lanes)
  kArrival,          // oldest message first, whenever it became due (the paced lane: FIFO)
};

// The release schedule of a shaped lane (the paced sender's): saved in the
// transaction of the claims that used it up, so a crash never buys an extra
// release, and kept across restarts so a stop is not forgotten.
struct LaneSchedule {
  bool running = true;  // a fresh data dir sends automatically, as seed 001 asks
  // Earliest time the next release may begin; kept while stopped so a stop and
  // start within one interval cannot release an extra batch.
  std::optional<std::int64_t> next_release_at_ms;
};

// A queued recipient the outbox relay hands to the broker.
struct UnpublishedDelivery {
  std::int64_t recipient_id = 0;
  std::string lane;
  int priority = 0;
};

class MessageDeliveryStore {
 public:
  virtual ~MessageDeliveryStore() = default;

  // Up to `max` recipients of `lane` due at `now_ms`, in `order`, leaving out
  // `held` (taken earlier and not yet settled). Reads only: nothing changes
  // until a commit claims them.
  virtual std::vector<ClaimedDelivery> TakeDue(const std::string& lane, TakeOrder order, int max,
                                               std::int64_t now_ms, const std::set<std::int64_t>& held) = 0;
  // In one transaction: records `finished` (a claimed recipient's outcome, or a
  // queued one that could not be rendered), claims `claims` (queued -> sending,
  // one more attempt) and, when given, saves the lane's `schedule`. Returns per
  // claim whether it was still queued.
  virtual std::vector<bool> RecordAndClaimMany(const std::vector<DeliveryResult>& finished,
                                               const std::vector<std::int64_t>& claims, std::int64_t now_ms,
                                               const std::optional<LaneSchedule>& schedule) = 0;
  // Earliest due time of a queued recipient of the lane.
  virtual std::optional<std::int64_t> NextDueAt(const std::string& lane) = 0;
  // Whether the lane has queued or sending recipients.
  virtual bool HasOpen(const std::string& lane) = 0;
  // Rows left "sending" by a process that died become "unknown"; call once at start-up.
  virtual std::int64_t ResolveAbandoned(std::int64_t now_ms) = 0;

  // The outbox, when a broker carries the message lanes (the paced lane is never
  // published): up to `max` queued recipients due at `now_ms` that no queue was
  // handed yet, earliest due first; marking them once the broker holds them; and
  // making a lane's queued recipients count as never handed over (the broker
  // lost them). A recipient published twice is sent once: the claim decides.
  virtual std::vector<UnpublishedDelivery> TakeUnpublished(int max, std::int64_t now_ms) = 0;
  virtual void MarkPublished(const std::vector<std::int64_t>& recipient_ids) = 0;
  virtual std::int64_t ForgetPublished(const std::string& lane) = 0;
  // The deliveries of these recipients, whatever their state (unknown ids are
  // left out): what a lane fed by the broker reads for the items it took.
  virtual std::vector<ClaimedDelivery> LoadDeliveries(const std::vector<std::int64_t>& recipient_ids) = 0;

  // The saved schedule of the paced lane (the only shaped lane that keeps one),
  // the default when none was saved, and saving it on its own (start, stop).
  virtual LaneSchedule LoadSchedule() = 0;
  virtual void SaveSchedule(const LaneSchedule& schedule, std::int64_t now_ms) = 0;
};

}  // namespace herald::store
