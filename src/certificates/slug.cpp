#include "certificates/slug.hpp"

#include <algorithm>
#include <map>
#include <stdexcept>

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
  bases.reserve(names.size());
  std::map<std::string, int> uses;
  for (const auto& name : names) ++uses[bases.emplace_back(SlugBase(name))];

  // Suffix length per name: 0 keeps the bare readable part. An empty or shared
  // readable part starts at 8 hex digits. A suffixed slug can still meet another
  // name's bare slug (an event literally named "ai-ml-1a2b3c4d") or, in theory, a
  // hash prefix; every name in such a clash takes a longer suffix until none is left.
  // The exact names are distinct, so full digests differ and the loop ends; it
  // looks only at the list, so the result does not depend on the order of lines.
  std::vector<size_t> suffix(names.size(), 0);
  std::vector<std::string> digests(names.size());
  auto slug_of = [&](size_t i) {
    if (suffix[i] == 0) return bases[i];
    if (digests[i].empty()) digests[i] = Sha256Hex(names[i]);
    const auto hash = digests[i].substr(0, suffix[i]);
    return bases[i].empty() ? "event-" + hash : bases[i] + "-" + hash;
  };
  for (size_t i = 0; i < names.size(); ++i) {
    if (bases[i].empty() || uses[bases[i]] > 1) suffix[i] = 8;
  }
  std::vector<std::string> slugs(names.size());
  while (true) {
    std::map<std::string, std::vector<size_t>> holders;
    for (size_t i = 0; i < names.size(); ++i) holders[slugs[i] = slug_of(i)].push_back(i);
    for (const auto& [slug, indexes] : holders) {
      if (indexes.size() < 2) continue;
      bool grew = false;
      for (const size_t i : indexes) {
        const size_t longer = suffix[i] == 0 ? 8 : std::min<size_t>(suffix[i] * 2, 64);
        grew = grew || longer != suffix[i];
        suffix[i] = longer;
      }
      if (!grew) throw std::invalid_argument("AssignSlugs: event name \"" + names[indexes[0]] + "\" is listed twice");
    }
    if (holders.size() == names.size()) return slugs;
  }
}

}  // namespace herald::certificates
