// How processes sharing one store tell a stopped one from a live one: each says
// it is alive every 2 s; a process not seen for 15 s has stopped, and its sends
// in flight become unknown. A process sweeps only once its own heartbeats have
// gone through for 15 s, so after a store outage nobody is presumed gone before
// everyone had the chance to say otherwise.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <vector>

#include "cli/periodic_task.hpp"
#include "common/clock.hpp"
#include "store/certificate_store.hpp"
#include "store/message_delivery_store.hpp"

namespace herald::cli {

class DeliveryLiveness {
 public:
  static constexpr std::chrono::seconds kHeartbeatEvery{2};
  static constexpr std::chrono::seconds kSweepEvery{5};
  static constexpr std::chrono::seconds kPresumedGoneAfter{15};

  // Marks unknown what processes not seen alive since `alive_since_ms` left
  // sending (one kind of delivery each: API messages, certificates).
  using Resolver = std::function<void(std::int64_t now_ms, std::int64_t alive_since_ms)>;

  // `heartbeats` carries this process's claimant id and heartbeat.
  // `sole_deliverer`: no other process can deliver from this store (herald
  // serve or herald certificates on SQLite, under the data dir lock): what
  // was sending is resolved now, and no sweep is needed after.
  DeliveryLiveness(store::MessageDeliveryStore& heartbeats, const Clock& clock, bool sole_deliverer,
                   std::vector<Resolver> resolvers);

 private:
  void Beat();
  void Sweep();

  store::MessageDeliveryStore& heartbeats_;
  const Clock& clock_;
  const std::vector<Resolver> resolvers_;
  std::mutex mutex_;
  std::optional<Clock::TimePoint> connected_since_;
  std::optional<PeriodicTask> heartbeat_;
  std::optional<PeriodicTask> sweep_;
};

// API messages (every channel lane and the paced lane): logged as a count.
DeliveryLiveness::Resolver ResolveAbandonedMessages(store::MessageDeliveryStore& deliveries);
// Certificates of any run: each row handed to `report` (any thread).
DeliveryLiveness::Resolver ResolveAbandonedCertificates(
    store::CertificateStore& certificates, std::string claimant,
    std::function<void(const std::vector<store::CertificateDelivery>&)> report);

}  // namespace herald::cli
