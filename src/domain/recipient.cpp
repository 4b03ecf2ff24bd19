#include "domain/recipient.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdint>

#include "common/text.hpp"

namespace herald::domain {
namespace {

constexpr std::string_view kRecipientInvalid = "recipient.invalid";
constexpr std::string_view kContentInvalid = "content.invalid";
constexpr std::string_view kContentTooLong = "content.too_long";
constexpr size_t kMaxQuotedCodePoints = 64;  // longer values are cut in messages
constexpr char32_t kReplacement = 0xFFFD;

struct Decoded {
  char32_t code_point;
  size_t length;
};

// One code point from s[i..]; a byte that does not start a valid sequence decodes
// to U+FFFD and advances by one, so counting never stops at bad input.
Decoded DecodeAt(std::string_view s, size_t i) {
  const auto decoded = text::DecodeUtf8(s, i);
  if (decoded.length == 0) return {kReplacement, 1};
  return {decoded.code_point, decoded.length};
}

int Utf16Units(std::string_view s) {
  int units = 0;
  for (size_t i = 0; i < s.size();) {
    const auto d = DecodeAt(s, i);
    units += d.code_point >= 0x10000 ? 2 : 1;
    i += d.length;
  }
  return units;
}

// A value shown in an error message. Messages end up in JSON responses and logs,
// so the result must be valid UTF-8 and one line whatever the caller sent.
std::string Quote(std::string_view value) {
  const bool utf8 = text::IsValidUtf8(value);
  std::string out = "\"";
  size_t code_points = 0;
  for (size_t i = 0; i < value.size();) {
    if (code_points == kMaxQuotedCodePoints) {
      out += "...";
      break;
    }
    const auto c = static_cast<unsigned char>(value[i]);
    size_t length = 1;
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20 || c == 0x7F || (c >= 0x80 && !utf8)) {
      static constexpr char kDigits[] = "0123456789abcdef";
      out += "\\x";
      out += kDigits[c >> 4];
      out += kDigits[c & 0xF];
    } else {
      length = c < 0x80 ? 1 : DecodeAt(value, i).length;
      out.append(value.substr(i, length));
    }
    i += length;
    ++code_points;
  }
  out += '"';
  return out;
}

bool IsAsciiDigit(char c) { return c >= '0' && c <= '9'; }
bool IsAsciiLetter(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

bool StartsWithIgnoringCase(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && text::ToLowerAscii(s.substr(0, prefix.size())) == prefix;
}

Unexpected<Error> RecipientError(Channel channel, std::string_view to, std::string_view expected,
                                 std::string_view reason) {
  return MakeError(std::string(kRecipientInvalid), std::string(ToString(channel)) + " recipient " + Quote(to) +
                                                       " is not " + std::string(expected) + ": " +
                                                       std::string(reason));
}

Result<std::string> NormalizePhone(Channel channel, std::string_view to) {
  const std::string_view expected = "an E.164 phone number (+ and 8 to 15 digits)";
  std::string_view rest = to;
  if (StartsWithIgnoringCase(rest, "whatsapp:")) {
    if (channel != Channel::kWhatsapp) {
      return RecipientError(channel, to, expected, "only whatsapp takes a whatsapp: prefix");
    }
    rest = text::Trim(rest.substr(9));
  }
  if (rest.empty()) return RecipientError(channel, to, expected, "it is empty");
  if (rest.front() != '+') {
    const bool zeros = rest.starts_with("00");
    return RecipientError(channel, to, expected,
                          zeros ? "write the international prefix 00 as +" : "it does not start with +");
  }
  std::string canonical = "+";
  for (const char c : rest.substr(1)) {
    if (IsAsciiDigit(c)) {
      canonical += c;
    } else if (c != ' ' && c != '-' && c != '.' && c != '(' && c != ')') {
      return RecipientError(channel, to, expected,
                            "it holds a character other than digits, spaces, dashes, dots and parentheses");
    }
  }
  const size_t digits = canonical.size() - 1;
  if (digits < 8 || digits > 15) {
    return RecipientError(channel, to, expected, "it has " + std::to_string(digits) + " digits");
  }
  if (canonical[1] == '0') return RecipientError(channel, to, expected, "country codes do not start with 0");
  return canonical;
}

}  // namespace

std::optional<std::string_view> EmailProblem(std::string_view email) {
  if (email.empty()) return "it is empty";
  if (email.size() > 254) return "it is longer than 254 characters";
  const auto at = email.find('@');
  if (at == std::string_view::npos || email.find('@', at + 1) != std::string_view::npos) {
    return "it must contain exactly one '@'";
  }
  const auto local = email.substr(0, at);
  const auto domain = email.substr(at + 1);
  if (local.empty() || local.size() > 64) return "the part before '@' is empty or longer than 64 characters";
  for (const char ch : local) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == ' ' || c == '\t') return "it contains a space";
    if (c >= 0x80) return "the part before '@' is not ASCII (international addresses are not supported)";
    if (c < 0x20 || c == 0x7F || std::string_view("(),:;<>[]\\\"").find(ch) != std::string_view::npos) {
      return "the part before '@' contains a character not allowed in an address";
    }
  }
  if (local.front() == '.' || local.back() == '.' || local.find("..") != std::string_view::npos) {
    return "the part before '@' has a misplaced dot";
  }
  if (domain.find('.') == std::string_view::npos) return "the domain has no dot";
  std::string_view last_label;
  for (size_t start = 0; start <= domain.size();) {
    const auto end = std::min(domain.find('.', start), domain.size());
    const auto label = domain.substr(start, end - start);
    start = end + 1;
    if (label.empty() || label.size() > 63) return "the domain has an empty or too long part";
    if (label.front() == '-' || label.back() == '-') return "a domain part starts or ends with '-'";
    for (const char c : label) {
      if (c == ' ' || c == '\t') return "it contains a space";
      if (!IsAsciiLetter(c) && !IsAsciiDigit(c) && c != '-') {
        return "the domain may hold only ASCII letters, digits, '-' and '.' (use punycode for IDN)";
      }
    }
    last_label = label;
  }
  // Catches bare IP addresses (user@192.168.0.1), which are not deliverable as written.
  if (std::all_of(last_label.begin(), last_label.end(), IsAsciiDigit)) return "the top-level domain is all digits";
  return std::nullopt;
}

