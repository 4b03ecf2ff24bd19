#include "dispatch/certificate_dispatcher.hpp"

#include <spdlog/spdlog.h>

#include <mutex>
#include <set>

#include "dispatch/delivery_engine.hpp"

namespace herald::dispatch {

using domain::DeliveryStatus;

EventCounters& EventCounters::operator+=(const EventCounters& other) {
  rendered += other.rendered;
  sent += other.sent;
  failed += other.failed;
  unknown += other.unknown;
  dead += other.dead;
  retried += other.retried;
  skipped += other.skipped;
  return *this;
}

CertificateDispatcher::CertificateDispatcher(store::CertificateStore& store, queue::Queue& queue,
                                             channels::Channel& transport, IoRuntime& runtime,
                                             const certificates::CertificateComposer& composer, const Clock& clock,
                                             DispatcherOptions options)
    : store_(store),
      queue_(queue),
      transport_(transport),
      runtime_(runtime),
      composer_(composer),
      clock_(clock),
      options_(std::move(options)) {}

LaneSync CertificateDispatcher::SyncLanes(const std::vector<ActiveEvent>& active, const std::string& job) {
  LaneSync sync;
  std::set<std::string> known;
  for (const auto& lane : store_.Lanes()) known.insert(lane.slug);
  std::set<std::string> active_slugs;
  for (const auto& event : active) {
    active_slugs.insert(event.slug);
    queue_.EnsureLane(CertificateQueueName(event.slug));
    store_.SaveLane({event.slug, event.name, CertificateQueueName(event.slug), job});
    if (!known.contains(event.slug)) sync.created.push_back(event.slug);
  }
  for (const auto& lane : store_.Lanes()) {
    if (active_slugs.contains(lane.slug)) continue;
    queue_.RemoveLane(lane.queue_name);
    const auto cancelled = store_.CancelEvent(lane.slug, "event \"" + lane.event_name + "\" was removed from events.txt");
    store_.DeleteLane(lane.slug);
    sync.removed.push_back({lane.slug, lane.event_name, cancelled});
    spdlog::info("event={} removed: lane {} deleted, {} pending deliveries cancelled", lane.event_name,
                 lane.queue_name, cancelled);
  }
  return sync;
}

std::pair<std::int64_t, std::int64_t> CertificateDispatcher::Enqueue(
    const std::vector<store::CertificateDelivery>& planned, const std::vector<ActiveEvent>& active) {
  const auto inserted = store_.InsertNew(planned);
  // Students of an event that was removed and is listed again are due again.
  std::vector<std::string> planned_ids;
  planned_ids.reserve(planned.size());
  for (const auto& row : planned) planned_ids.push_back(row.id);
  store_.ReviveCancelled(planned_ids);
  std::int64_t published = 0;
  constexpr size_t kChunk = 1000;
  for (const auto& event : active) {
    const auto lane = CertificateQueueName(event.slug);
    // Queued rows that were handed over before but are no longer in the lane
    // (a broker queue purged by hand) go again; a duplicate is skipped at claim time.
    if (queue_.Depth(lane) == 0) store_.ForgetPublished(event.slug);
    const auto ids = store_.UnpublishedIds(event.slug);
    for (size_t start = 0; start < ids.size(); start += kChunk) {
      const auto end = std::min(ids.size(), start + kChunk);
      std::vector<queue::OutgoingItem> items;
      std::vector<std::string> chunk(ids.begin() + static_cast<long>(start), ids.begin() + static_cast<long>(end));
      for (const auto& id : chunk) items.push_back({id, CertificateLeaseBody(id), 0});
      queue_.Publish(lane, items);
      store_.MarkPublished(chunk);
      published += static_cast<std::int64_t>(chunk.size());
    }
  }
  return {inserted, published};
}

DeliveryRun CertificateDispatcher::Deliver(const std::vector<ActiveEvent>& active, const std::string& run_id,
                                           const std::atomic<bool>& stop, const ProgressCallback& progress) {
  const auto started = std::chrono::steady_clock::now();
  DeliveryRun run;
  std::vector<std::unique_ptr<CertificateLane>> lanes;
  for (const auto& event : active) {
    if (store_.OpenCount(event.slug) == 0) continue;
    lanes.push_back(
        std::make_unique<CertificateLane>(store_, queue_, composer_, event, options_.out_dir, run_id, clock_));
  }
  if (!lanes.empty()) {
    DeliveryEngine engine(runtime_, clock_, {.render_threads = options_.render_threads});
    std::map<std::string, std::string> slug_of;  // lane name -> event slug
    for (auto& lane : lanes) {
      LaneOptions lane_options;
      lane_options.retry = options_.retry;
      lane_options.render_chunk = 1;  // a PDF takes milliseconds: one per render task
      lane_options.idle_poll = options_.idle_poll;
      engine.AddLane(*lane, transport_, lane_options);
      slug_of[lane->Name()] = lane->event().slug;
    }
    // Called on the engine's I/O thread only.
    engine.SetObserver([&](const std::string& lane, std::span<const Finished> finished) {
      const auto& slug = slug_of.at(lane);
      auto& counters = run.per_event[slug];
      for (const auto& f : finished) {
        if (f.kind == Finished::Kind::kSkipped) {
          ++counters.skipped;
          continue;
        }
        if (f.kind == Finished::Kind::kReleased) continue;
        switch (f.decision.status) {
          case DeliveryStatus::kSent: ++counters.sent; break;
          case DeliveryStatus::kFailed: ++counters.failed; break;
          case DeliveryStatus::kUnknown: ++counters.unknown; break;
          case DeliveryStatus::kDead: ++counters.dead; break;
          case DeliveryStatus::kQueued: ++counters.retried; break;
          case DeliveryStatus::kSending:
          case DeliveryStatus::kCancelled: break;  // Decide never chooses these
        }
        if (progress) {
          const auto& detail = f.decision.status == DeliveryStatus::kSent ? f.outcome.detail : f.decision.detail;
          progress({slug, f.decision.status, detail});
        }
      }
    });
    // A lane whose open work stays out of reach this long has lost its queue
    // items (a broker queue purged by hand); the next run publishes them again.
    const auto give_up = options_.retry.max_delay + std::chrono::seconds(30);
    const auto failure = engine.RunUntilDone(stop, give_up);
    for (const auto& lane : lanes) {
      auto& counters = run.per_event[lane->event().slug];
      counters.rendered += lane->rendered();
      counters.skipped += lane->stale();
    }
    if (failure) throw std::runtime_error(*failure);
  }
  run.interrupted = stop.load();
  run.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started);
  return run;
}

}  // namespace herald::dispatch
