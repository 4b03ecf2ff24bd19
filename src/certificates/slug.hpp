// Folder-safe slugs for event names: lower-case ASCII letters, digits and '-',
// never empty, never "." or "..", so a name like "../../etc" cannot leave the
// output folder; and distinct for distinct events (see AssignSlugs).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace herald::certificates {

// The readable part: runs of anything but [a-z0-9] become one '-', trimmed, at
// most 60 characters. May be empty (e.g. an all-CJK name).
std::string SlugBase(std::string_view name);

// Slugs for a list of distinct names, in the same order. A name whose readable
// part is empty or shared with another listed name gets "-" and 8 hex digits of the
// SHA-256 of the exact name appended ("event-" + digits when the readable part is
// empty). Slugs never collide and depend only on the set of names. Listing the same
// exact name twice is a caller bug and throws std::invalid_argument.
std::vector<std::string> AssignSlugs(const std::vector<std::string>& names);

}  // namespace herald::certificates
