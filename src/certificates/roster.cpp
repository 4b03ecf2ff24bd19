#include "certificates/roster.hpp"

#include <optional>
#include <set>
#include <unordered_map>

#include "common/text.hpp"

namespace herald::certificates {
namespace {

constexpr std::string_view kRequired[] = {"event_name", "student_name", "student_email"};

// nullopt: not an attendance value we understand.
std::optional<bool> ParseAttended(std::string_view raw) {
  const auto value = text::ToLowerAscii(text::Trim(raw));
  if (value.empty()) return false;
  static const std::set<std::string> kYes = {"yes", "y", "true", "t", "present", "attended", "x"};
  static const std::set<std::string> kNo = {"no", "n", "false", "f", "absent", "-"};
  if (kYes.contains(value)) return true;
  if (kNo.contains(value)) return false;
  char* end = nullptr;
  const double count = std::strtod(value.c_str(), &end);
  if (end != nullptr && *end == '\0' && count >= 0) return count > 0;
  return std::nullopt;
}

bool IsScheduleColumn(const std::string& header) {
  return header.rfind("attended_", 0) == 0 || header.rfind("schedule_", 0) == 0 ||
         header.rfind("session_", 0) == 0;
}

struct Entry {
  size_t student_index;
  bool attended;
};

}  // namespace

std::optional<std::string> EmailProblem(std::string_view email) {
  if (email.empty()) return "the e-mail address is empty";
  if (email.size() > 254) return "the e-mail address is longer than 254 characters";
  const auto at = email.find('@');
  if (at == std::string_view::npos || email.find('@', at + 1) != std::string_view::npos) {
    return "the e-mail address must contain exactly one '@'";
  }
  const auto local = email.substr(0, at);
  const auto domain = email.substr(at + 1);
  if (local.empty() || local.size() > 64) return "the part before '@' is empty or too long";
  for (char ch : local) {
    const auto c = static_cast<unsigned char>(ch);
    if (c <= 0x20 || c >= 0x7F || std::string_view("(),:;<>[]\\\"").find(ch) != std::string_view::npos) {
      return "the part before '@' contains a character not allowed in an address";
    }
  }
  if (local.front() == '.' || local.back() == '.' || local.find("..") != std::string_view::npos) {
    return "the part before '@' has a misplaced dot";
  }
  if (domain.find('.') == std::string_view::npos) return "the domain has no dot";
  for (const auto& label : text::Split(domain, '.')) {
    if (label.empty() || label.size() > 63) return "the domain has an empty or too long part";
    if (label.front() == '-' || label.back() == '-') return "a domain part starts or ends with '-'";
    for (char c : label) {
      const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
      if (!ok) return "the domain contains a character other than letters, digits, '-' and '.'";
    }
  }
  return std::nullopt;
}

Result<Roster> LoadRoster(const std::string& csv_path, const EventList& events, const RosterOptions& options) {
  auto reader = CsvReader::Open(csv_path);
  if (!reader) return Unexpected<Error>(reader.error());
  return ReadRoster(*reader, events, options);
}

Result<Roster> ReadRoster(CsvReader& reader, const EventList& events, const RosterOptions& options) {
  const auto& source = reader.source_name();
  auto header_record = reader.Next();
  if (!header_record) return Unexpected<Error>(header_record.error());
  if (!*header_record) return MakeError("csv.empty", source + ": the file is empty; expected a header line");

  Roster roster;
  std::map<std::string, size_t> column_index;
  for (const auto& raw : (*header_record)->fields) {
    const auto name = text::ToLowerAscii(text::Trim(raw));
    if (!name.empty() && column_index.contains(name)) {
      return MakeError("csv.duplicate_header", source + ":1: column \"" + name + "\" appears twice in the header");
    }
    column_index.emplace(name, roster.columns.size());
    roster.columns.push_back(name);
  }
  for (const auto required : kRequired) {
    if (!column_index.contains(std::string(required))) {
      return MakeError("csv.missing_header", source + ":1: required column \"" + std::string(required) +
                                                 "\" is missing (header has: " + [&] {
                                                   std::string all;
                                                   for (const auto& c : roster.columns) all += (all.empty() ? "" : ", ") + c;
                                                   return all;
                                                 }() + ")");
    }
  }
  const size_t event_col = column_index.at("event_name");
  const size_t name_col = column_index.at("student_name");
  const size_t email_col = column_index.at("student_email");
  std::optional<size_t> attended_col;
  if (column_index.contains("attended")) attended_col = column_index.at("attended");
  else if (column_index.contains("attendance")) attended_col = column_index.at("attendance");
  std::vector<size_t> schedule_cols;
  for (size_t i = 0; i < roster.columns.size(); ++i) {
    if (IsScheduleColumn(roster.columns[i])) schedule_cols.push_back(i);
  }
  const bool has_attendance = attended_col.has_value() || !schedule_cols.empty();
  if (!has_attendance && !options.everyone_eligible) {
    return MakeError("csv.no_attendance",
                     source + ":1: no attendance information: add an \"attended\" column (count or yes/no), "
                              "one \"attended_*\"/\"schedule_*\"/\"session_*\" column per schedule, or pass "
                              "--everyone-eligible");
  }

  std::vector<Student> students;
  std::vector<bool> attended;
  std::unordered_map<std::string, size_t> seen;  // slug + '\n' + email_key -> index
  auto reject = [&](int line, std::string code, std::string field, std::string reason, const Event* event) {
    roster.rejected.push_back({line, std::move(code), std::move(field), std::move(reason)});
    if (event != nullptr) roster.per_event[event->slug].rejected++;
  };

  while (true) {
    auto next = reader.Next();
    if (!next) return Unexpected<Error>(next.error());
    if (!*next) break;
    auto& record = **next;
    const int line = record.line;
    if (record.fields.size() == 1 && text::Trim(record.fields[0]).empty()) continue;  // blank line
    if (record.fields.size() != roster.columns.size()) {
      reject(line, "field_count", "",
             "the row has " + std::to_string(record.fields.size()) + " fields but the header has " +
                 std::to_string(roster.columns.size()),
             nullptr);
      continue;
    }
    std::optional<RejectedRow> problem;
    for (size_t i = 0; i < record.fields.size() && !problem; ++i) {
      if (!text::IsValidUtf8(record.fields[i])) {
        problem = RejectedRow{line, "invalid_utf8", roster.columns[i], roster.columns[i] + " is not valid UTF-8"};
      } else if (text::HasControlCharacters(text::Trim(record.fields[i]))) {
        problem = RejectedRow{line, "control_characters", roster.columns[i],
                              roster.columns[i] + " contains a control character (line break, NUL, ...)"};
      }
    }
    const Event* event = events.Find(record.fields[event_col]);
    if (problem) {
      reject(line, problem->code, problem->field, problem->reason, event);
      continue;
    }
    if (event == nullptr) {
      reject(line, "unknown_event", "event_name",
             "event \"" + std::string(text::Trim(record.fields[event_col])) + "\" is not listed in events.txt",
             nullptr);
      continue;
    }
    const std::string name(text::Trim(record.fields[name_col]));
    const std::string email(text::Trim(record.fields[email_col]));
    if (name.empty()) {
      reject(line, "empty_name", "student_name", "student_name is empty", event);
      continue;
    }
    if (auto why = EmailProblem(email)) {
      reject(line, "invalid_email", "student_email", "invalid e-mail address \"" + email + "\": " + *why, event);
      continue;
    }
    bool row_attended = !has_attendance;
    bool unreadable = false;
    std::string unreadable_column;
    if (attended_col) {
      const auto value = ParseAttended(record.fields[*attended_col]);
      if (!value) {
        unreadable = true;
        unreadable_column = roster.columns[*attended_col];
      } else {
        row_attended = row_attended || *value;
      }
    }
    for (const size_t col : schedule_cols) {
      const auto value = ParseAttended(record.fields[col]);
      if (!value) {
        unreadable = true;
        unreadable_column = roster.columns[col];
        break;
      }
      row_attended = row_attended || *value;
    }
    if (unreadable) {
      reject(line, "invalid_attendance", unreadable_column,
             unreadable_column + " must be a number of schedules or yes/no, got \"" +
                 std::string(text::Trim(record.fields[column_index.at(unreadable_column)])) + "\"",
             event);
      continue;
    }

    const auto email_key = text::ToLowerAscii(email);
    const auto key = event->slug + '\n' + email_key;
    if (auto it = seen.find(key); it != seen.end()) {
      ++roster.duplicate_rows;
      attended[it->second] = attended[it->second] || row_attended;
      continue;
    }
    Student student{event, name, email, email_key, {}, line};
    for (size_t i = 0; i < roster.columns.size(); ++i) {
      if (!roster.columns[i].empty()) student.variables[roster.columns[i]] = std::string(text::Trim(record.fields[i]));
    }
    seen.emplace(key, students.size());
    students.push_back(std::move(student));
    attended.push_back(row_attended);
  }

  for (size_t i = 0; i < students.size(); ++i) {
    auto& counts = roster.per_event[students[i].event->slug];
    if (attended[i]) {
      ++counts.eligible;
      roster.eligible.push_back(std::move(students[i]));
    } else {
      ++counts.not_attended;
      ++roster.not_attended;
    }
  }
  return roster;
}

}  // namespace herald::certificates
