#include "dispatch/message_lane.hpp"

#include <algorithm>
#include <iterator>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>

#include <spdlog/spdlog.h>

#include "dispatch/lease_settlement.hpp"

namespace herald::dispatch {
namespace {

// A broker item and what became of the recipients the lane took from it. An
// item carrying one recipient is itself retried, dead-lettered or acknowledged
// with it. An item carrying several is acknowledged once the last of them is
// settled, after those that still need the broker (a retry, a dead letter, one
// never attempted) were published again as items of their own: a crash before
// the acknowledgement hands the whole item out again, and the claim skips every
// recipient already done.
struct HeldItem {
  explicit HeldItem(queue::Lease taken, int carried, int item_priority)
      : lease(std::move(taken)), recipients(carried), priority(item_priority) {}
  const queue::Lease lease;
  const int recipients;  // carried by the item
  const int priority;
  std::mutex mutex;
  int open = 0;                                  // taken from it and not yet settled; under mutex
  std::vector<queue::OutgoingItem> own_items;    // under mutex
};

struct MessageItem final : WorkItem {
  store::ClaimedDelivery delivery;
  std::shared_ptr<HeldItem> held;  // when the lane is fed by a broker
};

std::int64_t RecipientIdOf(const WorkItem& item) { return static_cast<const MessageItem&>(item).delivery.recipient.id; }

}  // namespace

std::int64_t MessageIdOf(const WorkItem& item) { return static_cast<const MessageItem&>(item).delivery.recipient.message_id; }

namespace {

std::string DomainOf(const std::string& address) {
  const auto at = address.rfind('@');
  return at == std::string::npos ? "herald.invalid" : address.substr(at + 1);
}

// What a broker item of a message lane carries: one recipient, several, or a
// recipient to be dead-lettered (its dead outcome is stored already).
struct ItemContent {
  std::vector<std::int64_t> recipient_ids;  // empty: not an item of this lane
  int priority = 0;
  std::optional<std::string> dead_letter;   // the reason
};

ItemContent ContentOf(const queue::Lease& lease) {
  ItemContent content;
  const auto body = nlohmann::json::parse(lease.body, nullptr, false);
  if (!body.is_object()) return content;
  if (const auto one = body.find("recipient_id"); one != body.end() && one->is_number_integer()) {
    content.recipient_ids.push_back(one->get<std::int64_t>());
  } else if (const auto many = body.find("recipient_ids"); many != body.end() && many->is_array()) {
    for (const auto& id : *many) {
      if (id.is_number_integer()) content.recipient_ids.push_back(id.get<std::int64_t>());
    }
  }
  if (const auto priority = body.find("priority"); priority != body.end() && priority->is_number_integer()) {
    content.priority = priority->get<int>();
  }
  if (const auto reason = body.find("dead_letter"); reason != body.end() && reason->is_string()) {
    content.dead_letter = reason->get<std::string>();
  }
  return content;
}

queue::OutgoingItem OwnItem(std::int64_t recipient_id, int priority) {
  return {"r" + std::to_string(recipient_id), MessageItemBody(recipient_id, priority), priority};
}

// A recipient of a shared item whose dead outcome is stored: the lane that
// takes this marker moves it to the dead-letter queue with the reason, as its
// own item, so the shared one can be acknowledged.
queue::OutgoingItem DeadLetterItem(std::int64_t recipient_id, const std::string& reason, int priority) {
  nlohmann::json body{{"recipient_id", recipient_id}, {"dead_letter", reason}};
  return {"r" + std::to_string(recipient_id) + "-dead", body.dump(), priority};
}

}  // namespace

std::string MessageQueueName(const std::string& lane) { return "herald.messages." + lane; }

std::string MessageItemBody(std::int64_t recipient_id, int priority) {
  nlohmann::json body{{"recipient_id", recipient_id}};
  if (priority != 0) body["priority"] = priority;
  return body.dump();
}

std::string MessageItemBody(const std::vector<std::int64_t>& recipient_ids, int priority) {
  if (recipient_ids.size() == 1) return MessageItemBody(recipient_ids.front(), priority);
  nlohmann::json body{{"recipient_ids", recipient_ids}};
  if (priority != 0) body["priority"] = priority;
  return body.dump();
}

MessageLane::MessageLane(store::MessageDeliveryStore& store, std::string lane, mime::Mailbox from,
                         const Clock& clock)
    : store_(store),
      lane_(std::move(lane)),
      from_(std::move(from)),
      message_id_domain_(DomainOf(from_.address)),
      clock_(clock) {}

MessageLane::MessageLane(store::MessageDeliveryStore& store, queue::Queue& queue, std::string lane,
                         mime::Mailbox from, const Clock& clock)
    : store_(store),
      lane_(std::move(lane)),
      queue_(&queue),
      queue_name_(MessageQueueName(lane_)),
      from_(std::move(from)),
      message_id_domain_(DomainOf(from_.address)),
      clock_(clock) {}

MessageLane::MessageLane(store::MessageDeliveryStore& store, PacingRule& pacing, const Clock& clock)
    : store_(store), lane_(store::kPacedLane), pacing_(&pacing), message_id_domain_(DomainOf("")), clock_(clock) {}

LaneOptions PacedLaneOptions(PacingRule& pacing) {
  LaneOptions options;
  options.retry = pacing.settings().retry;
  options.max_in_flight = 1;
  options.max_batch = 1;
  options.render_chunk = 1;
  options.render_ahead = pacing.settings().batch_size;
  options.idle_poll = std::chrono::milliseconds(1000);
  options.shaper = &pacing;
  return options;
}

std::vector<std::shared_ptr<WorkItem>> MessageLane::Take(int max) {
  return queue_ ? TakeFromQueue(max) : TakeFromStore(max);
}

std::vector<std::shared_ptr<WorkItem>> MessageLane::TakeFromStore(int max) {
  const auto order = pacing_ ? store::TakeOrder::kArrival : store::TakeOrder::kPriorityThenDue;
  auto due = store_.TakeDue(lane_, order, max, ToUnixMillis(clock_.Now()), held_.Snapshot());
  std::vector<std::shared_ptr<WorkItem>> items;
  items.reserve(due.size());
  for (auto& delivery : due) {
    // A row settled and taken again between the snapshot and now is skipped.
    if (!held_.Hold(delivery.recipient.id)) continue;
    auto item = std::make_shared<MessageItem>();
    item->delivery_id = "r" + std::to_string(delivery.recipient.id);
    item->recipient = delivery.recipient.address;
    item->attempts = delivery.recipient.attempts;
    item->delivery = std::move(delivery);
    items.push_back(std::move(item));
  }
  return items;
}

std::vector<std::shared_ptr<WorkItem>> MessageLane::TakeFromQueue(int max) {
  // Items carry up to kRecipientsPerItem recipients each: ask for as many
  // items as fill `max`, and again while they carried fewer.
  std::vector<queue::Lease> leases;
  std::vector<ItemContent> contents;
  std::size_t carried = 0;
  std::size_t per_item = kRecipientsPerItem;  // as the items taken so far carried
  while (carried < static_cast<std::size_t>(max)) {
    const auto ask = std::max<std::size_t>(1, (static_cast<std::size_t>(max) - carried) / per_item);
    auto taken = queue_->Take(queue_name_, static_cast<int>(ask), std::chrono::milliseconds(0));
    if (taken.empty()) break;
    std::size_t carried_now = 0;
    for (auto& lease : taken) {
      contents.push_back(ContentOf(lease));
      carried_now += std::max<std::size_t>(1, contents.back().recipient_ids.size());
      leases.push_back(std::move(lease));
    }
    carried += carried_now;
    per_item = std::max<std::size_t>(1, carried_now / taken.size());
  }
  std::vector<std::shared_ptr<WorkItem>> items;
  if (leases.empty()) return items;
  std::vector<std::int64_t> ids;
  ids.reserve(carried);
  for (const auto& content : contents) {
    if (!content.dead_letter) ids.insert(ids.end(), content.recipient_ids.begin(), content.recipient_ids.end());
  }
  std::vector<store::ClaimedDelivery> loaded;
  try {
    if (!ids.empty()) loaded = store_.LoadDeliveries(ids);
  } catch (const std::exception&) {
    ReturnLeases(*queue_, leases);
    throw;
  }
  std::map<std::int64_t, store::ClaimedDelivery> rows;
  for (auto& row : loaded) rows.emplace(row.recipient.id, std::move(row));
  const auto now = clock_.Now();
  std::vector<queue::Lease> stale;
  std::int64_t skipped = 0;
  for (std::size_t i = 0; i < leases.size(); ++i) {
    const auto& content = contents[i];
    if (content.recipient_ids.empty()) ++skipped;  // not an item of this lane
    if (content.dead_letter) {
      // The recipient's dead outcome is stored; its copy goes where dead letters are kept.
      try {
        queue_->DeadLetter(leases[i], *content.dead_letter);
      } catch (const std::exception& e) {
        spdlog::warn("queue: cannot dead-letter recipient {}: {}; the broker hands it out again",
                     content.recipient_ids.empty() ? 0 : content.recipient_ids.front(), e.what());
      }
      continue;
    }
    const bool alone = content.recipient_ids.size() <= 1;
    auto held = std::make_shared<HeldItem>(leases[i], static_cast<int>(content.recipient_ids.size()), content.priority);
    std::vector<std::shared_ptr<MessageItem>> taken;
    for (const auto id : content.recipient_ids) {
      auto row = rows.find(id);
      if (row == rows.end() || row->second.recipient.status != "queued") {
        ++skipped;  // cancelled, final already (a copy delivered again after a crash), or not of this store
        continue;
      }
      const auto due = FromUnixMillis(row->second.recipient.due_at_ms);
      if (due > now) {
        // A retry whose outcome was stored but whose item was not yet put back
        // when the process stopped: it waits for its time. (A broker that cannot
        // take it now hands it out again itself.)
        if (alone) {
          ReturnLeases(*queue_, {leases[i]}, Until(due, now));
          held.reset();
        } else {
          held->own_items.push_back(OwnItem(id, content.priority));  // put back alone, then parked until due
        }
        continue;
      }
      if (!held_.Hold(id)) {
        ++skipped;  // a second copy of a recipient this lane is sending already
        continue;
      }
      auto item = std::make_shared<MessageItem>();
      item->delivery_id = "r" + std::to_string(id);
      item->recipient = row->second.recipient.address;
      item->attempts = row->second.recipient.attempts;
      item->delivery = std::move(row->second);
      taken.push_back(std::move(item));
    }
    if (!held) continue;  // handed back to wait for its time
    if (taken.empty()) {
      // Nothing of it to send: acknowledged now, after what must come back alone.
      if (!held->own_items.empty()) {
        try {
          queue_->Publish(queue_name_, held->own_items);
        } catch (const std::exception&) {
          ReturnLeases(*queue_, {leases[i]});
          continue;
        }
      }
      stale.push_back(std::move(leases[i]));
      continue;
    }
    held->open = static_cast<int>(taken.size());
    for (auto& item : taken) {
      item->held = held;
      items.push_back(std::move(item));
    }
  }
  stale_ += skipped;
  AckStale(*queue_, stale);
  return items;
}

Result<channels::RenderedMessage> MessageLane::Render(WorkItem& work) {
  const auto& delivery = static_cast<MessageItem&>(work).delivery;
  channels::RenderedMessage message;
  message.delivery_id = work.delivery_id;
  message.channel = delivery.recipient.channel;
  message.to = delivery.recipient.address;
  message.subject = delivery.subject;
  if (delivery.recipient.channel != "email") {
    message.text = delivery.content;
    return message;
  }
  mime::EmailContent content;
  content.from = from_;
  content.to = {{"", delivery.recipient.address}};
  content.subject = delivery.subject;
  content.text_body = delivery.content;
  content.html_body = delivery.html;
  content.date = clock_.Now();
  // The same recipient always carries the same Message-ID, so a receiver can
  // spot a copy sent again after an unknown outcome.
  content.message_id = mime::MakeMessageId("herald-" + work.delivery_id, message_id_domain_);
  auto built = mime::BuildMessage(content);
  if (!built) return Unexpected<Error>(built.error());
  message.envelope_from = from_.address;
  message.message_id = content.message_id;
  message.mime = std::move(built).value();
  message.parts = std::make_shared<const mime::EmailContent>(std::move(content));
  return message;
}

std::vector<bool> MessageLane::Commit(std::span<const Finished> finished,
                                      std::span<const std::shared_ptr<WorkItem>> claims) {
  std::vector<store::DeliveryResult> results;
  results.reserve(finished.size());
  for (const auto& f : finished) {
    if (f.kind != Finished::Kind::kSent && f.kind != Finished::Kind::kRenderFailed) continue;
    store::DeliveryResult result;
    result.recipient_id = RecipientIdOf(*f.item);
    result.status = domain::ToString(f.decision.status);
    result.provider_message_id = f.outcome.provider_message_id;
    result.detail = f.decision.detail;
    if (f.decision.status == domain::DeliveryStatus::kQueued) {
      // A paced retry is not taken again in this release; a later one takes it
      // first (oldest message), once its backoff has passed.
      result.retry_at_ms =
          ToUnixMillis(pacing_ ? std::max(pacing_->NextRelease(), f.decision.retry_at) : f.decision.retry_at);
    }
    result.claimed = f.kind == Finished::Kind::kSent;
    results.push_back(std::move(result));
  }
  std::vector<std::int64_t> ids;
  ids.reserve(claims.size());
  for (const auto& item : claims) ids.push_back(RecipientIdOf(*item));
  // The engine has already taken the claims' share of the release from the rule.
  std::optional<store::LaneSchedule> schedule;
  if (pacing_ && !ids.empty()) schedule = pacing_->State();
  auto claimed = store_.RecordAndClaimMany(results, ids, ToUnixMillis(clock_.Now()), schedule);
  if (schedule) {
    if (std::find(claimed.begin(), claimed.end(), true) != claimed.end()) {
      pacing_->Saved();
    } else {
      pacing_->AdoptSaved();
    }
  }
  return claimed;
}

void MessageLane::Settle(std::span<const Finished> finished) {
  // Acknowledged only now that the outcome is stored. Released whatever the
  // broker answers: a copy it delivers again is then taken like any other and
  // the claim decides, where a recipient still held would see it skipped as a
  // second copy and dropped.
  const auto release = [this, finished] {
    for (const auto& f : finished) held_.Release(RecipientIdOf(*f.item));
  };
  try {
    if (queue_) SettleItems(finished);
  } catch (...) {
    release();
    throw;
  }
  release();
}

void MessageLane::SettleItems(std::span<const Finished> finished) {
  // An item that carried one recipient settles as any lease does; the
  // recipients of a shared item settle into it, and it is acknowledged with
  // the last of them. The single ones first: a broker failing while a shared
  // item publishes its recipients' own items leaves them settled.
  const auto alone = [](const Finished& f) { return static_cast<const MessageItem&>(*f.item).held->recipients <= 1; };
  std::vector<Finished> singles;
  std::copy_if(finished.begin(), finished.end(), std::back_inserter(singles), alone);
  SettleLeases(*queue_, singles, clock_.Now(),
               [](const WorkItem& item) -> const queue::Lease& { return static_cast<const MessageItem&>(item).held->lease; });
  std::vector<queue::Lease> acks;
  for (const auto& f : finished) {
    if (alone(f)) continue;
    const auto& item = static_cast<const MessageItem&>(*f.item);
    auto& held = *item.held;
    const bool released = f.kind == Finished::Kind::kReleased;
    const bool retry = f.kind == Finished::Kind::kSent && f.decision.status == domain::DeliveryStatus::kQueued;
    const bool dead = f.kind == Finished::Kind::kSent && f.decision.status == domain::DeliveryStatus::kDead;
    std::vector<queue::OutgoingItem> own_items;
    {
      std::lock_guard lock(held.mutex);
      const auto id = item.delivery.recipient.id;
      // A retry comes back at once and is parked until its time by the lane that takes it.
      if (released || retry) held.own_items.push_back(OwnItem(id, held.priority));
      if (dead) held.own_items.push_back(DeadLetterItem(id, f.decision.detail, held.priority));
      if (--held.open > 0) continue;
      own_items = std::move(held.own_items);
    }
    if (!own_items.empty()) queue_->Publish(queue_name_, own_items);
    acks.push_back(held.lease);
  }
  if (!acks.empty()) queue_->Ack(acks);
}

std::optional<Clock::TimePoint> MessageLane::NextDue() {
  // A broker says nothing of when its next item comes: the engine polls, and the
  // relay wakes the lane when it published.
  if (queue_) return std::nullopt;
  const auto due = store_.NextDueAt(lane_);
  if (!due) return std::nullopt;
  return FromUnixMillis(*due);
}

bool MessageLane::HasOpenWork() { return store_.HasOpen(lane_); }

}  // namespace herald::dispatch
