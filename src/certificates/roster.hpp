// The class list of the certificate job: reads the attendance CSV, rejects bad
// rows with their line and reason, keeps one entry per (event, e-mail) and decides
// eligibility (at least one attended schedule) from whichever attendance layout
// the file uses: an `attended` count or yes/no column, one column per schedule,
// or one row per schedule.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "certificates/csv_reader.hpp"
#include "certificates/events_file.hpp"
#include "common/result.hpp"

namespace herald::certificates {

struct Student {
  const Event* event = nullptr;  // points into the EventList given to LoadRoster
  std::string name;       // trimmed
  std::string email;      // as written (trimmed)
  std::string email_key;  // lower-case, for de-duplication
  // The other named columns (attendance ones included) as (normalised header,
  // trimmed value), sorted by header; the three required ones are the fields above.
  // A flat vector, not a map: a node per cell made loading 100k rows 3x slower.
  std::vector<std::pair<std::string, std::string>> variables;
  int line = 0;  // first row of this student
};

// Limits per field, documented in the README: a row past them is rejected with
// its line (field_too_long), so one huge value cannot stall its event's renders.
inline constexpr std::size_t kMaxNameCharacters = 256;  // student_name, in characters
inline constexpr std::size_t kMaxFieldBytes = 4096;     // every other column

struct RejectedRow {
  int line = 0;  // physical line where the record starts; the header is line 1
  // field_count, invalid_utf8, control_characters, unknown_event, empty_name,
  // invalid_email, invalid_attendance
  std::string code;
  std::string field;   // the column at fault, when there is one
  std::string reason;  // for people
};

struct EventCounts {
  std::int64_t eligible = 0;
  std::int64_t rejected = 0;
  std::int64_t not_attended = 0;
};

struct RosterOptions {
  // Makes a file without any attendance column acceptable, everyone in it
  // eligible. A file that has attendance columns is judged by them regardless.
  bool everyone_eligible = false;
};

struct Roster {
  std::vector<Student> eligible;  // in order of first appearance
  std::vector<RejectedRow> rejected;  // in line order
  std::vector<std::string> columns;   // normalised headers, in file order
  std::int64_t rows = 0;              // data records read, blank ones not counted
  std::int64_t not_attended = 0;      // distinct students with no attended schedule
  std::int64_t duplicate_rows = 0;    // valid rows that repeated an (event, e-mail) already seen
  std::map<std::string, EventCounts> per_event;  // by event slug; rows of unknown events are in no entry
};

// Fatal errors name the file and line: csv.unreadable, csv.empty, csv.missing_header,
// csv.duplicate_header, csv.header_not_utf8, csv.header_control_character,
// csv.no_attendance, csv.unterminated_quote. Bad rows are
// not errors: they are listed in Roster::rejected and loading goes on.
Result<Roster> LoadRoster(const std::string& csv_path, const EventList& events, const RosterOptions& options);
Result<Roster> ReadRoster(CsvReader& reader, const EventList& events, const RosterOptions& options);


// Understands a count of attended schedules or yes/no/true/false/y/n/1/0/
// present/absent/x (any case; empty means not attended); nullopt when it cannot.
std::optional<bool> ParseAttended(std::string_view value);

}  // namespace herald::certificates
