#include "certificates/events_file.hpp"

#include <gtest/gtest.h>

#include "tests/support/process.hpp"

namespace herald::certificates {
namespace {

TEST(EventsFile, TrimsAndIgnoresBlankCommentAndRepeatedLines) {
  auto list = ParseEvents(
      "\xEF\xBB\xBF  Go Workshop  \r\n\n   \t\n# scrapped: Rust Day\n   # indented comment\nAI/ML Bootcamp\r\n"
      "go  workshop\nGO WORKSHOP\nC# Basics\n",
      "events.txt");
  ASSERT_TRUE(list) << list.error().message;
  ASSERT_EQ(list->events.size(), 3u);
  EXPECT_EQ(list->events[0].name, "Go Workshop");  // the first spelling stays
  EXPECT_EQ(list->events[0].slug, "go-workshop");
  EXPECT_EQ(list->events[1].name, "AI/ML Bootcamp");
  EXPECT_EQ(list->events[1].slug, "ai-ml-bootcamp");
  EXPECT_EQ(list->events[2].name, "C# Basics");  // '#' only starts a comment at the start
  EXPECT_EQ(list->events[2].slug, "c-basics");
}

TEST(EventsFile, EmptyFileListsNoEvents) {
  auto list = ParseEvents("# nothing yet\n\n", "events.txt");
  ASSERT_TRUE(list);
  EXPECT_TRUE(list->events.empty());
  EXPECT_EQ(list->Find("anything"), nullptr);
}

TEST(EventsFile, CsvNamesMatchIgnoringCaseAndSpacingAndGiveTheListedName) {
  auto list = ParseEvents("AI/ML   Bootcamp\nGo Workshop\n", "events.txt");
  ASSERT_TRUE(list);
  const Event* event = list->Find(" ai/ml BOOTCAMP ");
  ASSERT_NE(event, nullptr);
  EXPECT_EQ(event->name, "AI/ML   Bootcamp");
  EXPECT_EQ(list->Find("ai/ml\tbootcamp"), event);
  EXPECT_EQ(list->Find("AI/ML\xC2\xA0" "Bootcamp"), event);  // a no-break space from a spreadsheet
  EXPECT_EQ(list->Find("Go Workshop"), &list->events[1]);
  EXPECT_EQ(list->Find("AI ML Bootcamp"), nullptr);
  EXPECT_EQ(list->Find("AI/MLBootcamp"), nullptr);
  EXPECT_EQ(list->Find(""), nullptr);
}

TEST(EventsFile, MatchKeyCollapsesWhitespaceAndFoldsAsciiCase) {
  EXPECT_EQ(EventMatchKey("  Go \t  WORKSHOP \r"), "go workshop");
  EXPECT_EQ(EventMatchKey("Ünïcode Ok"), "Ünïcode ok");
  EXPECT_EQ(EventMatchKey(""), "");
}

TEST(EventsFile, InvalidTextIsAnErrorWithFileAndLine) {
  auto bad_utf8 = ParseEvents("Go\n\nBad \xFF name\n", "events.txt");
  ASSERT_FALSE(bad_utf8);
  EXPECT_EQ(bad_utf8.error().code, "events.invalid_name");
  EXPECT_NE(bad_utf8.error().message.find("events.txt:3"), std::string::npos) << bad_utf8.error().message;
  auto control = ParseEvents("Go\x01" "Day\n", "events.txt");
  ASSERT_FALSE(control);
  EXPECT_NE(control.error().message.find("events.txt:1"), std::string::npos);
}

TEST(EventsFile, LoadsAFileAndNamesAMissingOneOrADirectory) {
  herald::testing::TempDir dir;
  const auto path = dir.path() + "/events.txt";
  herald::testing::WriteFile(path, "Go Workshop\r\n数据科学\r\n");
  auto list = LoadEvents(path);
  ASSERT_TRUE(list) << list.error().message;
  ASSERT_EQ(list->events.size(), 2u);
  EXPECT_EQ(list->events[1].name, "数据科学");
  EXPECT_EQ(list->events[1].slug.rfind("event-", 0), 0u) << list->events[1].slug;

  auto missing = LoadEvents("/nonexistent/events.txt");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, "events.unreadable");
  EXPECT_NE(missing.error().message.find("/nonexistent/events.txt"), std::string::npos);
  auto directory = LoadEvents(dir.path());
  ASSERT_FALSE(directory);
  EXPECT_EQ(directory.error().code, "events.unreadable");
}

TEST(EventsFile, SlugsAreDistinctAndStableForCollidingNames) {
  const std::string text = "AI/ML\nAI ML\nAI-ML\n数据科学\n機械学習\n..\n";
  auto first = ParseEvents(text, "events.txt");
  auto again = ParseEvents(text, "events.txt");
  ASSERT_TRUE(first && again);
  ASSERT_EQ(first->events.size(), 6u);
  std::set<std::string> slugs;
  for (size_t i = 0; i < first->events.size(); ++i) {
    slugs.insert(first->events[i].slug);
    EXPECT_EQ(first->events[i].slug, again->events[i].slug);
  }
  EXPECT_EQ(slugs.size(), 6u);
}

TEST(EventsFile, AFileThatNeverEndsIsRefusedNamingIt) {
  const auto events = LoadEvents("/dev/zero");
  ASSERT_FALSE(events);
  EXPECT_EQ(events.error().code, "events.too_large");
  EXPECT_EQ(events.error().message.rfind("/dev/zero: larger than", 0), 0u) << events.error().message;
}

}  // namespace
}  // namespace herald::certificates
