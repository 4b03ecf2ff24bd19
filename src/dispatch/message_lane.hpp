// MessageLane: the API's and the campaigns' messages of one channel (sms,
// whatsapp, email, telegram: seed 004's routing), or the paced sender's SMS
// messages (seed 001), as a lane of the delivery engine. The store's recipients
// table is the queue: due rows are read, claimed in batches, and their outcomes
// recorded with the next claims. E-mail is rendered to MIME (text, HTML
// alternative) here; other channels send the text.
//
// By default the store's recipients table is the lane's queue (the embedded,
// store-backed queue): due rows are read from its due index. Given a broker
// queue instead (RabbitMQ), the lane takes the recipients a MessageRelay
// published there, reads their rows, claims and records them in the store as
// above, and acknowledges each item only once its outcome is stored.
//
// The paced lane is the same lane with a PacingRule: oldest message first, a
// retry waits for a later release, and the rule's schedule is saved in the
// transaction of the claims that used it up.
#pragma once

#include <atomic>
#include <mutex>
#include <set>
#include <string>

#include "common/clock.hpp"
#include "dispatch/held_set.hpp"
#include "dispatch/lane.hpp"
#include "dispatch/pacing_rule.hpp"
#include "mime/email_message.hpp"
#include "queue/queue.hpp"
#include "store/message_delivery_store.hpp"

namespace herald::dispatch {

// The message an item of a MessageLane delivers (the paced lane's message id).
std::int64_t MessageIdOf(const WorkItem& item);

class MessageLane final : public Lane {
 public:
  // `lane` is a channel's name; `from` is the sender of e-mail (ignored for
  // other channels).
  MessageLane(store::MessageDeliveryStore& store, std::string lane, mime::Mailbox from, const Clock& clock);
  // The same lane fed by `queue` (which outlives it) from MessageQueueName(lane).
  MessageLane(store::MessageDeliveryStore& store, queue::Queue& queue, std::string lane, mime::Mailbox from,
              const Clock& clock);
  // The paced lane (store::kPacedLane), shaped by `pacing`, which outlives it.
  MessageLane(store::MessageDeliveryStore& store, PacingRule& pacing, const Clock& clock);

  const std::string& Name() const override { return lane_; }
  std::vector<std::shared_ptr<WorkItem>> Take(int max) override;
  Result<channels::RenderedMessage> Render(WorkItem& item) override;
  std::vector<bool> Commit(std::span<const Finished> finished,
                           std::span<const std::shared_ptr<WorkItem>> claims) override;
  void Settle(std::span<const Finished> finished) override;
  std::optional<Clock::TimePoint> NextDue() override;
  bool HasOpenWork() override;

  // Recipients of broker items that were no longer queued (cancelled, final, a
  // copy published twice) or unknown, and items carrying none: skipped unsent.
  std::int64_t stale() const { return stale_; }

 private:
  std::vector<std::shared_ptr<WorkItem>> TakeFromStore(int max);
  std::vector<std::shared_ptr<WorkItem>> TakeFromQueue(int max);
  void SettleItems(std::span<const Finished> finished);

  store::MessageDeliveryStore& store_;
  const std::string lane_;
  PacingRule* const pacing_ = nullptr;
  queue::Queue* const queue_ = nullptr;
  const std::string queue_name_;
  std::atomic<std::int64_t> stale_{0};
  const mime::Mailbox from_;
  const std::string message_id_domain_;
  const Clock& clock_;
  HeldSet held_;
};

// The broker queue of a message lane: "herald.messages.<lane>".
std::string MessageQueueName(const std::string& lane);
// Recipients one broker item carries at most: the relay publishes a lane's due
// recipients this many to an item, so the broker moves one item, not each
// recipient (its costs are per item).
inline constexpr int kRecipientsPerItem = 50;
// The broker item that carries one recipient, {"recipient_id": N}, or several,
// {"recipient_ids": [N, ...]}; with "priority" unless it is 0.
std::string MessageItemBody(std::int64_t recipient_id, int priority = 0);
std::string MessageItemBody(const std::vector<std::int64_t>& recipient_ids, int priority = 0);

// The engine options of the paced lane: its rule as shaper, one send in flight
// (so a throttled answer ends its release before the next message goes), and
// retries that count attempts only (a retry waits for the next release).
LaneOptions PacedLaneOptions(PacingRule& pacing);

}  // namespace herald::dispatch
