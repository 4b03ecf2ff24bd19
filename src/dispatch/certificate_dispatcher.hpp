// Moves the certificate job through its stages after planning: keeps one queue
// lane per listed event (removing lanes of scrapped events), hands planned rows to
// their lanes, and runs the workers that render, send, record and acknowledge.
// Only this class changes delivery state; transports and the composer just report.
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
#include "common/clock.hpp"
#include "domain/retry_policy.hpp"
#include "queue/queue.hpp"
#include "store/certificate_store.hpp"

namespace herald::dispatch {

std::string CertificateQueueName(const std::string& event_slug);

struct ActiveEvent {
  std::string name;
  std::string slug;
};

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

// Called from worker threads as each delivery reaches a state; must be thread-safe.
struct ProgressEvent {
  std::string event_slug;
  domain::DeliveryStatus status;  // kQueued means "will be retried"
  std::string detail;
};
using ProgressCallback = std::function<void(const ProgressEvent&)>;

struct DispatcherOptions {
  std::string out_dir;
  int concurrency = 0;  // 0: one worker per event with work
  int batch_size = 8;
  domain::RetryPolicy retry;
  std::chrono::milliseconds take_wait{250};
};

class CertificateDispatcher {
 public:
  // Sends run on `executor` (the channel's); the workers wait for them.
  CertificateDispatcher(store::CertificateStore& store, queue::Queue& queue, channels::Channel& transport,
                        boost::asio::any_io_executor executor,
                        const certificates::CertificateComposer& composer, const Clock& clock,
                        DispatcherOptions options);

  LaneSync SyncLanes(const std::vector<ActiveEvent>& active);
  // Stores new rows (existing ones keep their state) and publishes every queued row
  // not yet handed to its lane. Returns {new rows, published items}.
  std::pair<std::int64_t, std::int64_t> Enqueue(const std::vector<store::CertificateDelivery>& planned,
                                                const std::vector<ActiveEvent>& active);
  // Runs workers until every active event has no open delivery, or stop is set.
  DeliveryRun Deliver(const std::vector<ActiveEvent>& active, const std::string& run_id,
                      const std::atomic<bool>& stop, const ProgressCallback& progress);

 private:
  class Worker;

  store::CertificateStore& store_;
  queue::Queue& queue_;
  channels::Channel& transport_;
  boost::asio::any_io_executor executor_;
  const certificates::CertificateComposer& composer_;
  const Clock& clock_;
  DispatcherOptions options_;
};

}  // namespace herald::dispatch
