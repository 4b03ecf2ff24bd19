#include "mime/email_message.hpp"

#include <algorithm>
#include <array>
#include <ctime>
#include <optional>

#include "common/hash.hpp"
#include "common/text.hpp"
#include "mime/transfer_encoding.hpp"

namespace herald::mime {
namespace {

using OptionalError = std::optional<Error>;

constexpr size_t kMaxAddressLength = 254;  // RFC 5321 4.5.3.1.3 (path minus brackets)
constexpr size_t kMaxLocalPartLength = 64;
constexpr size_t kMaxExtraWord = 900;      // keeps "Name: word" inside 998 octets
constexpr size_t kShortFilename = 60;      // longer names go out as RFC 2231 continuations
// Encoded characters per continuation: " filename*12*=utf-8''" plus this and ";" fit 78.
constexpr size_t kFilenameSegment = 54;

bool IsPrintableAscii(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char ch) {
    const auto c = static_cast<unsigned char>(ch);
    return c >= 0x20 && c <= 0x7E;
  });
}

bool IsAsciiAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); }

// RFC 2045 token character (printable, no space, no tspecials).
bool IsTokenChar(char c) {
  return c > 0x20 && c < 0x7F && std::string_view("()<>@,;:\\\"/[]?=").find(c) == std::string_view::npos;
}

bool IsToken(std::string_view s) { return !s.empty() && std::all_of(s.begin(), s.end(), IsTokenChar); }

OptionalError CheckHeaderText(std::string_view field, std::string_view value) {
  if (value.find_first_of(std::string_view("\r\n\0", 3)) != std::string_view::npos) {
    return Error{"mime.header_injection",
                 std::string(field) + " contains a line break or NUL character; it cannot go into a header"};
  }
  if (!text::IsValidUtf8(value)) {
    return Error{"mime.invalid_utf8", std::string(field) + " is not valid UTF-8"};
  }
  return std::nullopt;
}

OptionalError CheckAddress(std::string_view field, std::string_view address) {
  if (auto error = CheckHeaderText(field, address)) return error;
  const auto at = address.find('@');
  const bool valid = !address.empty() && address.size() <= kMaxAddressLength && at != 0 &&
                     at != std::string_view::npos && at <= kMaxLocalPartLength && at + 1 < address.size() &&
                     address.find('@', at + 1) == std::string_view::npos && IsPrintableAscii(address) &&
                     address.find_first_of(" <>()[],;:\\\"") == std::string_view::npos;
  if (!valid) {
    return Error{"mime.invalid_address",
                 std::string(field) + " is not a plain e-mail address: \"" + std::string(address) + "\""};
  }
  return std::nullopt;
}

OptionalError CheckMailbox(std::string_view role, const Mailbox& mailbox) {
  if (auto error = CheckHeaderText(std::string(role) + " name", mailbox.display_name)) return error;
  return CheckAddress(std::string(role) + " address", mailbox.address);
}

OptionalError CheckMessageId(std::string_view id) {
  if (auto error = CheckHeaderText("message id", id)) return error;
  const auto at = id.find('@');
  if (id.empty() || id.size() > kMaxAddressLength || at == 0 || at == std::string_view::npos || at + 1 == id.size() ||
      !IsPrintableAscii(id) || id.find_first_of(" <>") != std::string_view::npos) {
    return Error{"mime.invalid_message_id",
                 "message id must look like \"unique@domain\" without angle brackets: \"" + std::string(id) + "\""};
  }
  return std::nullopt;
}

OptionalError CheckContentType(std::string_view field, std::string_view content_type) {
  if (auto error = CheckHeaderText(field, content_type)) return error;
  const auto semicolon = content_type.find(';');
  const auto type = text::Trim(content_type.substr(0, semicolon));
  const auto slash = type.find('/');
  if (content_type.empty()) return std::nullopt;
  if (slash == std::string_view::npos || !IsToken(type.substr(0, slash)) || !IsToken(type.substr(slash + 1)) ||
      !IsPrintableAscii(content_type) || content_type.size() > kMaxExtraWord) {
    return Error{"mime.invalid_content_type",
                 std::string(field) + " must be \"type/subtype\": \"" + std::string(content_type) + "\""};
  }
  return std::nullopt;
}

