// Small string helpers shared by every module: trimming, case folding of ASCII,
// UTF-8 validation. Kept here so each parser does not grow its own copy.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace herald::text {

std::string_view Trim(std::string_view s);
std::string ToLowerAscii(std::string_view s);
// One code point of UTF-8 at s[i]: its value and length, or length 0 when the
// bytes there are not a well-formed sequence (overlong forms, surrogates, code
// points above U+10FFFF and cut-off sequences included). The one decoder every
// module uses.
struct Utf8Char {
  char32_t code_point = 0;
  std::size_t length = 0;
};
Utf8Char DecodeUtf8(std::string_view s, std::size_t i);
bool IsValidUtf8(std::string_view s);
// True if s holds an ASCII control character (CR, LF, NUL, ...) other than TAB.
bool HasControlCharacters(std::string_view s);
std::vector<std::string> Split(std::string_view s, char separator);
// Lower-case hex of the bytes.
std::string Hex(std::string_view bytes);

}  // namespace herald::text
