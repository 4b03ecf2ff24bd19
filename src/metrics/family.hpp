// A metric family: one name, help text and fixed label names, with one child
// metric per distinct set of label values. Hot paths look a child up once and
// keep the reference; children are never removed, so the reference stays valid.
#pragma once

#include <algorithm>
#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

#include "metrics/counter.hpp"
#include "metrics/gauge.hpp"
#include "metrics/histogram.hpp"

namespace herald::metrics {

// What the Registry walks when rendering: every family, whatever its type.
class FamilyBase {
 public:
  FamilyBase(std::string name, std::string help, std::vector<std::string> label_names)
      : name_(std::move(name)), help_(std::move(help)), label_names_(std::move(label_names)) {}
  virtual ~FamilyBase() = default;
  FamilyBase(const FamilyBase&) = delete;
  FamilyBase& operator=(const FamilyBase&) = delete;

  const std::string& name() const { return name_; }
  const std::string& help() const { return help_; }
  const std::vector<std::string>& label_names() const { return label_names_; }

  // "counter", "gauge" or "histogram", as written on the # TYPE line.
  virtual std::string_view type() const = 0;
  // Appends the # HELP and # TYPE lines, then every sample.
  void AppendTo(std::string& out) const;

 protected:
  virtual void AppendSamples(std::string& out) const = 0;

 private:
  const std::string name_;
  const std::string help_;
  const std::vector<std::string> label_names_;
};

// Lets a lookup by a list of string_views find a key stored as strings, so
// WithLabels on an existing child allocates nothing.
struct LabelValuesLess {
  using is_transparent = void;
  template <typename A, typename B>
  bool operator()(const A& a, const B& b) const {
    return std::lexicographical_compare(a.begin(), a.end(), b.begin(), b.end());
  }
};

// Instantiated for Counter, Gauge and Histogram only (in family.cpp).
template <typename Metric>
class Family final : public FamilyBase {
 public:
  // Created by Registry, which validates the names first.
  Family(std::string name, std::string help, std::vector<std::string> label_names,
         std::function<std::unique_ptr<Metric>()> make_child);

  // The child for these label values (one per label name, in declaration order),
  // created on first use. Throws std::invalid_argument if the count is wrong.
  Metric& WithLabels(std::initializer_list<std::string_view> label_values);
  Metric& WithLabels(const std::vector<std::string>& label_values);

  std::string_view type() const override;

 protected:
  void AppendSamples(std::string& out) const override;

 private:
  template <typename Values>
  Metric& FindOrCreate(const Values& label_values);

  const std::function<std::unique_ptr<Metric>()> make_child_;
  // Shared for the common case (child exists), exclusive only to add one.
  mutable std::shared_mutex mutex_;
  std::map<std::vector<std::string>, std::unique_ptr<Metric>, LabelValuesLess> children_;
};

extern template class Family<Counter>;
extern template class Family<Gauge>;
extern template class Family<Histogram>;

using CounterFamily = Family<Counter>;
using GaugeFamily = Family<Gauge>;
using HistogramFamily = Family<Histogram>;

}  // namespace herald::metrics
