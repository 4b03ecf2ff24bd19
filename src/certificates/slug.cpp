#include "certificates/slug.hpp"

#include <map>

#include "common/hash.hpp"

namespace herald::certificates {

std::string SlugBase(std::string_view name) {
  constexpr size_t kMaxLength = 60;
  std::string slug;
  bool pending_dash = false;
  for (char ch : name) {
    char c = ch;
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) {
      if (pending_dash && !slug.empty()) slug.push_back('-');
      pending_dash = false;
      slug.push_back(c);
      if (slug.size() >= kMaxLength) break;
    } else {
      pending_dash = true;
    }
  }
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
