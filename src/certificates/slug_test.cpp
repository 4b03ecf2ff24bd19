#include "certificates/slug.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <set>
#include <stdexcept>

namespace herald::certificates {
namespace {

// What makes a slug safe as one path component under the output folder.
void ExpectSafe(const std::string& slug) {
  EXPECT_FALSE(slug.empty());
  EXPECT_EQ(slug.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789-"), std::string::npos) << slug;
  EXPECT_NE(slug.front(), '-') << slug;
  EXPECT_NE(slug.back(), '-') << slug;
  EXPECT_EQ(slug.find("--"), std::string::npos) << slug;
  EXPECT_LE(slug.size(), 60u + 1 + 64) << slug;
}

TEST(Slug, ReadablePartIsLowerCaseAsciiWithSingleDashes) {
  EXPECT_EQ(SlugBase("AI/ML Bootcamp"), "ai-ml-bootcamp");
  EXPECT_EQ(SlugBase("  Go -- Workshop!!  "), "go-workshop");
  EXPECT_EQ(SlugBase("  Über C++ 2026!  "), "uber-c-2026");
  EXPECT_EQ(SlugBase("Conférence Cloud Native"), "conference-cloud-native");
  EXPECT_EQ(SlugBase("Łódź Straße Æsir"), "lodz-strasse-aesir");
  EXPECT_EQ(SlugBase("C:\\Windows\\System32"), "c-windows-system32");
  EXPECT_EQ(SlugBase("2026 Data + AI (Day 1)"), "2026-data-ai-day-1");
}

TEST(Slug, PathTricksLeaveNothingButLettersAndDigits) {
  EXPECT_EQ(SlugBase("../../etc"), "etc");
  EXPECT_EQ(SlugBase("../../etc/passwd"), "etc-passwd");
  EXPECT_EQ(SlugBase("."), "");
  EXPECT_EQ(SlugBase(".."), "");
  EXPECT_EQ(SlugBase(".hidden"), "hidden");
  EXPECT_EQ(SlugBase("/"), "");
  EXPECT_EQ(SlugBase(std::string("a\0b", 3)), "a-b");
}

TEST(Slug, ReadablePartIsCutToSixtyCharactersWithoutATrailingDash) {
  EXPECT_EQ(SlugBase(std::string(100, 'a')).size(), 60u);
  const auto cut = SlugBase(std::string(59, 'a') + " b");
  EXPECT_EQ(cut, std::string(59, 'a'));
}

TEST(Slug, NonLatinNamesHaveAnEmptyReadablePart) {
  EXPECT_EQ(SlugBase("数据科学"), "");
  EXPECT_EQ(SlugBase("Наука о данных"), "");
  EXPECT_EQ(SlugBase("数据科学 2026"), "2026");
}

TEST(Slug, EmptyAndCollidingReadablePartsGetAStableHashSuffix) {
  const std::vector<std::string> names = {"AI/ML", "AI ML", "数据科学", "..", "Go", "/", "機械学習"};
  const auto slugs = AssignSlugs(names);
  ASSERT_EQ(slugs.size(), names.size());
  EXPECT_EQ(std::set<std::string>(slugs.begin(), slugs.end()).size(), names.size());
  EXPECT_EQ(slugs[0].rfind("ai-ml-", 0), 0u);
  EXPECT_EQ(slugs[0].size(), std::string("ai-ml-").size() + 8);
  EXPECT_EQ(slugs[1].rfind("ai-ml-", 0), 0u);
  EXPECT_EQ(slugs[2].rfind("event-", 0), 0u);
  EXPECT_EQ(slugs[2].size(), std::string("event-").size() + 8);
  EXPECT_EQ(slugs[4], "go");
  for (const auto& slug : slugs) ExpectSafe(slug);
}

TEST(Slug, SlugsDependOnlyOnTheSetOfNames) {
  std::vector<std::string> names = {"AI/ML", "AI ML", "数据科学", "Go", "Rust", "機械学習"};
  const auto slugs = AssignSlugs(names);
  EXPECT_EQ(AssignSlugs(names), slugs);
  std::vector<std::string> reversed(names.rbegin(), names.rend());
  auto reversed_slugs = AssignSlugs(reversed);
  std::reverse(reversed_slugs.begin(), reversed_slugs.end());
  EXPECT_EQ(reversed_slugs, slugs);
  // A unique readable part stays bare; the hash suffix of a colliding name is the same
  // whatever else collides with it.
  EXPECT_EQ(AssignSlugs({"Go"})[0], "go");
  EXPECT_EQ(AssignSlugs({"AI/ML", "AI ML"})[0], slugs[0]);
}

TEST(Slug, ANameSpelledLikeAnotherOnesSuffixedSlugStillGetsItsOwn) {
  const auto suffixed = AssignSlugs({"AI/ML", "AI ML"});
  // An event literally named after the first suffixed slug.
  const auto slugs = AssignSlugs({"AI/ML", "AI ML", suffixed[0]});
  EXPECT_EQ(std::set<std::string>(slugs.begin(), slugs.end()).size(), 3u);
  for (const auto& slug : slugs) ExpectSafe(slug);
}

TEST(Slug, RandomNamesAlwaysGiveSafeDistinctSlugs) {
  std::mt19937 random(20261123);
  const std::string alphabet = "aB3 ./\\-_:*?\"<>|\t\xC3\xA9\xE6\x95\xB0";
  std::set<std::string> unique_names;
  while (unique_names.size() < 2000) {
    std::string name;
    const auto length = 1 + random() % 12;
    for (size_t i = 0; i < length; ++i) name += alphabet[random() % alphabet.size()];
    unique_names.insert(name);
  }
  const std::vector<std::string> names(unique_names.begin(), unique_names.end());
  const auto slugs = AssignSlugs(names);
  EXPECT_EQ(std::set<std::string>(slugs.begin(), slugs.end()).size(), names.size());
  for (const auto& slug : slugs) ExpectSafe(slug);
}

TEST(Slug, TheSameExactNameTwiceIsACallerBug) {
  EXPECT_THROW(AssignSlugs({"Go", "Go"}), std::invalid_argument);
}

}  // namespace
}  // namespace herald::certificates
