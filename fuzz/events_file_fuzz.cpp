// Fuzz target for events.txt (ParseEvents, the part of LoadEvents after the read,
// and the slugs that become folder and queue names). The input is the file.
// A list that loads must hold trimmed, distinct, valid names whose slugs are
// folder-safe, distinct and independent of the order of the lines.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "certificates/events_file.hpp"
#include "certificates/slug.hpp"
#include "common/text.hpp"
#include "fuzz/fuzz_check.hpp"

namespace herald::fuzz {
namespace {

bool IsFolderSafe(std::string_view slug) {
  return !slug.empty() && slug != "." && slug != ".." && slug.front() != '-' && slug.back() != '-' &&
         std::all_of(slug.begin(), slug.end(),
                     [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'; });
}

void FuzzOne(std::string_view text) {
  auto list = certificates::ParseEvents(text, "events.txt");
  if (!list) {
    Require(list.error().code == "events.invalid_name", "text in memory fails only on an invalid name");
    Require(list.error().message.starts_with("events.txt:"), "the error names the file and line");
    return;
  }
  const auto& events = list->events;
  Require(list->index.size() == events.size(), "one match key per listed event");
  std::set<std::string> slugs;
  std::vector<std::string> names;
  for (const auto& event : events) {
    Require(!event.name.empty() && event.name == text::Trim(event.name), "a listed name is trimmed and not empty");
    Require(event.name.front() != '#', "a comment line is not an event");
    Require(text::IsValidUtf8(event.name) && !text::HasControlCharacters(event.name),
            "a listed name is UTF-8 without control characters");
    Require(IsFolderSafe(event.slug), "a slug is lower-case ASCII letters, digits and inner dashes");
    Require(slugs.insert(event.slug).second, "slugs are distinct");
    Require(list->Find(event.name) == &event, "an event's own name finds it");
    const auto key = certificates::EventMatchKey(event.name);
    Require(certificates::EventMatchKey(key) == key, "a match key is its own key");
    Require(list->Find(key) == &event, "an event's match key finds it");
    names.push_back(event.name);
  }
  // Slugs depend only on the set of names, not on the order of the lines.
  std::vector<std::string> reversed(names.rbegin(), names.rend());
  const auto slugs_reversed = certificates::AssignSlugs(reversed);
  for (std::size_t i = 0; i < events.size(); ++i) {
    Require(slugs_reversed[events.size() - 1 - i] == events[i].slug, "slugs do not depend on the order of lines");
  }
  // Every line, as a CSV cell naming an event, finds an event only through its
  // match key, and finds the same one as its key does.
  for (const auto& line : text::Split(text, '\n')) {
    const auto* found = list->Find(line);
    Require(found == list->Find(certificates::EventMatchKey(line)), "Find looks names up by their match key");
    if (found != nullptr) {
      Require(certificates::EventMatchKey(found->name) == certificates::EventMatchKey(line),
              "a cell finds the event whose name has the same match key");
    }
  }
}

}  // namespace
}  // namespace herald::fuzz

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  herald::fuzz::FuzzOne(std::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
