// The class list of the certificate job: reads the attendance CSV, rejects bad
// rows with their line and reason, keeps one entry per (event, e-mail) and decides
// eligibility (at least one attended schedule) from whichever attendance layout
// the file uses: an `attended` count or yes/no column, one column per schedule,
// or one row per schedule.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "certificates/csv_reader.hpp"
#include "certificates/events_file.hpp"
#include "common/result.hpp"

namespace herald::certificates {

struct Student {
  const Event* event = nullptr;  // points into the EventList given to LoadRoster
  std::string name;
  std::string email;      // as written (trimmed)
  std::string email_key;  // lower-case, for de-duplication
  std::map<std::string, std::string> variables;  // every column by normalised header
  int line = 0;                                  // first row of this student
};

struct RejectedRow {
  int line = 0;
  std::string code;   // invalid_email, empty_name, control_characters, unknown_event, ...
  std::string field;  // the column at fault, when there is one
  std::string reason;
};

struct EventCounts {
  std::int64_t eligible = 0;
  std::int64_t rejected = 0;
  std::int64_t not_attended = 0;
};

struct RosterOptions {
  bool everyone_eligible = false;  // for files without attendance information
};

struct Roster {
  std::vector<Student> eligible;
  std::vector<RejectedRow> rejected;
  std::vector<std::string> columns;  // normalised headers, in file order
  std::int64_t not_attended = 0;     // distinct students with no attended schedule
  std::int64_t duplicate_rows = 0;   // rows that repeated an (event, e-mail) already seen
  std::map<std::string, EventCounts> per_event;  // by event slug
};

Result<Roster> LoadRoster(const std::string& csv_path, const EventList& events, const RosterOptions& options);
Result<Roster> ReadRoster(CsvReader& reader, const EventList& events, const RosterOptions& options);

// Pragmatic address check; returns the reason when invalid.
std::optional<std::string> EmailProblem(std::string_view email);

}  // namespace herald::certificates
