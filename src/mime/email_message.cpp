#include "mime/email_message.hpp"

#include <algorithm>
#include <ctime>

#include "common/hash.hpp"

namespace herald::mime {
namespace {

constexpr char kBase64Alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr size_t kMaxEncodedWord = 75;

void AppendBase64(std::string& out, std::string_view data, size_t line_length) {
  size_t column = 0;
  size_t i = 0;
  auto emit = [&](char c) {
    out.push_back(c);
    if (line_length > 0 && ++column == line_length) {
      out += "\r\n";
      column = 0;
    }
  };
  for (; i + 2 < data.size(); i += 3) {
    const auto a = static_cast<unsigned char>(data[i]);
    const auto b = static_cast<unsigned char>(data[i + 1]);
    const auto c = static_cast<unsigned char>(data[i + 2]);
    emit(kBase64Alphabet[a >> 2]);
    emit(kBase64Alphabet[((a & 0x03) << 4) | (b >> 4)]);
    emit(kBase64Alphabet[((b & 0x0F) << 2) | (c >> 6)]);
    emit(kBase64Alphabet[c & 0x3F]);
  }
  if (i < data.size()) {
    const auto a = static_cast<unsigned char>(data[i]);
    const bool two = i + 1 < data.size();
    const auto b = two ? static_cast<unsigned char>(data[i + 1]) : 0;
    emit(kBase64Alphabet[a >> 2]);
    emit(kBase64Alphabet[((a & 0x03) << 4) | (b >> 4)]);
    emit(two ? kBase64Alphabet[(b & 0x0F) << 2] : '=');
    emit('=');
  }
  if (line_length > 0 && column != 0) out += "\r\n";
}

bool IsPlainAscii(std::string_view s) {
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c > 0x7E) return false;
  }
  return true;
}

bool HasLineBreakOrNul(std::string_view s) { return s.find_first_of(std::string_view("\r\n\0", 3)) != s.npos; }

Result<void> CheckHeaderInput(std::string_view field, std::string_view value) {
  if (HasLineBreakOrNul(value)) {
    return MakeError("mime.header_injection", std::string(field) + " contains a line break or NUL character");
  }
  return {};
}

Result<void> CheckAddress(std::string_view field, std::string_view address) {
  if (auto ok = CheckHeaderInput(field, address); !ok) return ok;
  const auto at = address.find('@');
  if (address.empty() || at == 0 || at == address.npos || at + 1 == address.size() ||
      address.find('@', at + 1) != address.npos || !IsPlainAscii(address) ||
      address.find_first_of(" <>(),;:\\\"[]") != address.npos) {
    return MakeError("mime.invalid_address", std::string(field) + " is not a valid address: \"" +
                                                 std::string(address) + "\"");
  }
  return {};
}

// Length of the UTF-8 sequence starting with lead byte c (1 for invalid bytes).
size_t Utf8Length(unsigned char c) {
  if (c >= 0xF0) return 4;
  if (c >= 0xE0) return 3;
  if (c >= 0xC0) return 2;
  return 1;
}

// Encoded words of at most kMaxEncodedWord chars, split between characters,
// joined by CRLF SP so each sits on its own folded line.
std::string EncodeWords(std::string_view utf8, size_t first_line_used) {
  constexpr std::string_view kPrefix = "=?utf-8?b?";
  constexpr std::string_view kSuffix = "?=";
  std::string out;
  size_t pos = 0;
  bool first = true;
  while (pos < utf8.size()) {
    // Room for base64 text: 4 chars per 3 bytes.
    const size_t budget_chars = kMaxEncodedWord - kPrefix.size() - kSuffix.size() - (first ? std::min<size_t>(first_line_used, 20) : 0);
    const size_t budget_bytes = budget_chars / 4 * 3;
    size_t end = pos;
    while (end < utf8.size()) {
      const size_t len = Utf8Length(static_cast<unsigned char>(utf8[end]));
      if (end + len - pos > budget_bytes) break;
      end += len;
    }
    if (end == pos) end = std::min(utf8.size(), pos + Utf8Length(static_cast<unsigned char>(utf8[pos])));
    if (!first) out += "\r\n ";
    out += kPrefix;
    AppendBase64(out, utf8.substr(pos, end - pos), 0);
    out += kSuffix;
    pos = end;
    first = false;
  }
  return out;
}

