#include "certificates/csv_reader.hpp"

#include <gtest/gtest.h>

#include <sstream>

#include "tests/support/process.hpp"

namespace herald::certificates {
namespace {

using Fields = std::vector<std::string>;

std::vector<CsvRecord> ReadAll(CsvReader& reader) {
  std::vector<CsvRecord> records;
  while (true) {
    auto next = reader.Next();
    EXPECT_TRUE(next) << next.error().message;
    if (!next || !*next) break;
    records.push_back(**next);
  }
  return records;
}

std::vector<CsvRecord> ReadAll(std::string content) {
  auto reader = CsvReader::FromString(std::move(content), "t.csv");
  return ReadAll(reader);
}

TEST(CsvReader, QuotedFieldsKeepCommasQuotesAndCrLfLineBreaks) {
  const auto records = ReadAll("a,b,c\r\n\"x, y\",\"say \"\"hi\"\"\",\"two\r\nlines\"\r\nlast,row,here\r\n");
  ASSERT_EQ(records.size(), 3u);
  EXPECT_EQ(records[1].fields, (Fields{"x, y", "say \"hi\"", "two\r\nlines"}));
  EXPECT_EQ(records[1].line, 2);
  EXPECT_EQ(records[2].fields, (Fields{"last", "row", "here"}));
  EXPECT_EQ(records[2].line, 4);  // the record after a two-line field starts on line 4
}

TEST(CsvReader, LineNumbersCountEveryLineBreakInsideQuotes) {
  const auto records = ReadAll("h\n\"one\ntwo\nthree\"\n\"a\rb\"\nnext\n");
  ASSERT_EQ(records.size(), 4u);
  EXPECT_EQ(records[1].fields[0], "one\ntwo\nthree");
  EXPECT_EQ(records[1].line, 2);
  EXPECT_EQ(records[2].fields[0], "a\rb");  // a lone CR is a line break too
  EXPECT_EQ(records[2].line, 5);
  EXPECT_EQ(records[3].line, 7);
}

TEST(CsvReader, CrLfLfAndLoneCrFilesGiveTheSameRecords) {
  const std::string lf = "a,b\n1,\"x\"\n3,4\n";
  std::string crlf;
  std::string cr;
  for (char c : lf) {
    crlf += c == '\n' ? std::string("\r\n") : std::string(1, c);
    cr += c == '\n' ? '\r' : c;
  }
  const auto expected = ReadAll(lf);
  ASSERT_EQ(expected.size(), 3u);
  for (const auto& content : {crlf, cr}) {
    const auto records = ReadAll(content);
    ASSERT_EQ(records.size(), expected.size());
    for (size_t i = 0; i < records.size(); ++i) {
      EXPECT_EQ(records[i].fields, expected[i].fields);
      EXPECT_EQ(records[i].line, expected[i].line);
    }
  }
}

TEST(CsvReader, MissingFinalNewlineStillGivesTheLastRecord) {
  const auto records = ReadAll("a,b\n1,2\n3,\"4\"");
  ASSERT_EQ(records.size(), 3u);
  EXPECT_EQ(records[2].fields, (Fields{"3", "4"}));
  EXPECT_EQ(records[2].line, 3);
}

TEST(CsvReader, EmptyTrailingLineIsOneEmptyRecordAndEmptyInputNone) {
  const auto records = ReadAll("a,b\n1,2\n\n");
  ASSERT_EQ(records.size(), 3u);
  EXPECT_EQ(records[2].fields, (Fields{""}));
  EXPECT_EQ(records[2].line, 3);
  EXPECT_TRUE(ReadAll("").empty());
  EXPECT_TRUE(ReadAll("\xEF\xBB\xBF").empty());
}

TEST(CsvReader, ByteOrderMarkIsSkippedOnlyAtTheStart) {
  const auto records = ReadAll("\xEF\xBB\xBF" "name,email\n\xEF\xBB\xBF" "A,b\n");
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0].fields[0], "name");
  EXPECT_EQ(records[1].fields[0], "\xEF\xBB\xBF" "A");
}

TEST(CsvReader, EmptyFieldsEmptyQuotesAndTrailingComma) {
  const auto records = ReadAll("a,,c,\n\"\",\"\"\"\",\"\"\"\"\"\"\n");
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0].fields, (Fields{"a", "", "c", ""}));
  EXPECT_EQ(records[1].fields, (Fields{"", "\"", "\"\""}));
}

TEST(CsvReader, StrayQuotesAreKeptAsText) {
  const auto records = ReadAll("ab\"c,\"x\"y, \"z\"\n");
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].fields, (Fields{"ab\"c", "xy", " \"z\""}));
}

TEST(CsvReader, UnterminatedQuoteIsAnErrorNamingTheLineItStarted) {
  auto reader = CsvReader::FromString("a,b\n1,2\n3,\"open\nstill open\n", "broken.csv");
  ASSERT_TRUE(reader.Next());
  ASSERT_TRUE(reader.Next());
  auto next = reader.Next();
  ASSERT_FALSE(next);
  EXPECT_EQ(next.error().code, "csv.unterminated_quote");
  EXPECT_NE(next.error().message.find("broken.csv:3"), std::string::npos) << next.error().message;
}