namespace {

Result<std::string> NormalizeEmail(std::string_view to) {
  if (const auto why = EmailProblem(to)) {
    return RecipientError(Channel::kEmail, to, "an e-mail address (local-part@domain.tld)", *why);
  }
  const auto at = to.find('@');
  return std::string(to.substr(0, at + 1)) + text::ToLowerAscii(to.substr(at + 1));
}

Result<std::string> NormalizeTelegram(std::string_view to) {
  const std::string_view expected =
      "a Telegram chat id (an integer, negative for groups) or an @username (5 to 32 letters, digits or underscores)";
  if (to.empty()) return RecipientError(Channel::kTelegram, to, expected, "it is empty");
  if (to.front() == '@') {
    const auto name = to.substr(1);
    if (name.size() < 5 || name.size() > 32) {
      return RecipientError(Channel::kTelegram, to, expected,
                            "the username has " + std::to_string(name.size()) + " characters");
    }
    if (!IsAsciiLetter(name.front())) {
      return RecipientError(Channel::kTelegram, to, expected, "the username does not start with a letter");
    }
    for (const char c : name) {
      if (!IsAsciiLetter(c) && !IsAsciiDigit(c) && c != '_') {
        return RecipientError(Channel::kTelegram, to, expected,
                              "the username holds a character other than letters, digits and '_'");
      }
    }
    return "@" + text::ToLowerAscii(name);
  }
  const auto digits = to.front() == '-' ? to.substr(1) : to;
  if (digits.empty() || !std::all_of(digits.begin(), digits.end(), IsAsciiDigit)) {
    return RecipientError(Channel::kTelegram, to, expected,
                          IsAsciiLetter(to.front()) ? "a username needs a leading @"
                                                     : "a chat id holds only digits, after an optional '-'");
  }
  if (digits.front() == '0') {
    return RecipientError(Channel::kTelegram, to, expected, "a chat id is not 0 and has no leading zeros");
  }
  std::int64_t id = 0;
  const auto [end, ec] = std::from_chars(to.data(), to.data() + to.size(), id);
  if (ec != std::errc() || end != to.data() + to.size()) {
    return RecipientError(Channel::kTelegram, to, expected, "the chat id is out of range");
  }
  return std::string(to);
}

// Septets a code point takes in GSM 03.38: 1 in the basic set, 2 in the
// extension table (escape + code), 0 when the text has to go as UCS-2.
int GsmSeptets(char32_t cp) {
  if (cp < 0x80) {
    if (cp == '\n' || cp == '\r') return 1;
    if (cp == '\f') return 2;  // page break, in the extension table
    if (cp < 0x20 || cp == 0x7F || cp == '`') return 0;
    switch (cp) {
      case '[': case '\\': case ']': case '^': case '{': case '|': case '}': case '~':
        return 2;
      default:
        return 1;
    }
  }
  // The basic set outside ASCII, sorted for binary search.
  static constexpr std::array<char32_t, 39> kBasic = {
      0x00A1, 0x00A3, 0x00A4, 0x00A5, 0x00A7, 0x00BF, 0x00C4, 0x00C5, 0x00C6, 0x00C7,
      0x00C9, 0x00D1, 0x00D6, 0x00D8, 0x00DC, 0x00DF, 0x00E0, 0x00E4, 0x00E5, 0x00E6,
      0x00E8, 0x00E9, 0x00EC, 0x00F1, 0x00F2, 0x00F6, 0x00F8, 0x00F9, 0x00FC, 0x0393,
      0x0394, 0x0398, 0x039B, 0x039E, 0x03A0, 0x03A3, 0x03A6, 0x03A8, 0x03A9,
  };
  if (std::binary_search(kBasic.begin(), kBasic.end(), cp)) return 1;
  if (cp == 0x20AC) return 2;  // euro sign
  return 0;
}

// Segments needed when no character may straddle two of them.
int PackSegments(std::string_view utf8, bool gsm, int per_segment) {
  int segments = 1;
  int used = 0;
  for (size_t i = 0; i < utf8.size();) {
    const auto d = DecodeAt(utf8, i);
    i += d.length;
    const int units = gsm ? GsmSeptets(d.code_point) : (d.code_point >= 0x10000 ? 2 : 1);
    if (used + units > per_segment) {
      ++segments;
      used = 0;
    }
    used += units;
  }
  return segments;
}

Unexpected<Error> ContentError(std::string_view code, Channel channel, std::string_view field,
                               const std::string& problem) {
  return MakeError(std::string(code), std::string(ToString(channel)) + " " + std::string(field) + " " + problem);
}

}  // namespace