// Folds plain ASCII header text at spaces so lines stay within 78 characters.
std::string FoldAscii(std::string_view text, size_t first_line_used) {
  std::string out;
  size_t line = first_line_used;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t next = text.find(' ', pos + 1);
    if (next == text.npos) next = text.size();
    const auto word = text.substr(pos, next - pos);
    if (line + word.size() > 78 && line > first_line_used && word.front() == ' ') {
      out += "\r\n";
      line = 0;
    }
    out += word;
    line += word.size();
    pos = next;
  }
  return out;
}

bool IsAtext(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         std::string_view("!#$%&'*+-/=?^_`{|}~ ").find(c) != std::string_view::npos;
}

std::string FormatMailbox(const Mailbox& mailbox) {
  if (mailbox.display_name.empty()) return mailbox.address;
  std::string name;
  const auto& display = mailbox.display_name;
  if (!IsPlainAscii(display)) {
    name = EncodeWords(display, 10);
  } else if (std::all_of(display.begin(), display.end(), IsAtext)) {
    name = display;
  } else {
    name = "\"";
    for (char c : display) {
      if (c == '"' || c == '\\') name += '\\';
      name += c;
    }
    name += "\"";
  }
  return name + " <" + mailbox.address + ">";
}

std::string FormatDate(std::chrono::system_clock::time_point when) {
  const std::time_t t = std::chrono::system_clock::to_time_t(when);
  std::tm utc{};
  gmtime_r(&t, &utc);
  char buffer[64];
  std::strftime(buffer, sizeof buffer, "%a, %d %b %Y %H:%M:%S +0000", &utc);
  return buffer;
}

// Quoted-printable (RFC 2045 6.7) with CRLF hard line breaks; any bare CR or LF
// in the input becomes a CRLF.
void AppendQuotedPrintable(std::string& out, std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  size_t column = 0;
  auto soft_break = [&] {
    out += "=\r\n";
    column = 0;
  };
  for (size_t i = 0; i < text.size(); ++i) {
    const char ch = text[i];
    if (ch == '\r' || ch == '\n') {
      if (ch == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
      out += "\r\n";
      column = 0;
      continue;
    }
    const auto c = static_cast<unsigned char>(ch);
    const bool next_is_break = i + 1 == text.size() || text[i + 1] == '\r' || text[i + 1] == '\n';
    const bool literal = (c >= 33 && c <= 126 && c != '=') || ((c == ' ' || c == '\t') && !next_is_break);
    // A '.' at the start of a line is encoded so that no transport ever has to dot-stuff the body.
    const bool encode = !literal || (column == 0 && c == '.');
    const size_t width = encode ? 3 : 1;
    if (column + width > 75) soft_break();
    if (encode) {
      out += '=';
      out += kHex[c >> 4];
      out += kHex[c & 0x0F];
    } else {
      out += ch;
    }
    column += width;
  }
  if (column != 0) out += "\r\n";
}

std::string QuoteParameter(std::string_view value) {
  std::string out = "\"";
  for (char c : value) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

// Non-ASCII file names: RFC 2231 `filename*` in Content-Disposition (what the
// standards say) and an RFC 2047 encoded `name` in Content-Type (what older
// clients read). Never both forms of one parameter: parsers pick differently.
std::string FileNameParameter(std::string_view filename) {
  if (IsPlainAscii(filename)) return "; filename=" + QuoteParameter(filename);
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string extended;
  for (char ch : filename) {
    const auto c = static_cast<unsigned char>(ch);
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
        std::string_view("!#$&+-.^_`|~").find(ch) != std::string_view::npos) {
      extended += ch;
    } else {
      extended += '%';
      extended += kHex[c >> 4];
      extended += kHex[c & 0x0F];
    }
  }
  return ";\r\n filename*=utf-8''" + extended;
}

std::string NameParameter(std::string_view filename) {
  if (IsPlainAscii(filename)) return "; name=" + QuoteParameter(filename);
  return ";\r\n name=\"" + EncodeWords(filename, 0) + "\"";
}

void AppendTextPart(std::string& out, std::string_view subtype, std::string_view body) {
  out += "Content-Type: text/";
  out += subtype;
  out += "; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n";
  AppendQuotedPrintable(out, body);
}

}  // namespace

std::string EncodeHeaderText(std::string_view utf8) {
  if (IsPlainAscii(utf8)) return std::string(utf8);
  return EncodeWords(utf8, 0);
}

std::string MakeMessageId(std::string_view unique_part, std::string_view domain) {
  std::string id;
  for (char c : unique_part) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '-' ||
        c == '_') {
      id += c;
    }
  }
  if (id.empty()) id = RandomHex(12);
  return id + "@" + std::string(domain.empty() ? "herald.invalid" : domain);
}

