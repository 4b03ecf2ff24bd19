#include "metrics/registry.hpp"

#include <algorithm>
#include <span>
#include <stdexcept>
#include <utility>

#include "metrics/exposition.hpp"

namespace herald::metrics {

namespace {

void ValidateDeclaration(const std::string& name, const std::string& help,
                         const std::vector<std::string>& label_names) {
  ValidateMetricName(name);
  if (help.empty()) {
    throw std::invalid_argument("metric " + name + ": help text is empty; say what it counts and in which unit");
  }
  ValidateLabelNames(name, label_names);
}

class CallbackGaugeFamily final : public FamilyBase {
 public:
  CallbackGaugeFamily(std::string name, std::string help, std::vector<std::string> label_names,
                      std::function<std::vector<LabeledValue>()> read)
      : FamilyBase(std::move(name), std::move(help), std::move(label_names)), read_(std::move(read)) {}

  std::string_view type() const override { return "gauge"; }

 protected:
  void AppendSamples(std::string& out) const override {
    std::vector<LabeledValue> samples = read_();
    // Sorted like the other families' children, so two scrapes of the same
    // state are byte-identical whatever order the callback walked its lanes in.
    std::sort(samples.begin(), samples.end(), [](const LabeledValue& a, const LabeledValue& b) {
      return a.label_values < b.label_values;
    });
    for (std::size_t i = 0; i < samples.size(); ++i) {
      const LabeledValue& sample = samples[i];
      if (sample.label_values.size() != label_names().size()) {
        throw std::logic_error("metric " + name() + ": callback returned " +
                               std::to_string(sample.label_values.size()) + " label values, expected " +
                               std::to_string(label_names().size()));
      }
      if (i > 0 && samples[i - 1].label_values == sample.label_values) {
        throw std::logic_error("metric " + name() + ": callback returned the same label values twice");
      }
      const std::string labels =
          FormatLabels(label_names(), std::span<const std::string>(sample.label_values));
      AppendSample(out, name(), labels, FormatDouble(sample.value));
    }
  }

 private:
  const std::function<std::vector<LabeledValue>()> read_;
};

template <typename Metric>
std::function<std::unique_ptr<Metric>()> DefaultFactory() {
  return [] { return std::make_unique<Metric>(); };
}

}  // namespace

Registry::Registry() = default;
Registry::~Registry() = default;

FamilyBase& Registry::Declare(std::unique_ptr<FamilyBase> family, const std::vector<std::string>& series_names) {
  std::lock_guard lock(mutex_);
  for (const std::string& series : series_names) {
    if (series_names_.contains(series)) {
      throw std::invalid_argument("metric " + family->name() + ": the name " + series +
                                  " is already used by another metric in this registry");
    }
  }
  series_names_.insert(series_names.begin(), series_names.end());
  families_.push_back(std::move(family));
  return *families_.back();
}

Counter& Registry::AddCounter(std::string name, std::string help) {
  return AddCounterFamily(std::move(name), std::move(help), {}).WithLabels({});
}

CounterFamily& Registry::AddCounterFamily(std::string name, std::string help,
                                          std::vector<std::string> label_names) {
  ValidateDeclaration(name, help, label_names);
  std::vector<std::string> series{name};
  auto family = std::make_unique<CounterFamily>(std::move(name), std::move(help), std::move(label_names),
                                                DefaultFactory<Counter>());
  return static_cast<CounterFamily&>(Declare(std::move(family), series));
}

Gauge& Registry::AddGauge(std::string name, std::string help) {
  return AddGaugeFamily(std::move(name), std::move(help), {}).WithLabels({});
}

GaugeFamily& Registry::AddGaugeFamily(std::string name, std::string help, std::vector<std::string> label_names) {
  ValidateDeclaration(name, help, label_names);
  std::vector<std::string> series{name};
  auto family = std::make_unique<GaugeFamily>(std::move(name), std::move(help), std::move(label_names),
                                              DefaultFactory<Gauge>());
  return static_cast<GaugeFamily&>(Declare(std::move(family), series));
}

Histogram& Registry::AddHistogram(std::string name, std::string help, std::vector<double> bucket_bounds) {
  return AddHistogramFamily(std::move(name), std::move(help), {}, std::move(bucket_bounds)).WithLabels({});
}

HistogramFamily& Registry::AddHistogramFamily(std::string name, std::string help,
                                              std::vector<std::string> label_names,
                                              std::vector<double> bucket_bounds) {
  ValidateDeclaration(name, help, label_names);
  if (std::find(label_names.begin(), label_names.end(), "le") != label_names.end()) {
    throw std::invalid_argument("histogram " + name + ": \"le\" cannot be a label name, it holds the bucket bound");
  }
  ValidateBucketBounds(name, bucket_bounds);
  std::vector<std::string> series{name, name + "_bucket", name + "_sum", name + "_count"};
  auto make_child = [bounds = std::move(bucket_bounds)] { return std::make_unique<Histogram>(bounds); };
  auto family = std::make_unique<HistogramFamily>(std::move(name), std::move(help), std::move(label_names),
                                                  std::move(make_child));
  return static_cast<HistogramFamily&>(Declare(std::move(family), series));
}

void Registry::AddCallbackGauge(std::string name, std::string help, std::function<double()> read) {
  if (!read) throw std::invalid_argument("metric " + name + ": callback is empty");
  AddCallbackGaugeFamily(std::move(name), std::move(help), {},
                         [read = std::move(read)] { return std::vector<LabeledValue>{{{}, read()}}; });
}

void Registry::AddCallbackGaugeFamily(std::string name, std::string help, std::vector<std::string> label_names,
                                      std::function<std::vector<LabeledValue>()> read) {
  ValidateDeclaration(name, help, label_names);
  if (!read) throw std::invalid_argument("metric " + name + ": callback is empty");
  std::vector<std::string> series{name};
  Declare(std::make_unique<CallbackGaugeFamily>(std::move(name), std::move(help), std::move(label_names),
                                                std::move(read)),
          series);
}

std::string Registry::Render() const {
  std::string out;
  std::lock_guard lock(mutex_);
  for (const auto& family : families_) family->AppendTo(out);
  return out;
}

}  // namespace herald::metrics
