// Our own narrow RFC 5322/2045 message writer: text and HTML bodies, attachments,
// RFC 2047 encoded headers, RFC 2231 file names. Built for speed on the send
// path; every shape it writes is parsed back by GMime and Python in the tests.
// Header values can never add or split a header: CR, LF or NUL in any header
// input is an error, not something to clean up.
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.hpp"

namespace herald::mime {

struct Mailbox {
  std::string display_name;  // UTF-8, may be empty
  std::string address;       // addr-spec, ASCII
};

struct Attachment {
  std::string filename;      // UTF-8
  std::string content_type;  // e.g. "application/pdf"
  std::string data;          // raw bytes
};

struct EmailContent {
  Mailbox from;
  std::vector<Mailbox> to;
  std::string subject;
  std::string text_body;
  std::string html_body;  // empty: text only
  std::vector<Attachment> attachments;
  std::chrono::system_clock::time_point date;
  std::string message_id;  // without angle brackets
  std::vector<std::pair<std::string, std::string>> extra_headers;
};

// The whole message with CRLF line endings, not dot-stuffed.
Result<std::string> BuildMessage(const EmailContent& content);

// "<unique_part>@<domain>" without angle brackets; unique_part is kept to
// characters that are safe in a msg-id.
std::string MakeMessageId(std::string_view unique_part, std::string_view domain);

// RFC 2047 encoded-words (UTF-8, base64) when text is not plain ASCII, else text.
std::string EncodeHeaderText(std::string_view utf8);

}  // namespace herald::mime