Result<std::string> BuildMessage(const EmailContent& content) {
  if (auto ok = CheckAddress("from address", content.from.address); !ok) return Unexpected<Error>(ok.error());
  if (auto ok = CheckHeaderInput("from name", content.from.display_name); !ok) return Unexpected<Error>(ok.error());
  if (content.to.empty()) return MakeError("mime.no_recipient", "a message needs at least one To address");
  for (const auto& to : content.to) {
    if (auto ok = CheckAddress("to address", to.address); !ok) return Unexpected<Error>(ok.error());
    if (auto ok = CheckHeaderInput("to name", to.display_name); !ok) return Unexpected<Error>(ok.error());
  }
  if (auto ok = CheckHeaderInput("subject", content.subject); !ok) return Unexpected<Error>(ok.error());
  if (auto ok = CheckHeaderInput("message id", content.message_id); !ok) return Unexpected<Error>(ok.error());
  for (const auto& a : content.attachments) {
    if (auto ok = CheckHeaderInput("attachment filename", a.filename); !ok) return Unexpected<Error>(ok.error());
    if (auto ok = CheckHeaderInput("attachment content type", a.content_type); !ok) {
      return Unexpected<Error>(ok.error());
    }
  }
  for (const auto& [name, value] : content.extra_headers) {
    if (auto ok = CheckHeaderInput("header name", name); !ok) return Unexpected<Error>(ok.error());
    if (auto ok = CheckHeaderInput("header " + name, value); !ok) return Unexpected<Error>(ok.error());
    if (name.empty() || name.find(':') != std::string::npos || !IsPlainAscii(name) ||
        name.find(' ') != std::string::npos) {
      return MakeError("mime.invalid_header", "invalid header name \"" + name + "\"");
    }
  }

  size_t size_hint = 1024 + content.text_body.size() * 11 / 10 + content.html_body.size() * 11 / 10;
  for (const auto& a : content.attachments) size_hint += a.data.size() * 138 / 100 + 512;
  std::string out;
  out.reserve(size_hint);

  out += "From: " + FormatMailbox(content.from) + "\r\n";
  out += "To: ";
  for (size_t i = 0; i < content.to.size(); ++i) {
    if (i > 0) out += ",\r\n ";
    out += FormatMailbox(content.to[i]);
  }
  out += "\r\n";
  out += "Subject: ";
  out += IsPlainAscii(content.subject) ? FoldAscii(content.subject, 9) : EncodeWords(content.subject, 9);
  out += "\r\n";
  out += "Date: " + FormatDate(content.date) + "\r\n";
  out += "Message-ID: <" + content.message_id + ">\r\n";
  for (const auto& [name, value] : content.extra_headers) {
    out += name + ": " + EncodeHeaderText(value) + "\r\n";
  }
  out += "MIME-Version: 1.0\r\n";

  // "=_" never occurs in quoted-printable or base64 output, so these boundaries
  // cannot collide with any body content.
  const std::string seed = Sha256Hex(content.message_id).substr(0, 16);
  const std::string mixed = "=_herald_mixed_" + seed;
  const std::string alternative = "=_herald_alt_" + seed;

  auto append_body = [&] {
    if (content.html_body.empty()) {
      AppendTextPart(out, "plain", content.text_body);
      return;
    }
    out += "Content-Type: multipart/alternative; boundary=\"" + alternative + "\"\r\n\r\n";
    out += "--" + alternative + "\r\n";
    AppendTextPart(out, "plain", content.text_body);
    out += "--" + alternative + "\r\n";
    AppendTextPart(out, "html", content.html_body);
    out += "--" + alternative + "--\r\n";
  };

  if (content.attachments.empty()) {
    append_body();
    return out;
  }
  out += "Content-Type: multipart/mixed; boundary=\"" + mixed + "\"\r\n\r\n";
  out += "This is a multi-part message in MIME format.\r\n";
  out += "--" + mixed + "\r\n";
  append_body();
  for (const auto& a : content.attachments) {
    out += "--" + mixed + "\r\n";
    out += "Content-Type: " + (a.content_type.empty() ? std::string("application/octet-stream") : a.content_type) +
           NameParameter(a.filename) + "\r\n";
    out += "Content-Transfer-Encoding: base64\r\n";
    out += "Content-Disposition: attachment" + FileNameParameter(a.filename) + "\r\n\r\n";
    AppendBase64(out, a.data, 76);
  }
  out += "--" + mixed + "--\r\n";
  return out;
}

}  // namespace herald::mime
