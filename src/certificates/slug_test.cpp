#include "certificates/slug.hpp"

#include <gtest/gtest.h>

#include <set>

namespace herald::certificates {
namespace {

TEST(Slug, ReadableAndSafe) {
  EXPECT_EQ(SlugBase("AI/ML Bootcamp"), "ai-ml-bootcamp");
  EXPECT_EQ(SlugBase("../../etc"), "etc");
  EXPECT_EQ(SlugBase(".."), "");
  EXPECT_EQ(SlugBase("  Über C++ 2026!  "), "uber-c-2026");
  EXPECT_EQ(SlugBase("Conférence Cloud Native"), "conference-cloud-native");
  EXPECT_EQ(SlugBase("Łódź Straße Æsir"), "lodz-strasse-aesir");
  EXPECT_EQ(SlugBase(std::string(100, 'a')).size(), 60u);
}

TEST(Slug, EmptyAndCollidingReadablePartsGetAStableHashSuffix) {
  const auto slugs = AssignSlugs({"AI/ML", "AI ML", "数据科学", "..", "Go"});
  ASSERT_EQ(slugs.size(), 5u);
  EXPECT_EQ(std::set<std::string>(slugs.begin(), slugs.end()).size(), 5u);
  EXPECT_EQ(slugs[0].rfind("ai-ml-", 0), 0u);
  EXPECT_EQ(slugs[0].size(), std::string("ai-ml-").size() + 8);
  EXPECT_EQ(slugs[2].rfind("event-", 0), 0u);
  EXPECT_EQ(slugs[4], "go");
  EXPECT_EQ(AssignSlugs({"AI/ML", "AI ML", "数据科学", "..", "Go"}), slugs);  // deterministic
  for (const auto& slug : slugs) {
    EXPECT_EQ(slug.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789-"), std::string::npos) << slug;
    EXPECT_NE(slug.front(), '.');
  }
}

}  // namespace
}  // namespace herald::certificates
