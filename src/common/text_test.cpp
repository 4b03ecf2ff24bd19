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