OptionalError CheckExtraHeader(std::string_view name, std::string_view value) {
  static constexpr std::array<std::string_view, 9> kOwnFields = {
      "from", "to", "subject", "date", "message-id", "mime-version", "content-type", "content-transfer-encoding",
      "content-disposition"};
  if (auto error = CheckHeaderText("header name \"" + std::string(name) + "\"", name)) return error;
  const bool valid_name = !name.empty() && name.size() <= 64 && std::all_of(name.begin(), name.end(), [](char c) {
    return c > 0x20 && c < 0x7F && c != ':';
  });
  if (!valid_name) return Error{"mime.invalid_header", "invalid header name \"" + std::string(name) + "\""};
  const auto lower = text::ToLowerAscii(name);
  if (std::find(kOwnFields.begin(), kOwnFields.end(), lower) != kOwnFields.end()) {
    return Error{"mime.invalid_header", "header " + std::string(name) + " is written by the message builder itself"};
  }
  if (auto error = CheckHeaderText("header " + std::string(name), value)) return error;
  size_t word = 0;
  for (char c : value) {
    word = c == ' ' ? 0 : word + 1;
    if (word > kMaxExtraWord) {
      return Error{"mime.invalid_header", "header " + std::string(name) + " has a word too long for one line"};
    }
  }
  return std::nullopt;
}

OptionalError Validate(const EmailContent& content) {
  if (auto error = CheckMailbox("from", content.from)) return error;
  if (content.to.empty()) return Error{"mime.no_recipient", "a message needs at least one To address"};
  for (size_t i = 0; i < content.to.size(); ++i) {
    if (auto error = CheckMailbox("to", content.to[i])) {
      error->message += " (recipient " + std::to_string(i + 1) + ")";
      return error;
    }
  }
  if (auto error = CheckHeaderText("subject", content.subject)) return error;
  if (auto error = CheckMessageId(content.message_id)) return error;
  for (size_t i = 0; i < content.attachments.size(); ++i) {
    const auto& attachment = content.attachments[i];
    auto error = CheckHeaderText("attachment filename", attachment.filename);
    if (!error) error = CheckContentType("attachment content type", attachment.content_type);
    if (error) {
      error->message += " (attachment " + std::to_string(i + 1) + ")";
      return error;
    }
  }
  for (const auto& [name, value] : content.extra_headers) {
    if (auto error = CheckExtraHeader(name, value)) return error;
  }
  return std::nullopt;
}

void AppendMailbox(HeaderWriter& header, const Mailbox& mailbox) {
  header.AppendPhrase(mailbox.display_name);
  header.AppendAddress(mailbox.address, !mailbox.display_name.empty());
}

// RFC 5322 date-time in UTC; fixed English names, whatever the process locale.
std::string FormatDate(std::chrono::system_clock::time_point when) {
  static constexpr std::array<std::string_view, 7> kDays = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr std::array<std::string_view, 12> kMonths = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                               "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  const std::time_t seconds =
      std::chrono::system_clock::to_time_t(std::chrono::floor<std::chrono::seconds>(when));
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char buffer[48];
  std::snprintf(buffer, sizeof buffer, "%s, %02d %s %04d %02d:%02d:%02d +0000", kDays[utc.tm_wday].data(),
                utc.tm_mday, kMonths[utc.tm_mon].data(), utc.tm_year + 1900, utc.tm_hour, utc.tm_min, utc.tm_sec);
  return buffer;
}

// An ASCII stand-in for clients that do not read RFC 2231: runs of other
// characters become one '_', the extension is kept when the name is shortened.
std::string FallbackFilename(std::string_view filename) {
  std::string out;
  for (char ch : filename) {
    const auto c = static_cast<unsigned char>(ch);
    if (c >= 0x20 && c < 0x7F && ch != '"' && ch != '\\') {
      out += ch;
    } else if (c < 0x80 || c >= 0xC0) {  // one '_' per character, not per byte
      if (out.empty() || out.back() != '_') out += '_';
    }
  }
  const auto dot = out.rfind('.');
  const std::string extension = dot != std::string::npos && out.size() - dot <= 10 ? out.substr(dot) : "";
  std::string stem = out.substr(0, out.size() - extension.size());
  if (stem.size() + extension.size() > kShortFilename) stem.resize(kShortFilename - extension.size());
  if (std::none_of(stem.begin(), stem.end(), IsAsciiAlnum)) stem = "attachment";
  return stem + extension;
}

std::string Quoted(std::string_view value) {
  std::string out = "\"";
  for (char c : value) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  out += '"';
  return out;
}

