// Fuzz target for loading a certificate template: the placeholder parser every
// SVG template, subject and body goes through (templating::Template, in both the
// {{name}} form and the campaigns' single-brace form) and the XML escaping of
// values. The input is the template. librsvg is not called (too slow to fuzz);
// the CLI's refusal of <!ENTITY is a plain substring search in cli/.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>

#include "fuzz/fuzz_check.hpp"
#include "templating/template.hpp"

namespace herald::fuzz {
namespace {

using templating::Escaping;
using templating::Template;
using Values = std::map<std::string, std::string, std::less<>>;

Template::Lookup From(const Values& values) {
  return [&values](std::string_view name) -> std::optional<std::string_view> {
    const auto it = values.find(name);
    if (it == values.end()) return std::nullopt;
    return std::string_view(it->second);
  };
}

bool IsNameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
}

// What escaping promises: nothing that is markup in XML text or attributes, no
// control character XML 1.0 forbids, and every '&' starts one of the five
// predefined entities; undoing them gives the value without those controls.
void CheckEscaped(std::string_view value) {
  std::string escaped;
  templating::AppendXmlEscaped(escaped, value);
  std::string undone;
  for (std::size_t i = 0; i < escaped.size(); ++i) {
    const char c = escaped[i];
    Require(c != '<' && c != '>' && c != '"' && c != '\'', "escaped text holds no markup character");
    const auto u = static_cast<unsigned char>(c);
    Require(u >= 0x20 || c == '\t' || c == '\n' || c == '\r', "escaped text holds no control character XML forbids");
    if (c != '&') {
      undone += c;
      continue;
    }
    const auto rest = std::string_view(escaped).substr(i + 1);
    bool known = false;
    for (const auto& [entity, character] : {std::pair{"amp;", '&'}, std::pair{"lt;", '<'}, std::pair{"gt;", '>'},
                                            std::pair{"quot;", '"'}, std::pair{"apos;", '\''}}) {
      if (!rest.starts_with(entity)) continue;
      undone += character;
      i += std::string_view(entity).size();
      known = true;
      break;
    }
    Require(known, "every '&' in escaped text starts a predefined entity");
  }
  std::string kept;
  for (const char c : value) {
    if (static_cast<unsigned char>(c) >= 0x20 || c == '\t' || c == '\n' || c == '\r') kept += c;
  }
  Require(undone == kept, "unescaping gives back the value, less the forbidden control characters");
}

void CheckTemplate(std::string_view text, bool single_brace) {
  auto parsed = Template::Parse(text, "template.svg", {.single_brace = single_brace});
  if (!parsed) {
    Require(parsed.error().code == "template.syntax", "a template fails only on its syntax");
    Require(parsed.error().message.starts_with("template.svg:"), "a syntax error names the file, line and column");
    return;
  }
  const Template& tpl = *parsed;
  std::set<std::string_view> distinct;
  for (const auto& name : tpl.Placeholders()) {
    Require(!name.empty() && std::all_of(name.begin(), name.end(), IsNameChar),
            "placeholder names are lower-case [a-z0-9_.-]");
    Require(distinct.insert(name).second, "placeholders are listed once");
  }
  const Values none;
  if (tpl.Placeholders().empty()) {
    Require(tpl.Render(From(none), Escaping::kNone) == text, "a template without placeholders renders as written");
  }
  // Values from the text itself, so markup and odd bytes reach the escaper.
  Values values;
  Values escaped_values;
  Values canonical;
  for (std::size_t i = 0; i < tpl.Placeholders().size(); ++i) {
    const auto& name = tpl.Placeholders()[i];
    if (i % 3 == 2) continue;  // some placeholders have no value: they render as nothing
    std::string value = name + std::string(text.substr(i % (text.size() + 1), 48));
    std::string escaped;
    templating::AppendXmlEscaped(escaped, value);
    escaped_values[name] = std::move(escaped);
    values[name] = std::move(value);
  }
  for (const auto& name : tpl.Placeholders()) canonical[name] = "{{" + name + "}}";
  const auto plain = tpl.Render(From(values), Escaping::kNone);
  Require(tpl.UnescapedSize(From(values)) == plain.size(), "UnescapedSize is the size of the unescaped rendering");
  Require(tpl.Render(From(values), Escaping::kXml) == tpl.Render(From(escaped_values), Escaping::kNone),
          "XML rendering is literal text plus each value escaped");
  for (const auto& [name, value] : values) CheckEscaped(value);
  CheckEscaped(text.substr(0, 256));

  // Written back in the canonical {{name}} form, the template parses to one
  // with the same placeholders that renders the same.
  const auto written = tpl.Render(From(canonical), Escaping::kNone);
  auto again = Template::Parse(written, "template.svg", {.single_brace = single_brace});
  Require(again.has_value(), "a template written back in canonical form parses");
  Require(again->Placeholders() == tpl.Placeholders(), "the canonical form has the same placeholders");
  Require(again->Render(From(values), Escaping::kNone) == plain, "the canonical form renders the same");
}

void FuzzOne(std::string_view text) {
  CheckTemplate(text, false);
  CheckTemplate(text, true);
}

}  // namespace
}  // namespace herald::fuzz

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  herald::fuzz::FuzzOne(std::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