// Records of varied length put every special sequence ("" escapes, CRLF inside and
// between records) across the 64 KiB chunk boundaries at some point.
TEST(CsvReader, LargeInputCrossesChunkBoundariesAnywhere) {
  std::string content = "a,b,c\r\n";
  std::vector<Fields> expected;
  int line = 2;
  std::vector<int> lines;
  for (int i = 0; i < 30000; ++i) {
    const std::string pad(static_cast<size_t>(i % 7), 'p');
    const std::string quoted = "q\"" + pad + "\"\r\n" + std::to_string(i);
    std::string escaped;
    for (char c : quoted) escaped += c == '"' ? std::string("\"\"") : std::string(1, c);
    content += "v" + std::to_string(i) + ",\"" + escaped + "\"," + pad + "\r\n";
    expected.push_back({"v" + std::to_string(i), quoted, pad});
    lines.push_back(line);
    line += 2;
  }
  ASSERT_GT(content.size(), 8u << 16);
  auto reader = CsvReader::FromString(content, "big.csv");
  CsvRecord record;
  ASSERT_TRUE(*reader.ReadInto(record));
  for (size_t i = 0; i < expected.size(); ++i) {
    auto got = reader.ReadInto(record);
    ASSERT_TRUE(got && *got) << i;
    ASSERT_EQ(record.fields, expected[i]) << i;
    ASSERT_EQ(record.line, lines[i]) << i;
  }
  auto end = reader.ReadInto(record);
  ASSERT_TRUE(end);
  EXPECT_FALSE(*end);
}

TEST(CsvReader, ReadIntoReusesTheRecordAndResizesIt) {
  auto reader = CsvReader::FromString("a,b,c\nd\n", "t.csv");
  CsvRecord record;
  ASSERT_TRUE(*reader.ReadInto(record));
  EXPECT_EQ(record.fields, (Fields{"a", "b", "c"}));
  ASSERT_TRUE(*reader.ReadInto(record));
  EXPECT_EQ(record.fields, (Fields{"d"}));
  EXPECT_EQ(record.line, 2);
}

TEST(CsvReader, ReadsAnyStream) {
  auto reader = CsvReader::FromStream(std::make_unique<std::istringstream>("x,y\n1,2\n"), "pipe");
  const auto records = ReadAll(reader);
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(reader.source_name(), "pipe");
}

TEST(CsvReader, OpensAFileWithBomAndCrLf) {
  testing::TempDir dir;
  const auto path = dir.path() + "/students.csv";
  testing::WriteFile(path, "\xEF\xBB\xBF" "event_name,student_name\r\nGo,\"Ann\r\nB\"\r\n");
  auto reader = CsvReader::Open(path);
  ASSERT_TRUE(reader) << reader.error().message;
  const auto records = ReadAll(*reader);
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0].fields, (Fields{"event_name", "student_name"}));
  EXPECT_EQ(records[1].fields, (Fields{"Go", "Ann\r\nB"}));
}

TEST(CsvReader, MissingFileIsAnErrorNamingIt) {
  auto reader = CsvReader::Open("/nonexistent/students.csv");
  ASSERT_FALSE(reader);
  EXPECT_EQ(reader.error().code, "csv.unreadable");
  EXPECT_NE(reader.error().message.find("/nonexistent/students.csv"), std::string::npos);
}

TEST(CsvReader, DirectoryIsAnErrorNotAnEmptyFile) {
  testing::TempDir dir;
  auto reader = CsvReader::Open(dir.path());
  ASSERT_FALSE(reader);
  EXPECT_EQ(reader.error().code, "csv.unreadable");
  EXPECT_NE(reader.error().message.find(dir.path()), std::string::npos);
}

// The error a reader gives after reading what it can of `content`.
Error FirstError(std::string content, CsvLimits limits) {
  auto reader = CsvReader::FromString(std::move(content), "t.csv", limits);
  while (true) {
    auto next = reader.Next();
    if (!next) return next.error();
    if (!*next) return {"none", "no error"};
  }
}

TEST(CsvReader, ARecordPastTheLimitIsAnErrorNamingItsLineAndTheRestIsNotRead) {
  const CsvLimits limits{.max_record_bytes = 100 * 1024, .max_total_bytes = 1ULL << 30};
  const auto error = FirstError("a,b\n1,2\n" + std::string(300 * 1024, 'x') + "\n3,4\n", limits);
  EXPECT_EQ(error.code, "csv.record_too_long");
  EXPECT_EQ(error.message.rfind("t.csv:3: a record longer than 102400 bytes", 0), 0u) << error.message;
  // A quoted field that never closes is stopped the same way, not read to the end.
  const auto quoted = FirstError("a\n\"" + std::string(300 * 1024, 'y'), limits);
  EXPECT_EQ(quoted.code, "csv.record_too_long");
  // Records under the limit read whole, across chunks.
  const auto fine = FirstError("a\n" + std::string(90 * 1024, 'z') + "\n", limits);
  EXPECT_EQ(fine.code, "none");
}

TEST(CsvReader, InputPastTheTotalLimitIsAnError) {
  std::string many;
  for (int i = 0; i < 20000; ++i) many += "row,number," + std::to_string(i) + "\n";
  const auto error = FirstError(many, {.max_record_bytes = 1 << 20, .max_total_bytes = 200 * 1024});
  EXPECT_EQ(error.code, "csv.too_large");
  EXPECT_NE(error.message.find("t.csv: larger than 204800 bytes"), std::string::npos) << error.message;
}

TEST(CsvReader, ADeviceThatNeverEndsStopsAtTheRecordLimit) {
  auto reader = CsvReader::Open("/dev/zero");
  ASSERT_TRUE(reader);
  auto next = reader->Next();
  ASSERT_FALSE(next);
  EXPECT_EQ(next.error().code, "csv.record_too_long");
  EXPECT_EQ(next.error().message.rfind("/dev/zero:1:", 0), 0u) << next.error().message;
}

}  // namespace
}  // namespace herald::certificates
