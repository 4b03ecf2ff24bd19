// Queue: named lanes of work items with lease/ack/nack, delayed retry and a
// dead-letter lane. Two backends: embedded (SQLite, in the data dir) and RabbitMQ.
// A lane is one event's certificates, one channel's messages, and so on.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace herald::queue {

struct OutgoingItem {
  std::string message_id;  // stable id of the message this item carries; publishing it twice is harmless
  std::string body;        // opaque payload (JSON)
  int priority = 0;        // higher first, where the backend supports it
};

struct Lease {
  std::string lane;
  std::string message_id;
  std::string body;
  int delivery_count = 1;  // 1 on first delivery; more when redelivered after a crash or nack
  std::uint64_t tag = 0;   // backend handle for ack/nack
};

struct RemovedLane {
  std::string lane;
  std::vector<std::string> pending_message_ids;  // work that was still queued, now cancelled
};

class Queue {
 public:
  virtual ~Queue() = default;

  // Creates the lane if missing (durable). Idempotent.
  virtual void EnsureLane(const std::string& lane) = 0;
  // Deletes the lane and returns the ids of what was still queued in it. Which lanes
  // exist is recorded by the caller's store: AMQP offers no way to list queues.
  virtual RemovedLane RemoveLane(const std::string& lane) = 0;

  // Returns once every item is durably stored by the backend.
  virtual void Publish(const std::string& lane, const std::vector<OutgoingItem>& items) = 0;

  // Up to max_items ready items, waiting at most `wait` for the first one.
  // Leased items are invisible to others until acked, nacked or the holder dies.
  virtual std::vector<Lease> Take(const std::string& lane, int max_items, std::chrono::milliseconds wait) = 0;
  // Removes the items for good; several at once cost one durable write.
  virtual void Ack(const std::vector<Lease>& leases) = 0;
  // Puts the item back to be delivered again after `delay`.
  virtual void Retry(const Lease& lease, std::chrono::milliseconds delay) = 0;
  // Moves the item to the dead-letter lane with the reason.
  virtual void DeadLetter(const Lease& lease, const std::string& reason) = 0;

  // Items queued in the lane (ready or delayed), not counting leased ones.
  virtual std::int64_t Depth(const std::string& lane) = 0;
};

}  // namespace herald::queue
