#include "certificates/delivery_plan.hpp"

#include <gtest/gtest.h>

namespace herald::certificates {
namespace {

TEST(DeliveryPlan, IdsAreStablePerEventAndEmail) {
  EXPECT_EQ(DeliveryId("Go", "a@x.org"), DeliveryId("Go", "a@x.org"));
  EXPECT_NE(DeliveryId("Go", "a@x.org"), DeliveryId("Rust", "a@x.org"));
  EXPECT_EQ(DeliveryId("Go", "a@x.org").size(), 24u);
  const auto code = CertificateCode("0a1b2c3d4e5f6789");
  EXPECT_EQ(code, "0A1B-2C3D-4E5F");
}

TEST(DeliveryPlan, VariablesIncludeBuiltinsAndCsvDateWins) {
  auto events = ParseEvents("Go Workshop\n", "events.txt").value();
  auto reader = CsvReader::FromString(
      "event_name,student_name,student_email,attended,date\n"
      "go workshop,Ann,Ann@x.org,1,1 May 2026\n"
      "Go Workshop,Bob,b@x.org,1,\n",
      "s.csv");
  const auto roster = ReadRoster(reader, events, {}).value();
  const auto rows = PlanDeliveries(roster, "23 November 2026");
  ASSERT_EQ(rows.size(), 2u);
  const auto ann = VariablesOf(rows[0]);
  EXPECT_EQ(ann.at("event_name"), "Go Workshop");
  EXPECT_EQ(ann.at("date"), "1 May 2026");
  EXPECT_EQ(ann.at("certificate_id"), rows[0].certificate_id);
  EXPECT_EQ(rows[0].id, DeliveryId("Go Workshop", "ann@x.org"));
  EXPECT_EQ(VariablesOf(rows[1]).at("date"), "23 November 2026");
  EXPECT_EQ(rows[0].event_slug, "go-workshop");
}

}  // namespace
}  // namespace herald::certificates
