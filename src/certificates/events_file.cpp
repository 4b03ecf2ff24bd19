#include "certificates/events_file.hpp"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "certificates/slug.hpp"
#include "common/text.hpp"

namespace herald::certificates {

std::string EventMatchKey(std::string_view name) {
  // A spreadsheet cell often carries a no-break space (U+00A0) where people typed
  // a space, so it counts as whitespace here.
  constexpr std::string_view kNoBreakSpace = "\xC2\xA0";
  std::string key;
  key.reserve(name.size());
  bool space = false;
  for (size_t i = 0; i < name.size();) {
    const char c = name[i];
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
      space = true;
      ++i;
      continue;
    }
    if (name.substr(i).starts_with(kNoBreakSpace)) {
      space = true;
      i += kNoBreakSpace.size();
      continue;
    }
    if (space && !key.empty()) key.push_back(' ');
    space = false;
    key.push_back(c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c);
    ++i;
  }
  return key;
}

const Event* EventList::Find(std::string_view csv_event_name) const {
  auto it = index.find(EventMatchKey(csv_event_name));
  return it == index.end() ? nullptr : &events[it->second];
}

Result<EventList> ParseEvents(std::string_view content, const std::string& source_name) {
  if (content.rfind("\xEF\xBB\xBF", 0) == 0) content.remove_prefix(3);
  EventList list;
  std::vector<std::string> names;
  int line_number = 0;
  for (const auto& raw : text::Split(content, '\n')) {
    ++line_number;
    const auto name = text::Trim(raw);
    if (name.empty() || name.front() == '#') continue;
    if (!text::IsValidUtf8(name) || text::HasControlCharacters(name)) {
      return MakeError("events.invalid_name", source_name + ":" + std::to_string(line_number) +
                                                  ": the event name is not valid UTF-8 or contains a control character");
    }
    const auto key = EventMatchKey(name);
    if (list.index.contains(key)) continue;
    list.index.emplace(key, names.size());
    names.emplace_back(name);
  }
  const auto slugs = AssignSlugs(names);
  for (size_t i = 0; i < names.size(); ++i) list.events.push_back({names[i], slugs[i]});
  return list;
}

Result<EventList> LoadEvents(const std::string& path) {
  std::error_code ignored;
  if (std::filesystem::is_directory(path, ignored)) {
    return MakeError("events.unreadable", "cannot read " + path + ": it is a directory, not an events file");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return MakeError("events.unreadable", "cannot read " + path + ": " + std::strerror(errno));
  std::string content;
  char chunk[1 << 14];
  while (in.read(chunk, sizeof chunk) || in.gcount() > 0) {
    content.append(chunk, static_cast<size_t>(in.gcount()));
    if (content.size() > kMaxEventsFileBytes) {
      return MakeError("events.too_large", path + ": larger than " + std::to_string(kMaxEventsFileBytes) +
                                               " bytes; an events file has one event name per line");
    }
  }
  if (in.bad()) return MakeError("events.unreadable", "cannot read " + path + ": read error");
  return ParseEvents(content, path);
}

}  // namespace herald::certificates
