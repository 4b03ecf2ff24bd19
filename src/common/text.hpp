// Small string helpers shared by every module: trimming, case folding of ASCII,
// UTF-8 validation. Kept here so each parser does not grow its own copy.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace herald::text {

std::string_view Trim(std::string_view s);
std::string ToLowerAscii(std::string_view s);
bool IsValidUtf8(std::string_view s);
// True if s holds an ASCII control character (CR, LF, NUL, ...) other than TAB.
bool HasControlCharacters(std::string_view s);
std::vector<std::string> Split(std::string_view s, char separator);
// Lower-case hex of the bytes.
std::string Hex(std::string_view bytes);

}  // namespace herald::text
