// MessageDeliveryStore: what the delivery engine's message lanes need from the
// store that holds API, campaign and paced messages. Every recipient belongs to
// one lane: its channel's name for API and campaign messages, "paced" for the
// paced sender's. Per lane, due recipients are read without changing them, then
// claimed and recorded in batches, one transaction at a time. A second backend
// (PostgreSQL) implements the same calls and passes the same contract tests.
#pragma once

#include <unistd.h>

#include <cstdint>
#include <limits>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/hash.hpp"
#include "store/api_records.hpp"

namespace herald::store {

// ResolveAbandoned's `alive_since_ms` for a process that knows it is the only
// one on the store (herald serve holding the data dir lock): every other is gone.
inline constexpr std::int64_t kNoOtherProcessAlive = std::numeric_limits<std::int64_t>::max();

// A process's claimant id: host, pid and a random part, unique across restarts.
inline std::string NewClaimantId() {
  char host[256] = {};
  if (gethostname(host, sizeof host - 1) != 0) host[0] = '\0';
  return std::string(host) + ":" + std::to_string(getpid()) + ":" + RandomHex(4);
}

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
  // Set by the pacing rule for the claims of its lane: the schedule is saved,
  // and the claims made, only if the saved release time is still the one the
  // rule last saw (`seen_release_at_ms`), so two processes delivering the
  // paced lane can never both begin a release.
  bool only_if_unchanged = false;
  std::optional<std::int64_t> seen_release_at_ms;
};

// A queued recipient the outbox relay hands to the broker.
struct UnpublishedDelivery {
  std::int64_t recipient_id = 0;
  std::string lane;
  int priority = 0;
  // Which hand-over this is: a recipient requeued after it was taken is due
  // again later, and marking the earlier hand-over leaves the new one alone.
  std::int64_t due_at_ms = 0;
};

class MessageDeliveryStore {
 public:
  virtual ~MessageDeliveryStore() = default;

  // Up to `max` recipients of `lane` due at `now_ms`, in `order`, leaving out
  // `held` (taken earlier and not yet settled). Nothing a reader sees changes
  // until a commit claims them; a store shared by several processes may mark
  // them as this process's for a while, so that another's take passes them by.
  virtual std::vector<ClaimedDelivery> TakeDue(const std::string& lane, TakeOrder order, int max,
                                               std::int64_t now_ms, const std::set<std::int64_t>& held) = 0;
  // In one transaction: records `finished` (a claimed recipient's outcome, or a
  // queued one that could not be rendered), claims `claims` (queued -> sending,
  // one more attempt) and, when given, saves the lane's `schedule`. Returns per
  // claim whether it was still queued, or is this process's claim already
  // (a commit that went through but whose answer was lost, asked again): the
  // caller holds each recipient once, so such a claim is that same claim, not a
  // second send. A recipient asked for twice in one call is claimed once.
  virtual std::vector<bool> RecordAndClaimMany(const std::vector<DeliveryResult>& finished,
                                               const std::vector<std::int64_t>& claims, std::int64_t now_ms,
                                               const std::optional<LaneSchedule>& schedule) = 0;
  // Earliest due time of a queued recipient of the lane.
  virtual std::optional<std::int64_t> NextDueAt(const std::string& lane) = 0;
  // Whether the lane has queued or sending recipients.
  virtual bool HasOpen(const std::string& lane) = 0;
  // Every claim carries the id of the process that made it (one id per opened
  // store). Heartbeat says this process is alive. ResolveAbandoned makes
  // "unknown" the sends in flight of every other process not seen alive since
  // `alive_since_ms` (it stopped mid-send: the message may or may not have
  // gone), forgets those processes, and returns how many sends it resolved. An
  // outcome is recorded only by the process whose claim it is.
  virtual const std::string& claimant() const = 0;
  virtual void Heartbeat(std::int64_t now_ms) = 0;
  virtual std::int64_t ResolveAbandoned(std::int64_t now_ms, std::int64_t alive_since_ms) = 0;

  // The outbox, when a broker carries the message lanes (the paced lane is never
  // published): up to `max` queued recipients due at `now_ms` that no queue was
  // handed yet, earliest due first; marking them once the broker holds them; and
  // making a lane's queued recipients count as never handed over (the broker
  // lost them). A recipient published twice is sent once: the claim decides.
  virtual std::vector<UnpublishedDelivery> TakeUnpublished(int max, std::int64_t now_ms) = 0;
  virtual void MarkPublished(const std::vector<UnpublishedDelivery>& published) = 0;
  // Of the lane's queued recipients published already, those due before
  // `due_before_ms` (INT64_MAX: all) count as never handed over.
  virtual std::int64_t ForgetPublished(const std::string& lane, std::int64_t due_before_ms) = 0;
  // The deliveries of these recipients, whatever their state (unknown ids are
  // left out): what a lane fed by the broker reads for the items it took.
  virtual std::vector<ClaimedDelivery> LoadDeliveries(const std::vector<std::int64_t>& recipient_ids) = 0;

  // The saved schedule of the paced lane (the only shaped lane that keeps one),
  // the default when none was saved, and saving it on its own (start, stop).
  virtual LaneSchedule LoadSchedule() = 0;
  virtual void SaveSchedule(const LaneSchedule& schedule, std::int64_t now_ms) = 0;
};

}  // namespace herald::store
