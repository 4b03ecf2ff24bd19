#include "mime/transfer_encoding.hpp"

#include <algorithm>

namespace herald::mime {
namespace {

constexpr char kBase64Alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr char kHexUpper[] = "0123456789ABCDEF";
constexpr size_t kBase64LineBytes = 57;  // 76 characters of base64
constexpr size_t kQpLineLimit = 76;      // RFC 2045 6.7 rule 5, the soft-break '=' included

// Encodes whole 3-byte groups and the padded tail; returns the end of the output.
char* EncodeBase64(const unsigned char* in, size_t size, char* out) {
  size_t i = 0;
  for (; i + 3 <= size; i += 3) {
    const unsigned group = (unsigned{in[i]} << 16) | (unsigned{in[i + 1]} << 8) | in[i + 2];
    out[0] = kBase64Alphabet[group >> 18];
    out[1] = kBase64Alphabet[(group >> 12) & 0x3F];
    out[2] = kBase64Alphabet[(group >> 6) & 0x3F];
    out[3] = kBase64Alphabet[group & 0x3F];
    out += 4;
  }
  if (i < size) {
    const bool two = i + 1 < size;
    const unsigned group = (unsigned{in[i]} << 16) | (two ? unsigned{in[i + 1]} << 8 : 0u);
    out[0] = kBase64Alphabet[group >> 18];
    out[1] = kBase64Alphabet[(group >> 12) & 0x3F];
    out[2] = two ? kBase64Alphabet[(group >> 6) & 0x3F] : '=';
    out[3] = '=';
    out += 4;
  }
  return out;
}

bool IsLineBreak(char c) { return c == '\r' || c == '\n'; }

}  // namespace

void AppendBase64(std::string& out, std::string_view data) {
  const size_t start = out.size();
  out.resize(start + (data.size() + 2) / 3 * 4);
  EncodeBase64(reinterpret_cast<const unsigned char*>(data.data()), data.size(), out.data() + start);
}

void AppendBase64Lines(std::string& out, std::string_view data) {
  const size_t lines = (data.size() + kBase64LineBytes - 1) / kBase64LineBytes;
  const size_t start = out.size();
  out.resize(start + (data.size() + 2) / 3 * 4 + lines * 2);
  const auto* in = reinterpret_cast<const unsigned char*>(data.data());
  char* cursor = out.data() + start;
  for (size_t offset = 0; offset < data.size(); offset += kBase64LineBytes) {
    const size_t chunk = std::min(kBase64LineBytes, data.size() - offset);
    cursor = EncodeBase64(in + offset, chunk, cursor);
    *cursor++ = '\r';
    *cursor++ = '\n';
  }
}

void AppendQuotedPrintable(std::string& out, std::string_view text) {
  // Worst case: every byte becomes "=XX" (3x), plus a 3-byte soft break per 73
  // output characters; a lone '\n' growing to CRLF stays under that bound.
  const size_t start = out.size();
  out.resize(start + text.size() * 4 + 8);
  char* const begin = out.data() + start;
  char* cursor = begin;
  char* line_start = cursor;
  const size_t size = text.size();
  for (size_t i = 0; i < size; ++i) {
    const char ch = text[i];
    if (IsLineBreak(ch)) {
      if (ch == '\r' && i + 1 < size && text[i + 1] == '\n') ++i;
      *cursor++ = '\r';
      *cursor++ = '\n';
      line_start = cursor;
      continue;
    }
    const auto c = static_cast<unsigned char>(ch);
    bool encode;
    if (c >= 33 && c <= 126) {
      encode = c == '=' ||
               (cursor == line_start && (c == '.' || (c == 'F' && text.substr(i, 5) == "From ")));
    } else if (c == ' ' || c == '\t') {
      // Whitespace before a line break would be stripped in transit (rule 3).
      encode = i + 1 == size || IsLineBreak(text[i + 1]);
    } else {
      encode = true;
    }
    const size_t width = encode ? 3 : 1;
    if (static_cast<size_t>(cursor - line_start) + width > kQpLineLimit - 1) {
      *cursor++ = '=';
      *cursor++ = '\r';
      *cursor++ = '\n';
      line_start = cursor;
      // A character moved to the start of a new line may now need encoding.
      if (!encode && (c == '.' || (c == 'F' && text.substr(i, 5) == "From "))) encode = true;
    }
    if (encode) {
      cursor[0] = '=';
      cursor[1] = kHexUpper[c >> 4];
      cursor[2] = kHexUpper[c & 0x0F];
      cursor += 3;
    } else {
      *cursor++ = ch;
    }
  }
  out.resize(start + static_cast<size_t>(cursor - begin));
}

}  // namespace herald::mime
