// PacedLane: seed 001's paced SMS messages as a lane of the delivery engine,
// oldest first, shaped by the PacingRule (N per interval, start/stop). One send
// in flight at a time, so a throttled answer ends its release before the next
// message goes. The rule's schedule is saved in the transaction of its claims.
#pragma once

#include <mutex>
#include <set>
#include <string>

#include "dispatch/held_set.hpp"
#include "dispatch/lane.hpp"
#include "dispatch/pacing_rule.hpp"
#include "store/pacing_store.hpp"

namespace herald::dispatch {

inline constexpr char kPacedLane[] = "paced";

class PacedLane final : public Lane {
 public:
  PacedLane(store::PacingStore& store, PacingRule& rule, const Clock& clock);

  const std::string& Name() const override { return name_; }
  std::vector<std::shared_ptr<WorkItem>> Take(int max) override;
  Result<channels::RenderedMessage> Render(WorkItem& item) override;
  std::vector<bool> Commit(std::span<const Finished> finished,
                           std::span<const std::shared_ptr<WorkItem>> claims) override;
  void Settle(std::span<const Finished> finished) override;
  std::optional<Clock::TimePoint> NextDue() override;
  bool HasOpenWork() override { return store_.HasOpen(); }

  // The engine options the lane needs: its rule as shaper, one in flight, and
  // retries that count attempts only (a retry waits for the next release).
  LaneOptions Options() const;

 private:
  store::PacingStore& store_;
  PacingRule& rule_;
  const Clock& clock_;
  const std::string name_ = kPacedLane;
  HeldSet held_;
};

}  // namespace herald::dispatch