std::optional<Channel> ParseChannel(std::string_view name) {
  const auto lower = text::ToLowerAscii(name);
  if (lower == "sms") return Channel::kSms;
  if (lower == "whatsapp") return Channel::kWhatsapp;
  if (lower == "email") return Channel::kEmail;
  if (lower == "telegram") return Channel::kTelegram;
  return std::nullopt;
}

const char* ToString(Channel channel) {
  switch (channel) {
    case Channel::kSms: return "sms";
    case Channel::kWhatsapp: return "whatsapp";
    case Channel::kEmail: return "email";
    case Channel::kTelegram: return "telegram";
  }
  return "unknown";
}

Result<std::string> NormalizeRecipient(Channel channel, std::string_view to) {
  const auto trimmed = text::Trim(to);
  switch (channel) {
    case Channel::kSms:
    case Channel::kWhatsapp:
      return NormalizePhone(channel, trimmed);
    case Channel::kEmail:
      return NormalizeEmail(trimmed);
    case Channel::kTelegram:
      return NormalizeTelegram(trimmed);
  }
  return MakeError(std::string(kRecipientInvalid), "unknown channel");
}

SmsSegments CountSmsSegments(std::string_view utf8) {
  int septets = 0;
  int utf16_units = 0;
  bool gsm = true;
  for (size_t i = 0; i < utf8.size();) {
    const auto d = DecodeAt(utf8, i);
    i += d.length;
    const int s = GsmSeptets(d.code_point);
    gsm = gsm && s > 0;
    septets += s;
    utf16_units += d.code_point >= 0x10000 ? 2 : 1;
  }
  SmsSegments result;
  result.encoding = gsm ? "GSM-7" : "UCS-2";
  result.characters = gsm ? septets : utf16_units;
  const int single = gsm ? kGsm7SingleSegment : kUcs2SingleSegment;
  if (result.characters == 0) {
    result.segments = 0;
  } else if (result.characters <= single) {
    result.segments = 1;
  } else {
    result.segments = PackSegments(utf8, gsm, gsm ? kGsm7MultipartSegment : kUcs2MultipartSegment);
  }
  return result;
}

