#include "certificates/roster.hpp"

#include "domain/recipient.hpp"

#include <algorithm>
#include <cstdint>
#include <functional>
#include <string_view>
#include <utility>

#include "common/text.hpp"

namespace herald::certificates {
namespace {

constexpr std::string_view kEventColumn = "event_name";
constexpr std::string_view kNameColumn = "student_name";
constexpr std::string_view kEmailColumn = "student_email";
constexpr std::string_view kRequired[] = {kEventColumn, kNameColumn, kEmailColumn};
constexpr size_t kMaxQuotedValue = 80;  // longer values are cut in reasons

bool IsAttendanceColumn(std::string_view header) {
  return header == "attended" || header == "attendance" || header.starts_with("attended_") ||
         header.starts_with("schedule_") || header.starts_with("session_");
}

// A value quoted in a reason: long enough to recognise, short enough for a log line.
std::string Quote(std::string_view value) {
  if (value.size() <= kMaxQuotedValue) return "\"" + std::string(value) + "\"";
  return "\"" + std::string(value.substr(0, kMaxQuotedValue)) + "...\"";
}

struct Header {
  std::vector<std::string> columns;
  size_t event = 0;
  size_t name = 0;
  size_t email = 0;
  std::vector<size_t> attendance;
  std::vector<bool> strict;       // required and attendance columns: no line breaks allowed
  std::vector<size_t> variables;  // named columns but the required ones, in name order
};

Result<Header> ReadHeader(CsvReader& reader, CsvRecord& record, const RosterOptions& options) {
  const auto& source = reader.source_name();
  auto got = reader.ReadInto(record);
  if (!got) return Unexpected<Error>(got.error());
  const bool blank = *got && std::all_of(record.fields.begin(), record.fields.end(),
                                         [](const std::string& f) { return text::Trim(f).empty(); });
  if (!*got || blank) {
    return MakeError("csv.empty", source + ":1: expected a header line with event_name, student_name, "
                                           "student_email and an attendance column");
  }
  Header header;
  std::map<std::string, size_t, std::less<>> index;
  for (const auto& raw : record.fields) {
    // Checked before the name is used in any message: such bytes would be
    // printed raw, or cut the message short at a NUL.
    const auto column = "column " + std::to_string(header.columns.size() + 1) + " of the header";
    if (!text::IsValidUtf8(raw)) {
      std::size_t at = 0;
      while (const auto length = text::DecodeUtf8(raw, at).length) at += length;
      // Up to 40 bytes before it, from a character's first byte, so the excerpt is UTF-8 itself.
      std::size_t from = at > 40 ? at - 40 : 0;
      while (from < at && (static_cast<unsigned char>(raw[from]) & 0xC0) == 0x80) ++from;
      return MakeError("csv.header_not_utf8", source + ":1: " + column + " is not UTF-8 (byte 0x" +
                                                  text::Hex(raw.substr(at, 1)) + " after \"" + raw.substr(from, at - from) +
                                                  "\"); save the file as UTF-8");
    }
    if (text::HasControlCharacters(raw)) {
      return MakeError("csv.header_control_character",
                       source + ":1: " + column + " holds a control character (a NUL or another byte below 0x20)");
    }
    auto name = text::ToLowerAscii(text::Trim(raw));
    if (!name.empty() && !index.emplace(name, header.columns.size()).second) {
      return MakeError("csv.duplicate_header", source + ":1: column \"" + name + "\" appears twice in the header");
    }
    header.columns.push_back(std::move(name));
  }
  for (const auto required : kRequired) {
    if (!index.contains(required)) {
      std::string present;
      for (const auto& column : header.columns) present += (present.empty() ? "" : ", ") + column;
      return MakeError("csv.missing_header", source + ":1: required column \"" + std::string(required) +
                                                 "\" is missing (the header has: " + present + ")");
    }
  }
  header.event = index.find(kEventColumn)->second;
  header.name = index.find(kNameColumn)->second;
  header.email = index.find(kEmailColumn)->second;
  header.strict.assign(header.columns.size(), false);
  header.strict[header.event] = header.strict[header.name] = header.strict[header.email] = true;
  for (size_t i = 0; i < header.columns.size(); ++i) {
    if (IsAttendanceColumn(header.columns[i])) {
      header.attendance.push_back(i);
      header.strict[i] = true;
    }
  }
  for (const auto& [name, position] : index) {
    if (!header.strict[position] || IsAttendanceColumn(name)) header.variables.push_back(position);
  }
  if (header.attendance.empty() && !options.everyone_eligible) {
    return MakeError("csv.no_attendance",
                     source + ":1: the file has no attendance information: add an \"attended\" column (a count "
                              "or yes/no), one \"attended_*\", \"schedule_*\" or \"session_*\" column per "
                              "schedule, or pass --everyone-eligible to certify everyone listed");
  }
  return header;
}

// Free text columns (an address, a note) may hold line breaks; nothing else.
bool HasControlOtherThanLineBreak(std::string_view value) {
  return std::any_of(value.begin(), value.end(), [](char ch) {
    const auto c = static_cast<unsigned char>(ch);
    return ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7F);
  });
}

// Maps the raw event cell to the listed event. Files repeat a handful of event
// spellings thousands of times, so each spelling is normalised once.
class EventLookup {
 public:
  explicit EventLookup(const EventList& events) : events_(events) {}
  const Event* Find(std::string_view raw) {
    if (auto it = cache_.find(raw); it != cache_.end()) return it->second;
    const Event* event = events_.Find(raw);
    cache_.emplace(std::string(raw), event);
    return event;
  }

