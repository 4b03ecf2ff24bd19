// Fuzz target for the MIME header writer (mime::HeaderWriter, EncodeHeaderWord)
// and the header section BuildMessage writes with it. The input is lines of
// "key:value" (values take \n, \r, \0 and \\ escapes), e.g.
//   from-name:Zoë Ó Súilleabháin
//   to:ann@example.org
//   subject:Your certificate for Conférence Cloud Native
//   header:X-Campaign:spring 2026
// Keys: from, from-name, to-name (for the next to), to, subject, message-id,
// text, html, header (Name:value), attachment-name, attachment-type,
// attachment (its data, ends the attachment); and for direct HeaderWriter
// calls: name (the field name), word, address, angle-address, raw, folded,
// unstructured, phrase, encoded. Unknown keys are ignored.
//
// Invariants: no CR or LF ever appears but as CRLF, and within a header only
// as a fold (CRLF then a space); lines stay within 998 octets, and within 78 for
// encoded text; a reader decoding the fields gets back exactly the subject, the
// display names, the addresses and the extra header values; the message has
// exactly the header fields it was given, in order, whatever the values hold.
#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/text.hpp"
#include "fuzz/fuzz_check.hpp"
#include "mime/email_message.hpp"
#include "mime/header_writer.hpp"

namespace herald::fuzz {
namespace {

using mime::HeaderWriter;

bool IsPrintableAscii(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c >= 0x20 && c <= 0x7E; });
}

// --- reading the field back, as a mail reader would ---

std::optional<std::string> DecodeBase64(std::string_view text) {
  if (text.size() % 4 != 0) return std::nullopt;
  auto value_of = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  std::string out;
  for (std::size_t i = 0; i < text.size(); i += 4) {
    const bool last = i + 4 == text.size();
    const std::size_t padding = last ? (text[i + 3] == '=') + (text[i + 2] == '=' && text[i + 3] == '=') : 0;
    std::uint32_t bits = 0;
    for (std::size_t k = 0; k < 4; ++k) {
      const int v = k >= 4 - padding ? 0 : value_of(text[i + k]);
      if (v < 0) return std::nullopt;
      bits = (bits << 6) | static_cast<std::uint32_t>(v);
    }
    out += static_cast<char>(bits >> 16);
    if (padding < 2) out += static_cast<char>((bits >> 8) & 0xFF);
    if (padding < 1) out += static_cast<char>(bits & 0xFF);
  }
  return out;
}

struct EncodedWord {
  std::string text;  // decoded bytes
  bool base64 = false;
  bool padded = false;
};

std::optional<EncodedWord> DecodeWord(std::string_view word) {
  if (word.size() < 12 || !word.starts_with("=?utf-8?") || !word.ends_with("?=") || word[9] != '?') return std::nullopt;
  const auto payload = word.substr(10, word.size() - 12);
  if (word[8] == 'b') {
    auto bytes = DecodeBase64(payload);
    if (!bytes) return std::nullopt;
    return EncodedWord{std::move(*bytes), true, payload.find('=') != std::string_view::npos};
  }
  if (word[8] != 'q') return std::nullopt;
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  for (std::size_t i = 0; i < payload.size(); ++i) {
    const char c = payload[i];
    if (c == '_') {
      out += ' ';
    } else if (c == '=') {
      if (i + 2 >= payload.size()) return std::nullopt;
      const int high = hex(payload[i + 1]);
      const int low = hex(payload[i + 2]);
      if (high < 0 || low < 0) return std::nullopt;
      out += static_cast<char>(high * 16 + low);
      i += 2;
    } else if (c > 0x20 && c < 0x7F && c != '?') {
      out += c;
    } else {
      return std::nullopt;
    }
  }
  return EncodedWord{std::move(out), false, false};
}

// Encoded-words separated by single spaces, as the writer places them: their
// text joined, after checking each word's own promises. `original` is the text
// that was encoded (for the whole-character check).
std::optional<std::string> DecodeWords(std::string_view value, std::string_view original) {
  std::vector<EncodedWord> words;
  std::size_t pos = 0;
  while (pos <= value.size()) {
    const auto end = std::min(value.find(' ', pos), value.size());
    const auto word = value.substr(pos, end - pos);
    Require(word.size() <= HeaderWriter::kEncodedWordLimit, "an encoded-word is at most 75 characters");
    auto decoded = DecodeWord(word);
    if (!decoded) return std::nullopt;
    words.push_back(std::move(*decoded));
    pos = end + 1;
  }
  std::string joined;
  for (std::size_t i = 0; i < words.size(); ++i) {
    Require(!words[i].padded || !words[i].base64 || i + 1 == words.size(),
            "only the last base64 word may be padded (readers join the words before decoding)");
    if (text::IsValidUtf8(original)) {
      Require(text::IsValidUtf8(words[i].text), "an encoded-word holds whole UTF-8 characters");
    }
    joined += words[i].text;
  }
  return joined;
}

