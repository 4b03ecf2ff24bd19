// Our own narrow RFC 5322/2045 message writer: text and HTML bodies, attachments,
// RFC 2047 encoded headers, RFC 2231 file names. Built for speed on the send
// path; every shape it writes is parsed back by GMime and Python in the tests.
// Header values can never add or split a header: CR, LF or NUL in any header
// input is an error naming the field, not something to clean up.
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.hpp"
#include "mime/header_writer.hpp"

namespace herald::mime {

struct Mailbox {
  std::string display_name;  // UTF-8, may be empty
  std::string address;       // addr-spec, printable ASCII with one '@' (no SMTPUTF8)
};

struct Attachment {
  std::string filename;      // UTF-8; non-ASCII names get RFC 2231 filename* plus an ASCII fallback
  std::string content_type;  // "type/subtype" with optional "; parameters"; empty = application/octet-stream
  std::string data;          // raw bytes, sent as base64
};

struct EmailContent {
  Mailbox from;
  std::vector<Mailbox> to;  // at least one
  std::string subject;      // UTF-8
  std::string text_body;    // UTF-8; bare LF or CR become CRLF
  std::string html_body;    // empty: text only; else multipart/alternative
  std::vector<Attachment> attachments;  // any: multipart/mixed
  std::chrono::system_clock::time_point date;
  std::string message_id;  // without angle brackets, e.g. from MakeMessageId
  // Written after the standard fields. Printable ASCII values are only folded
  // (so structured values such as List-Unsubscribe stay intact); other values are
  // encoded as unstructured text. Names of fields this writer owns are refused.
  std::vector<std::pair<std::string, std::string>> extra_headers;
};

// The whole message with CRLF line endings, every line within 998 octets (header
// lines within 78 where a fold is possible), not dot-stuffed. Errors (codes
// "mime.*") name the offending field: a line break or NUL in any header input,
// invalid UTF-8 in header text, a malformed address, message id or content type.
Result<std::string> BuildMessage(const EmailContent& content);

// "Name <addr@example.org>" or "addr@example.org" (configuration values such as
// a sender); errors name the text.
Result<Mailbox> ParseMailbox(std::string_view text);

// "<unique_part>@<domain>" without angle brackets. unique_part is used as is when
// it is made of msg-id safe characters (so the same delivery keeps the same id),
// else replaced by a digest of itself; an empty one becomes random hex.
std::string MakeMessageId(std::string_view unique_part, std::string_view domain);

}  // namespace herald::mime
