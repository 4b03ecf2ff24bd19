#include "dispatch/certificate_dispatcher.hpp"

#include <spdlog/spdlog.h>

#include <filesystem>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <thread>
#include <tuple>

#include "domain/delivery_state.hpp"

namespace herald::dispatch {
namespace {

using domain::DeliveryStatus;

std::string LeaseBody(const std::string& delivery_id) {
  return nlohmann::json{{"delivery_id", delivery_id}}.dump();
}

std::string DeliveryIdOf(const queue::Lease& lease) {
  const auto body = nlohmann::json::parse(lease.body, nullptr, false);
  if (body.is_object() && body.contains("delivery_id") && body["delivery_id"].is_string()) {
    return body["delivery_id"].get<std::string>();
  }
  return lease.message_id;
}

// Written under a temporary name and renamed, so a crash never leaves half a PDF
// under the final name.
void WriteFileAtomically(const std::filesystem::path& path, const std::string& bytes) {
  std::filesystem::create_directories(path.parent_path());
  auto temporary = path;
  temporary += ".part";
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!out) throw std::runtime_error("cannot write " + temporary.string());
  }
  std::filesystem::rename(temporary, path);
}

}  // namespace

std::string CertificateQueueName(const std::string& event_slug) { return "herald.certificates." + event_slug; }

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

// One worker serves one or more lanes in turn; each batch goes take → render →
// save → claim → send → record → acknowledge.
class CertificateDispatcher::Worker {
 public:
  Worker(CertificateDispatcher& owner, std::vector<ActiveEvent> lanes, const std::string& run_id,
         const std::atomic<bool>& stop, const std::atomic<bool>& abort, const ProgressCallback& progress)
      : owner_(owner), lanes_(std::move(lanes)), run_id_(run_id), stop_(stop), abort_(abort), progress_(progress),
        random_(std::random_device{}()) {}

  void Run() {
    std::vector<bool> finished(lanes_.size(), false);
    std::vector<Clock::TimePoint> last_activity(lanes_.size(), owner_.clock_.Now());
    const auto wait = std::max(std::chrono::milliseconds(20),
                               owner_.options_.take_wait / static_cast<int>(std::max<size_t>(1, lanes_.size())));
    // A lane with open rows but nothing to take for this long has lost its items
    // (e.g. a broker queue purged by hand); leave it for the next run, which republishes.
    const auto idle_limit = owner_.options_.retry.max_delay + std::chrono::seconds(30);
    size_t remaining = lanes_.size();
    auto stopping = [this] { return stop_.load() || abort_.load(); };
    while (remaining > 0 && !stopping()) {
      for (size_t i = 0; i < lanes_.size() && !stopping(); ++i) {
        if (finished[i]) continue;
        const auto& lane = lanes_[i];
        auto leases = owner_.queue_.Take(CertificateQueueName(lane.slug), owner_.options_.batch_size, wait);
        if (!leases.empty()) {
          ProcessBatch(lane, leases);
          last_activity[i] = owner_.clock_.Now();
          continue;
        }
        if (owner_.store_.OpenCount(lane.slug) == 0) {
          finished[i] = true;
          --remaining;
        } else if (owner_.clock_.Now() - last_activity[i] > idle_limit) {
          spdlog::warn("event={} lane={} has open deliveries but nothing arrived for {} s; leaving them queued",
                       lane.name, CertificateQueueName(lane.slug),
                       std::chrono::duration_cast<std::chrono::seconds>(idle_limit).count());
          finished[i] = true;
          --remaining;
        }
      }
    }
  }

  const std::map<std::string, EventCounters>& counters() const { return counters_; }

 private:
  struct Pending {
    queue::Lease lease;
    store::CertificateDelivery row;
    certificates::ComposedCertificate composed;
    std::string pdf_path;
  };

  void Report(const std::string& slug, DeliveryStatus status, const std::string& detail = {}) {
    if (progress_) progress_({slug, status, detail});
  }

