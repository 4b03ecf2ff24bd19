// Streaming RFC 4180 reader: quoted fields with commas, doubled quotes and line
// breaks; CRLF or LF; an optional UTF-8 BOM. Every record carries the physical
// line it starts on, so a bad row can be reported by line number.
#pragma once

#include <fstream>
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
  static Result<CsvReader> Open(const std::string& path);
  // For tests and in-memory input.
  static CsvReader FromString(std::string content, std::string source_name);

  // The next record, nullopt at end of input, or an error for an unterminated quote.
  Result<std::optional<CsvRecord>> Next();
  const std::string& source_name() const { return source_; }

 private:
  CsvReader(std::string source, std::unique_ptr<std::istream> in);
  bool Fill();

  std::string source_;
  std::unique_ptr<std::istream> in_;
  std::string buffer_;
  size_t pos_ = 0;
  int line_ = 1;
  bool eof_ = false;
};

}  // namespace herald::certificates
