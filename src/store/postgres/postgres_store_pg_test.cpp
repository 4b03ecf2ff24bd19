// The store contract (store_contract_test.hpp) on PostgreSQL: every suite the
// SQLite backend passes, against a private server, a new database per test.
#include <gtest/gtest.h>

#include <atomic>
#include <set>
#include <thread>

#include "store/postgres/postgres_stores.hpp"
#include "store/store_contract_test.hpp"
#include "tests/support/postgres_server.hpp"

namespace herald::store::postgres {
namespace {

class PostgresBackend final : public testing::StoreBackend {
 public:
  PostgresBackend() {
    static std::atomic<int> next{0};
    url_ = herald::testing::SharedPostgresServer().NewDatabaseUrl("contract_" + std::to_string(next++));
  }
  std::unique_ptr<Stores> Open(const Clock& clock) override {
    return std::make_unique<PostgresStores>(url_, 4, std::chrono::seconds(10), SchemaPolicy::kMigrate, clock);
  }

 private:
  std::string url_;
};

NewMessage EmailTo(std::int64_t owner, int n) {
  NewMessage message;
  message.owner_id = owner;
  message.subject = "hello";
  message.content = "hello " + std::to_string(n);
  message.recipients = {{"email", "reader" + std::to_string(n) + "@example.org"}};
  return message;
}

std::set<std::int64_t> IdsOf(const std::vector<ClaimedDelivery>& due) {
  std::set<std::int64_t> ids;
  for (const auto& delivery : due) ids.insert(delivery.recipient.id);
  return ids;
}

// A process whose lanes no broker carries writes no outbox rows: no relay
// would ever empty them. When a broker takes over, the relay's start finds
// its lanes empty and hands over everything queued.
TEST(PostgresOutboxTest, WithoutABrokerNothingGoesToTheOutboxUntilARelayAsks) {
  const auto url = herald::testing::SharedPostgresServer().NewDatabaseUrl("no_outbox");
  ManualClock clock;
  PostgresStores stores(url, 2, std::chrono::seconds(10), SchemaPolicy::kMigrate, clock, /*relay_outbox=*/false);
  const auto owner = stores.keys().CreateKey("owner", "user", "free", "hash-owner", "hk_own", 1).id;
  stores.messages().Accept({EmailTo(owner, 1), EmailTo(owner, 2)}, 100);
  EXPECT_TRUE(stores.deliveries().TakeUnpublished(10, 200).empty());
  EXPECT_EQ(stores.deliveries().ForgetPublished("email", INT64_MAX), 2);
  EXPECT_EQ(stores.deliveries().TakeUnpublished(10, 200).size(), 2u);
}

// Rows of recipients a process sent straight from the table leave the outbox
// as the relay comes to them; a batch of nothing but such rows does not make
// the relay think nothing is due.
TEST(PostgresOutboxTest, ABatchOfSettledRowsIsFollowedByWhatIsStillDue) {
  const auto url = herald::testing::SharedPostgresServer().NewDatabaseUrl("outbox_settled");
  ManualClock clock;
  PostgresStores stores(url, 2, std::chrono::seconds(10), SchemaPolicy::kMigrate, clock, /*relay_outbox=*/true);
  const auto owner = stores.keys().CreateKey("owner", "user", "free", "hash-owner", "hk_own", 1).id;
  std::vector<NewMessage> messages;
  for (int n = 0; n < 5; ++n) messages.push_back(EmailTo(owner, n));
  const auto accepted = stores.messages().Accept(std::move(messages), 100);
  const auto taken = stores.deliveries().TakeDue("email", TakeOrder::kPriorityThenDue, 4, 200, {});
  ASSERT_EQ(taken.size(), 4u);
  std::vector<std::int64_t> claims;
  for (const auto& delivery : taken) claims.push_back(delivery.recipient.id);
  ASSERT_EQ(stores.deliveries().RecordAndClaimMany({}, claims, 200, std::nullopt), std::vector<bool>(4, true));

  const auto due = stores.deliveries().TakeUnpublished(2, 300);
  ASSERT_EQ(due.size(), 1u) << "two batches of two settled rows, then the one still queued";
  EXPECT_EQ(due[0].recipient_id, accepted[4].message.recipients[0].id);
  stores.deliveries().MarkPublished(due);
  EXPECT_TRUE(stores.deliveries().TakeUnpublished(2, 300).empty());
  PgPool pool(url, 1, std::chrono::seconds(10));
  EXPECT_EQ(pool.Acquire()->Exec("SELECT COUNT(*) FROM message_outbox").Int(0, 0), 0) << "the settled rows are gone";
}

// The engine's commit keeps one plan per connection, made the first time,
// often on an empty table: that plan must still walk the primary key once the
// table holds a campaign's rows (a plan left to the statistics of an empty
// table scans the whole table at every call).
TEST(PostgresCommitTest, APlanMadeOnAnEmptyTableStillWalksThePrimaryKey) {
  const auto url = herald::testing::SharedPostgresServer().NewDatabaseUrl("commit_plan");
  ManualClock clock;
  { PostgresStores migrated(url, 1, std::chrono::seconds(10), SchemaPolicy::kMigrate, clock); }
  PgConnection db(url, std::chrono::seconds(10));
  const auto commit = [&db](std::int64_t claim) {
    const std::vector<std::int64_t> none;
    const std::vector<std::string> no_text;
    db.Exec("SELECT * FROM herald_record_and_claim($1, $2::bigint[], $3::text[], $4::text[], $5::text[], "
            "$6::bigint[], $7::bigint[], $8, $9::bigint[])",
            {Param(1), Param(none), Param(no_text), Param(no_text), Param(no_text), Param(none), Param(none),
             Param("w"), Param(std::vector<std::int64_t>{claim})});
  };
  const auto scans = [&db] {
    db.Exec("SELECT pg_stat_force_next_flush()");
    const auto row = db.Exec("SELECT seq_scan, idx_scan FROM pg_stat_user_tables WHERE relname = 'message_recipients'");
    return std::pair{row.Int(0, 0), row.Int(0, 1)};
  };
  for (int n = 0; n < 10; ++n) commit(n);  // planned, and the plan kept, on the empty table
  db.Exec("INSERT INTO api_keys (name, role, tier, key_hash, key_prefix, created_at) "
          "VALUES ('o', 'user', 'free', 'h', 'p', 1)");
  db.Exec("INSERT INTO messages (owner_id, subject, content, priority, created_at) "
          "SELECT k.id, 's', 'c', 0, 1 FROM api_keys k, generate_series(1, 20000)");
  db.Exec("INSERT INTO message_recipients (message_id, lane, channel, address, status, priority, due_at, updated_at) "
          "SELECT id, 'email', 'email', 'a@example.org', 'queued', 0, 1, 1 FROM messages");
  const auto before = scans();
  for (int n = 0; n < 10; ++n) commit(100 + n);
  const auto after = scans();
  EXPECT_EQ(after.first, before.first) << "no call scanned the table";
  EXPECT_GE(after.second - before.second, 10) << "every call went through an index";
}

// Workers without a broker take due rows straight from the table: each take
// passes by the rows another worker has taken (FOR UPDATE SKIP LOCKED, then a
// 30 s mark), so two workers take disjoint rows; the mark of a worker that
// went away lapses. The paced lane is read by all alike (one process begins
// each release, oldest first).
TEST(PostgresTakeTest, TwoWorkersTakeDisjointRowsUntilOnesTakeLapses) {
  const auto url = herald::testing::SharedPostgresServer().NewDatabaseUrl("take_leases");
  ManualClock clock;
  PostgresStores first(url, 2, std::chrono::seconds(10), SchemaPolicy::kMigrate, clock);
  PostgresStores second(url, 2, std::chrono::seconds(10), SchemaPolicy::kRequireCurrent, clock);
  const auto owner = first.keys().CreateKey("owner", "user", "free", "hash-owner", "hk_own", 1).id;
  std::vector<NewMessage> messages;
  for (int n = 0; n < 10; ++n) messages.push_back(EmailTo(owner, n));
  first.messages().Accept(std::move(messages), 100);

  const auto mine = first.deliveries().TakeDue("email", TakeOrder::kPriorityThenDue, 6, 200, {});
  const auto theirs = second.deliveries().TakeDue("email", TakeOrder::kPriorityThenDue, 6, 200, {});
  ASSERT_EQ(mine.size(), 6u);
  ASSERT_EQ(theirs.size(), 4u) << "the other worker's six are passed by";
  std::set<std::int64_t> all = IdsOf(mine);
  for (const auto id : IdsOf(theirs)) EXPECT_TRUE(all.insert(id).second) << "recipient " << id << " taken twice";
  EXPECT_EQ(first.deliveries().TakeDue("email", TakeOrder::kPriorityThenDue, 10, 300, {}).size(), 6u)
      << "a worker's own takes are its own to take again";
  EXPECT_TRUE(second.deliveries().TakeDue("email", TakeOrder::kPriorityThenDue, 10, 300, IdsOf(theirs)).empty());

  // The claim, not the take, decides who sends.
  EXPECT_EQ(second.deliveries().RecordAndClaimMany({}, {mine[0].recipient.id}, 300, std::nullopt),
            std::vector<bool>{true});
  EXPECT_EQ(first.deliveries().RecordAndClaimMany({}, {mine[0].recipient.id}, 300, std::nullopt),
            std::vector<bool>{false});

  // The first worker goes away: 30 s on, its other five are the second's to take.
  const auto lapsed = second.deliveries().TakeDue("email", TakeOrder::kPriorityThenDue, 10, 30300, IdsOf(theirs));
  auto expected = IdsOf(mine);
  expected.erase(mine[0].recipient.id);
  EXPECT_EQ(IdsOf(lapsed), expected);

  first.pacing().Enqueue({{owner, "+15550000001", "a"}, {owner, "+15550000002", "b"}}, 400);
  const auto oldest = first.deliveries().TakeDue(kPacedLane, TakeOrder::kArrival, 1, 500, {});
  ASSERT_EQ(oldest.size(), 1u);
  EXPECT_EQ(oldest[0].content, "a");
  EXPECT_EQ(IdsOf(second.deliveries().TakeDue(kPacedLane, TakeOrder::kArrival, 1, 500, {})), IdsOf(oldest))
      << "the paced lane's oldest row is every process's";
}

// Two workers taking and claiming the same lane at once lose no claim to each
// other: what one takes the other does not see.
TEST(PostgresTakeTest, WorkersTakingAtOnceNeverTakeTheSameRow) {
  const auto url = herald::testing::SharedPostgresServer().NewDatabaseUrl("take_race");
  ManualClock clock;
  PostgresStores setup(url, 2, std::chrono::seconds(10), SchemaPolicy::kMigrate, clock);
  const auto owner = setup.keys().CreateKey("owner", "user", "free", "hash-owner", "hk_own", 1).id;
  constexpr int kRows = 2000;
  std::vector<NewMessage> messages;
  for (int n = 0; n < kRows; ++n) messages.push_back(EmailTo(owner, n));
  setup.messages().Accept(std::move(messages), 100);

  std::atomic<int> claimed{0};
  std::atomic<int> lost{0};
  const auto work = [&] {
    PostgresStores worker(url, 2, std::chrono::seconds(10), SchemaPolicy::kRequireCurrent, clock);
    for (;;) {
      const auto due = worker.deliveries().TakeDue("email", TakeOrder::kPriorityThenDue, 25, 200, {});
      if (due.empty()) return;
      std::vector<std::int64_t> ids;
      for (const auto& delivery : due) ids.push_back(delivery.recipient.id);
      for (const bool won : worker.deliveries().RecordAndClaimMany({}, ids, 200, std::nullopt)) ++(won ? claimed : lost);
    }
  };
  std::thread a(work);
  std::thread b(work);
  a.join();
  b.join();
  EXPECT_EQ(claimed.load(), kRows);
  EXPECT_EQ(lost.load(), 0) << "a claim lost means two workers took one row";
}

}  // namespace
}  // namespace herald::store::postgres

namespace herald::store::testing {
HERALD_INSTANTIATE_STORE_CONTRACT(Postgres, ::testing::Values(StoreBackendFactory([] {
                                    return std::unique_ptr<StoreBackend>(
                                        std::make_unique<postgres::PostgresBackend>());
                                  })));
}  // namespace herald::store::testing
