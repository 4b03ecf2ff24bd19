// The list of every metric the server exposes. Each module declares its metrics
// once at start-up and keeps the references; the /metrics handler calls Render,
// which walks the list and writes Prometheus text exposition format 0.0.4.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "metrics/counter.hpp"
#include "metrics/family.hpp"
#include "metrics/gauge.hpp"
#include "metrics/histogram.hpp"

namespace herald::metrics {

// One sample of a callback gauge family: label values in the order the label
// names were declared.
struct LabeledValue {
  std::vector<std::string> label_values;
  double value = 0;
};

// Declarations throw std::invalid_argument naming the metric when a name, label
// name or bucket list is malformed, the help text is empty, or the name (or, for a
// histogram, one of its _bucket/_sum/_count series) is already taken. Names are
// written as declared: a counter's name should end in _total, a duration
// histogram's in _seconds. Families render in declaration order, children sorted
// by label values, so the output is deterministic.
class Registry {
 public:
  Registry();
  ~Registry();
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  Counter& AddCounter(std::string name, std::string help);
  CounterFamily& AddCounterFamily(std::string name, std::string help, std::vector<std::string> label_names);

  Gauge& AddGauge(std::string name, std::string help);
  GaugeFamily& AddGaugeFamily(std::string name, std::string help, std::vector<std::string> label_names);

  Histogram& AddHistogram(std::string name, std::string help,
                          std::vector<double> bucket_bounds = DefaultDurationBuckets());
  HistogramFamily& AddHistogramFamily(std::string name, std::string help, std::vector<std::string> label_names,
                                      std::vector<double> bucket_bounds = DefaultDurationBuckets());

  // For values that already live elsewhere (queue depth per lane): `read` runs at
  // every Render, on the scraping thread, with the registry locked. It must be
  // thread-safe, must not call into this Registry, and what it reads must outlive
  // the last Render. A family's callback must return each label set at most once,
  // with one value per label name, or Render throws std::logic_error.
  void AddCallbackGauge(std::string name, std::string help, std::function<double()> read);
  void AddCallbackGaugeFamily(std::string name, std::string help, std::vector<std::string> label_names,
                              std::function<std::vector<LabeledValue>()> read);

  std::string Render() const;

 private:
  // Validates what every family shares, claims the series names and appends.
  FamilyBase& Declare(std::unique_ptr<FamilyBase> family, const std::vector<std::string>& series_names);

  mutable std::mutex mutex_;
  std::vector<std::unique_ptr<FamilyBase>> families_;
  std::set<std::string, std::less<>> series_names_;
};

}  // namespace herald::metrics
