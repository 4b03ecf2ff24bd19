#include "certificates/csv_reader.hpp"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace herald::certificates {
namespace {

constexpr size_t kChunkSize = 1 << 16;
constexpr std::string_view kByteOrderMark = "\xEF\xBB\xBF";

}  // namespace

CsvReader::CsvReader(std::string source, std::unique_ptr<std::istream> in)
    : source_(std::move(source)), in_(std::move(in)) {}

Result<CsvReader> CsvReader::Open(const std::string& path) {
  std::error_code ignored;
  if (std::filesystem::is_directory(path, ignored)) {
    return MakeError("csv.unreadable", "cannot read " + path + ": it is a directory, not a CSV file");
  }
  auto file = std::make_unique<std::ifstream>(path, std::ios::binary);
  if (!*file) return MakeError("csv.unreadable", "cannot read " + path + ": " + std::strerror(errno));
  return FromStream(std::move(file), path);
}

CsvReader CsvReader::FromStream(std::unique_ptr<std::istream> in, std::string source_name) {
  CsvReader reader(std::move(source_name), std::move(in));
  reader.SkipByteOrderMark();
  return reader;
}

CsvReader CsvReader::FromString(std::string content, std::string source_name) {
  return FromStream(std::make_unique<std::istringstream>(std::move(content)), std::move(source_name));
}

void CsvReader::SkipByteOrderMark() {
  if (!Fill()) return;
  if (std::string_view(buffer_).starts_with(kByteOrderMark)) pos_ = kByteOrderMark.size();
}

bool CsvReader::Fill() {
  if (eof_) return false;
  buffer_.resize(kChunkSize);
  in_->read(buffer_.data(), static_cast<std::streamsize>(kChunkSize));
  const auto got = in_->gcount();
  // A disk error or a vanished network file shows up here, not at open.
  if (in_->bad()) read_failed_ = true;
  buffer_.resize(got > 0 ? static_cast<size_t>(got) : 0);
  pos_ = 0;
  if (got <= 0) {
    eof_ = true;
    return false;
  }
  return true;
}

int CsvReader::Peek() {
  if (pos_ >= buffer_.size() && !Fill()) return -1;
  return static_cast<unsigned char>(buffer_[pos_]);
}

Result<bool> CsvReader::ReadInto(CsvRecord& record) {
  auto read_error = [&] {
    return MakeError("csv.unreadable", "cannot read " + source_ + " after line " + std::to_string(line_));
  };
  if (Peek() < 0) {
    if (read_failed_) return read_error();
    return false;
  }
  record.line = line_;
  size_t count = 0;
  auto next_field = [&]() -> std::string& {
    if (count < record.fields.size()) {
      auto& reused = record.fields[count++];
      reused.clear();
      return reused;
    }
    ++count;
    return record.fields.emplace_back();
  };
  std::string* field = &next_field();
  bool field_was_quoted = false;
  while (true) {
    if (pos_ >= buffer_.size() && !Fill()) {
      if (read_failed_) return read_error();
      break;  // the last record has no final line break
    }
    // Copy the plain run up to the next special byte in one append.
    const char* data = buffer_.data();
    size_t end = pos_;
    while (end < buffer_.size()) {
      const char c = data[end];
      if (c == ',' || c == '\n' || c == '\r' || c == '"') break;
      ++end;
    }
    field->append(data + pos_, end - pos_);
    pos_ = end;
    if (pos_ == buffer_.size()) continue;
    const char special = data[pos_++];
    if (special == ',') {
      field = &next_field();
      field_was_quoted = false;
      continue;
    }
    if (special == '\n') {
      ++line_;
      break;
    }
    if (special == '\r') {
      if (Peek() == '\n') ++pos_;
      ++line_;
      break;
    }
    // A quote opens a quoted field only at the start of a field; anywhere else it is
    // kept as text, as spreadsheets do, rather than failing the whole file.
    if (!field->empty() || field_was_quoted) {
      field->push_back('"');
      continue;
    }
    field_was_quoted = true;
    const int quote_line = line_;
    while (true) {
      if (pos_ >= buffer_.size() && !Fill()) {
        if (read_failed_) return read_error();
        return MakeError("csv.unterminated_quote", source_ + ":" + std::to_string(quote_line) +
                                                       ": a quoted field starts here but is never closed "
                                                       "(missing '\"')");
      }
      const char* quoted = buffer_.data();
      size_t stop = pos_;
      while (stop < buffer_.size() && quoted[stop] != '"' && quoted[stop] != '\n' && quoted[stop] != '\r') ++stop;
      field->append(quoted + pos_, stop - pos_);
      pos_ = stop;
      if (pos_ == buffer_.size()) continue;
      const char c = quoted[pos_++];
      if (c == '"') {
        if (Peek() != '"') break;  // closing quote
        field->push_back('"');
        ++pos_;
        continue;
      }
      field->push_back(c);
      // CRLF is one physical line break; so is a lone LF or a lone CR.
      if (c == '\n' || Peek() != '\n') ++line_;
    }
  }
  record.fields.resize(count);
  return true;
}

Result<std::optional<CsvRecord>> CsvReader::Next() {
  CsvRecord record;
  auto got = ReadInto(record);
  if (!got) return Unexpected<Error>(got.error());
  if (!*got) return std::optional<CsvRecord>{};
  return std::optional<CsvRecord>(std::move(record));
}

}  // namespace herald::certificates