  void ProcessBatch(const ActiveEvent& lane, std::vector<queue::Lease>& leases) {
    auto& counters = counters_[lane.slug];
    std::vector<std::string> ids;
    ids.reserve(leases.size());
    for (const auto& lease : leases) ids.push_back(DeliveryIdOf(lease));
    std::map<std::string, store::CertificateDelivery> rows;
    for (auto& row : owner_.store_.GetMany(ids)) rows.emplace(row.id, std::move(row));

    std::vector<Pending> pending;
    std::vector<store::DeliveryUpdate> render_failures;
    std::vector<const queue::Lease*> to_ack;
    std::set<std::string> in_this_batch;
    for (size_t i = 0; i < leases.size(); ++i) {
      auto it = rows.find(ids[i]);
      if (it == rows.end() || it->second.status != DeliveryStatus::kQueued || !in_this_batch.insert(ids[i]).second) {
        // Already final (a copy delivered again after a crash), a second copy in this
        // batch, or unknown to the store.
        ++counters.skipped;
        to_ack.push_back(&leases[i]);
        continue;
      }
      auto composed = owner_.composer_.Compose(it->second);
      if (!composed) {
        render_failures.push_back({.id = ids[i], .status = DeliveryStatus::kFailed,
                                   .detail = "render: " + composed.error().message});
        to_ack.push_back(&leases[i]);
        continue;
      }
      const auto path = std::filesystem::path(owner_.options_.out_dir) / lane.slug / composed->pdf_file_name;
      WriteFileAtomically(path, composed->pdf);
      ++counters.rendered;
      pending.push_back({leases[i], it->second, std::move(composed).value(), path.string()});
    }

    if (!render_failures.empty()) {
      owner_.store_.Record(render_failures);
      counters.failed += static_cast<std::int64_t>(render_failures.size());
      for (const auto& f : render_failures) Report(lane.slug, DeliveryStatus::kFailed, f.detail);
    }

    // Each delivery is durably "sending" before anything of it reaches the mail
    // server, and only one per worker at a time: if the process dies, the next run
    // reports just that one as unknown instead of resending it. The previous
    // outcome is recorded in the same transaction as the next claim.
    enum class Action { kAck, kRetry, kDeadLetter };
    std::vector<std::tuple<const queue::Lease*, Action, std::chrono::milliseconds, std::string>> actions;
    std::vector<store::DeliveryUpdate> recorded;
    std::vector<store::DeliveryUpdate> unrecorded;
    for (auto& p : pending) {
      const bool claimed = owner_.store_.RecordAndClaim(unrecorded, p.row.id, run_id_);
      recorded.insert(recorded.end(), unrecorded.begin(), unrecorded.end());
      unrecorded.clear();
      if (!claimed) {
        ++counters.skipped;
        to_ack.push_back(&p.lease);
        continue;
      }
      const auto outcome = channels::SendAndWait(owner_.executor_, owner_.transport_, p.composed.email);
      store::DeliveryUpdate update{.id = p.row.id, .status = DeliveryStatus::kSent, .detail = outcome.detail,
                                   .provider_id = outcome.provider_message_id,
                                   .message_id = p.composed.email.message_id, .pdf_path = p.pdf_path};
      const int attempts_made = p.row.attempts + 1;
      const auto now = owner_.clock_.Now();
      auto decision = domain::Decide(owner_.options_.retry, attempts_made, outcome, now, unit_(random_));
      update.status = decision.status;
      if (decision.status != DeliveryStatus::kSent) update.detail = decision.detail;
      switch (decision.status) {
        case DeliveryStatus::kSent: ++counters.sent; break;
        case DeliveryStatus::kFailed: ++counters.failed; break;
        case DeliveryStatus::kUnknown: ++counters.unknown; break;
        case DeliveryStatus::kDead: ++counters.dead; break;
        case DeliveryStatus::kQueued: ++counters.retried; break;
        case DeliveryStatus::kSending:
        case DeliveryStatus::kCancelled: break;  // Decide never chooses these
      }
      if (decision.status == DeliveryStatus::kQueued) {
        actions.emplace_back(&p.lease, Action::kRetry,
                             std::chrono::duration_cast<std::chrono::milliseconds>(decision.retry_at - now), "");
      } else if (decision.status == DeliveryStatus::kDead) {
        actions.emplace_back(&p.lease, Action::kDeadLetter, std::chrono::milliseconds(0), decision.detail);
      } else {
        actions.emplace_back(&p.lease, Action::kAck, std::chrono::milliseconds(0), "");
      }
      unrecorded.push_back(std::move(update));
    }
    if (!unrecorded.empty()) owner_.store_.Record(unrecorded);
    recorded.insert(recorded.end(), unrecorded.begin(), unrecorded.end());

    // Acknowledge only after the outcome is stored.
    std::vector<queue::Lease> acks;
    for (const auto* lease : to_ack) acks.push_back(*lease);
    for (const auto& [lease, action, delay, reason] : actions) {
      switch (action) {
        case Action::kAck: acks.push_back(*lease); break;
        case Action::kRetry: owner_.queue_.Retry(*lease, delay); break;
        case Action::kDeadLetter: owner_.queue_.DeadLetter(*lease, reason); break;
      }
    }
    owner_.queue_.Ack(acks);
    for (const auto& u : recorded) Report(lane.slug, u.status, u.detail);
  }