// "Name:" value "\r\n" with its folds: the unfolded value, after checking that
// CR and LF appear only as folds and the final CRLF.
std::string UnfoldedValue(std::string_view field, std::string_view name, std::size_t max_line) {
  Require(field.starts_with(std::string(name) + ":"), "a field starts with its name and a colon");
  Require(field.ends_with("\r\n"), "a field ends with CRLF");
  std::string value;
  std::size_t line_start = 0;
  for (std::size_t i = name.size() + 1; i < field.size(); ++i) {
    const char c = field[i];
    if (c == '\n') Require(false, "no LF in a field but after a CR");
    if (c != '\r') {
      value += c;
      continue;
    }
    Require(i + 1 < field.size() && field[i + 1] == '\n', "a CR in a field is always followed by LF");
    Require(i - line_start <= max_line, "a field's lines stay within their limit");
    if (i + 2 == field.size()) break;
    Require(field[i + 2] == ' ' || field[i + 2] == '\t', "a CRLF inside a field is a fold (followed by a space)");
    line_start = i + 2;
    ++i;
  }
  return value;
}

// Subject-like unstructured text: plain (after our one space) or encoded-words.
std::optional<std::string> DecodeUnstructured(std::string_view value, std::string_view original) {
  if (value.empty()) return std::string();
  if (value.front() != ' ') return std::nullopt;
  const auto rest = value.substr(1);
  if (rest.find("=?") == std::string_view::npos) return std::string(rest);
  return DecodeWords(rest, original);
}

// A display name: atoms, one quoted-string, or encoded-words.
std::optional<std::string> DecodePhrase(std::string_view phrase, std::string_view original) {
  if (phrase.starts_with('"')) {
    std::string out;
    for (std::size_t i = 1; i < phrase.size(); ++i) {
      if (phrase[i] == '\\' && i + 1 < phrase.size()) {
        out += phrase[++i];
      } else if (phrase[i] == '"') {
        return i + 1 == phrase.size() ? std::optional<std::string>(out) : std::nullopt;
      } else {
        out += phrase[i];
      }
    }
    return std::nullopt;
  }
  if (phrase.find("=?") != std::string_view::npos) return DecodeWords(phrase, original);
  return std::string(phrase);
}

// --- the writer on its own ---

// Each way of writing text that may hold anything, alone in a field: the field
// is well formed, within 78-character lines, and decodes to the text.
void CheckEncodings(std::string_view text) {
  {
    std::string field;
    HeaderWriter header(field, "Subject");
    header.AppendUnstructured(text);
    header.Finish();
    const auto decoded = DecodeUnstructured(UnfoldedValue(field, "Subject", HeaderWriter::kLineLimit), text);
    Require(decoded && *decoded == text, "an unstructured field decodes to the text written");
  }
  {
    std::string field;
    HeaderWriter header(field, "Subject");
    header.AppendEncodedWords(text);
    header.Finish();
    const auto value = UnfoldedValue(field, "Subject", HeaderWriter::kLineLimit);
    const auto decoded =
        text.empty() ? std::optional<std::string>("") : DecodeWords(std::string_view(value).substr(1), text);
    Require(decoded && *decoded == text, "encoded-words decode to the text written");
  }
  {
    std::string field;
    HeaderWriter header(field, "From");
    header.AppendPhrase(text);
    header.Finish();
    const auto value = UnfoldedValue(field, "From", HeaderWriter::kLineLimit);
    const auto decoded = text.empty() ? std::optional<std::string>(value)
                                      : DecodePhrase(std::string_view(value).substr(1), text);
    Require(decoded && *decoded == text, "a display name decodes to the name written");
  }
  {
    const auto word = mime::EncodeHeaderWord(text);
    std::string unfolded;
    for (std::size_t i = 0; i < word.size(); ++i) {
      if (word.compare(i, 3, "\r\n ") == 0) {
        unfolded += ' ';
        i += 2;
      } else {
        Require(word[i] != '\r' && word[i] != '\n', "EncodeHeaderWord joins its words only with CRLF SP");
        unfolded += word[i];
      }
    }
    const bool plain = IsPrintableAscii(text) && text.find("=?") == std::string_view::npos;
    const auto decoded = plain ? std::optional<std::string>(unfolded) : DecodeWords(unfolded, text);
    Require(decoded && *decoded == text, "EncodeHeaderWord decodes to the text");
  }
}