// RFC 2231 filename*: percent-encoded UTF-8, split into numbered continuations
// between characters so each piece sits on its own folded line.
void AppendExtendedFilename(HeaderWriter& header, std::string_view filename) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::vector<std::string> segments(1);
  size_t i = 0;
  while (i < filename.size()) {
    const auto lead = static_cast<unsigned char>(filename[i]);
    const size_t length = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
    std::string encoded;
    for (size_t k = i; k < std::min(filename.size(), i + length); ++k) {
      const char ch = filename[k];
      if (IsAsciiAlnum(ch) || std::string_view("!#$&+-.^_`|~").find(ch) != std::string_view::npos) {
        encoded += ch;
      } else {
        const auto c = static_cast<unsigned char>(ch);
        encoded += '%';
        encoded += kHex[c >> 4];
        encoded += kHex[c & 0x0F];
      }
    }
    if (segments.back().size() + encoded.size() > kFilenameSegment && !segments.back().empty()) {
      segments.emplace_back();
    }
    segments.back() += encoded;
    i += length;
  }
  for (size_t n = 0; n < segments.size(); ++n) {
    header.AppendRaw(";");
    std::string parameter = segments.size() == 1 ? "filename*=" : "filename*" + std::to_string(n) + "*=";
    if (n == 0) parameter += "utf-8''";
    header.AppendWord(parameter + segments[n]);
  }
}

void AppendAttachmentPart(std::string& out, const Attachment& attachment) {
  const bool has_name = !attachment.filename.empty();
  const bool short_ascii = IsPrintableAscii(attachment.filename) && attachment.filename.size() <= kShortFilename;
  const std::string fallback = has_name ? (short_ascii ? attachment.filename : FallbackFilename(attachment.filename))
                                        : std::string();
  {
    HeaderWriter header(out, "Content-Type");
    header.AppendFoldedAscii(attachment.content_type.empty() ? std::string_view("application/octet-stream")
                                                             : std::string_view(attachment.content_type));
    if (has_name) {
      header.AppendRaw(";");
      header.AppendWord("name=" + Quoted(fallback));
    }
    header.Finish();
  }
  out += "Content-Transfer-Encoding: base64\r\n";
  {
    HeaderWriter header(out, "Content-Disposition");
    header.AppendWord("attachment");
    // Only one form of the parameter: GMime and Python both report a duplicate
    // when filename and filename* meet. The ASCII fallback lives in the
    // Content-Type name parameter, which is what clients without RFC 2231 read.
    if (has_name && !short_ascii) {
      AppendExtendedFilename(header, attachment.filename);
    } else if (has_name) {
      header.AppendRaw(";");
      header.AppendWord("filename=" + Quoted(fallback));
    }
    header.Finish();
  }
  out += "\r\n";
  AppendBase64Lines(out, attachment.data);
  // The CRLF before the next delimiter belongs to the delimiter.
  if (!attachment.data.empty()) out.resize(out.size() - 2);
}

void AppendTextPart(std::string& out, std::string_view subtype, std::string_view body) {
  out += "Content-Type: text/";
  out += subtype;
  out += "; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n";
  AppendQuotedPrintable(out, body);
}

void AppendMultipartHeader(std::string& out, std::string_view subtype, std::string_view boundary) {
  HeaderWriter header(out, "Content-Type");
  header.AppendWord("multipart/" + std::string(subtype) + ";");
  header.AppendWord("boundary=\"" + std::string(boundary) + "\"");
  header.Finish();
  out += "\r\n";
}

void AppendDelimiter(std::string& out, std::string_view boundary, bool first) {
  out += first ? "--" : "\r\n--";
  out += boundary;
  out += "\r\n";
}

void AppendCloseDelimiter(std::string& out, std::string_view boundary) {
  out += "\r\n--";
  out += boundary;
  out += "--";
}

// Size of the finished message, rounded up, so the buffer is allocated once
// (the encoders size their output for the worst case before trimming).
size_t EstimateSize(const EmailContent& content) {
  size_t size = 4096 + 4 * (content.text_body.size() + content.html_body.size()) + 64 * content.to.size();
  for (const auto& [name, value] : content.extra_headers) size += name.size() + value.size() * 2 + 16;
  for (const auto& attachment : content.attachments) {
    size += attachment.data.size() / 57 * 78 + 600 + 12 * attachment.filename.size();
  }
  return size;
}

}  // namespace