  CertificateDispatcher& owner_;
  std::vector<ActiveEvent> lanes_;
  const std::string& run_id_;
  const std::atomic<bool>& stop_;
  const std::atomic<bool>& abort_;  // another worker failed
  const ProgressCallback& progress_;
  std::mt19937_64 random_;
  std::uniform_real_distribution<double> unit_{0.0, 1.0};
  std::map<std::string, EventCounters> counters_;
};

CertificateDispatcher::CertificateDispatcher(store::CertificateStore& store, queue::Queue& queue,
                                             channels::Channel& transport, boost::asio::any_io_executor executor,
                                             const certificates::CertificateComposer& composer, const Clock& clock,
                                             DispatcherOptions options)
    : store_(store), queue_(queue), transport_(transport), executor_(std::move(executor)), composer_(composer),
      clock_(clock),
      options_(std::move(options)) {}

LaneSync CertificateDispatcher::SyncLanes(const std::vector<ActiveEvent>& active) {
  LaneSync sync;
  std::set<std::string> known;
  for (const auto& lane : store_.Lanes()) known.insert(lane.slug);
  std::set<std::string> active_slugs;
  for (const auto& event : active) {
    active_slugs.insert(event.slug);
    queue_.EnsureLane(CertificateQueueName(event.slug));
    store_.SaveLane({event.slug, event.name, CertificateQueueName(event.slug)});
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
      for (const auto& id : chunk) items.push_back({id, LeaseBody(id), 0});
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
  std::vector<ActiveEvent> with_work;
  for (const auto& event : active) {
    if (store_.OpenCount(event.slug) > 0) with_work.push_back(event);
  }
  DeliveryRun run;
  if (!with_work.empty()) {
    const size_t worker_count =
        options_.concurrency > 0 ? static_cast<size_t>(options_.concurrency) : with_work.size();
    std::vector<std::vector<ActiveEvent>> assignment(worker_count);
    for (size_t w = 0; w < std::max(worker_count, with_work.size()); ++w) {
      assignment[w % worker_count].push_back(with_work[w % with_work.size()]);
    }
    // A worker that hits a broken broker or store stops all of them; the error
    // is raised once every thread has finished its in-flight work.
    std::atomic<bool> failed{false};
    std::vector<std::unique_ptr<Worker>> workers;
    for (auto& lanes : assignment) {
      workers.push_back(std::make_unique<Worker>(*this, lanes, run_id, stop, failed, progress));
    }
    std::mutex error_mutex;
    std::string first_error;
    std::vector<std::thread> threads;
    for (auto& worker : workers) {
      threads.emplace_back([&] {
        try {
          worker->Run();
        } catch (const std::exception& e) {
          std::lock_guard lock(error_mutex);
          if (!failed.exchange(true)) first_error = e.what();
        }
      });
    }
    for (auto& thread : threads) thread.join();
    if (failed) throw std::runtime_error(first_error);
    for (const auto& worker : workers) {
      for (const auto& [slug, counters] : worker->counters()) run.per_event[slug] += counters;
    }
  }
  run.interrupted = stop.load();
  run.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started);
  return run;
}

}  // namespace herald::dispatch
