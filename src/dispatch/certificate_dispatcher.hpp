// Moves the certificate job through its stages after planning: keeps one queue
// lane per listed event (removing lanes of scrapped events), hands planned rows to
// their lanes, and delivers them on the delivery engine, one CertificateLane per
// event with work.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "certificates/certificate_composer.hpp"
#include "channels/channel.hpp"
#include "common/io_runtime.hpp"
#include "dispatch/certificate_lane.hpp"
#include "common/clock.hpp"
#include "domain/retry_policy.hpp"
#include "queue/queue.hpp"
#include "store/certificate_store.hpp"

namespace herald::dispatch {

struct RemovedEvent {
  std::string slug;
  std::string event_name;
  std::int64_t cancelled = 0;  // deliveries that were still waiting
};

struct LaneSync {
  std::vector<std::string> created;  // lanes that did not exist before this run
  std::vector<RemovedEvent> removed;
};

// What one run did per event; counts only this run's work.
struct EventCounters {
  std::int64_t rendered = 0;
  std::int64_t sent = 0;
  std::int64_t failed = 0;
  std::int64_t unknown = 0;
  std::int64_t dead = 0;
  std::int64_t retried = 0;
  std::int64_t skipped = 0;  // queue items whose delivery was already final (duplicates after a crash)
  EventCounters& operator+=(const EventCounters& other);
};

struct DeliveryRun {
  std::map<std::string, EventCounters> per_event;  // by slug
  bool interrupted = false;
  std::chrono::milliseconds elapsed{0};
};

// Called as each delivery reaches a state; must be thread-safe.
struct ProgressEvent {
  std::string event_slug;
  domain::DeliveryStatus status;  // kQueued means "will be retried"
  std::string detail;
};
using ProgressCallback = std::function<void(const ProgressEvent&)>;

struct DispatcherOptions {
  std::string out_dir;
  int render_threads = 0;  // PDFs rendered at once; 0: one per core
  domain::RetryPolicy retry;
  std::chrono::milliseconds idle_poll{250};  // how often a lane waiting for retries looks again
};

class CertificateDispatcher {
 public:
  // Sends go through `transport` on `runtime`'s I/O thread; every event's lane shares it.
  CertificateDispatcher(store::CertificateStore& store, queue::Queue& queue, channels::Channel& transport,
                        IoRuntime& runtime, const certificates::CertificateComposer& composer, const Clock& clock,
                        DispatcherOptions options);

  // `job`: stored with each active lane (certificates::CertificateJob as JSON)
  // so that herald worker processes deliver it too; empty for this run alone.
  LaneSync SyncLanes(const std::vector<ActiveEvent>& active, const std::string& job = {});
  // Stores new rows (existing ones keep their state) and publishes every queued row
  // not yet handed to its lane. Returns {new rows, published items}.
  std::pair<std::int64_t, std::int64_t> Enqueue(const std::vector<store::CertificateDelivery>& planned,
                                                const std::vector<ActiveEvent>& active);
  // Delivers every active event's open work on the delivery engine until none
  // is left, or stop is set. Throws std::runtime_error when the store or the
  // queue stays unreachable.
  DeliveryRun Deliver(const std::vector<ActiveEvent>& active, const std::string& run_id,
                      const std::atomic<bool>& stop, const ProgressCallback& progress);

 private:
  store::CertificateStore& store_;
  queue::Queue& queue_;
  channels::Channel& transport_;
  IoRuntime& runtime_;
  const certificates::CertificateComposer& composer_;
  const Clock& clock_;
  DispatcherOptions options_;
};

}  // namespace herald::dispatch
