#include "certificates/roster.hpp"

#include <gtest/gtest.h>

namespace herald::certificates {
namespace {

class RosterTest : public ::testing::Test {
 protected:
  Result<Roster> Read(std::string csv, RosterOptions options = {}) {
    auto reader = CsvReader::FromString(std::move(csv), "students.csv");
    return ReadRoster(reader, events_, options);
  }
  EventList events_ = ParseEvents("Go Workshop\nAI/ML Bootcamp\n", "events.txt").value();
};

TEST_F(RosterTest, AttendedCountOrYesNoColumnDecidesEligibility) {
  auto roster = Read(
      "Student_Email , EVENT_NAME,student_name,attended\n"
      "a@x.org,Go Workshop,Ann,2\n"
      "b@x.org,Go Workshop,Bob,0\n"
      "c@x.org,go workshop,Cid,yes\n"
      "d@x.org,Go Workshop,Dan,no\n"
      "e@x.org,Go Workshop,Eve,\n");
  ASSERT_TRUE(roster) << roster.error().message;
  ASSERT_EQ(roster->eligible.size(), 2u);
  EXPECT_EQ(roster->eligible[0].name, "Ann");
  EXPECT_EQ(roster->eligible[1].name, "Cid");
  EXPECT_EQ(roster->eligible[1].event->name, "Go Workshop");
  EXPECT_EQ(roster->not_attended, 3);
  EXPECT_EQ(roster->per_event.at("go-workshop").eligible, 2);
  EXPECT_TRUE(roster->rejected.empty());
}

TEST_F(RosterTest, OneColumnPerScheduleAnyAttendedCounts) {
  auto roster = Read(
      "event_name,student_name,student_email,schedule_1,schedule_2\n"
      "Go Workshop,Ann,a@x.org,no,yes\n"
      "Go Workshop,Bob,b@x.org,no,no\n");
  ASSERT_TRUE(roster);
  ASSERT_EQ(roster->eligible.size(), 1u);
  EXPECT_EQ(roster->eligible[0].email, "a@x.org");
}

TEST_F(RosterTest, OneRowPerScheduleIsAggregatedAndDeduplicatedCaseInsensitively) {
  auto roster = Read(
      "event_name,student_name,student_email,schedule,attended\n"
      "Go Workshop,Ann,Ann@X.org,day 1,no\n"
      "Go Workshop,Ann B.,ann@x.org ,day 2,yes\n"
      "AI/ML Bootcamp,Ann,ann@x.org,day 1,1\n"
      "Go Workshop,Bob,b@x.org,day 1,no\n"
      "Go Workshop,Bob,b@x.org,day 2,no\n");
  ASSERT_TRUE(roster);
  ASSERT_EQ(roster->eligible.size(), 2u);  // Ann at both events
  EXPECT_EQ(roster->eligible[0].name, "Ann");  // the first row's name wins
  EXPECT_EQ(roster->eligible[0].line, 2);
  EXPECT_EQ(roster->duplicate_rows, 2);
  EXPECT_EQ(roster->not_attended, 1);
}

TEST_F(RosterTest, BadRowsAreRejectedWithLineAndReasonAndTheRestIsKept) {
  auto roster = Read(
      "event_name,student_name,student_email,attended\n"
      "Go Workshop,Ann,not-an-email,1\n"
      "Go Workshop,,b@x.org,1\n"
      "Rust Day,Cid,c@x.org,1\n"
      "Go Workshop,\"Dan\nEvil\",d@x.org,1\n"
      "Go Workshop,Eve,e@x.org,maybe\n"
      "Go Workshop,Fay,f@x.org\n"
      "Go Workshop,\"Gil, Jr.\",g@x.org,1\n"
      "Go Workshop,Hal,h@@x.org,1\n");
  ASSERT_TRUE(roster);
  ASSERT_EQ(roster->eligible.size(), 1u);
  EXPECT_EQ(roster->eligible[0].name, "Gil, Jr.");
  ASSERT_EQ(roster->rejected.size(), 7u);
  const std::vector<std::pair<int, std::string>> expected = {
      {2, "invalid_email"}, {3, "empty_name"}, {4, "unknown_event"}, {5, "control_characters"},
      {7, "invalid_attendance"}, {8, "field_count"}, {10, "invalid_email"}};
  for (size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(roster->rejected[i].line, expected[i].first) << i;
    EXPECT_EQ(roster->rejected[i].code, expected[i].second) << i;
    EXPECT_FALSE(roster->rejected[i].reason.empty());
  }
  // Rows with an unknown event or the wrong number of fields belong to no event.
  EXPECT_EQ(roster->per_event.at("go-workshop").rejected, 5);
}

TEST_F(RosterTest, NoAttendanceInformationIsAnErrorUnlessEveryoneIsEligible) {
  const std::string csv = "event_name,student_name,student_email\nGo Workshop,Ann,a@x.org\n";
  auto roster = Read(csv);
  ASSERT_FALSE(roster);
  EXPECT_EQ(roster.error().code, "csv.no_attendance");
  auto everyone = Read(csv, {.everyone_eligible = true});
  ASSERT_TRUE(everyone);
  EXPECT_EQ(everyone->eligible.size(), 1u);
}

TEST_F(RosterTest, MissingOrDuplicateHeaderIsFatalAndNamed) {
  auto missing = Read("event_name,student_name,attended\n");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, "csv.missing_header");
  EXPECT_NE(missing.error().message.find("student_email"), std::string::npos);
  auto duplicate = Read("event_name,student_name,student_email,Student_Name,attended\n");
  ASSERT_FALSE(duplicate);
  EXPECT_EQ(duplicate.error().code, "csv.duplicate_header");
  auto empty = Read("");
  ASSERT_FALSE(empty);
  EXPECT_EQ(empty.error().code, "csv.empty");
}

TEST_F(RosterTest, OtherColumnsBecomeVariables) {
  auto roster = Read("event_name,student_name,student_email,attended, Hours \nGo Workshop,Ann,a@x.org,1, 12 \n");
  ASSERT_TRUE(roster);
  EXPECT_EQ(roster->columns.back(), "hours");
  EXPECT_EQ(roster->eligible[0].variables.at("hours"), "12");
}

TEST(EmailProblem, AcceptsCommonAddressesAndRejectsBrokenOnes) {
  EXPECT_FALSE(EmailProblem("first.last+tag@sub.example.co.uk"));
  EXPECT_TRUE(EmailProblem("no-at.example.org"));
  EXPECT_TRUE(EmailProblem("a@localhost"));
  EXPECT_TRUE(EmailProblem("a b@x.org"));
  EXPECT_TRUE(EmailProblem("a@x..org"));
  EXPECT_TRUE(EmailProblem(".a@x.org"));
}

}  // namespace
}  // namespace herald::certificates
