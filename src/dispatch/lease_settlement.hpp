// The queue's part of settling a lane fed by a broker (or the embedded queue),
// once Commit has stored the outcomes: acknowledge what is done, put back what
// was never attempted, redeliver a retry at its time, dead-letter the exhausted.
#pragma once

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <span>
#include <vector>

#include "common/clock.hpp"
#include "dispatch/lane.hpp"
#include "queue/queue.hpp"

namespace herald::dispatch {

// How long from `now` until `when`; zero when it has passed.
inline std::chrono::milliseconds Until(Clock::TimePoint when, Clock::TimePoint now) {
  return std::max(std::chrono::milliseconds(0), std::chrono::duration_cast<std::chrono::milliseconds>(when - now));
}

// Leases handed back to the queue, due after `delay`: items taken that the
// store could not look up (it is down), or that are not due yet. Kept, they
// would sit unacknowledged in this consumer until its connection closed, and
// with a live worker that may be never. A broker that cannot take them back
// either gets them back when the connection drops.
inline void ReturnLeases(queue::Queue& queue, const std::vector<queue::Lease>& leases,
                         std::chrono::milliseconds delay = std::chrono::milliseconds(0)) {
  for (const auto& lease : leases) {
    try {
      queue.Retry(lease, delay);
    } catch (const std::exception&) {
      return;  // the broker is unreachable too: it redelivers them itself
    }
  }
}

// Acknowledges copies a lane will not send. When the broker cannot be told (it
// is going down), they come back to the queue by themselves and are dropped
// then; what the lane did take goes on either way — throwing here would drop
// items already held as taken, and a later copy of each would be skipped as a
// second copy of one being sent, for good.
inline void AckStale(queue::Queue& queue, const std::vector<queue::Lease>& stale) {
  if (stale.empty()) return;
  try {
    queue.Ack(stale);
  } catch (const std::exception& e) {
    spdlog::warn("queue: cannot acknowledge {} copies not to send: {}; the broker hands them out again", stale.size(),
                 e.what());
  }
}

// `lease_of` gives the queue item a finished delivery came with.
template <typename LeaseOf>
void SettleLeases(queue::Queue& queue, std::span<const Finished> finished, Clock::TimePoint now, LeaseOf lease_of) {
  std::vector<queue::Lease> acks;
  for (const auto& f : finished) {
    const queue::Lease& lease = lease_of(*f.item);
    if (f.kind == Finished::Kind::kReleased) {
      queue.Retry(lease, std::chrono::milliseconds(0));
    } else if (f.kind == Finished::Kind::kSent && f.decision.status == domain::DeliveryStatus::kQueued) {
      queue.Retry(lease, Until(f.decision.retry_at, now));
    } else if (f.kind == Finished::Kind::kSent && f.decision.status == domain::DeliveryStatus::kDead) {
      queue.DeadLetter(lease, f.decision.detail);
    } else {
      acks.push_back(lease);
    }
  }
  if (!acks.empty()) queue.Ack(acks);
}

}  // namespace herald::dispatch
