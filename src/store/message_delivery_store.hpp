// MessageDeliveryStore: what the delivery engine's message lanes need from the
// store that holds API and campaign messages. Per lane (a channel's name), due
// recipients are read without changing them, then claimed and recorded in
// batches, one transaction at a time. A second backend (PostgreSQL) implements
// the same calls and passes the same contract tests.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "store/api_records.hpp"

namespace herald::store {

class MessageDeliveryStore {
 public:
  virtual ~MessageDeliveryStore() = default;

  // Up to `max` recipients of `lane` due at `now_ms`, highest priority first,
  // then oldest due, leaving out `held` (taken earlier and not yet settled).
  // Reads only: nothing changes until Commit claims them.
  virtual std::vector<ClaimedDelivery> TakeDue(const std::string& lane, int max, std::int64_t now_ms,
                                               const std::set<std::int64_t>& held) = 0;
  // In one transaction: records `finished` (a claimed recipient's outcome, or a
  // queued one that could not be rendered) and claims `claims` (queued ->
  // sending, one more attempt). Returns per claim whether it was still queued.
  virtual std::vector<bool> RecordAndClaimMany(const std::vector<DeliveryResult>& finished,
                                               const std::vector<std::int64_t>& claims, std::int64_t now_ms) = 0;
  // Earliest due time of a queued recipient of the lane.
  virtual std::optional<std::int64_t> NextDueAt(const std::string& lane) = 0;
  // Whether the lane has queued or sending recipients.
  virtual bool HasOpen(const std::string& lane) = 0;
  // Rows left "sending" by a process that died become "unknown"; call once at start-up.
  virtual std::int64_t ResolveAbandoned(std::int64_t now_ms) = 0;
};

}  // namespace herald::store
