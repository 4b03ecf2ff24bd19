// HeldIds (HeldSet for recipient ids): the ids a lane has handed to the engine and not yet had
// settled. Those rows are still queued in the store, so the lane's next Take
// reads past them instead of taking them twice. Thread-safe: Take and Settle
// run on different pool threads.
#pragma once

#include <cstdint>
#include <mutex>
#include <set>

namespace herald::dispatch {

template <typename Id>
class HeldIds {
 public:
  std::set<Id> Snapshot() const {
    std::lock_guard lock(mutex_);
    return held_;
  }
  // False when the id is held already (settled and taken again meanwhile).
  bool Hold(const Id& id) {
    std::lock_guard lock(mutex_);
    return held_.insert(id).second;
  }
  void Release(const Id& id) {
    std::lock_guard lock(mutex_);
    held_.erase(id);
  }

 private:
  mutable std::mutex mutex_;
  std::set<Id> held_;
};

using HeldSet = HeldIds<std::int64_t>;

}  // namespace herald::dispatch
