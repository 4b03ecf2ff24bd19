#include "store/sqlite/sqlite_certificate_store.hpp"

#include <gtest/gtest.h>

#include "tests/support/process.hpp"

namespace herald::store::sqlite {
namespace {

using domain::DeliveryStatus;

CertificateDelivery Row(std::string id, std::string slug = "ai-ml", int line = 2) {
  CertificateDelivery row;
  row.id = std::move(id);
  row.certificate_id = "C-" + row.id;
  row.event_name = "AI/ML";
  row.event_slug = std::move(slug);
  row.student_name = "Ada";
  row.email = row.id + "@example.org";
  row.variables_json = "{}";
  row.csv_line = line;
  return row;
}

class SqliteCertificateStoreTest : public ::testing::Test {
 protected:
  herald::testing::TempDir dir_;
  ManualClock clock_;
  std::string path_ = dir_.path() + "/herald.db";
};

TEST_F(SqliteCertificateStoreTest, InsertNewKeepsExistingRowsAndTheirState) {
  SqliteCertificateStore store(path_, clock_);
  EXPECT_EQ(store.InsertNew({Row("a"), Row("b")}), 2);
  store.Record({{.id = "a", .status = DeliveryStatus::kSent, .provider_id = "q1"}});
  EXPECT_EQ(store.InsertNew({Row("a"), Row("b"), Row("c")}), 1);
  EXPECT_EQ(store.Get("a")->status, DeliveryStatus::kSent);
  EXPECT_EQ(store.Get("a")->provider_id, "q1");
  EXPECT_EQ(store.Get("c")->status, DeliveryStatus::kQueued);
}

TEST_F(SqliteCertificateStoreTest, ClaimMovesOnlyQueuedRowsAndCountsAttempts) {
  SqliteCertificateStore store(path_, clock_);
  store.InsertNew({Row("a"), Row("b")});
  EXPECT_TRUE(store.RecordAndClaim({}, {"a"}, "run1")[0]);
  EXPECT_TRUE(store.RecordAndClaim({}, {"b"}, "run1")[0]);
  EXPECT_FALSE(store.RecordAndClaim({}, {"a"}, "run1")[0]);
  EXPECT_EQ(store.Get("a")->attempts, 1);
  EXPECT_EQ(store.Get("a")->status, DeliveryStatus::kSending);
}

TEST_F(SqliteCertificateStoreTest, OneTransactionClaimsManyAndSaysWhichWereStillQueued) {
  SqliteCertificateStore store(path_, clock_);
  store.InsertNew({Row("a"), Row("b"), Row("c")});
  store.CancelEvent("ai-ml", "test");
  store.InsertNew({Row("d"), Row("e")});
  store.ReviveCancelled({"b"});
  EXPECT_EQ(store.RecordAndClaim({}, {"a", "b", "d", "e", "e"}, "run1"),
            (std::vector<bool>{false, true, true, true, false}));
  EXPECT_EQ(store.Get("a")->status, DeliveryStatus::kCancelled);
  EXPECT_EQ(store.Get("e")->attempts, 1);
}

TEST_F(SqliteCertificateStoreTest, RecordAndClaimDoBothInOneStep) {
  SqliteCertificateStore store(path_, clock_);
  store.InsertNew({Row("a"), Row("b")});
  ASSERT_TRUE(store.RecordAndClaim({}, {"a"}, "run1")[0]);
  EXPECT_TRUE(store.RecordAndClaim({{.id = "a", .status = DeliveryStatus::kSent, .provider_id = "q"}}, {"b"}, "run1")[0]);
  EXPECT_EQ(store.Get("a")->status, DeliveryStatus::kSent);
  EXPECT_EQ(store.Get("b")->status, DeliveryStatus::kSending);
  EXPECT_FALSE(store.RecordAndClaim({}, {"a"}, "run1")[0]);  // already final
}

TEST_F(SqliteCertificateStoreTest, SendingRowsOfADeadRunBecomeUnknownAfterReopen) {
  {
    SqliteCertificateStore store(path_, clock_);
    store.InsertNew({Row("a"), Row("b"), Row("c")});
    store.RecordAndClaim({}, {"a"}, "dead-run")[0];
    store.RecordAndClaim({}, {"b"}, "dead-run")[0];
    store.Record({{.id = "b", .status = DeliveryStatus::kSent}});
  }
  SqliteCertificateStore reopened(path_, clock_);
  const auto abandoned = reopened.ResolveAbandoned("new-run");
  ASSERT_EQ(abandoned.size(), 1u);
  EXPECT_EQ(abandoned[0].id, "a");
  EXPECT_EQ(reopened.Get("a")->status, DeliveryStatus::kUnknown);
  EXPECT_EQ(reopened.Get("b")->status, DeliveryStatus::kSent);
  EXPECT_EQ(reopened.Get("c")->status, DeliveryStatus::kQueued);
  EXPECT_TRUE(reopened.ResolveAbandoned("new-run").empty());
}

TEST_F(SqliteCertificateStoreTest, RowsClaimedByTheCurrentRunAreNotAbandoned) {
  SqliteCertificateStore store(path_, clock_);
  store.InsertNew({Row("a")});
  store.RecordAndClaim({}, {"a"}, "run1")[0];
  EXPECT_TRUE(store.ResolveAbandoned("run1").empty());
}

TEST_F(SqliteCertificateStoreTest, ReviveCancelledTouchesOnlyCancelledRows) {
  SqliteCertificateStore store(path_, clock_);
  store.InsertNew({Row("a"), Row("b")});
  store.MarkPublished({"a", "b"});
  store.CancelEvent("ai-ml", "removed");
  store.Record({{.id = "b", .status = DeliveryStatus::kSent}});
  EXPECT_EQ(store.ReviveCancelled({"a", "b", "missing"}), 1);
  EXPECT_EQ(store.Get("a")->status, DeliveryStatus::kQueued);
  EXPECT_EQ(store.UnpublishedIds("ai-ml"), (std::vector<std::string>{"a"}));
}

TEST_F(SqliteCertificateStoreTest, UnpublishedFollowsCsvOrderAndMarkPublished) {
  SqliteCertificateStore store(path_, clock_);
  store.InsertNew({Row("z", "ai-ml", 2), Row("a", "ai-ml", 3), Row("m", "other", 4)});
  EXPECT_EQ(store.UnpublishedIds("ai-ml"), (std::vector<std::string>{"z", "a"}));
  store.MarkPublished({"z"});
  EXPECT_EQ(store.UnpublishedIds("ai-ml"), (std::vector<std::string>{"a"}));
  store.ForgetPublished("ai-ml");
  EXPECT_EQ(store.UnpublishedIds("ai-ml"), (std::vector<std::string>{"z", "a"}));
}

TEST_F(SqliteCertificateStoreTest, CancelEventTouchesOnlyQueuedRowsOfThatEvent) {
  SqliteCertificateStore store(path_, clock_);
  store.InsertNew({Row("a", "gone"), Row("b", "gone"), Row("c", "kept")});
  store.Record({{.id = "a", .status = DeliveryStatus::kSent}});
  EXPECT_EQ(store.CancelEvent("gone", "event removed"), 1);
  EXPECT_EQ(store.Get("b")->status, DeliveryStatus::kCancelled);
  EXPECT_EQ(store.Get("b")->last_error, "event removed");
  EXPECT_EQ(store.Get("a")->status, DeliveryStatus::kSent);
  EXPECT_EQ(store.OpenCount("kept"), 1);
  const auto counts = store.CountByEvent();
  EXPECT_EQ(counts.at("gone").at(DeliveryStatus::kCancelled), 1);
  EXPECT_EQ(counts.at("gone").at(DeliveryStatus::kSent), 1);
}

TEST_F(SqliteCertificateStoreTest, LaneRegistryRoundTrips) {
  SqliteCertificateStore store(path_, clock_);
  store.SaveLane({"ai-ml", "AI/ML", "herald.certificates.ai-ml"});
  store.SaveLane({"go", "Go", "herald.certificates.go"});
  store.DeleteLane("go");
  const auto lanes = store.Lanes();
  ASSERT_EQ(lanes.size(), 1u);
  EXPECT_EQ(lanes[0].queue_name, "herald.certificates.ai-ml");
}

TEST(SqliteDatabase, UnopenablePathNamesTheFile) {
  try {
    Database db("/nonexistent-dir/x/herald.db");
    FAIL() << "expected an exception";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent-dir/x/herald.db"), std::string::npos);
  }
}

}  // namespace
}  // namespace herald::store::sqlite
