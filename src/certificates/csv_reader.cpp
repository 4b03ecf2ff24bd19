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

CsvReader::CsvReader(std::string source, std::unique_ptr<std::istream> in, CsvLimits limits)
    : source_(std::move(source)), in_(std::move(in)), limits_(limits) {}

Result<CsvReader> CsvReader::Open(const std::string& path, CsvLimits limits) {
  std::error_code ignored;
  if (std::filesystem::is_directory(path, ignored)) {
    return MakeError("csv.unreadable", "cannot read " + path + ": it is a directory, not a CSV file");
  }
  auto file = std::make_unique<std::ifstream>(path, std::ios::binary);
  if (!*file) return MakeError("csv.unreadable", "cannot read " + path + ": " + std::strerror(errno));
  return FromStream(std::move(file), path, limits);
}

CsvReader CsvReader::FromStream(std::unique_ptr<std::istream> in, std::string source_name, CsvLimits limits) {
  CsvReader reader(std::move(source_name), std::move(in), limits);
  reader.SkipByteOrderMark();
  return reader;
}

CsvReader CsvReader::FromString(std::string content, std::string source_name, CsvLimits limits) {
  return FromStream(std::make_unique<std::istringstream>(std::move(content)), std::move(source_name), limits);
}

void CsvReader::SkipByteOrderMark() {
  if (!Fill()) return;
  if (std::string_view(buffer_).starts_with(kByteOrderMark)) pos_ = kByteOrderMark.size();
}

bool CsvReader::Fill() {
  if (eof_) return false;
  offset_ += buffer_.size();
  if (offset_ - record_start_ > limits_.max_record_bytes) over_limit_ = OverLimit::kRecord;
  if (offset_ >= limits_.max_total_bytes) over_limit_ = OverLimit::kTotal;
  if (over_limit_ != OverLimit::kNone) {
    buffer_.clear();
    pos_ = 0;
    eof_ = true;
    return false;
  }
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

std::optional<Error> CsvReader::FillError(int record_line) const {
  if (read_failed_) return Error{"csv.unreadable", "cannot read " + source_ + " after line " + std::to_string(line_)};
  if (over_limit_ == OverLimit::kRecord) {
    return Error{"csv.record_too_long", source_ + ":" + std::to_string(record_line) + ": a record longer than " +
                                            std::to_string(limits_.max_record_bytes) +
                                            " bytes starts here; is this a CSV file?"};
  }
  if (over_limit_ == OverLimit::kTotal) {
    return Error{"csv.too_large", source_ + ": larger than " + std::to_string(limits_.max_total_bytes) +
                                      " bytes (stopped at line " + std::to_string(line_) + ")"};
  }
  return std::nullopt;
}

Result<bool> CsvReader::ReadInto(CsvRecord& record) {
  record_start_ = offset_ + pos_;
  if (Peek() < 0) {
    if (auto error = FillError(line_)) return Unexpected<Error>(*error);
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
      if (auto error = FillError(record.line)) return Unexpected<Error>(*error);
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
        if (auto error = FillError(record.line)) return Unexpected<Error>(*error);
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
