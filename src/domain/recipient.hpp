// Who a message can go to and what it may say, per channel: recipient addresses
// are checked and put in one canonical form (so the same person is the same key
// in the store), and content is checked against each provider's limits before it is queued.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.hpp"

namespace herald::domain {

enum class Channel { kSms, kWhatsapp, kEmail, kTelegram };

// "sms", "whatsapp", "email", "telegram" in any ASCII case; nullopt for anything else.
std::optional<Channel> ParseChannel(std::string_view name);
// The lower-case name ParseChannel accepts; also the queue routing key.
const char* ToString(Channel channel);

// Checks `to` for the channel and returns its canonical form; surrounding
// whitespace is ignored. Errors have code "recipient.invalid".
//   sms, whatsapp: E.164, "+" then 8 to 15 digits, the first not 0. Spaces, dashes,
//     dots and parentheses are dropped; whatsapp also takes a "whatsapp:" prefix.
//     Both return "+<digits>": adding a provider's prefix is the channel's business.
//   email: one '@', an ASCII local part of 1 to 64 characters (no quoting, no
//     misplaced dots), a dotted domain of ASCII letters, digits and '-' whose last
//     label is not all digits, at most 254 characters. The domain is lower-cased,
//     the local part kept as written (it may be case-sensitive).
//   telegram: a chat id (a non-zero 64-bit integer, negative for groups and
//     channels) or "@username" (5 to 32 ASCII letters, digits or '_', starting
//     with a letter). Usernames are lower-cased: Telegram ignores their case.
Result<std::string> NormalizeRecipient(Channel channel, std::string_view to);

// Why `email` is not an address Herald sends to (nullopt: it is): the one check of
// e-mail addresses, shared by the API, campaigns and the certificate job.
std::optional<std::string_view> EmailProblem(std::string_view email);

struct SmsSegments {
  std::string encoding;  // "GSM-7" or "UCS-2"
  // Units counted against the segment size: septets for GSM-7 (an extension
  // character such as '€' is 2), UTF-16 code units for UCS-2 (an emoji is 2).
  int characters = 0;
  int segments = 0;  // 0 for empty text
};

inline constexpr int kGsm7SingleSegment = 160;
inline constexpr int kGsm7MultipartSegment = 153;  // 7 septets go to the concatenation header
inline constexpr int kUcs2SingleSegment = 70;
inline constexpr int kUcs2MultipartSegment = 67;

// GSM-7 when every character is in the GSM 03.38 basic set or its extension
// table, else UCS-2. A character is never split across segments (an escape pair
// or a surrogate pair stays whole), which is how handsets and providers pack
// them, so a multipart count can exceed ceil(characters / 153). Invalid UTF-8
// bytes are counted as U+FFFD.
SmsSegments CountSmsSegments(std::string_view utf8);

inline constexpr int kMaxSmsSegments = 10;
inline constexpr int kMaxTelegramCharacters = 4096;
inline constexpr int kMaxWhatsappCharacters = 4096;
inline constexpr std::size_t kMaxEmailSubjectBytes = 998;  // RFC 5322 line limit: beyond it, clients and relays diverge
inline constexpr std::size_t kMaxEmailBodyBytes = 1024 * 1024;  // attachments travel separately

// Defaults are the constants above; a deployment may lower them (e.g. fewer
// SMS segments to cap cost per message).
struct ContentLimits {
  int max_sms_segments = kMaxSmsSegments;
  int max_telegram_characters = kMaxTelegramCharacters;
  int max_whatsapp_characters = kMaxWhatsappCharacters;
  std::size_t max_email_subject_bytes = kMaxEmailSubjectBytes;
  std::size_t max_email_body_bytes = kMaxEmailBodyBytes;
};

// Checks a message's content for the channel. The body must hold more than
// whitespace, be valid UTF-8 and contain no NUL. The subject is only used by
// e-mail (other channels ignore it, so one request can fan out to several) but
// must be valid UTF-8 everywhere; an e-mail subject may not hold CR, LF or other
// control characters. Telegram and WhatsApp lengths are in UTF-16 code units,
// the unit Telegram measures in, which never undercounts for WhatsApp.
// Error codes: "content.invalid" or "content.too_long"; the message names the channel and field.
Result<void> ValidateContent(Channel channel, std::string_view subject, std::string_view body,
                             const ContentLimits& limits = {});

}  // namespace herald::domain
