// The embedded queue: lanes of work items in the SQLite file of the data dir (the
// store's file; tables prefixed queue_), so `herald` runs with no broker. Items are
// leased, not removed, when taken: a process that dies holding a lease loses nothing.
//
// Single-process by design: one process owns the file at a time (the caller holds
// the data dir lock), which is what lets ReleaseLeases hand back at start-up
// everything an earlier, dead process had taken. Within the process it is
// thread-safe: one connection behind a mutex (SQLite has one writer anyway, and
// every Take is a write; measured no faster with a connection per thread).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/clock.hpp"
#include "queue/queue.hpp"

namespace herald::store::sqlite {
class Database;
}

namespace herald::queue::embedded {

struct DeadItem {
  std::string message_id;
  std::string body;
  std::string reason;
  std::int64_t at_ms = 0;  // unix milliseconds, by the queue's clock
};

class EmbeddedQueue final : public Queue {
 public:
  // Opens (creating if needed) the file, bringing its schema up to date
  // (store/sqlite/migrations; the queue_ tables are 0002). A lease not acked,
  // retried or dead-lettered within lease_duration is handed out again.
  EmbeddedQueue(const std::string& db_path, const Clock& clock,
                std::chrono::milliseconds lease_duration = std::chrono::seconds(60));
  ~EmbeddedQueue() override;

  void EnsureLane(const std::string& lane) override;
  RemovedLane RemoveLane(const std::string& lane) override;
  void Publish(const std::string& lane, const std::vector<OutgoingItem>& items) override;
  std::vector<Lease> Take(const std::string& lane, int max_items, std::chrono::milliseconds wait) override;
  void Ack(const std::vector<Lease>& leases) override;
  void Retry(const Lease& lease, std::chrono::milliseconds delay) override;
  void DeadLetter(const Lease& lease, const std::string& reason) override;
  std::int64_t Depth(const std::string& lane) override;

  // Makes every leased item ready again. Call once at start-up, before any Take.
  void ReleaseLeases();
  bool HasLane(const std::string& lane);
  // What was dead-lettered from the lane, oldest first.
  std::vector<DeadItem> DeadLetters(const std::string& lane);

 private:
  std::vector<Lease> TakeReady(const std::string& lane, int max_items);
  std::int64_t NowMs() const { return ToUnixMillis(clock_.Now()); }

  const Clock& clock_;
  const std::chrono::milliseconds lease_duration_;
  std::mutex mutex_;
  std::condition_variable published_;
  std::unique_ptr<store::sqlite::Database> db_;  // behind a pointer: SQLite stays out of this header
};

}  // namespace herald::queue::embedded
