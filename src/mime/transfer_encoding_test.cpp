#include "mime/transfer_encoding.hpp"

#include <gtest/gtest.h>

namespace herald::mime {
namespace {

std::string Base64(std::string_view data) {
  std::string out;
  AppendBase64(out, data);
  return out;
}

std::string QuotedPrintable(std::string_view text) {
  std::string out;
  AppendQuotedPrintable(out, text);
  return out;
}

TEST(TransferEncoding, Base64MatchesRfc4648Vectors) {
  EXPECT_EQ(Base64(""), "");
  EXPECT_EQ(Base64("f"), "Zg==");
  EXPECT_EQ(Base64("fo"), "Zm8=");
  EXPECT_EQ(Base64("foo"), "Zm9v");
  EXPECT_EQ(Base64("foob"), "Zm9vYg==");
  EXPECT_EQ(Base64("fooba"), "Zm9vYmE=");
  EXPECT_EQ(Base64("foobar"), "Zm9vYmFy");
  EXPECT_EQ(Base64(std::string("\xff\xfe\x00", 3)), "//4A");
}

TEST(TransferEncoding, Base64LinesAre76CharactersWithCrlf) {
  std::string data;
  for (int i = 0; i < 1000; ++i) data.push_back(static_cast<char>(i * 7));
  std::string out;
  AppendBase64Lines(out, data);
  size_t start = 0;
  std::string joined;
  while (start < out.size()) {
    const auto end = out.find("\r\n", start);
    ASSERT_NE(end, std::string::npos);
    EXPECT_LE(end - start, 76u);
    if (end + 2 < out.size()) EXPECT_EQ(end - start, 76u);
    joined += out.substr(start, end - start);
    start = end + 2;
  }
  EXPECT_EQ(joined, Base64(data));
  std::string empty;
  AppendBase64Lines(empty, "");
  EXPECT_EQ(empty, "");
}

TEST(TransferEncoding, QuotedPrintableKeepsTextReadable) {
  EXPECT_EQ(QuotedPrintable("Hello, world"), "Hello, world");
  EXPECT_EQ(QuotedPrintable("a=b"), "a=3Db");
  EXPECT_EQ(QuotedPrintable("é"), "=C3=A9");
  EXPECT_EQ(QuotedPrintable("one\ntwo\r\nthree\rfour"), "one\r\ntwo\r\nthree\r\nfour");
  EXPECT_EQ(QuotedPrintable("space \ntab\t\nend "), "space=20\r\ntab=09\r\nend=20");
  EXPECT_EQ(QuotedPrintable(".\n.x\nFrom me\nFrom\n a.b"), "=2E\r\n=2Ex\r\n=46rom me\r\nFrom\r\n a.b");
  EXPECT_EQ(QuotedPrintable(std::string("\0\x7f", 2)), "=00=7F");
}

TEST(TransferEncoding, QuotedPrintableSoftBreaksLongLines) {
  const std::string text = std::string(200, 'x') + "\n" + std::string(100, '=');
  const auto out = QuotedPrintable(text);
  size_t start = 0;
  std::string decoded_line;
  while (start < out.size()) {
    auto end = out.find("\r\n", start);
    if (end == std::string::npos) end = out.size();
    const auto line = out.substr(start, end - start);
    EXPECT_LE(line.size(), 76u) << line;
    // A soft break never splits an "=XX" escape.
    if (!line.empty() && line.back() == '=') EXPECT_NE(line.substr(line.size() - 3, 1), "=") << line;
    start = end + 2;
  }
  EXPECT_NE(out.find("=\r\n"), std::string::npos);
}

}  // namespace
}  // namespace herald::mime
