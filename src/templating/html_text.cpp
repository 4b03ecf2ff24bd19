#include "templating/html_text.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdint>
#include <cstdlib>

#include "common/text.hpp"

namespace herald::templating {
namespace {

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f'; }

// Blocks (and list items, table rows) start and end on a line of their own.
bool IsBlock(std::string_view name) {
  static constexpr std::array<std::string_view, 14> kBlocks = {
      "li", "p", "div", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "table", "blockquote"};
  return std::find(kBlocks.begin(), kBlocks.end(), name) != kBlocks.end();
}

// Table cells sit apart on their line.
bool SeparatesWords(std::string_view name) { return name == "td" || name == "th"; }

// As browsers read it: "<" opens markup only before a letter, "/" or "!"; in
// "I <3 you" or "1 < 2" it is text.
bool OpensMarkup(std::string_view html, std::size_t pos) {
  if (pos + 1 >= html.size()) return false;
  const auto next = static_cast<unsigned char>(html[pos + 1]);
  return std::isalpha(next) != 0 || next == '/' || next == '!';
}

void AppendUtf8(std::string& out, std::uint32_t code) {
  if (code == 0 || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF)) code = 0xFFFD;
  if (code < 0x80) {
    out += static_cast<char>(code);
  } else if (code < 0x800) {
    out += static_cast<char>(0xC0 | (code >> 6));
    out += static_cast<char>(0x80 | (code & 0x3F));
  } else if (code < 0x10000) {
    out += static_cast<char>(0xE0 | (code >> 12));
    out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (code & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (code >> 18));
    out += static_cast<char>(0x80 | ((code >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (code & 0x3F));
  }
}

// Decodes the reference starting at html[pos] == '&'; returns its length, or 0
// when it is not one (the '&' is then text).
std::size_t DecodeReference(std::string_view html, std::size_t pos, std::string& out) {
  const auto end = html.substr(0, pos + 12).find(';', pos);  // references are short: never scan on
  if (end == std::string_view::npos) return 0;
  const auto name = html.substr(pos + 1, end - pos - 1);
  if (name.size() > 1 && name[0] == '#') {
    const bool hex = name[1] == 'x' || name[1] == 'X';
    const std::string digits(name.substr(hex ? 2 : 1));
    if (digits.empty()) return 0;
    char* rest = nullptr;
    const auto code = std::strtoul(digits.c_str(), &rest, hex ? 16 : 10);
    if (*rest != '\0') return 0;
    AppendUtf8(out, static_cast<std::uint32_t>(code));
    return end - pos + 1;
  }
  static constexpr std::array<std::pair<std::string_view, std::string_view>, 6> kNamed = {
      {{"amp", "&"}, {"lt", "<"}, {"gt", ">"}, {"quot", "\""}, {"apos", "'"}, {"nbsp", " "}}};
  for (const auto& [entity, text] : kNamed) {
    if (name == entity) {
      out += text;
      return end - pos + 1;
    }
  }
  return 0;
}

// Where "</name" (any letter case) first starts at or after `from`; one pass.
std::size_t FindClosingTag(std::string_view html, std::size_t from, std::string_view name) {
  for (auto at = html.find("</", from); at != std::string_view::npos; at = html.find("</", at + 2)) {
    const auto candidate = html.substr(at + 2, name.size());
    const bool same = candidate.size() == name.size() &&
                      std::equal(candidate.begin(), candidate.end(), name.begin(), [](char a, char b) {
                        return std::tolower(static_cast<unsigned char>(a)) == b;
                      });
    if (same) return at;
  }
  return std::string_view::npos;
}

class TextWriter {
 public:
  void Text(std::string_view text) {
    for (const char c : text) {
      if (IsSpace(c)) {
        pending_space_ = true;
        continue;
      }
      Char(c);
    }
  }
  void Char(char c) {
    if (pending_space_ && !out_.empty() && out_.back() != '\n') out_ += ' ';
    pending_space_ = false;
    out_ += c;
  }
  void Decoded(const std::string& text) {
    for (const char c : text) Char(c);
  }
  // Starts a new line unless at the start of one already.
  void EndLine() {
    pending_space_ = false;
    while (!out_.empty() && out_.back() == ' ') out_.pop_back();
    if (!out_.empty() && out_.back() != '\n') out_ += '\n';
  }
  // A <br>: a new line even after another, but at most one blank line.
  void LineBreak() {
    pending_space_ = false;
    while (!out_.empty() && out_.back() == ' ') out_.pop_back();
    if (out_.empty()) return;
    const bool blank_line_already = out_.size() >= 2 && out_[out_.size() - 1] == '\n' && out_[out_.size() - 2] == '\n';
    if (!blank_line_already) out_ += '\n';
  }
  std::string Finish() {
    while (!out_.empty() && (out_.back() == '\n' || out_.back() == ' ')) out_.pop_back();
    return std::move(out_);
  }

 private:
  std::string out_;
  bool pending_space_ = false;
};

}  // namespace

std::string PlainTextFromHtml(std::string_view html) {
  TextWriter writer;
  std::size_t pos = 0;
  while (pos < html.size()) {
    const char c = html[pos];
    if (c == '&') {
      std::string decoded;
      if (const auto length = DecodeReference(html, pos, decoded); length > 0) {
        writer.Decoded(decoded);
        pos += length;
      } else {
        writer.Char('&');
        ++pos;
      }
      continue;
    }
    if (c == '<' && !OpensMarkup(html, pos)) {
      writer.Char('<');
      ++pos;
      continue;
    }
    if (c != '<') {
      const auto next = html.find_first_of("<&", pos);
      writer.Text(html.substr(pos, next == std::string_view::npos ? std::string_view::npos : next - pos));
      pos = next == std::string_view::npos ? html.size() : next;
      continue;
    }
    if (html.substr(pos, 4) == "<!--") {
      const auto end = html.find("-->", pos + 4);
      pos = end == std::string_view::npos ? html.size() : end + 3;
      continue;
    }
    const auto end = html.find('>', pos);
    if (end == std::string_view::npos) {  // no tag after all: keep the text
      writer.Text(html.substr(pos));
      break;
    }
    std::size_t name_start = pos + 1;
    const bool closing = name_start < end && html[name_start] == '/';
    if (closing) ++name_start;
    std::size_t name_end = name_start;
    while (name_end < end && (std::isalnum(static_cast<unsigned char>(html[name_end])) != 0)) ++name_end;
    const auto name = text::ToLowerAscii(std::string(html.substr(name_start, name_end - name_start)));
    pos = end + 1;
    if (!closing && (name == "script" || name == "style" || name == "head" || name == "title")) {
      const auto close = FindClosingTag(html, pos, name);
      if (close == std::string_view::npos) break;
      const auto close_end = html.find('>', close);
      pos = close_end == std::string_view::npos ? html.size() : close_end + 1;
      continue;
    }
    if (name == "br") writer.LineBreak();
    if (IsBlock(name)) writer.EndLine();
    if (SeparatesWords(name)) writer.Text(" ");
  }
  return writer.Finish();
}

}  // namespace herald::templating
