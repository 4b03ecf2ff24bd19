// Streaming RFC 4180 reader: quoted fields with commas, doubled quotes and line
// breaks; CRLF, LF or lone-CR line ends; an optional UTF-8 BOM. Every record carries
// the physical line it starts on, so a bad row can be reported by line number.
#pragma once

#include <istream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/result.hpp"

namespace herald::certificates {

struct CsvRecord {
  std::vector<std::string> fields;
  int line = 0;  // 1-based physical line where the record starts
};

class CsvReader {
 public:
  // Errors: csv.unreadable (names the path and the OS reason).
  static Result<CsvReader> Open(const std::string& path);
  // Any stream (a pipe, a string); `source_name` prefixes error messages.
  static CsvReader FromStream(std::unique_ptr<std::istream> in, std::string source_name);
  static CsvReader FromString(std::string content, std::string source_name);

  // Fills `record` with the next record, reusing its storage so a loop over a large
  // file does not allocate per field. False at end of input. Errors:
  // csv.unterminated_quote (names the line the quoted field starts on), csv.unreadable.
  Result<bool> ReadInto(CsvRecord& record);
  // The same as a fresh value: nullopt at end of input.
  Result<std::optional<CsvRecord>> Next();

  const std::string& source_name() const { return source_; }

 private:
  CsvReader(std::string source, std::unique_ptr<std::istream> in);
  // Replaces the consumed buffer with the next chunk; false at end of input.
  bool Fill();
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
};

}  // namespace herald::certificates
