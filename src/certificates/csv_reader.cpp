#include "certificates/csv_reader.hpp"

#include <cerrno>
#include <cstring>
#include <sstream>

namespace herald::certificates {

CsvReader::CsvReader(std::string source, std::unique_ptr<std::istream> in)
    : source_(std::move(source)), in_(std::move(in)) {}

Result<CsvReader> CsvReader::Open(const std::string& path) {
  auto file = std::make_unique<std::ifstream>(path, std::ios::binary);
  if (!*file) return MakeError("csv.unreadable", "cannot read " + path + ": " + std::strerror(errno));
  CsvReader reader(path, std::move(file));
  reader.Fill();
  if (reader.buffer_.rfind("\xEF\xBB\xBF", 0) == 0) reader.pos_ = 3;
  return reader;
}

CsvReader CsvReader::FromString(std::string content, std::string source_name) {
  CsvReader reader(std::move(source_name), std::make_unique<std::istringstream>(std::move(content)));
  reader.Fill();
  if (reader.buffer_.rfind("\xEF\xBB\xBF", 0) == 0) reader.pos_ = 3;
  return reader;
}

// Appends the next chunk of input to the buffer; false at end of input.
bool CsvReader::Fill() {
  if (eof_) return false;
  if (pos_ > 0 && pos_ >= buffer_.size() / 2) {
    buffer_.erase(0, pos_);
    pos_ = 0;
  }
  char chunk[1 << 16];
  in_->read(chunk, sizeof chunk);
  const auto got = in_->gcount();
  if (got <= 0) {
    eof_ = true;
    return false;
  }
  buffer_.append(chunk, static_cast<size_t>(got));
  return true;
}

Result<std::optional<CsvRecord>> CsvReader::Next() {
  if (pos_ >= buffer_.size() && !Fill()) return std::optional<CsvRecord>{};
  CsvRecord record;
  record.line = line_;
  std::string field;
  bool in_quotes = false;
  bool field_was_quoted = false;
  int quote_line = 0;
  while (true) {
    if (pos_ >= buffer_.size() && !Fill()) {
      if (in_quotes) {
        return MakeError("csv.unterminated_quote", source_ + ":" + std::to_string(quote_line) +
                                                       ": a quoted field is never closed (missing '\"')");
      }
      record.fields.push_back(std::move(field));
      return std::optional<CsvRecord>(std::move(record));
    }
    const char c = buffer_[pos_];
    if (in_quotes) {
      if (c == '"') {
        if (pos_ + 1 >= buffer_.size()) Fill();
        if (pos_ + 1 < buffer_.size() && buffer_[pos_ + 1] == '"') {
          field.push_back('"');
          pos_ += 2;
        } else {
          in_quotes = false;
          ++pos_;
        }
      } else {
        if (c == '\n') ++line_;
        field.push_back(c);
        ++pos_;
      }
      continue;
    }
    if (c == '"' && field.empty() && !field_was_quoted) {
      in_quotes = true;
      field_was_quoted = true;
      quote_line = line_;
      ++pos_;
    } else if (c == ',') {
      record.fields.push_back(std::move(field));
      field.clear();
      field_was_quoted = false;
      ++pos_;
    } else if (c == '\r' || c == '\n') {
      ++pos_;
      if (c == '\r') {
        if (pos_ >= buffer_.size()) Fill();
        if (pos_ < buffer_.size() && buffer_[pos_] == '\n') ++pos_;
      }
      ++line_;
      record.fields.push_back(std::move(field));
      return std::optional<CsvRecord>(std::move(record));
    } else {
      // Text after a closing quote is kept as-is (lenient, like most spreadsheets).
      field.push_back(c);
      ++pos_;
    }
  }
}

}  // namespace herald::certificates
