#include "metrics/family.hpp"

#include <mutex>
#include <span>
#include <stdexcept>
#include <type_traits>

#include "metrics/exposition.hpp"

namespace herald::metrics {

namespace {

void AppendChild(std::string& out, const std::string& name, const std::string& labels, const Counter& counter) {
  AppendSample(out, name, labels, FormatInteger(counter.Value()));
}

void AppendChild(std::string& out, const std::string& name, const std::string& labels, const Gauge& gauge) {
  AppendSample(out, name, labels, FormatDouble(gauge.Value()));
}

void AppendChild(std::string& out, const std::string& name, const std::string& labels,
                 const Histogram& histogram) {
  const HistogramSnapshot snapshot = histogram.Snapshot();
  const std::vector<double>& bounds = histogram.bucket_bounds();
  const std::string prefix = labels.empty() ? "le=\"" : labels + ",le=\"";
  const std::string bucket_name = name + "_bucket";
  for (std::size_t i = 0; i < snapshot.cumulative_counts.size(); ++i) {
    const std::string le = i < bounds.size() ? FormatDouble(bounds[i]) : "+Inf";
    AppendSample(out, bucket_name, prefix + le + "\"", FormatInteger(snapshot.cumulative_counts[i]));
  }
  AppendSample(out, name + "_sum", labels, FormatDouble(snapshot.sum));
  AppendSample(out, name + "_count", labels, FormatInteger(snapshot.count));
}

}  // namespace

void FamilyBase::AppendTo(std::string& out) const {
  AppendHeader(out, name_, help_, type());
  AppendSamples(out);
}

template <typename Metric>
Family<Metric>::Family(std::string name, std::string help, std::vector<std::string> label_names,
                       std::function<std::unique_ptr<Metric>()> make_child)
    : FamilyBase(std::move(name), std::move(help), std::move(label_names)), make_child_(std::move(make_child)) {}

template <typename Metric>
Metric& Family<Metric>::WithLabels(std::initializer_list<std::string_view> label_values) {
  return FindOrCreate(std::span<const std::string_view>(label_values.begin(), label_values.size()));
}

template <typename Metric>
Metric& Family<Metric>::WithLabels(const std::vector<std::string>& label_values) {
  return FindOrCreate(label_values);
}

template <typename Metric>
template <typename Values>
Metric& Family<Metric>::FindOrCreate(const Values& label_values) {
  if (label_values.size() != label_names().size()) {
    throw std::invalid_argument("metric " + name() + ": expected " + std::to_string(label_names().size()) +
                                " label values, got " + std::to_string(label_values.size()));
  }
  {
    std::shared_lock lock(mutex_);
    const auto it = children_.find(label_values);
    if (it != children_.end()) return *it->second;
  }
  std::unique_lock lock(mutex_);
  auto it = children_.find(label_values);  // another thread may have added it meanwhile
  if (it == children_.end()) {
    it = children_.emplace(std::vector<std::string>(label_values.begin(), label_values.end()), make_child_()).first;
  }
  return *it->second;
}

template <typename Metric>
void Family<Metric>::AppendSamples(std::string& out) const {
  std::shared_lock lock(mutex_);
  for (const auto& [label_values, child] : children_) {
    const std::string labels = FormatLabels(label_names(), std::span<const std::string>(label_values));
    AppendChild(out, name(), labels, *child);
  }
}

template <typename Metric>
std::string_view Family<Metric>::type() const {
  if constexpr (std::is_same_v<Metric, Counter>) {
    return "counter";
  } else if constexpr (std::is_same_v<Metric, Gauge>) {
    return "gauge";
  } else {
    static_assert(std::is_same_v<Metric, Histogram>);
    return "histogram";
  }
}

template class Family<Counter>;
template class Family<Gauge>;
template class Family<Histogram>;

}  // namespace herald::metrics
