// Streaming RFC 4180 reader: quoted fields with commas, doubled quotes and line
// breaks; CRLF, LF or lone-CR line ends; an optional UTF-8 BOM. Every record carries
// the physical line it starts on, so a bad row can be reported by line number.
#pragma once

#include <cstdint>
#include <istream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/result.hpp"

namespace herald::certificates {

// Bounds that keep a file which is not a CSV (a device, a binary) from using
// memory without end.
struct CsvLimits {
  std::size_t max_record_bytes = 1 << 20;       // one record, all its fields
  std::uint64_t max_total_bytes = 1ULL << 30;   // the whole input
};

struct CsvRecord {
  std::vector<std::string> fields;
  int line = 0;  // 1-based physical line where the record starts
};

class CsvReader {
 public:
  // Errors: csv.unreadable (names the path and the OS reason).
  static Result<CsvReader> Open(const std::string& path, CsvLimits limits = {});
  // Any stream (a pipe, a string); `source_name` prefixes error messages.
  static CsvReader FromStream(std::unique_ptr<std::istream> in, std::string source_name, CsvLimits limits = {});
  static CsvReader FromString(std::string content, std::string source_name, CsvLimits limits = {});

  // Fills `record` with the next record, reusing its storage so a loop over a large
  // file does not allocate per field. False at end of input. Errors:
  // csv.unterminated_quote (names the line the quoted field starts on), csv.unreadable,
  // csv.record_too_long and csv.too_large (past the limits; name the line).
  Result<bool> ReadInto(CsvRecord& record);
  // The same as a fresh value: nullopt at end of input.
  Result<std::optional<CsvRecord>> Next();

  const std::string& source_name() const { return source_; }

 private:
  CsvReader(std::string source, std::unique_ptr<std::istream> in, CsvLimits limits);
  // Replaces the consumed buffer with the next chunk; false at end of input, or
  // when a limit is reached (over_limit_ says which).
  bool Fill();
  // The error for a Fill that returned false, if it was not the end of input.
  std::optional<Error> FillError(int record_line) const;
  // The next unconsumed byte, or -1 at end of input.
  int Peek();
  void SkipByteOrderMark();

  std::string source_;
  std::unique_ptr<std::istream> in_;
  std::string buffer_;
  size_t pos_ = 0;
  int line_ = 1;
  bool eof_ = false;
  bool read_failed_ = false;
  CsvLimits limits_;
  std::uint64_t offset_ = 0;        // input bytes before buffer_
  std::uint64_t record_start_ = 0;  // input offset where the current record starts
  enum class OverLimit { kNone, kRecord, kTotal } over_limit_ = OverLimit::kNone;
};

}  // namespace herald::certificates