struct Line {
  std::string key;
  std::string value;
};

std::vector<Line> ReadLines(std::string_view input) {
  std::vector<Line> lines;
  for (const auto& raw : text::Split(input, '\n')) {
    const auto colon = raw.find(':');
    Line line{raw.substr(0, colon), {}};
    if (colon != std::string::npos) {
      for (std::size_t i = colon + 1; i < raw.size(); ++i) {
        if (raw[i] != '\\' || i + 1 == raw.size()) {
          line.value += raw[i];
          continue;
        }
        const char next = raw[++i];
        line.value += next == 'n' ? '\n' : next == 'r' ? '\r' : next == '0' ? '\0' : next;
      }
    }
    lines.push_back(std::move(line));
  }
  return lines;
}

// The writer called as the input says, values that break its precondition
// (no CR, LF or NUL: callers validate) left out: the field is well formed.
void CheckWriterCalls(const std::vector<Line>& lines) {
  std::string name = "X-Fuzz";
  for (const auto& line : lines) {
    if (line.key == "name" && !line.value.empty() && line.value.size() <= 64 &&
        std::all_of(line.value.begin(), line.value.end(), [](char c) { return c > 0x20 && c < 0x7F && c != ':'; })) {
      name = line.value;
    }
  }
  std::string field;
  HeaderWriter header(field, name);
  for (const auto& [key, value] : lines) {
    const bool raw_safe = value.find_first_of(std::string_view("\r\n\0", 3)) == std::string::npos;
    if (key == "unstructured") header.AppendUnstructured(value);
    if (key == "phrase") header.AppendPhrase(value);
    if (key == "encoded") header.AppendEncodedWords(value);
    if (!raw_safe) continue;
    if (key == "word") header.AppendWord(value);
    if (key == "address") header.AppendAddress(value, false);
    if (key == "angle-address") header.AppendAddress(value, true);
    if (key == "raw") header.AppendRaw(value);
    if (key == "folded") header.AppendFoldedAscii(value);
  }
  header.Finish();
  (void)UnfoldedValue(field, name, SIZE_MAX);
}

// --- the header section of a whole message ---

struct Field {
  std::string name;
  std::string value;  // unfolded
};

mime::Mailbox DecodeMailbox(std::string_view text, std::string_view name_written) {
  while (text.starts_with(' ')) text.remove_prefix(1);
  if (!text.ends_with('>')) return {"", std::string(text)};
  const auto open = text.rfind('<');
  Require(open != std::string_view::npos && open >= 1 && text[open - 1] == ' ', "a named address is \" <address>\"");
  const auto decoded = DecodePhrase(text.substr(0, open - 1), name_written);
  Require(decoded.has_value(), "a display name can be decoded");
  return {*decoded, std::string(text.substr(open + 1, text.size() - open - 2))};
}

// Splits a mailbox list at the commas between mailboxes (not those in quotes).
std::vector<std::string_view> SplitMailboxes(std::string_view value) {
  std::vector<std::string_view> out;
  bool quoted = false;
  std::size_t start = 0;
  for (std::size_t i = 0; i < value.size(); ++i) {
    if (quoted && value[i] == '\\') {
      ++i;
    } else if (value[i] == '"') {
      quoted = !quoted;
    } else if (!quoted && value[i] == ',') {
      out.push_back(value.substr(start, i - start));
      start = i + 1;
    }
  }
  out.push_back(value.substr(start));
  return out;
}

void CheckMailbox(const mime::Mailbox& written, std::string_view text) {
  const auto read = DecodeMailbox(text, written.display_name);
  Require(read.display_name == written.display_name, "a reader gets back the display name");
  Require(read.address == written.address, "a reader gets back the address");
}

