// The read replica's routing, on two SQLite files standing for a primary and a
// replica that has not caught up: writes land on the primary, lists come from
// the replica, a row the replica lacks is read from the primary, and a replica
// that cannot be opened leaves every read on the primary until it can.
// (The same against a real PostgreSQL streaming replica: tests/e2e/replica_e2e_test.)
#include "store/replica/replica_reads.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "store/sqlite/sqlite_stores.hpp"
#include "tests/support/process.hpp"

namespace herald::store {
namespace {

using std::chrono::milliseconds;

class ReplicaReadsTest : public ::testing::Test {
 protected:
  std::unique_ptr<Stores> Open(const std::string& name) {
    auto stores = std::make_unique<sqlite::SqliteStores>(dir_.path() + "/" + name, SchemaPolicy::kMigrate, clock_);
    if (stores->keys().ListKeys().empty()) stores->keys().CreateKey("ops", "admin", "premium", "hash", "hk_1", 10);
    return stores;
  }

  static NewMessage Message(std::string content) {
    NewMessage message;
    message.owner_id = 1;
    message.content = std::move(content);
    message.recipients = {{"sms", "+15551230000"}};
    return message;
  }

  static TemplateRecord Template(std::string subject) {
    TemplateRecord record;
    record.owner_id = 1;
    record.name = "welcome";
    record.subject = std::move(subject);
    record.text = "Hello";
    return record;
  }

  herald::testing::TempDir dir_;
  ManualClock clock_;
};

TEST_F(ReplicaReadsTest, WritesGoToThePrimaryListsToTheReplicaAndAMissingRowToThePrimary) {
  auto primary = Open("primary.db");
  ReplicaReads reads(*primary, "replica.db", [this] { return Open("replica.db"); });
  ASSERT_TRUE(reads.health().up);

  const auto accepted = reads.messages().Accept({Message("written through the reads")}, 100);
  ASSERT_EQ(accepted.size(), 1u);
  const auto id = accepted[0].message.id;
  EXPECT_EQ(primary->messages().ListMessages({}, 1, 10).total_count, 1) << "the write reached the primary";
  EXPECT_EQ(reads.messages().ListMessages({}, 1, 10).total_count, 0) << "the list is the replica's, not caught up";
  const auto found = reads.messages().GetMessage(id);
  ASSERT_TRUE(found) << "a row the replica lacks is read from the primary";
  EXPECT_EQ(found->content, "written through the reads");
  EXPECT_FALSE(reads.messages().GetMessage(id + 100)) << "a row neither has stays missing";

  // A row both have is the replica's: a template the replica holds under the same id.
  primary->templates().CreateTemplate(Template("on the primary"), 100);
  auto replica_side = Open("replica.db");
  replica_side->templates().CreateTemplate(Template("on the replica"), 100);
  const auto tmpl = reads.templates().GetTemplate(1);
  ASSERT_TRUE(tmpl);
  EXPECT_EQ(tmpl->subject, "on the replica");
  EXPECT_EQ(reads.templates().ListTemplates({}).rows.at(0).subject, "on the replica");

  const auto health = reads.health();
  EXPECT_TRUE(health.up);
  EXPECT_EQ(health.where, "replica.db");
  EXPECT_EQ(health.replica_reads, 5);
  EXPECT_EQ(health.primary_reads, 2) << "the two rows the replica lacked";
}

TEST_F(ReplicaReadsTest, AReplicaThatCannotBeOpenedLeavesReadsOnThePrimaryAndIsTriedAgain) {
  auto primary = Open("primary.db");
  primary->messages().Accept({Message("on the primary")}, 100);
  std::atomic<bool> reachable{false};
  std::atomic<int> attempts{0};
  ReplicaReads reads(
      *primary, "replica.example:5432/herald",
      [&]() -> std::unique_ptr<Stores> {
        ++attempts;
        if (!reachable) throw std::runtime_error("cannot connect to replica.example:5432: Connection refused");
        return Open("replica.db");
      },
      milliseconds(500));
  auto health = reads.health();
  EXPECT_FALSE(health.up);
  EXPECT_NE(health.error.find("Connection refused"), std::string::npos) << health.error;

  // Many reads within the interval: all answered by the primary, the replica not tried again.
  for (int i = 0; i < 20; ++i) EXPECT_EQ(reads.messages().ListMessages({}, 1, 10).total_count, 1);
  EXPECT_EQ(attempts, 1);
  EXPECT_EQ(reads.health().primary_reads, 20);

  std::this_thread::sleep_for(milliseconds(600));
  EXPECT_FALSE(reads.Probe().up) << "still refused";
  EXPECT_EQ(attempts, 2);

  reachable = true;
  std::this_thread::sleep_for(milliseconds(600));
  EXPECT_EQ(reads.messages().ListMessages({}, 1, 10).total_count, 0) << "the replica answers now";
  health = reads.health();
  EXPECT_TRUE(health.up);
  EXPECT_TRUE(health.error.empty()) << health.error;
  EXPECT_EQ(health.replica_reads, 1);
  EXPECT_EQ(attempts, 3);
}

}  // namespace
}  // namespace herald::store
