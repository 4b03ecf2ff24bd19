#include "certificates/events_file.hpp"

#include <gtest/gtest.h>

namespace herald::certificates {
namespace {

TEST(EventsFile, TrimsAndIgnoresBlankCommentAndRepeatedLines) {
  auto list = ParseEvents("  Go Workshop  \r\n\n# scrapped: Rust Day\nAI/ML Bootcamp\ngo  workshop\n", "events.txt");
  ASSERT_TRUE(list);
  ASSERT_EQ(list->events.size(), 2u);
  EXPECT_EQ(list->events[0].name, "Go Workshop");
  EXPECT_EQ(list->events[0].slug, "go-workshop");
  EXPECT_EQ(list->events[1].slug, "ai-ml-bootcamp");
}

TEST(EventsFile, CsvNamesMatchIgnoringCaseAndSpacing) {
  auto list = ParseEvents("AI/ML Bootcamp\n", "events.txt");
  EXPECT_NE(list->Find(" ai/ml   BOOTCAMP "), nullptr);
  EXPECT_EQ(list->Find("AI ML Bootcamp"), nullptr);
}

TEST(EventsFile, MissingFileNamesThePath) {
  auto list = LoadEvents("/nonexistent/events.txt");
  ASSERT_FALSE(list);
  EXPECT_NE(list.error().message.find("/nonexistent/events.txt"), std::string::npos);
}

}  // namespace
}  // namespace herald::certificates
