#include "metrics/histogram.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

namespace herald::metrics {

std::vector<double> DefaultDurationBuckets() {
  return {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
}

void ValidateBucketBounds(std::string_view metric_name, const std::vector<double>& bounds) {
  for (std::size_t i = 0; i < bounds.size(); ++i) {
    if (!std::isfinite(bounds[i])) {
      throw std::invalid_argument("histogram " + std::string(metric_name) +
                                  ": bucket bounds must be finite numbers (the +Inf bucket is implicit)");
    }
    if (i > 0 && !(bounds[i - 1] < bounds[i])) {
      throw std::invalid_argument("histogram " + std::string(metric_name) +
                                  ": bucket bounds must be strictly increasing");
    }
  }
}

Histogram::Histogram(std::vector<double> bucket_bounds)
    : bounds_(std::move(bucket_bounds)), counts_(bounds_.size() + 1, 0) {}

void Histogram::Observe(double value) {
  // Buckets are "less than or equal": the first bound >= value. Found before
  // taking the lock, the bounds never change.
  const std::size_t bucket =
      std::isnan(value) ? bounds_.size()
                        : static_cast<std::size_t>(std::lower_bound(bounds_.begin(), bounds_.end(), value) -
                                                   bounds_.begin());
  std::lock_guard lock(mutex_);
  ++counts_[bucket];
  sum_ += value;
}

HistogramSnapshot Histogram::Snapshot() const {
  HistogramSnapshot snapshot;
  // Sized before locking so observers never wait on an allocation.
  snapshot.cumulative_counts.resize(bounds_.size() + 1);
  {
    std::lock_guard lock(mutex_);
    std::copy(counts_.begin(), counts_.end(), snapshot.cumulative_counts.begin());
    snapshot.sum = sum_;
  }
  std::uint64_t running = 0;
  for (std::uint64_t& count : snapshot.cumulative_counts) {
    running += count;
    count = running;
  }
  snapshot.count = running;
  return snapshot;
}

}  // namespace herald::metrics
