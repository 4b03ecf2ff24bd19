#include "certificates/events_file.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "certificates/slug.hpp"
#include "common/text.hpp"

namespace herald::certificates {

std::string EventMatchKey(std::string_view name) {
  std::string key;
  bool space = false;
  for (char c : text::Trim(name)) {
    if (c == ' ' || c == '\t') {
      space = true;
      continue;
    }
    if (space && !key.empty()) key.push_back(' ');
    space = false;
    key.push_back(c);
  }
  return text::ToLowerAscii(key);
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
                                                  ": event name is not valid UTF-8 text");
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
  std::ifstream in(path, std::ios::binary);
  if (!in) return MakeError("events.unreadable", "cannot read " + path + ": " + std::strerror(errno));
  std::ostringstream content;
  content << in.rdbuf();
  return ParseEvents(content.str(), path);
}

}  // namespace herald::certificates