 private:
  const EventList& events_;
  std::map<std::string, const Event*, std::less<>> cache_;
};

// Finds the student already listed for an (event, e-mail key). Open addressing over
// positions in the student list: a node-based map costs an allocation per student
// and was the largest cost of loading a big file.
class StudentIndex {
 public:
  explicit StudentIndex(const std::vector<Student>& students) : students_(students), slots_(1024, kEmpty) {}

  static std::uint64_t Hash(size_t event_position, std::string_view email_key) {
    return std::hash<std::string_view>{}(email_key) ^ ((event_position + 1) * 0x9E3779B97F4A7C15ULL);
  }
  // Position of the matching student, or nullopt.
  std::optional<size_t> Find(std::uint64_t hash, const Event* event, std::string_view email_key) const {
    for (size_t slot = hash & (slots_.size() - 1);; slot = (slot + 1) & (slots_.size() - 1)) {
      const auto position = slots_[slot];
      if (position == kEmpty) return std::nullopt;
      const auto& student = students_[position];
      if (hashes_[position] == hash && student.event == event && student.email_key == email_key) return position;
    }
  }
  // Records students_.back(), which Find did not find.
  void AddLast(std::uint64_t hash) {
    hashes_.push_back(hash);
    if (hashes_.size() * 2 > slots_.size()) {
      slots_.assign(slots_.size() * 2, kEmpty);
      for (size_t position = 0; position + 1 < hashes_.size(); ++position) Place(position);
    }
    Place(hashes_.size() - 1);
  }

 private:
  static constexpr size_t kEmpty = static_cast<size_t>(-1);
  void Place(size_t position) {
    size_t slot = hashes_[position] & (slots_.size() - 1);
    while (slots_[slot] != kEmpty) slot = (slot + 1) & (slots_.size() - 1);
    slots_[slot] = position;
  }

  const std::vector<Student>& students_;
  std::vector<size_t> slots_;  // power-of-two size, at most half full
  std::vector<std::uint64_t> hashes_;  // by student position
};

}  // namespace

std::optional<bool> ParseAttended(std::string_view raw) {
  const auto value = text::Trim(raw);
  if (value.empty()) return false;
  if (value.size() <= 8) {
    char lower[8];
    for (size_t i = 0; i < value.size(); ++i) {
      const char c = value[i];
      lower[i] = c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
    }
    const std::string_view word(lower, value.size());
    for (const auto yes : {"yes", "y", "true", "t", "present", "attended", "x"}) {
      if (word == yes) return true;
    }
    for (const auto no : {"no", "n", "false", "f", "absent", "-"}) {
      if (word == no) return false;
    }
  }
  // A count of schedules: digits, optionally with a decimal part ("2", "1.0").
  const auto dot = value.find('.');
  const auto whole = value.substr(0, dot);
  const auto fraction = dot == std::string_view::npos ? std::string_view{} : value.substr(dot + 1);
  auto digits = [](std::string_view s) {
    return std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
  };
  if (whole.empty() || !digits(whole) || !digits(fraction)) return std::nullopt;
  if (dot != std::string_view::npos && fraction.empty()) return std::nullopt;
  auto nonzero = [](std::string_view s) { return s.find_first_not_of('0') != std::string_view::npos; };
  return nonzero(whole) || nonzero(fraction);
}

Result<Roster> LoadRoster(const std::string& csv_path, const EventList& events, const RosterOptions& options) {
  auto reader = CsvReader::Open(csv_path);
  if (!reader) return Unexpected<Error>(reader.error());
  return ReadRoster(*reader, events, options);
}