Result<void> ValidateContent(Channel channel, std::string_view subject, std::string_view body,
                             const ContentLimits& limits) {
  if (!text::IsValidUtf8(subject)) return ContentError(kContentInvalid, channel, "subject", "is not valid UTF-8");
  if (channel == Channel::kEmail) {
    if (subject.find_first_of("\r\n") != std::string_view::npos) {
      // A line break would let the subject end the header and start another one.
      return ContentError(kContentInvalid, channel, "subject", "contains a line break (CR or LF)");
    }
    if (text::HasControlCharacters(subject)) {
      return ContentError(kContentInvalid, channel, "subject", "contains a control character");
    }
    if (subject.size() > limits.max_email_subject_bytes) {
      return ContentError(kContentTooLong, channel, "subject",
                          "is " + std::to_string(subject.size()) + " bytes long; at most " +
                              std::to_string(limits.max_email_subject_bytes) + " are allowed");
    }
  }

  if (text::Trim(body).empty()) return ContentError(kContentInvalid, channel, "body", "is empty");
  if (!text::IsValidUtf8(body)) return ContentError(kContentInvalid, channel, "body", "is not valid UTF-8");
  if (body.find('\0') != std::string_view::npos) {
    return ContentError(kContentInvalid, channel, "body", "contains a NUL character");
  }

  switch (channel) {
    case Channel::kSms: {
      const auto count = CountSmsSegments(body);
      if (count.segments > limits.max_sms_segments) {
        return ContentError(kContentTooLong, channel, "body",
                            "needs " + std::to_string(count.segments) + " segments (" + count.encoding + ", " +
                                std::to_string(count.characters) + " characters); at most " +
                                std::to_string(limits.max_sms_segments) + " are allowed");
      }
      break;
    }
    case Channel::kWhatsapp:
    case Channel::kTelegram: {
      const int max = channel == Channel::kTelegram ? limits.max_telegram_characters : limits.max_whatsapp_characters;
      const int units = Utf16Units(body);
      if (units > max) {
        return ContentError(kContentTooLong, channel, "body",
                            "is " + std::to_string(units) + " characters long; at most " + std::to_string(max) +
                                " are allowed");
      }
      break;
    }
    case Channel::kEmail:
      if (body.size() > limits.max_email_body_bytes) {
        return ContentError(kContentTooLong, channel, "body",
                            "is " + std::to_string(body.size()) + " bytes long; at most " +
                                std::to_string(limits.max_email_body_bytes) + " are allowed");
      }
      break;
  }
  return {};
}

}  // namespace herald::domain
