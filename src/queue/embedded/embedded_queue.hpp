// The embedded queue: lanes of work items in the SQLite file of the data dir, so
// `herald` runs with no broker. Items are leased, not removed, when taken: a
// process that dies holding a lease loses nothing. It serves one process at a
// time (the data dir lock guarantees it), which is what lets ReleaseLeases hand
// back everything an earlier, dead process had taken.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>

#include "common/clock.hpp"
#include "queue/queue.hpp"
#include "store/sqlite/database.hpp"

namespace herald::queue::embedded {

class EmbeddedQueue final : public Queue {
 public:
  EmbeddedQueue(const std::string& db_path, const Clock& clock,
                std::chrono::milliseconds lease_duration = std::chrono::seconds(60));

  void EnsureLane(const std::string& lane) override;
  RemovedLane RemoveLane(const std::string& lane) override;
  void Publish(const std::string& lane, const std::vector<OutgoingItem>& items) override;
  std::vector<Lease> Take(const std::string& lane, int max_items, std::chrono::milliseconds wait) override;
  void Ack(const std::vector<Lease>& leases) override;
  void Retry(const Lease& lease, std::chrono::milliseconds delay) override;
  void DeadLetter(const Lease& lease, const std::string& reason) override;
  std::int64_t Depth(const std::string& lane) override;

  // Makes every leased item ready again. Call once at start-up.
  void ReleaseLeases();
  // Items moved to the dead-letter table for the lane.
  std::int64_t DeadCount(const std::string& lane);

 private:
  std::vector<Lease> TakeReady(const std::string& lane, int max_items);
  std::int64_t NowMs() const { return ToUnixMillis(clock_.Now()); }

  const Clock& clock_;
  const std::chrono::milliseconds lease_duration_;
  std::mutex mutex_;
  std::condition_variable published_;
  store::sqlite::Database db_;
};

}  // namespace herald::queue::embedded
