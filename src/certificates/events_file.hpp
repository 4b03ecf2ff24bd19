// events.txt: the list of active events, one per line. Blank lines, lines
// starting with '#' and repeats are ignored; names are trimmed. CSV rows name
// their event loosely (any case, extra spaces); Find maps them to the listed name.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"

namespace herald::certificates {

struct Event {
  std::string name;  // as written in events.txt
  std::string slug;  // folder and queue name part
};

struct EventList {
  std::vector<Event> events;
  // The listed event a CSV value refers to, or nullptr.
  const Event* Find(std::string_view csv_event_name) const;

  std::map<std::string, size_t> index;  // EventMatchKey -> position in events
};

// Trimmed, inner whitespace (including no-break spaces) collapsed to one space,
// ASCII letters lower-cased: two names with the same key are the same event.
std::string EventMatchKey(std::string_view name);

// Far above any real list of events; a device or a binary stops here.
inline constexpr std::size_t kMaxEventsFileBytes = 1 << 20;

// Errors: events.unreadable, events.too_large, events.invalid_name (not UTF-8 or
// a control character, with file:line). Slugs are assigned with AssignSlugs over
// the whole list.
Result<EventList> LoadEvents(const std::string& path);
Result<EventList> ParseEvents(std::string_view text, const std::string& source_name);

}  // namespace herald::certificates