Result<std::string> BuildMessage(const EmailContent& content) {
  if (auto error = Validate(content)) return Unexpected<Error>(std::move(*error));

  std::string out;
  out.reserve(EstimateSize(content));
  {
    HeaderWriter header(out, "From");
    AppendMailbox(header, content.from);
    header.Finish();
  }
  {
    HeaderWriter header(out, "To");
    for (size_t i = 0; i < content.to.size(); ++i) {
      if (i > 0) header.AppendRaw(",");
      AppendMailbox(header, content.to[i]);
    }
    header.Finish();
  }
  {
    HeaderWriter header(out, "Subject");
    header.AppendUnstructured(content.subject);
    header.Finish();
  }
  {
    HeaderWriter header(out, "Date");
    header.AppendWord(FormatDate(content.date));
    header.Finish();
  }
  {
    HeaderWriter header(out, "Message-ID");
    header.AppendAddress(content.message_id, true);
    header.Finish();
  }
  for (const auto& [name, value] : content.extra_headers) {
    HeaderWriter header(out, name);
    if (IsPrintableAscii(value)) {
      header.AppendFoldedAscii(value);
    } else {
      header.AppendUnstructured(value);
    }
    header.Finish();
  }
  out += "MIME-Version: 1.0\r\n";

  // No body line can start with "--=_": quoted-printable writes '=' as "=3D" and
  // base64 has no '-' and only ends a line with '='. So these boundaries cannot
  // occur in any content, whatever it holds; the digest only tells messages apart.
  const std::string seed = Sha256Hex(content.message_id).substr(0, 16);
  const std::string mixed = "=_herald_m_" + seed;
  const std::string alternative = "=_herald_a_" + seed;

  const auto append_body = [&] {
    if (content.html_body.empty()) {
      AppendTextPart(out, "plain", content.text_body);
      return;
    }
    AppendMultipartHeader(out, "alternative", alternative);
    AppendDelimiter(out, alternative, true);
    AppendTextPart(out, "plain", content.text_body);
    AppendDelimiter(out, alternative, false);
    AppendTextPart(out, "html", content.html_body);
    AppendCloseDelimiter(out, alternative);
  };

  if (content.attachments.empty()) {
    append_body();
  } else {
    AppendMultipartHeader(out, "mixed", mixed);
    AppendDelimiter(out, mixed, true);
    append_body();
    for (const auto& attachment : content.attachments) {
      AppendDelimiter(out, mixed, false);
      AppendAttachmentPart(out, attachment);
    }
    AppendCloseDelimiter(out, mixed);
  }
  if (out.size() < 2 || out.compare(out.size() - 2, 2, "\r\n") != 0) out += "\r\n";
  return out;
}

std::string MakeMessageId(std::string_view unique_part, std::string_view domain) {
  const auto safe = [](std::string_view s, size_t max_size) {
    return !s.empty() && s.size() <= max_size && s.front() != '.' && s.back() != '.' &&
           s.find("..") == std::string_view::npos &&
           std::all_of(s.begin(), s.end(), [](char c) { return IsAsciiAlnum(c) || c == '.' || c == '-' || c == '_'; });
  };
  std::string left;
  if (unique_part.empty()) {
    left = RandomHex(16);
  } else if (safe(unique_part, 64)) {
    left = std::string(unique_part);
  } else {
    left = Sha256Hex(unique_part).substr(0, 32);
  }
  return left + "@" + (safe(domain, 253) ? std::string(domain) : std::string("herald.invalid"));
}

Result<Mailbox> ParseMailbox(std::string_view text) {
  const auto trimmed = text::Trim(text);
  const auto open = trimmed.rfind('<');
  Mailbox mailbox;
  if (open != std::string_view::npos && !trimmed.empty() && trimmed.back() == '>') {
    auto name = text::Trim(trimmed.substr(0, open));
    if (name.size() >= 2 && name.front() == '"' && name.back() == '"') name = name.substr(1, name.size() - 2);
    mailbox.display_name = std::string(name);
    mailbox.address = std::string(text::Trim(trimmed.substr(open + 1, trimmed.size() - open - 2)));
  } else {
    mailbox.address = std::string(trimmed);
  }
  const auto at = mailbox.address.find('@');
  if (at == std::string::npos || at == 0 || at + 1 == mailbox.address.size() ||
      mailbox.address.find_first_of(" <>\t\r\n") != std::string::npos) {
    return MakeError("mailbox.invalid", "not an e-mail address: \"" + std::string(text) + "\"");
  }
  return mailbox;
}

}  // namespace herald::mime
