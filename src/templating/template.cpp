#include "templating/template.hpp"

#include <algorithm>

#include "common/text.hpp"

namespace herald::templating {
namespace {

bool IsNameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
         c == '-';
}

// Line and column (1-based) of offset in text, for error messages.
std::string Position(std::string_view text, size_t offset) {
  size_t line = 1;
  size_t column = 1;
  for (size_t i = 0; i < offset && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
  }
  return std::to_string(line) + ":" + std::to_string(column);
}

// Parses a name with optional surrounding spaces starting at `pos`, ending with
// `close`. Returns the name and the offset after `close`, or nullopt.
std::optional<std::pair<std::string, size_t>> ParseName(std::string_view text, size_t pos, std::string_view close) {
  while (pos < text.size() && text[pos] == ' ') ++pos;
  const size_t start = pos;
  while (pos < text.size() && IsNameChar(text[pos])) ++pos;
  if (pos == start) return std::nullopt;
  std::string name(text.substr(start, pos - start));
  while (pos < text.size() && text[pos] == ' ') ++pos;
  if (text.substr(pos, close.size()) != close) return std::nullopt;
  return std::make_pair(text::ToLowerAscii(name), pos + close.size());
}

}  // namespace

void AppendXmlEscaped(std::string& out, std::string_view value) {
  for (char ch : value) {
    const auto c = static_cast<unsigned char>(ch);
    switch (ch) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      default:
        // XML 1.0 allows no control characters but TAB, LF and CR.
        if (c < 0x20 && ch != '\t' && ch != '\n' && ch != '\r') break;
        out += ch;
    }
  }
}

Result<Template> Template::Parse(std::string_view text, std::string_view source_name, ParseOptions options) {
  Template tpl;
  std::string literal;
  auto flush_literal = [&] {
    if (!literal.empty()) {
      tpl.literal_size_ += literal.size();
      tpl.segments_.push_back({false, std::move(literal)});
      literal.clear();
    }
  };
  auto add_placeholder = [&](std::string name) {
    flush_literal();
    if (std::find(tpl.placeholders_.begin(), tpl.placeholders_.end(), name) == tpl.placeholders_.end()) {
      tpl.placeholders_.push_back(name);
    }
    tpl.segments_.push_back({true, std::move(name)});
  };

  size_t pos = 0;
  while (pos < text.size()) {
    const size_t brace = text.find('{', pos);
    if (brace == std::string_view::npos) {
      literal.append(text.substr(pos));
      break;
    }
    literal.append(text.substr(pos, brace - pos));
    if (text.substr(brace, 2) == "{{") {
      auto parsed = ParseName(text, brace + 2, "}}");
      if (!parsed) {
        return MakeError("template.syntax", std::string(source_name) + ":" + Position(text, brace) +
                                                ": \"{{\" must open a placeholder like {{student_name}}");
      }
      add_placeholder(std::move(parsed->first));
      pos = parsed->second;
    } else if (options.single_brace) {
      auto parsed = ParseName(text, brace + 1, "}");
      if (parsed) {
        add_placeholder(std::move(parsed->first));
        pos = parsed->second;
      } else {
        literal.push_back('{');
        pos = brace + 1;
      }
    } else {
      literal.push_back('{');
      pos = brace + 1;
    }
  }
  flush_literal();
  return tpl;
}

std::vector<std::string> Template::MissingFrom(const std::function<bool(std::string_view)>& has) const {
  std::vector<std::string> missing;
  for (const auto& name : placeholders_) {
    if (!has(name)) missing.push_back(name);
  }
  return missing;
}

std::size_t Template::UnescapedSize(const Lookup& lookup) const {
  std::size_t size = literal_size_;
  for (const auto& segment : segments_) {
    if (!segment.is_placeholder) continue;
    if (const auto value = lookup(segment.text)) size += value->size();
  }
  return size;
}

std::string Template::Render(const Lookup& lookup, Escaping escaping) const {
  std::string out;
  out.reserve(literal_size_ + 32 * placeholders_.size());
  for (const auto& segment : segments_) {
    if (!segment.is_placeholder) {
      out += segment.text;
      continue;
    }
    const auto value = lookup(segment.text);
    if (!value) continue;
    if (escaping == Escaping::kXml) {
      AppendXmlEscaped(out, *value);
    } else {
      out += *value;
    }
  }
  return out;
}

}  // namespace herald::templating
