#include "certificates/slug.hpp"

#include <map>

#include "common/hash.hpp"

namespace herald::certificates {
namespace {

// ASCII spellings of U+00C0..U+017F (Latin-1 Supplement and Latin Extended-A),
// so "Conférence" becomes "conference" rather than "conf-rence".
constexpr const char* kLatinFolding[] = {
    "a", "a", "a", "a", "a", "a", "ae", "c", "e", "e", "e", "e", "i", "i", "i", "i", "d", "n", "o", "o", "o", "o",
    "o", "", "o", "u", "u", "u", "u", "y", "th", "ss", "a", "a", "a", "a", "a", "a", "ae", "c", "e", "e", "e",
    "e", "i", "i", "i", "i", "d", "n", "o", "o", "o", "o", "o", "", "o", "u", "u", "u", "u", "y", "th", "y", "a",
    "a", "a", "a", "a", "a", "c", "c", "c", "c", "c", "c", "c", "c", "d", "d", "d", "d", "e", "e", "e", "e", "e",
    "e", "e", "e", "e", "e", "g", "g", "g", "g", "g", "g", "g", "g", "h", "h", "h", "h", "i", "i", "i", "i", "i",
    "i", "i", "i", "i", "i", "ij", "ij", "j", "j", "k", "k", "k", "l", "l", "l", "l", "l", "l", "l", "l", "l",
    "l", "n", "n", "n", "n", "n", "n", "n", "n", "n", "o", "o", "o", "o", "o", "o", "oe", "oe", "r", "r", "r",
    "r", "r", "r", "s", "s", "s", "s", "s", "s", "s", "s", "t", "t", "t", "t", "t", "t", "u", "u", "u", "u", "u",
    "u", "u", "u", "u", "u", "u", "u", "w", "w", "y", "y", "y", "z", "z", "z", "z", "z", "z", "s"
};

// The code point starting at s[i] and its length in bytes (1 for invalid bytes).
std::pair<char32_t, size_t> DecodeUtf8(std::string_view s, size_t i) {
  const auto c = static_cast<unsigned char>(s[i]);
  if (c < 0x80) return {c, 1};
  const size_t length = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
  if (length == 1 || i + length > s.size()) return {0xFFFD, 1};
  char32_t code = c & (0xFF >> (length + 1));
  for (size_t k = 1; k < length; ++k) code = (code << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
  return {code, length};
}

}  // namespace

std::string SlugBase(std::string_view name) {
  constexpr size_t kMaxLength = 60;
  std::string slug;
  bool pending_dash = false;
  auto append = [&](char c) {
    if (pending_dash && !slug.empty()) slug.push_back('-');
    pending_dash = false;
    slug.push_back(c);
  };
  for (size_t i = 0; i < name.size() && slug.size() < kMaxLength;) {
    const auto [code, length] = DecodeUtf8(name, i);
    i += length;
    if (code >= 'A' && code <= 'Z') {
      append(static_cast<char>(code - 'A' + 'a'));
    } else if ((code >= 'a' && code <= 'z') || (code >= '0' && code <= '9')) {
      append(static_cast<char>(code));
    } else if (code >= 0xC0 && code < 0x180 && *kLatinFolding[code - 0xC0] != '\0') {
      for (const char* c = kLatinFolding[code - 0xC0]; *c != '\0'; ++c) append(*c);
    } else {
      pending_dash = true;
    }
  }
  if (slug.size() > kMaxLength) slug.resize(kMaxLength);
  while (!slug.empty() && slug.back() == '-') slug.pop_back();
  return slug;
}

std::vector<std::string> AssignSlugs(const std::vector<std::string>& names) {
  std::vector<std::string> bases;
  std::map<std::string, int> uses;
  for (const auto& name : names) {
    bases.push_back(SlugBase(name));
    ++uses[bases.back()];
  }
  std::vector<std::string> slugs;
  for (size_t i = 0; i < names.size(); ++i) {
    if (!bases[i].empty() && uses[bases[i]] == 1) {
      slugs.push_back(bases[i]);
    } else {
      const auto suffix = Sha256Hex(names[i]).substr(0, 8);
      slugs.push_back(bases[i].empty() ? "event-" + suffix : bases[i] + "-" + suffix);
    }
  }
  return slugs;
}

}  // namespace herald::certificates
