#include "common/text.hpp"

#include <gtest/gtest.h>

namespace herald::text {
namespace {

TEST(Text, TrimRemovesSurroundingWhitespaceOnly) {
  EXPECT_EQ(Trim("  a b \r\n"), "a b");
  EXPECT_EQ(Trim(" \t "), "");
}

TEST(Text, Utf8ValidationRejectsOverlongAndTruncatedSequences) {
  EXPECT_TRUE(IsValidUtf8("Zoë Ω 李 😀"));
  EXPECT_FALSE(IsValidUtf8("\xC0\xAF"));      // overlong '/'
  EXPECT_FALSE(IsValidUtf8("\xE6\x9D"));      // truncated
  EXPECT_FALSE(IsValidUtf8("\xED\xA0\x80"));  // surrogate
}

TEST(Text, ControlCharactersAreDetectedButTabIsAllowed) {
  EXPECT_TRUE(HasControlCharacters("a\r\nb"));
  EXPECT_TRUE(HasControlCharacters(std::string("a\0b", 3)));
  EXPECT_FALSE(HasControlCharacters("a\tb"));
}

}  // namespace
}  // namespace herald::text

namespace herald::text {
namespace {

TEST(DecodeUtf8, DecodesEachLengthAndRefusesWhatIsNotWellFormed) {
  EXPECT_EQ(DecodeUtf8("A", 0).code_point, U'A');
  EXPECT_EQ(DecodeUtf8("é", 0).length, 2u);
  EXPECT_EQ(DecodeUtf8("é", 0).code_point, U'é');
  EXPECT_EQ(DecodeUtf8("你", 0).code_point, U'你');
  EXPECT_EQ(DecodeUtf8("😀", 0).length, 4u);
  EXPECT_EQ(DecodeUtf8("😀", 0).code_point, U'😀');
  for (const std::string_view bad : {"\xC0\xAF", "\xE0\x80\xAF", "\xED\xA0\x80", "\xF4\x90\x80\x80", "\xF8\x88\x80\x80",
                                     "\xC3", "\xE4\xBD", "\x80", "\xC3\x28"}) {
    EXPECT_EQ(DecodeUtf8(bad, 0).length, 0u) << testing::PrintToString(bad);
    EXPECT_FALSE(IsValidUtf8(bad));
  }
  EXPECT_TRUE(IsValidUtf8("Grüße, 你好 😀"));
}

}  // namespace
}  // namespace herald::text
