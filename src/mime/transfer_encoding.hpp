// Content-Transfer-Encodings for message bodies (RFC 2045 section 6): base64 for
// attachments and quoted-printable for text. They sit on the send path of every
// message, so both write straight into a pre-sized buffer instead of per character.
#pragma once

#include <string>
#include <string_view>

namespace herald::mime {

// Base64 of data in lines of 76 characters, each ending with CRLF.
void AppendBase64Lines(std::string& out, std::string_view data);

// Base64 of data on one line, no line break (for RFC 2047 encoded-words).
void AppendBase64(std::string& out, std::string_view data);

// Quoted-printable with CRLF hard line breaks; every CR, LF or CRLF in text
// becomes one CRLF. Lines stay within 76 characters. A '.' or "From " at the
// start of a line is encoded so no transport has to dot-stuff or mangle it.
// No CRLF is added after the last line: a text without a final newline ends
// without one, and the caller writes the line break that belongs to what follows.
void AppendQuotedPrintable(std::string& out, std::string_view text);

}  // namespace herald::mime
