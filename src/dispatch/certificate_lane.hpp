// CertificateLane: one listed event's certificates as a lane of the delivery
// engine. Work comes from the event's queue lane (embedded or RabbitMQ); each
// delivery is rendered to PDF (or its PDF from an earlier attempt is reused),
// saved in <out>/<event slug>/, claimed and recorded in the certificate store,
// and its queue item acknowledged, retried later or dead-lettered after that.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

#include "certificates/certificate_composer.hpp"
#include "common/clock.hpp"
#include "dispatch/held_set.hpp"
#include "dispatch/lane.hpp"
#include "queue/queue.hpp"
#include "store/certificate_store.hpp"

namespace herald::dispatch {

std::string CertificateQueueName(const std::string& event_slug);
// The queue item that carries one delivery: {"delivery_id": ...}.
std::string CertificateLeaseBody(const std::string& delivery_id);

struct ActiveEvent {
  std::string name;
  std::string slug;
};

class CertificateLane final : public Lane {
 public:
  CertificateLane(store::CertificateStore& store, queue::Queue& queue, const certificates::CertificateComposer& composer,
                  ActiveEvent event, std::string out_dir, std::string run_id, const Clock& clock);

  const std::string& Name() const override { return queue_name_; }
  std::vector<std::shared_ptr<WorkItem>> Take(int max) override;
  Result<channels::RenderedMessage> Render(WorkItem& item) override;
  std::vector<bool> Commit(std::span<const Finished> finished,
                           std::span<const std::shared_ptr<WorkItem>> claims) override;
  void Settle(std::span<const Finished> finished) override;
  std::optional<Clock::TimePoint> NextDue() override { return std::nullopt; }  // the queue knows; the engine polls
  bool HasOpenWork() override;

  const ActiveEvent& event() const { return event_; }
  // PDFs rendered by this run (not those reused from an earlier attempt).
  std::int64_t rendered() const { return rendered_; }
  // Queue items whose delivery was final already (copies delivered again after a crash).
  std::int64_t stale() const { return stale_; }

 private:
  store::CertificateStore& store_;
  queue::Queue& queue_;
  const certificates::CertificateComposer& composer_;
  const ActiveEvent event_;
  const std::string queue_name_;
  const std::string out_dir_;
  const std::string run_id_;
  const Clock& clock_;
  std::atomic<std::int64_t> rendered_{0};
  std::atomic<std::int64_t> stale_{0};
  HeldIds<std::string> held_;  // taken and not yet settled: one item per delivery at a time
};

}  // namespace herald::dispatch
