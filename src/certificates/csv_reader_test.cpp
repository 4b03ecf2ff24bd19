#include "certificates/csv_reader.hpp"

#include <gtest/gtest.h>

namespace herald::certificates {
namespace {

std::vector<CsvRecord> ReadAll(std::string content) {
  auto reader = CsvReader::FromString(std::move(content), "t.csv");
  std::vector<CsvRecord> records;
  while (true) {
    auto next = reader.Next();
    EXPECT_TRUE(next) << next.error().message;
    if (!next || !*next) break;
    records.push_back(**next);
  }
  return records;
}

TEST(CsvReader, QuotedFieldsKeepCommasQuotesAndLineBreaks) {
  const auto records = ReadAll("a,b,c\r\n\"x, y\",\"say \"\"hi\"\"\",\"two\r\nlines\"\r\nlast,row,here\r\n");
  ASSERT_EQ(records.size(), 3u);
  EXPECT_EQ(records[1].fields, (std::vector<std::string>{"x, y", "say \"hi\"", "two\r\nlines"}));
  EXPECT_EQ(records[1].line, 2);
  EXPECT_EQ(records[2].line, 4);  // the record after a two-line field starts on line 4
}

TEST(CsvReader, LfOnlyAndMissingFinalNewline) {
  const auto records = ReadAll("a,b\n1,2\n3,4");
  ASSERT_EQ(records.size(), 3u);
  EXPECT_EQ(records[2].fields, (std::vector<std::string>{"3", "4"}));
  EXPECT_EQ(records[2].line, 3);
}

TEST(CsvReader, ByteOrderMarkIsSkipped) {
  const auto records = ReadAll("\xEF\xBB\xBFname,email\nA,b\n");
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0].fields[0], "name");
}

TEST(CsvReader, EmptyFieldsAndTrailingComma) {
  const auto records = ReadAll("a,,c,\n");
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].fields, (std::vector<std::string>{"a", "", "c", ""}));
}

TEST(CsvReader, UnterminatedQuoteIsAnErrorNamingTheLineItStarted) {
  auto reader = CsvReader::FromString("a,b\n1,\"open\nstill open\n", "broken.csv");
  ASSERT_TRUE(reader.Next());
  auto next = reader.Next();
  ASSERT_FALSE(next);
  EXPECT_EQ(next.error().code, "csv.unterminated_quote");
  EXPECT_NE(next.error().message.find("broken.csv:2"), std::string::npos) << next.error().message;
}

TEST(CsvReader, LargeInputCrossesBufferBoundaries) {
  std::string content = "a,b\n";
  for (int i = 0; i < 20000; ++i) content += "\"value, " + std::to_string(i) + "\",x\n";
  const auto records = ReadAll(content);
  ASSERT_EQ(records.size(), 20001u);
  EXPECT_EQ(records.back().fields[0], "value, 19999");
  EXPECT_EQ(records.back().line, 20001);
}

TEST(CsvReader, MissingFileIsAnErrorNamingIt) {
  auto reader = CsvReader::Open("/nonexistent/students.csv");
  ASSERT_FALSE(reader);
  EXPECT_NE(reader.error().message.find("/nonexistent/students.csv"), std::string::npos);
}

}  // namespace
}  // namespace herald::certificates
