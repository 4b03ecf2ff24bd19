#include "cli/delivery_liveness.hpp"

#include <spdlog/spdlog.h>

namespace herald::cli {

DeliveryLiveness::DeliveryLiveness(store::MessageDeliveryStore& heartbeats, const Clock& clock, bool sole_deliverer,
                                   std::vector<Resolver> resolvers)
    : heartbeats_(heartbeats), clock_(clock), resolvers_(std::move(resolvers)) {
  const auto now = clock_.Now();
  heartbeats_.Heartbeat(ToUnixMillis(now));
  connected_since_ = now;
  if (sole_deliverer) {
    for (const auto& resolve : resolvers_) resolve(ToUnixMillis(now), store::kNoOtherProcessAlive);
  }
  heartbeat_.emplace("delivery heartbeat", kHeartbeatEvery, [this] { Beat(); });
  if (!sole_deliverer) sweep_.emplace("abandoned sends", kSweepEvery, [this] { Sweep(); });
}

void DeliveryLiveness::Beat() {
  try {
    heartbeats_.Heartbeat(ToUnixMillis(clock_.Now()));
    std::lock_guard lock(mutex_);
    if (!connected_since_) connected_since_ = clock_.Now();
  } catch (...) {
    std::lock_guard lock(mutex_);
    connected_since_.reset();
    throw;
  }
}

void DeliveryLiveness::Sweep() {
  const auto now = clock_.Now();
  {
    std::lock_guard lock(mutex_);
    if (!connected_since_ || now - *connected_since_ < kPresumedGoneAfter) return;
  }
  // Each on its own: one store failing (a table locked) leaves the others their turn.
  for (const auto& resolve : resolvers_) {
    try {
      resolve(ToUnixMillis(now), ToUnixMillis(now - kPresumedGoneAfter));
    } catch (const std::exception& e) {
      spdlog::error("abandoned sends: {}", e.what());
    }
  }
}

DeliveryLiveness::Resolver ResolveAbandonedMessages(store::MessageDeliveryStore& deliveries) {
  return [&deliveries](std::int64_t now_ms, std::int64_t alive_since_ms) {
    if (const auto abandoned = deliveries.ResolveAbandoned(now_ms, alive_since_ms); abandoned > 0) {
      spdlog::warn("{} send(s) were cut short by a process that stopped; recorded as unknown, not resent", abandoned);
    }
  };
}

DeliveryLiveness::Resolver ResolveAbandonedCertificates(
    store::CertificateStore& certificates, std::string claimant,
    std::function<void(const std::vector<store::CertificateDelivery>&)> report) {
  return [&certificates, claimant = std::move(claimant), report = std::move(report)](std::int64_t,
                                                                                     std::int64_t alive_since_ms) {
    if (const auto abandoned = certificates.ResolveAbandoned(claimant, alive_since_ms); !abandoned.empty()) {
      report(abandoned);
    }
  };
}

}  // namespace herald::cli
