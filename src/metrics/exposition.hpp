// Pieces of the Prometheus text exposition format 0.0.4 shared by every metric
// family: name checks done once at declaration, escaping and number formatting
// done at scrape time. Kept apart so the rules of the format live in one file.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace herald::metrics {

// Throw std::invalid_argument naming the metric: a bad name is a programming
// error and should stop start-up, not produce text a scraper rejects later.
void ValidateMetricName(std::string_view name);
void ValidateLabelNames(std::string_view metric_name, const std::vector<std::string>& label_names);

// Label values may be any UTF-8; bytes that are not valid UTF-8 become U+FFFD so
// one odd value (e.g. a request path) cannot make the whole scrape unparseable.
std::string EscapeLabelValue(std::string_view value);
std::string EscapeHelp(std::string_view help);

// Shortest text that reads back as the same double, with the format's spellings
// of the special values: "NaN", "+Inf", "-Inf".
std::string FormatDouble(double value);
std::string FormatInteger(std::uint64_t value);

// `a="x",b="y"` (no braces) for the given names and already unescaped values.
template <typename Value>
std::string FormatLabels(const std::vector<std::string>& names, std::span<const Value> values) {
  std::string out;
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (i > 0) out += ',';
    out += names[i];
    out += "=\"";
    out += EscapeLabelValue(values[i]);
    out += '"';
  }
  return out;
}

void AppendHeader(std::string& out, std::string_view name, std::string_view help, std::string_view type);
// One sample line; `labels` is the text inside the braces, empty for none.
void AppendSample(std::string& out, std::string_view name, std::string_view labels, std::string_view value);

}  // namespace herald::metrics