Result<Roster> ReadRoster(CsvReader& reader, const EventList& events, const RosterOptions& options) {
  CsvRecord record;
  auto header_result = ReadHeader(reader, record, options);
  if (!header_result) return Unexpected<Error>(header_result.error());
  const Header& header = *header_result;
  const auto& columns = header.columns;

  Roster roster;
  roster.columns = columns;
  EventLookup lookup(events);
  std::vector<Student> students;  // every distinct (event, e-mail), attended or not
  std::vector<bool> attended;
  StudentIndex seen(students);
  // Counts by position in the event list; only events that some row named get an
  // entry in Roster::per_event.
  std::vector<EventCounts> counts(events.events.size());
  std::vector<bool> named(events.events.size(), false);
  auto position = [&](const Event* event) {
    const auto at = static_cast<size_t>(event - events.events.data());
    named[at] = true;
    return at;
  };
  auto reject = [&](int line, std::string code, std::string field, std::string reason, const Event* event) {
    roster.rejected.push_back({line, std::move(code), std::move(field), std::move(reason)});
    if (event != nullptr) ++counts[position(event)].rejected;
  };

  while (true) {
    auto got = reader.ReadInto(record);
    if (!got) return Unexpected<Error>(got.error());
    if (!*got) break;
    const auto& fields = record.fields;
    const int line = record.line;
    // Blank lines and the ",,,," rows spreadsheets leave at the end carry nothing.
    if (std::all_of(fields.begin(), fields.end(), [](const std::string& f) { return text::Trim(f).empty(); })) {
      continue;
    }
    ++roster.rows;
    if (fields.size() != columns.size()) {
      reject(line, "field_count", "",
             "the row has " + std::to_string(fields.size()) + " fields but the header has " +
                 std::to_string(columns.size()),
             nullptr);
      continue;
    }
    const Event* event = lookup.Find(fields[header.event]);
    bool bad_text = false;
    for (size_t i = 0; i < fields.size() && !bad_text; ++i) {
      bad_text = true;
      if (!text::IsValidUtf8(fields[i])) {
        reject(line, "invalid_utf8", columns[i], columns[i] + " is not valid UTF-8 (save the file as UTF-8)", event);
      } else if (header.strict[i] && text::HasControlCharacters(fields[i])) {
        reject(line, "control_characters", columns[i],
               columns[i] + " contains a line break or another control character", event);
      } else if (!header.strict[i] && HasControlOtherThanLineBreak(fields[i])) {
        reject(line, "control_characters", columns[i], columns[i] + " contains a control character", event);
      } else {
        bad_text = false;
      }
    }
    if (bad_text) continue;
    for (size_t i = 0; i < fields.size() && !bad_text; ++i) {
      if (i == header.name) {
        const auto characters = static_cast<std::size_t>(std::count_if(
            fields[i].begin(), fields[i].end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
        if (characters > kMaxNameCharacters) {
          reject(line, "field_too_long", columns[i],
                 columns[i] + " has " + std::to_string(characters) + " characters; at most " +
                     std::to_string(kMaxNameCharacters),
                 event);
          bad_text = true;
        }
      } else if (fields[i].size() > kMaxFieldBytes) {
        reject(line, "field_too_long", columns[i],
               columns[i] + " is " + std::to_string(fields[i].size()) + " bytes; at most " +
                   std::to_string(kMaxFieldBytes),
               event);
        bad_text = true;
      }
    }
    if (bad_text) continue;
    if (event == nullptr) {
      reject(line, "unknown_event", std::string(kEventColumn),
             "event " + Quote(text::Trim(fields[header.event])) + " is not listed in the events file", nullptr);
      continue;
    }
    const auto name = text::Trim(fields[header.name]);
    if (name.empty()) {
      reject(line, "empty_name", std::string(kNameColumn), "student_name is empty", event);
      continue;
    }
    const auto email = text::Trim(fields[header.email]);
    if (auto why = domain::EmailProblem(email)) {
      reject(line, "invalid_email", std::string(kEmailColumn),
             "e-mail address " + Quote(email) + ": " + std::string(*why), event);
      continue;
    }
    bool row_attended = header.attendance.empty();  // only reached with everyone_eligible
    std::optional<size_t> unreadable;
    for (const size_t column : header.attendance) {
      const auto value = ParseAttended(fields[column]);
      if (!value) {
        unreadable = column;
        break;
      }
      row_attended = row_attended || *value;
    }
    if (unreadable) {
      reject(line, "invalid_attendance", columns[*unreadable],
             columns[*unreadable] + " must be a number of attended schedules or yes/no, not " +
                 Quote(text::Trim(fields[*unreadable])),
             event);
      continue;
    }

    auto email_key = text::ToLowerAscii(email);
    const auto hash = StudentIndex::Hash(position(event), email_key);
    if (const auto first = seen.Find(hash, event, email_key)) {
      // One row per schedule, or the same person listed twice: the first row's
      // details stand, later rows only add attendance.
      ++roster.duplicate_rows;
      attended[*first] = attended[*first] || row_attended;
      continue;
    }
    auto& student = students.emplace_back();
    student.event = event;
    student.name = name;
    student.email = email;
    student.email_key = std::move(email_key);
    student.line = line;
    student.variables.reserve(header.variables.size());
    for (const size_t i : header.variables) student.variables.emplace_back(columns[i], text::Trim(fields[i]));
    seen.AddLast(hash);
    attended.push_back(row_attended);
  }
  // Keep the attended students, in order, in the same storage.
  size_t kept = 0;
  for (size_t i = 0; i < students.size(); ++i) {
    auto& event_counts = counts[position(students[i].event)];
    if (attended[i]) {
      ++event_counts.eligible;
      if (kept != i) students[kept] = std::move(students[i]);
      ++kept;
    } else {
      ++event_counts.not_attended;
      ++roster.not_attended;
    }
  }
  students.resize(kept);
  roster.eligible = std::move(students);
  for (size_t i = 0; i < counts.size(); ++i) {
    if (named[i]) roster.per_event[events.events[i].slug] = counts[i];
  }
  return roster;
}

}  // namespace herald::certificates
