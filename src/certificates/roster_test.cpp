#include "certificates/roster.hpp"

#include <gtest/gtest.h>

#include <algorithm>

#include "common/text.hpp"
#include "tests/support/process.hpp"

namespace herald::certificates {
namespace {

class RosterTest : public ::testing::Test {
 protected:
  Result<Roster> Read(std::string csv, RosterOptions options = {}) {
    auto reader = CsvReader::FromString(std::move(csv), "students.csv");
    return ReadRoster(reader, events_, options);
  }
  static std::vector<std::string> Names(const Roster& roster) {
    std::vector<std::string> names;
    for (const auto& student : roster.eligible) names.push_back(student.name);
    return names;
  }
  static const std::string* Variable(const Student& student, const std::string& name) {
    for (const auto& [key, value] : student.variables) {
      if (key == name) return &value;
    }
    return nullptr;
  }
  EventList events_ = ParseEvents("Go Workshop\nAI/ML Bootcamp\n", "events.txt").value();
};

TEST_F(RosterTest, FieldsPastTheirLimitRejectTheRowWithItsLineAndTheRestGoOn) {
  const std::string longest_name(kMaxNameCharacters, 'a');
  std::string accented;  // 257 two-byte characters
  for (std::size_t i = 0; i <= kMaxNameCharacters; ++i) accented += "\xC3\xA9";
  auto roster = Read("event_name,student_name,student_email,attended,track\n"
                     "Go Workshop," + std::string(1000000, 'x') + ",huge@x.org,1,go\n"
                     "Go Workshop," + accented + ",accented@x.org,1,go\n"
                     "Go Workshop,Bo,bo@x.org,1," + std::string(kMaxFieldBytes + 1, 't') + "\n"
                     "Go Workshop," + longest_name + ",ok@x.org,1,go\n"
                     "Go Workshop,Ann,ann@x.org,1,go\n");
  ASSERT_TRUE(roster) << roster.error().message;
  ASSERT_EQ(roster->rejected.size(), 3u);
  EXPECT_EQ(roster->rejected[0].line, 2);
  EXPECT_EQ(roster->rejected[0].code, "field_too_long");
  EXPECT_EQ(roster->rejected[0].field, "student_name");
  EXPECT_EQ(roster->rejected[0].reason, "student_name has 1000000 characters; at most 256");
  EXPECT_EQ(roster->rejected[1].reason, "student_name has 257 characters; at most 256");
  EXPECT_EQ(roster->rejected[2].line, 4);
  EXPECT_EQ(roster->rejected[2].field, "track");
  EXPECT_EQ(Names(*roster), (std::vector<std::string>{longest_name, "Ann"}));
}

TEST_F(RosterTest, HeadersInAnyOrderCaseAndSpacing) {
  auto roster = Read(
      " Student_Email ,attended, EVENT_NAME,student_NAME \n"
      "a@x.org,1,Go Workshop,Ann\n");
  ASSERT_TRUE(roster) << roster.error().message;
  ASSERT_EQ(roster->eligible.size(), 1u);
  const auto& ann = roster->eligible[0];
  EXPECT_EQ(ann.name, "Ann");
  EXPECT_EQ(ann.email, "a@x.org");
  EXPECT_EQ(ann.event, &events_.events[0]);
  EXPECT_EQ(roster->columns, (std::vector<std::string>{"student_email", "attended", "event_name", "student_name"}));
}

TEST_F(RosterTest, AttendedCountOrYesNoColumnDecidesEligibility) {
  auto roster = Read(
      "event_name,student_name,student_email,attended\n"
      "Go Workshop,Ann,a@x.org,2\n"
      "Go Workshop,Bob,b@x.org,0\n"
      "go workshop,Cid,c@x.org,YES\n"
      "Go Workshop,Dan,d@x.org,no\n"
      "Go Workshop,Eve,e@x.org,\n"
      "Go Workshop,Fay,f@x.org,present\n"
      "Go Workshop,Gus,g@x.org,absent\n");
  ASSERT_TRUE(roster) << roster.error().message;
  EXPECT_EQ(Names(*roster), (std::vector<std::string>{"Ann", "Cid", "Fay"}));
  EXPECT_EQ(roster->eligible[1].event->name, "Go Workshop");  // the events.txt spelling
  EXPECT_EQ(roster->not_attended, 4);
  EXPECT_EQ(roster->rows, 7);
  EXPECT_EQ(roster->per_event.at("go-workshop").eligible, 3);
  EXPECT_EQ(roster->per_event.at("go-workshop").not_attended, 4);
  EXPECT_TRUE(roster->rejected.empty());
}

TEST_F(RosterTest, AttendanceColumnNamedAttendanceWorksToo) {
  auto roster = Read("event_name,student_name,student_email,Attendance\nGo Workshop,Ann,a@x.org,y\n"
                     "Go Workshop,Bob,b@x.org,n\n");
  ASSERT_TRUE(roster) << roster.error().message;
  EXPECT_EQ(Names(*roster), (std::vector<std::string>{"Ann"}));
}

TEST_F(RosterTest, OneColumnPerScheduleAnyAttendedCounts) {
  auto roster = Read(
      "event_name,student_name,student_email,schedule_1,Session_2,attended_day3\n"
      "Go Workshop,Ann,a@x.org,no,yes,0\n"
      "Go Workshop,Bob,b@x.org,no,no,0\n"
      "Go Workshop,Cid,c@x.org,,,1\n"
      "Go Workshop,Dan,d@x.org,false,true,\n");
  ASSERT_TRUE(roster) << roster.error().message;
  EXPECT_EQ(Names(*roster), (std::vector<std::string>{"Ann", "Cid", "Dan"}));
  EXPECT_EQ(roster->not_attended, 1);
}

TEST_F(RosterTest, OneRowPerScheduleIsAggregatedAndDeduplicatedCaseInsensitively) {
  auto roster = Read(
      "event_name,student_name,student_email,schedule,attended\n"
      "Go Workshop,Ann,Ann@X.org,day 1,no\n"
      "Go Workshop,Ann B.,ann@x.org ,day 2,yes\n"
      "AI/ML Bootcamp,Ann,ann@x.org,day 1,1\n"
      "Go Workshop,Bob,b@x.org,day 1,no\n"
      "Go Workshop,Bob,b@x.org,day 2,no\n");
  ASSERT_TRUE(roster) << roster.error().message;
  ASSERT_EQ(roster->eligible.size(), 2u);  // Ann at both events
  const auto& ann = roster->eligible[0];
  EXPECT_EQ(ann.name, "Ann");  // the first row's details win
  EXPECT_EQ(ann.email, "Ann@X.org");
  EXPECT_EQ(ann.email_key, "ann@x.org");
  EXPECT_EQ(ann.line, 2);
  ASSERT_NE(Variable(ann, "schedule"), nullptr);
  EXPECT_EQ(*Variable(ann, "schedule"), "day 1");
  EXPECT_EQ(roster->eligible[1].event->name, "AI/ML Bootcamp");
  EXPECT_EQ(roster->duplicate_rows, 2);
  EXPECT_EQ(roster->not_attended, 1);
  EXPECT_EQ(roster->per_event.at("go-workshop").eligible, 1);
  EXPECT_EQ(roster->per_event.at("go-workshop").not_attended, 1);
  EXPECT_EQ(roster->per_event.at("ai-ml-bootcamp").eligible, 1);
}

TEST_F(RosterTest, RejectedRowsAddNoAttendanceAndTheFirstValidRowWins) {
  auto roster = Read(
      "event_name,student_name,student_email,attended\n"
      "Go Workshop,,a@x.org,1\n"        // rejected: its attendance does not count
      "Go Workshop,Ann,a@x.org,0\n"     // first valid row
      "Go Workshop,Anna,A@x.org,maybe\n"  // rejected
      "Go Workshop,Bob,b@x.org,0\n"
      "Go Workshop,Bobby,B@X.ORG,1\n");
  ASSERT_TRUE(roster) << roster.error().message;
  EXPECT_EQ(Names(*roster), (std::vector<std::string>{"Bob"}));
  EXPECT_EQ(roster->eligible[0].line, 5);
  EXPECT_EQ(roster->not_attended, 1);
  EXPECT_EQ(roster->duplicate_rows, 1);
  ASSERT_EQ(roster->rejected.size(), 2u);
  EXPECT_EQ(roster->per_event.at("go-workshop").rejected, 2);
}

TEST_F(RosterTest, EachBadRowIsRejectedWithItsLineAndReasonAndTheRestIsKept) {
  auto roster = Read(
      "event_name,student_name,student_email,attended,notes\n"
      "Go Workshop,Ann,not-an-email,1,\n"                  // 2
      "Go Workshop,,b@x.org,1,\n"                          // 3
      "Rust Day,Cid,c@x.org,1,\n"                          // 4
      "Go Workshop,\"Dan\nEvil\",d@x.org,1,\n"             // 5-6
      "Go Workshop,Eve,e@x.org,maybe,\n"                   // 7
      "Go Workshop,Fay,f@x.org\n"                          // 8
      "Go Workshop,\"Gil, Jr.\",g@x.org,1,\"two\nlines\"\n"  // 9-10: free text may span lines
      "Go Workshop,Hal,h@@x.org,1,\n"                      // 11
      "Go Workshop,Ivy,\"i@x.org\r\n\",1,\n"               // 12-13
      "Go Workshop,J\xC3\x28n,j@x.org,1,\n"                // 14
      "Go Workshop,Kim,k@x.org,1,bell\x07\n"               // 15
      "Go Workshop,Lea,l@x.org,-1,\n"                      // 16
      "Go Workshop,Max,m@x.org,1,\n");                     // 17
  ASSERT_TRUE(roster) << roster.error().message;
  EXPECT_EQ(Names(*roster), (std::vector<std::string>{"Gil, Jr.", "Max"}));
  ASSERT_NE(Variable(roster->eligible[0], "notes"), nullptr);
  EXPECT_EQ(*Variable(roster->eligible[0], "notes"), "two\nlines");
  EXPECT_EQ(roster->eligible[1].line, 17);
  struct Expected {
    int line;
    std::string code;
    std::string field;
  };
  const std::vector<Expected> expected = {
      {2, "invalid_email", "student_email"},      {3, "empty_name", "student_name"},
      {4, "unknown_event", "event_name"},         {5, "control_characters", "student_name"},
      {7, "invalid_attendance", "attended"},      {8, "field_count", ""},
      {11, "invalid_email", "student_email"},     {12, "control_characters", "student_email"},
      {14, "invalid_utf8", "student_name"},       {15, "control_characters", "notes"},
      {16, "invalid_attendance", "attended"}};
  ASSERT_EQ(roster->rejected.size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(roster->rejected[i].line, expected[i].line) << i;
    EXPECT_EQ(roster->rejected[i].code, expected[i].code) << i;
    EXPECT_EQ(roster->rejected[i].field, expected[i].field) << i;
    EXPECT_FALSE(roster->rejected[i].reason.empty()) << i;
  }
  EXPECT_NE(roster->rejected[0].reason.find("not-an-email"), std::string::npos) << roster->rejected[0].reason;
  EXPECT_NE(roster->rejected[2].reason.find("Rust Day"), std::string::npos) << roster->rejected[2].reason;
  EXPECT_NE(roster->rejected[4].reason.find("maybe"), std::string::npos) << roster->rejected[4].reason;
  // Rows with an unknown event or the wrong number of fields belong to no event.
  EXPECT_EQ(roster->per_event.at("go-workshop").rejected, 9);
  EXPECT_EQ(roster->per_event.at("go-workshop").eligible, 2);
}

TEST_F(RosterTest, EventNamesMatchLooselyAndUnknownEventsAreRejected) {
  auto roster = Read(
      "event_name,student_name,student_email,attended\n"
      "  ai/ml   BOOTCAMP ,Ann,a@x.org,1\n"
      "AI ML Bootcamp,Bob,b@x.org,1\n"
      "AI/ML Bootcamp 2,Cid,c@x.org,1\n"
      ",Dan,d@x.org,1\n");
  ASSERT_TRUE(roster) << roster.error().message;
  EXPECT_EQ(Names(*roster), (std::vector<std::string>{"Ann"}));
  ASSERT_EQ(roster->rejected.size(), 3u);
  for (const auto& row : roster->rejected) EXPECT_EQ(row.code, "unknown_event");
  EXPECT_FALSE(roster->per_event.contains("go-workshop"));  // no row named it
}

TEST_F(RosterTest, BlankAndCommaOnlyRowsAreSkippedSilently) {
  auto roster = Read("event_name,student_name,student_email,attended\n\nGo Workshop,Ann,a@x.org,1\n , ,,\n\n");
  ASSERT_TRUE(roster) << roster.error().message;
  EXPECT_EQ(roster->eligible.size(), 1u);
  EXPECT_EQ(roster->eligible[0].line, 3);
  EXPECT_TRUE(roster->rejected.empty());
  EXPECT_EQ(roster->rows, 1);
}

TEST_F(RosterTest, NoAttendanceInformationIsAnErrorUnlessEveryoneIsEligible) {
  const std::string csv = "event_name,student_name,student_email\nGo Workshop,Ann,a@x.org\nGo Workshop,Bob,b@x.org\n";
  auto roster = Read(csv);
  ASSERT_FALSE(roster);
  EXPECT_EQ(roster.error().code, "csv.no_attendance");
  EXPECT_NE(roster.error().message.find("students.csv:1"), std::string::npos) << roster.error().message;
  auto everyone = Read(csv, {.everyone_eligible = true});
  ASSERT_TRUE(everyone) << everyone.error().message;
  EXPECT_EQ(Names(*everyone), (std::vector<std::string>{"Ann", "Bob"}));
}

TEST_F(RosterTest, EveryoneEligibleDoesNotOverrideAttendanceColumns) {
  auto roster = Read("event_name,student_name,student_email,attended\nGo Workshop,Ann,a@x.org,0\n"
                     "Go Workshop,Bob,b@x.org,1\n",
                     {.everyone_eligible = true});
  ASSERT_TRUE(roster) << roster.error().message;
  EXPECT_EQ(Names(*roster), (std::vector<std::string>{"Bob"}));
}

TEST_F(RosterTest, MissingDuplicateOrEmptyHeaderIsFatalAndNamed) {
  auto missing = Read("event_name,student_name,attended\n");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, "csv.missing_header");
  EXPECT_NE(missing.error().message.find("students.csv:1"), std::string::npos);
  EXPECT_NE(missing.error().message.find("\"student_email\""), std::string::npos) << missing.error().message;
  auto duplicate = Read("event_name,student_name,student_email,Student_Name ,attended\n");
  ASSERT_FALSE(duplicate);
  EXPECT_EQ(duplicate.error().code, "csv.duplicate_header");
  EXPECT_NE(duplicate.error().message.find("student_name"), std::string::npos);
  for (const std::string empty : {"", "\n", "\xEF\xBB\xBF", " , ,\n"}) {
    auto result = Read(empty);
    ASSERT_FALSE(result);
    EXPECT_EQ(result.error().code, "csv.empty");
  }
}

TEST_F(RosterTest, AHeaderWithBytesThatAreNotUtf8OrANulIsFatalNamingTheColumn) {
  auto latin1 = Read("event_name,student_n\xe4me,student_email,attended\nGo Workshop,Ann,a@x.org,1\n");
  ASSERT_FALSE(latin1);
  EXPECT_EQ(latin1.error().code, "csv.header_not_utf8");
  EXPECT_EQ(latin1.error().message.rfind("students.csv:1: column 2 of the header is not UTF-8", 0), 0u)
      << latin1.error().message;
  EXPECT_TRUE(text::IsValidUtf8(latin1.error().message)) << "the message itself can be printed anywhere";
  auto nul = Read(std::string("event_name,student_name,student_\0email,attended\nGo Workshop,Ann,a@x.org,1\n", 74));
  ASSERT_FALSE(nul);
  EXPECT_EQ(nul.error().code, "csv.header_control_character");
  EXPECT_EQ(nul.error().message.rfind("students.csv:1: column 3 of the header holds a control character", 0), 0u)
      << nul.error().message;
}

TEST_F(RosterTest, UnterminatedQuoteIsFatalWithFileAndLine) {
  auto roster = Read("event_name,student_name,student_email,attended\nGo Workshop,Ann,a@x.org,1\n"
                     "Go Workshop,\"Bob,b@x.org,1\nGo Workshop,Cid,c@x.org,1\n");
  ASSERT_FALSE(roster);
  EXPECT_EQ(roster.error().code, "csv.unterminated_quote");
  EXPECT_NE(roster.error().message.find("students.csv:3"), std::string::npos) << roster.error().message;
}

TEST_F(RosterTest, OtherColumnsBecomeVariablesByNormalisedHeader) {
  auto roster = Read("event_name,student_name,student_email,attended, Hours ,,Track\n"
                     "go workshop,Ann,a@x.org,1, 12 ,ignored,Backend\n");
  ASSERT_TRUE(roster) << roster.error().message;
  const auto& ann = roster->eligible[0];
  using Pair = std::pair<std::string, std::string>;
  EXPECT_EQ(ann.variables, (std::vector<Pair>{{"attended", "1"}, {"hours", "12"}, {"track", "Backend"}}));
  EXPECT_EQ(roster->columns[4], "hours");
}

TEST_F(RosterTest, ManyStudentsWithRepeatsAreCountedExactly) {
  std::string csv = "event_name,student_name,student_email,attended\n";
  constexpr int kStudents = 20000;
  for (int i = 0; i < kStudents; ++i) {
    const auto email = "s" + std::to_string(i) + "@example.org";
    const char* event = i % 2 == 0 ? "Go Workshop" : "AI/ML Bootcamp";
    csv += std::string(event) + ",S" + std::to_string(i) + "," + email + "," + (i % 3 == 0 ? "1" : "0") + "\n";
    const auto shouted = "S" + std::to_string(i) + "@EXAMPLE.org";  // the same address in other case
    if (i % 5 == 0) csv += std::string(event) + ",Again," + shouted + ",1\n";
  }
  auto roster = Read(csv);
  ASSERT_TRUE(roster) << roster.error().message;
  int expected_eligible = 0;
  for (int i = 0; i < kStudents; ++i) expected_eligible += (i % 3 == 0 || i % 5 == 0) ? 1 : 0;
  EXPECT_EQ(static_cast<int>(roster->eligible.size()), expected_eligible);
  EXPECT_EQ(roster->duplicate_rows, kStudents / 5);
  EXPECT_EQ(roster->not_attended, kStudents - expected_eligible);
  EXPECT_TRUE(std::none_of(roster->eligible.begin(), roster->eligible.end(),
                           [](const Student& s) { return s.name == "Again"; }));
  EXPECT_TRUE(std::is_sorted(roster->eligible.begin(), roster->eligible.end(),
                             [](const Student& a, const Student& b) { return a.line < b.line; }));
}

TEST(LoadRoster, ReadsAFileWithBomAndCrLfAndNamesAMissingOne) {
  herald::testing::TempDir dir;
  const auto path = dir.path() + "/students.csv";
  herald::testing::WriteFile(path, "\xEF\xBB\xBF" "event_name,student_name,student_email,attended\r\n"
                                   "Go Workshop,\"Zoë, Ann\",a@x.org,1\r\n");
  const auto events = ParseEvents("Go Workshop\n", "events.txt").value();
  auto roster = LoadRoster(path, events, {});
  ASSERT_TRUE(roster) << roster.error().message;
  ASSERT_EQ(roster->eligible.size(), 1u);
  EXPECT_EQ(roster->eligible[0].name, "Zoë, Ann");
  auto missing = LoadRoster(dir.path() + "/nope.csv", events, {});
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, "csv.unreadable");
  EXPECT_NE(missing.error().message.find("nope.csv"), std::string::npos);
}

TEST(ParseAttended, UnderstandsCountsAndWordsAndNothingElse) {
  for (const auto* yes : {"1", "2", "12", "1.0", "0.5", "yes", "Y", "TRUE", "t", "present", "Attended", "x", " yes "}) {
    EXPECT_EQ(ParseAttended(yes), std::optional<bool>(true)) << yes;
  }
  for (const auto* no : {"0", "00", "0.0", "no", "N", "false", "F", "absent", "-", "", "  "}) {
    EXPECT_EQ(ParseAttended(no), std::optional<bool>(false)) << no;
  }
  for (const auto* bad : {"maybe", "-1", "1e3", "0x1", "inf", "nan", "1.", ".5", "1,5", "yes please", "1 2"}) {
    EXPECT_EQ(ParseAttended(bad), std::nullopt) << bad;
  }
}

}  // namespace
}  // namespace herald::certificates
