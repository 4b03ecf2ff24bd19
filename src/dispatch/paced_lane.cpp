#include "dispatch/paced_lane.hpp"

#include <algorithm>
#include <memory>

namespace herald::dispatch {
namespace {

struct PacedItem final : WorkItem {
  store::PacedMessage message;
};

std::int64_t IdOf(const WorkItem& item) { return static_cast<const PacedItem&>(item).message.id; }

}  // namespace

PacedLane::PacedLane(store::PacingStore& store, PacingRule& rule, const Clock& clock)
    : store_(store), rule_(rule), clock_(clock) {}

LaneOptions PacedLane::Options() const {
  LaneOptions options;
  options.retry = rule_.settings().retry;
  options.max_in_flight = 1;
  options.max_batch = 1;
  options.render_chunk = 1;
  options.render_ahead = rule_.settings().batch_size;
  options.idle_poll = std::chrono::milliseconds(1000);
  options.shaper = &rule_;
  return options;
}

std::vector<std::shared_ptr<WorkItem>> PacedLane::Take(int max) {
  auto due = store_.TakeDue(max, ToUnixMillis(clock_.Now()), held_.Snapshot());
  std::vector<std::shared_ptr<WorkItem>> items;
  for (auto& message : due) {
    if (!held_.Hold(message.id)) continue;
    auto item = std::make_shared<PacedItem>();
    item->delivery_id = "p" + std::to_string(message.id);
    item->recipient = message.to;
    item->attempts = message.attempts;
    item->message = std::move(message);
    items.push_back(std::move(item));
  }
  return items;
}

Result<channels::RenderedMessage> PacedLane::Render(WorkItem& work) {
  const auto& message = static_cast<PacedItem&>(work).message;
  channels::RenderedMessage rendered;
  rendered.delivery_id = work.delivery_id;
  rendered.channel = "sms";
  rendered.to = message.to;
  rendered.text = message.content;
  return rendered;
}

std::vector<bool> PacedLane::Commit(std::span<const Finished> finished,
                                    std::span<const std::shared_ptr<WorkItem>> claims) {
  std::vector<store::PacedOutcome> outcomes;
  for (const auto& f : finished) {
    if (f.kind != Finished::Kind::kSent && f.kind != Finished::Kind::kRenderFailed) continue;
    store::PacedOutcome outcome;
    outcome.id = IdOf(*f.item);
    outcome.status = domain::ToString(f.decision.status);
    outcome.provider_message_id = f.outcome.provider_message_id;
    outcome.detail = f.decision.detail;
    // A retry is not taken again in this release; a later one takes it first
    // (oldest id), once its backoff has passed.
    if (f.decision.status == domain::DeliveryStatus::kQueued) {
      outcome.retry_at_ms = ToUnixMillis(std::max(rule_.NextRelease(), f.decision.retry_at));
    }
    outcome.claimed = f.kind == Finished::Kind::kSent;
    outcomes.push_back(std::move(outcome));
  }
  std::vector<std::int64_t> ids;
  for (const auto& item : claims) ids.push_back(IdOf(*item));
  // The engine has already taken the claims' share of the release from the rule.
  std::optional<store::PacerState> state;
  if (!ids.empty()) state = rule_.State();
  return store_.RecordAndClaimMany(outcomes, ids, state, ToUnixMillis(clock_.Now()));
}

void PacedLane::Settle(std::span<const Finished> finished) {
  for (const auto& f : finished) held_.Release(IdOf(*f.item));
}

std::optional<Clock::TimePoint> PacedLane::NextDue() {
  const auto due = store_.NextDueAt();
  if (!due) return std::nullopt;
  return FromUnixMillis(*due);
}

}  // namespace herald::dispatch