void CheckMessage(const mime::EmailContent& content, const std::string& message) {
  // CR and LF only as CRLF, lines within 998 octets.
  std::size_t line_start = 0;
  for (std::size_t i = 0; i < message.size(); ++i) {
    if (message[i] == '\n') Require(i > 0 && message[i - 1] == '\r', "no bare LF in a message");
    if (message[i] != '\r') continue;
    Require(i + 1 < message.size() && message[i + 1] == '\n', "no bare CR in a message");
    Require(i - line_start <= 998, "every line of a message is within 998 octets");
    line_start = i + 2;
  }
  Require(message.ends_with("\r\n"), "a message ends with CRLF");
  const auto end = message.find("\r\n\r\n");
  Require(end != std::string::npos, "a message has a header section and a body");
  std::vector<Field> fields;
  for (const auto& line : text::Split(std::string_view(message).substr(0, end + 2), '\n')) {
    if (line.empty()) continue;
    const auto text = std::string_view(line).substr(0, line.size() - 1);  // less the CR
    if (text.starts_with(' ') || text.starts_with('\t')) {
      Require(!fields.empty(), "a header section starts with a field, not a fold");
      fields.back().value += text;
      continue;
    }
    const auto colon = text.find(':');
    Require(colon != std::string_view::npos && colon > 0, "a header line is a field or a fold");
    Require(std::all_of(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(colon),
                        [](char c) { return c > 0x20 && c < 0x7F; }),
            "a field name is printable ASCII");
    fields.push_back({std::string(text.substr(0, colon)), std::string(text.substr(colon + 1))});
  }
  std::vector<std::string> expected = {"From", "To", "Subject", "Date", "Message-ID"};
  for (const auto& [name, value] : content.extra_headers) expected.push_back(name);
  expected.push_back("MIME-Version");
  expected.push_back("Content-Type");
  if (content.html_body.empty() && content.attachments.empty()) expected.push_back("Content-Transfer-Encoding");
  Require(fields.size() == expected.size(), "the message has exactly the header fields it was given");
  for (std::size_t i = 0; i < fields.size(); ++i) {
    Require(fields[i].name == expected[i], "the header fields are the given ones, in order");
  }
  const auto subject = DecodeUnstructured(fields[2].value, content.subject);
  Require(subject && *subject == content.subject, "a reader gets back the subject");
  CheckMailbox(content.from, fields[0].value);
  const auto to = SplitMailboxes(fields[1].value);
  Require(to.size() == content.to.size(), "To lists every recipient, once");
  for (std::size_t i = 0; i < to.size(); ++i) CheckMailbox(content.to[i], to[i]);
  for (std::size_t i = 0; i < content.extra_headers.size(); ++i) {
    const auto& value = content.extra_headers[i].second;
    const auto& written = fields[5 + i].value;
    const auto read = IsPrintableAscii(value)
                          ? std::optional<std::string>(written.empty() ? written : written.substr(1))
                          : DecodeUnstructured(written, value);
    Require(read && *read == value, "a reader gets back an extra header's value");
  }
}

void CheckBuildMessage(const std::vector<Line>& lines) {
  mime::EmailContent content;
  content.date = std::chrono::system_clock::time_point(std::chrono::seconds(1'795'000'000));
  std::string to_name;
  mime::Attachment attachment;
  bool have_from = false;
  bool have_id = false;
  for (const auto& [key, value] : lines) {
    if (key == "from") {
      content.from.address = value;
      have_from = true;
    }
    if (key == "from-name") content.from.display_name = value;
    if (key == "to-name") to_name = value;
    if (key == "to") content.to.push_back({std::exchange(to_name, ""), value});
    if (key == "subject") content.subject = value;
    if (key == "message-id") {
      content.message_id = value;
      have_id = true;
    }
    if (key == "text") content.text_body = value;
    if (key == "html") content.html_body = value;
    if (key == "header") {
      const auto colon = value.find(':');
      content.extra_headers.emplace_back(value.substr(0, colon),
                                         colon == std::string::npos ? "" : value.substr(colon + 1));
    }
    if (key == "attachment-name") attachment.filename = value;
    if (key == "attachment-type") attachment.content_type = value;
    if (key == "attachment") {
      attachment.data = value;
      content.attachments.push_back(std::exchange(attachment, {}));
    }
  }
  if (!have_from) content.from.address = "certificates@herald.invalid";
  if (content.to.empty()) content.to.push_back({"", "ann@example.org"});
  if (!have_id) content.message_id = "fuzz@herald.invalid";
  auto built = mime::BuildMessage(content);
  if (!built) {
    Require(built.error().code.starts_with("mime."), "a message that cannot be built is a mime.* error");
    return;
  }
  CheckMessage(content, *built);
}

void FuzzOne(std::string_view input) {
  const auto lines = ReadLines(input);
  for (const auto& line : lines) CheckEncodings(line.value);
  CheckWriterCalls(lines);
  CheckBuildMessage(lines);
}

}  // namespace
}  // namespace herald::fuzz

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  herald::fuzz::FuzzOne(std::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
