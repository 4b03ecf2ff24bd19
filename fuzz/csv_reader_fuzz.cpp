// Fuzz target for the certificates' CSV reader and the class list built on it.
// The input is the CSV file. The streaming reader must give exactly the records
// of a plain whole-string reading of RFC 4180 as the reader documents it (also
// when the input straddles its 64 KiB read chunks), and ReadRoster must keep
// its documented promises for every row it accepts or rejects.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "certificates/csv_reader.hpp"
#include "certificates/events_file.hpp"
#include "certificates/roster.hpp"
#include "common/text.hpp"
#include "domain/recipient.hpp"
#include "fuzz/fuzz_check.hpp"

namespace herald::fuzz {
namespace {

using certificates::CsvReader;
using certificates::CsvRecord;

constexpr std::size_t kChunkBytes = 1 << 16;  // the reader's read size (csv_reader.cpp)

struct Reading {
  std::vector<CsvRecord> records;
  bool unterminated = false;
  int unterminated_line = 0;  // where the open quote is
};

// The reader's documented grammar over the whole text at once: fields split at
// ',', records at CRLF, LF or a lone CR; a quote opens a quoted field only at
// the start of a field ("" inside is one quote, line breaks are kept), anywhere
// else it is text; a UTF-8 BOM at the very start is skipped.
// `line` is the line `text` starts on (after a filler record).
Reading ReadWhole(std::string_view text, int line = 1) {
  Reading out;
  std::size_t pos = line == 1 && text.starts_with("\xEF\xBB\xBF") ? 3 : 0;
  while (pos < text.size()) {
    CsvRecord record;
    record.line = line;
    record.fields.emplace_back();
    bool quoted = false;
    while (pos < text.size()) {
      const char c = text[pos++];
      std::string& field = record.fields.back();
      if (c == ',') {
        record.fields.emplace_back();
        quoted = false;
      } else if (c == '\n') {
        ++line;
        break;
      } else if (c == '\r') {
        if (pos < text.size() && text[pos] == '\n') ++pos;
        ++line;
        break;
      } else if (c != '"' || !field.empty() || quoted) {
        field.push_back(c);
      } else {
        quoted = true;
        const int quote_line = line;
        while (true) {
          if (pos == text.size()) {
            out.unterminated = true;
            out.unterminated_line = quote_line;
            return out;
          }
          const char q = text[pos++];
          if (q == '"') {
            if (pos < text.size() && text[pos] == '"') {
              field.push_back('"');
              ++pos;
              continue;
            }
            break;
          }
          field.push_back(q);
          if (q == '\n' || (q == '\r' && !(pos < text.size() && text[pos] == '\n'))) ++line;
        }
      }
    }
    out.records.push_back(std::move(record));
  }
  return out;
}

// Reads `text` with the production reader, reusing one record as ReadRoster
// does, and compares with `expected` record by record.
void CheckReader(std::string text, const Reading& expected) {
  auto reader = CsvReader::FromString(std::move(text), "fuzz.csv");
  CsvRecord record;
  for (std::size_t i = 0;; ++i) {
    auto got = reader.ReadInto(record);
    if (!got) {
      Require(expected.unterminated && i == expected.records.size(),
              "the reader fails only where a quoted field is never closed");
      Require(got.error().code == "csv.unterminated_quote", "a CSV held in memory fails only on an open quote");
      Require(got.error().message.find("fuzz.csv:" + std::to_string(expected.unterminated_line) + ":") !=
                  std::string::npos,
              "an unterminated quote is reported at the line it opens on");
      return;
    }
    if (!*got) {
      Require(!expected.unterminated && i == expected.records.size(), "the reader ends after the last record");
      auto again = reader.ReadInto(record);
      Require(again && !*again, "a reader at its end stays at its end");
      return;
    }
    Require(i < expected.records.size(), "the reader gives no record the text does not hold");
    Require(record.fields == expected.records[i].fields, "a record's fields are those of the text");
    Require(record.line == expected.records[i].line, "a record carries the physical line it starts on");
  }
}

const certificates::EventList& ExampleEvents() {
  // The events of examples/certificates, so the seed rows match listed events.
  static const auto events = certificates::ParseEvents(
      "Go Workshop\nAI/ML Bootcamp\nData Engineering Summit\nConf\xC3\xA9rence Cloud Native\nOpen Source Day\n",
      "events.txt");
  return *events;
}

void CheckRoster(const std::string& text, const certificates::Roster& roster) {
  const auto& events = ExampleEvents().events;
  std::set<std::pair<const certificates::Event*, std::string>> seen;
  std::int64_t eligible_counted = 0;
  for (const auto& entry : roster.per_event) {
    Require(std::any_of(events.begin(), events.end(), [&](const auto& e) { return e.slug == entry.first; }),
            "per-event counts are kept for listed events only");
    eligible_counted += entry.second.eligible;
  }
  Require(eligible_counted == static_cast<std::int64_t>(roster.eligible.size()),
          "the per-event eligible counts add up to the eligible list");
  for (const auto& student : roster.eligible) {
    Require(student.event >= events.data() && student.event < events.data() + events.size(),
            "an eligible student's event is one of the listed events");
    Require(!student.name.empty() && student.name == text::Trim(student.name), "a student's name is trimmed, not empty");
    Require(text::IsValidUtf8(student.name) && !text::HasControlCharacters(student.name),
            "a student's name is UTF-8 without control characters");
    Require(!domain::EmailProblem(student.email), "an eligible student's e-mail address is one Herald sends to");
    Require(student.email_key == text::ToLowerAscii(student.email), "the e-mail key is the lower-cased address");
    Require(seen.emplace(student.event, student.email_key).second, "one entry per (event, e-mail)");
    Require(student.line >= 2, "a student comes from a data row, after the header");
    for (const auto& [column, value] : student.variables) {
      Require(value.size() <= certificates::kMaxFieldBytes, "a variable is within the per-field limit");
      Require(text::IsValidUtf8(value), "a variable is UTF-8");
    }
  }
  int previous_line = 0;
  for (const auto& row : roster.rejected) {
    Require(row.line >= 2 && row.line >= previous_line, "rejected rows are data rows, in line order");
    Require(!row.code.empty() && !row.reason.empty(), "a rejected row says why");
    previous_line = row.line;
  }
  // Every non-blank data row is rejected, repeats a student, or is a student.
  Require(roster.rows == static_cast<std::int64_t>(roster.rejected.size()) + roster.duplicate_rows +
                             static_cast<std::int64_t>(roster.eligible.size()) + roster.not_attended,
          "every data row is accounted for exactly once");
  Require(!text.empty(), "an empty file is not a class list");
}

void CheckRosterOf(const std::string& text) {
  for (const bool everyone_eligible : {false, true}) {
    auto reader = CsvReader::FromString(text, "students.csv");
    auto roster = certificates::ReadRoster(reader, ExampleEvents(), {.everyone_eligible = everyone_eligible});
    if (roster) {
      CheckRoster(text, *roster);
      return;
    }
    Require(roster.error().code.starts_with("csv.") && !roster.error().message.empty(),
            "a class list that cannot be read is a csv.* error with a message");
    Require(text::IsValidUtf8(roster.error().message), "error messages are UTF-8 (they reach logs and terminals)");
    // Only a file without attendance columns reads differently with --everyone-eligible.
    if (roster.error().code != "csv.no_attendance") return;
    Require(!everyone_eligible, "--everyone-eligible accepts a file without attendance columns");
  }
}

void FuzzOne(const std::string& text) {
  CheckReader(text, ReadWhole(text));
  CheckRosterOf(text);
  // One input in four is read again behind a filler record that ends k bytes
  // before the first chunk boundary (k from the first byte), so every special
  // sequence (CRLF, "", a quote) can fall across it. Not every input: the
  // filler costs the reader 64 KiB of work.
  if (text.size() % 4 == 3) {
    const std::size_t k = 1 + static_cast<unsigned char>(text[0]) % 16;
    CsvRecord filler{{std::string(kChunkBytes - k - 1, 'f')}, 1};
    Reading expected = ReadWhole(text, 2);
    expected.records.insert(expected.records.begin(), std::move(filler));
    CheckReader(expected.records.front().fields[0] + "\n" + text, expected);
  }
}

}  // namespace
}  // namespace herald::fuzz

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  herald::fuzz::FuzzOne(std::string(reinterpret_cast<const char*>(data), size));
  return 0;
}
