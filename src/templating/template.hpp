// Placeholder templates for certificates (SVG), e-mail subjects and bodies.
// Parsed once into literal/placeholder segments, rendered many times with values
// escaped for the output's context. Syntax: {{name}} (spaces inside allowed);
// with ParseOptions::single_brace also {name}, as campaign templates write it.
// Names are [A-Za-z0-9_.-] and match case-insensitively. A "{{" that does not
// open a valid placeholder is an error; a lone "{" in single-brace mode is text.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"

namespace herald::templating {

enum class Escaping {
  kNone,  // plain text: subjects, text bodies
  kXml,   // SVG and HTML: & < > " ' escaped, XML-illegal control characters dropped
};

struct ParseOptions {
  bool single_brace = false;
};

class Template {
 public:
  // Returns the value of a variable, or nullopt when there is none (renders as empty text).
  using Lookup = std::function<std::optional<std::string_view>(std::string_view name)>;

  static Result<Template> Parse(std::string_view text, std::string_view source_name, ParseOptions options = {});

  // Distinct placeholder names (lower-case) in order of first use.
  const std::vector<std::string>& Placeholders() const { return placeholders_; }
  // Placeholders for which `has` says no value exists.
  std::vector<std::string> MissingFrom(const std::function<bool(std::string_view)>& has) const;
  std::string Render(const Lookup& lookup, Escaping escaping) const;
  // Bytes Render would produce before escaping (escaping adds at most 5 per
  // byte): lets a caller refuse a huge result without building it.
  std::size_t UnescapedSize(const Lookup& lookup) const;

 private:
  struct Segment {
    bool is_placeholder;
    std::string text;  // literal text, or the placeholder name
  };

  std::vector<Segment> segments_;
  std::vector<std::string> placeholders_;
  size_t literal_size_ = 0;
};

// Appends value to out escaped for XML text and attribute content.
void AppendXmlEscaped(std::string& out, std::string_view value);

}  // namespace herald::templating
