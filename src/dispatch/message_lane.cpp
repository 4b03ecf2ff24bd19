#include "dispatch/message_lane.hpp"

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>

#include "dispatch/lease_settlement.hpp"

namespace herald::dispatch {
namespace {

struct MessageItem final : WorkItem {
  store::ClaimedDelivery delivery;
  std::optional<queue::Lease> lease;  // when the lane is fed by a broker
};

std::int64_t RecipientIdOf(const WorkItem& item) { return static_cast<const MessageItem&>(item).delivery.recipient.id; }

}  // namespace

std::int64_t MessageIdOf(const WorkItem& item) { return static_cast<const MessageItem&>(item).delivery.recipient.message_id; }

namespace {

std::string DomainOf(const std::string& address) {
  const auto at = address.rfind('@');
  return at == std::string::npos ? "herald.invalid" : address.substr(at + 1);
}

std::optional<std::int64_t> RecipientIdOf(const queue::Lease& lease) {
  const auto body = nlohmann::json::parse(lease.body, nullptr, false);
  if (body.is_object() && body.contains("recipient_id") && body["recipient_id"].is_number_integer()) {
    return body["recipient_id"].get<std::int64_t>();
  }
  return std::nullopt;
}

}  // namespace

std::string MessageQueueName(const std::string& lane) { return "herald.messages." + lane; }

std::string MessageItemBody(std::int64_t recipient_id) {
  return nlohmann::json{{"recipient_id", recipient_id}}.dump();
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
  auto leases = queue_->Take(queue_name_, max, std::chrono::milliseconds(0));
  std::vector<std::shared_ptr<WorkItem>> items;
  if (leases.empty()) return items;
  std::vector<std::int64_t> ids;
  ids.reserve(leases.size());
  for (const auto& lease : leases) ids.push_back(RecipientIdOf(lease).value_or(0));
  std::vector<store::ClaimedDelivery> loaded;
  try {
    loaded = store_.LoadDeliveries(ids);
  } catch (const std::exception&) {
    ReturnLeases(*queue_, leases);
    throw;
  }
  std::map<std::int64_t, store::ClaimedDelivery> rows;
  for (auto& row : loaded) rows.emplace(row.recipient.id, std::move(row));
  const auto now = clock_.Now();
  std::vector<queue::Lease> stale;
  for (std::size_t i = 0; i < leases.size(); ++i) {
    auto row = rows.find(ids[i]);
    if (row == rows.end() || row->second.recipient.status != "queued") {
      // Cancelled, final already (a copy delivered again after a crash), or not
      // a recipient of this store: nothing to send.
      stale.push_back(std::move(leases[i]));
      continue;
    }
    const auto due = FromUnixMillis(row->second.recipient.due_at_ms);
    if (due > now) {
      // A retry whose outcome was stored but whose item was not yet put back
      // when the process stopped: it waits for its time. (A broker that cannot
      // take it now hands it out again itself.)
      ReturnLeases(*queue_, {leases[i]}, Until(due, now));
      continue;
    }
    // A second copy of a recipient this lane is sending already.
    if (!held_.Hold(ids[i])) {
      stale.push_back(std::move(leases[i]));
      continue;
    }
    auto item = std::make_shared<MessageItem>();
    item->delivery_id = "r" + std::to_string(ids[i]);
    item->recipient = row->second.recipient.address;
    item->attempts = row->second.recipient.attempts;
    item->delivery = std::move(row->second);
    item->lease = std::move(leases[i]);
    items.push_back(std::move(item));
  }
  stale_ += static_cast<std::int64_t>(stale.size());
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
  // Acknowledged only now that the outcome is stored.
  if (queue_) {
    SettleLeases(*queue_, finished, clock_.Now(),
                 [](const WorkItem& item) -> const queue::Lease& { return *static_cast<const MessageItem&>(item).lease; });
  }
  for (const auto& f : finished) held_.Release(RecipientIdOf(*f.item));
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
