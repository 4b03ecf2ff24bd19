#include "metrics/exposition.hpp"

#include "common/text.hpp"

#include <charconv>
#include <cmath>
#include <set>
#include <stdexcept>

namespace herald::metrics {

namespace {

bool IsAsciiLetter(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }


// The format escapes backslash and newline everywhere, and the double quote only
// inside label values, where it would otherwise end the value.
std::string Escape(std::string_view s, bool escape_quote) {
  std::string out;
  out.reserve(s.size());
  std::size_t i = 0;
  while (i < s.size()) {
    const char c = s[i];
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '"' && escape_quote) {
      out += "\\\"";
    } else {
      const std::size_t length = text::DecodeUtf8(s, i).length;
      if (length == 0) {
        out += "\xEF\xBF\xBD";
        ++i;
      } else {
        out.append(s, i, length);
        i += length;
      }
      continue;
    }
    ++i;
  }
  return out;
}

}  // namespace

void ValidateMetricName(std::string_view name) {
  const auto valid_char = [](char c) { return IsAsciiLetter(c) || IsDigit(c) || c == '_' || c == ':'; };
  bool ok = !name.empty() && !IsDigit(name.front());
  for (const char c : name) ok = ok && valid_char(c);
  if (!ok) {
    throw std::invalid_argument("metric name \"" + std::string(name) +
                                "\" is invalid: it must match [a-zA-Z_:][a-zA-Z0-9_:]*");
  }
}

void ValidateLabelNames(std::string_view metric_name, const std::vector<std::string>& label_names) {
  const std::string metric(metric_name);
  std::set<std::string_view> seen;
  for (const std::string& label : label_names) {
    bool ok = !label.empty() && !IsDigit(label.front());
    for (const char c : label) ok = ok && (IsAsciiLetter(c) || IsDigit(c) || c == '_');
    if (!ok) {
      throw std::invalid_argument("metric " + metric + ": label name \"" + label +
                                  "\" is invalid: it must match [a-zA-Z_][a-zA-Z0-9_]*");
    }
    if (label.starts_with("__")) {
      throw std::invalid_argument("metric " + metric + ": label name \"" + label +
                                  "\" starts with \"__\", which Prometheus reserves for itself");
    }
    if (!seen.insert(label).second) {
      throw std::invalid_argument("metric " + metric + ": label name \"" + label + "\" is listed twice");
    }
  }
}

std::string EscapeLabelValue(std::string_view value) { return Escape(value, true); }

std::string EscapeHelp(std::string_view help) { return Escape(help, false); }

std::string FormatDouble(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  // Plain decimals across the everyday range (what JavaScript does), so a bucket
  // reads le="0.0005" as in its declaration rather than the shorter le="5e-04"
  // that a dashboard filtering on the label would not match.
  const double magnitude = std::fabs(value);
  const bool fixed = magnitude == 0 || (magnitude >= 1e-7 && magnitude < 1e21);
  char buffer[48];  // longest fixed form: 21 digits before the point, ~25 after
  const auto result = fixed ? std::to_chars(buffer, buffer + sizeof buffer, value, std::chars_format::fixed)
                            : std::to_chars(buffer, buffer + sizeof buffer, value);
  return std::string(buffer, result.ptr);
}

std::string FormatInteger(std::uint64_t value) {
  char buffer[24];
  const auto result = std::to_chars(buffer, buffer + sizeof buffer, value);
  return std::string(buffer, result.ptr);
}

void AppendHeader(std::string& out, std::string_view name, std::string_view help, std::string_view type) {
  out += "# HELP ";
  out += name;
  out += ' ';
  out += EscapeHelp(help);
  out += "\n# TYPE ";
  out += name;
  out += ' ';
  out += type;
  out += '\n';
}

void AppendSample(std::string& out, std::string_view name, std::string_view labels, std::string_view value) {
  out += name;
  if (!labels.empty()) {
    out += '{';
    out += labels;
    out += '}';
  }
  out += ' ';
  out += value;
  out += '\n';
}

}  // namespace herald::metrics
