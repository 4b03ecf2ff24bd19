// A Queue on Redis lists, for lanes other services fill with LPUSH: seed 002's
// `email-jobs` fast path when redis.url is set.
//
// The lane is the list itself (`email-jobs`), taken oldest first. Take moves
// items, in one script, into this consumer's list `<lane>:herald:taken:<id>`,
// giving each plain item an id of its own (`<generation>-<n>`, so a Redis that
// was emptied never repeats one), and Ack removes them from there. Nothing is
// lost between the two: a consumer that stops hands its items back, and one
// that dies stops renewing `<lane>:herald:consumer:<id>` (a 15 s lease), after
// which the next Take of any consumer moves its items to `<lane>:herald:recovered`,
// taken before new ones. Retried items wait in the sorted set `<lane>:herald:delayed`.
//
// Items Herald publishes carry their message id and delivery count in a short
// header ("\x01herald <count> <id>\n<body>"). A lane in `plain_lanes` is written
// as the bare bodies instead, for other services to read as they would write it.
//
// Durability is Redis's own: run it with `appendonly yes` for jobs that must
// survive a Redis restart.
#pragma once

#include <chrono>
#include <mutex>
#include <set>
#include <string>
#include <unordered_map>

#include "queue/queue.hpp"
#include "redis/redis_client.hpp"

namespace herald::redis {

struct RedisListQueueOptions {
  // How long a consumer's taken items stay its own without a Take renewing them.
  std::chrono::milliseconds consumer_lease{15000};
  // How often Take looks for items of consumers whose lease has run out.
  std::chrono::milliseconds recovery_interval{5000};
  // How often an empty Take asks again while it waits.
  std::chrono::milliseconds poll_interval{50};
  std::set<std::string> plain_lanes;
};

class RedisListQueue final : public queue::Queue {
 public:
  RedisListQueue(RedisClient& redis, RedisListQueueOptions options = {});
  // Hands back what this consumer took and did not acknowledge.
  ~RedisListQueue() override;

  void EnsureLane(const std::string& lane) override;
  queue::RemovedLane RemoveLane(const std::string& lane) override;
  void Publish(const std::string& lane, const std::vector<queue::OutgoingItem>& items) override;
  std::vector<queue::Lease> Take(const std::string& lane, int max_items, std::chrono::milliseconds wait) override;
  void Ack(const std::vector<queue::Lease>& leases) override;
  void Retry(const queue::Lease& lease, std::chrono::milliseconds delay) override;
  void DeadLetter(const queue::Lease& lease, const std::string& reason) override;
  std::int64_t Depth(const std::string& lane) override;

  const std::string& consumer_id() const { return consumer_; }

 private:
  std::vector<queue::Lease> TakeOnce(const std::string& lane, int max_items);
  void RecoverAbandoned(const std::string& lane);

  RedisClient& redis_;
  const RedisListQueueOptions options_;
  const std::string consumer_;
  std::mutex mutex_;
  std::set<std::string> taken_lanes_;
  std::unordered_map<std::string, std::chrono::steady_clock::time_point> next_recovery_;
};

}  // namespace herald::redis
