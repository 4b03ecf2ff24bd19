#include "store/sqlite/sqlite_api_store.hpp"

#include <gtest/gtest.h>

#include "tests/support/process.hpp"

namespace herald::store::sqlite {
namespace {

using herald::testing::TempDir;

class SqliteApiStoreTest : public ::testing::Test {
 protected:
  TempDir dir_;
  SqliteApiStore store_{dir_.path() + "/herald.db"};
  std::int64_t owner_ = store_.CreateKey("owner", "user", "free", "hash-owner", "hk_own", 1).id;

  NewMessage Message(std::string content, std::vector<NewRecipient> to, int priority = 0) {
    NewMessage m;
    m.owner_id = owner_;
    m.content = std::move(content);
    m.recipients = std::move(to);
    m.priority = priority;
    return m;
  }
};

TEST_F(SqliteApiStoreTest, KeysAreFoundByHashUntilRevoked) {
  const auto key = store_.CreateKey("ops", "admin", "premium", "hash-1", "hk_1234", 10);
  ASSERT_TRUE(store_.FindActiveKey("hash-1"));
  EXPECT_EQ(store_.FindActiveKey("hash-1")->role, "admin");
  EXPECT_FALSE(store_.FindActiveKey("hash-2"));
  EXPECT_TRUE(store_.RevokeKey(key.id, 20));
  EXPECT_FALSE(store_.RevokeKey(key.id, 30));  // already revoked
  EXPECT_FALSE(store_.FindActiveKey("hash-1"));
  EXPECT_EQ(store_.ListKeys().size(), 2u);
}

TEST_F(SqliteApiStoreTest, TheSameIdempotencyKeyReturnsTheFirstMessage) {
  auto first = Message("hello", {{"sms", "+15551230001"}, {"email", "a@example.org"}});
  first.idempotency_key = "order-42";
  auto again = Message("different body", {{"sms", "+15551230002"}});
  again.idempotency_key = "order-42";
  const auto accepted = store_.Accept({first, again}, 100);
  ASSERT_EQ(accepted.size(), 2u);
  EXPECT_TRUE(accepted[0].created);
  EXPECT_FALSE(accepted[1].created);
  EXPECT_EQ(accepted[1].message.id, accepted[0].message.id);
  EXPECT_EQ(accepted[1].message.content, "hello");
  EXPECT_EQ(accepted[1].message.recipients.size(), 2u);
  const auto later = store_.Accept({again}, 200);
  EXPECT_FALSE(later[0].created);
  EXPECT_EQ(later[0].message.id, accepted[0].message.id);
}

TEST_F(SqliteApiStoreTest, WorkersClaimByPriorityThenAgeAndNeverTwice) {
  store_.Accept({Message("low", {{"sms", "+15551230001"}}, 0), Message("high", {{"sms", "+15551230002"}}, 5),
                 Message("low 2", {{"sms", "+15551230003"}}, 0), Message("mail", {{"email", "a@example.org"}})},
                100);
  std::vector<std::string> order;
  std::vector<DeliveryResult> done;
  while (auto claim = store_.RecordAndClaim(done, "sms", 200)) {
    order.push_back(claim->content);
    EXPECT_EQ(claim->recipient.status, "sending");
    done = {{claim->recipient.id, "sent", "p-" + std::to_string(claim->recipient.id), "", 0}};
  }
  store_.RecordAndClaim(done, "sms", 200);
  EXPECT_EQ(order, (std::vector<std::string>{"high", "low", "low 2"}));
  const auto message = store_.GetMessage(1);
  ASSERT_TRUE(message);
  EXPECT_EQ(message->recipients[0].status, "sent");
  EXPECT_EQ(message->recipients[0].provider_message_id, "p-" + std::to_string(message->recipients[0].id));
  ASSERT_TRUE(message->recipients[0].sent_at_ms);
}

TEST_F(SqliteApiStoreTest, ScheduledAndRetriedWorkWaitsForItsDueTime) {
  auto later = Message("later", {{"sms", "+15551230001"}});
  later.scheduled_at_ms = 5000;
  store_.Accept({later}, 100);
  EXPECT_FALSE(store_.RecordAndClaim({}, "sms", 4999));
  EXPECT_EQ(store_.NextDueAt("sms"), 5000);
  auto claim = store_.RecordAndClaim({}, "sms", 5000);
  ASSERT_TRUE(claim);
  EXPECT_FALSE(store_.RecordAndClaim({{claim->recipient.id, "queued", "", "451 try later", 9000}}, "sms", 5001));
  claim = store_.RecordAndClaim({}, "sms", 9000);
  ASSERT_TRUE(claim);
  EXPECT_EQ(claim->recipient.attempts, 2);
  EXPECT_EQ(claim->recipient.last_error, "451 try later");
}

TEST_F(SqliteApiStoreTest, CancelStopsOnlyWhatNoWorkerHasTaken) {
  store_.Accept({Message("x", {{"sms", "+15551230001"}, {"sms", "+15551230002"}})}, 100);
  ASSERT_TRUE(store_.RecordAndClaim({}, "sms", 100));
  const auto result = store_.CancelMessage(1, 150);
  EXPECT_TRUE(result.found);
  EXPECT_EQ(result.cancelled, 1);
  EXPECT_EQ(result.not_pending, 1);
  EXPECT_FALSE(store_.RecordAndClaim({}, "sms", 200));
  EXPECT_FALSE(store_.CancelMessage(99, 200).found);
}

TEST_F(SqliteApiStoreTest, SendsInterruptedByACrashBecomeUnknownNotQueued) {
  store_.Accept({Message("x", {{"sms", "+15551230001"}})}, 100);
  ASSERT_TRUE(store_.RecordAndClaim({}, "sms", 100));
  SqliteApiStore reopened(dir_.path() + "/herald.db");
  EXPECT_EQ(reopened.ResolveAbandoned(300), 1);
  EXPECT_EQ(reopened.GetMessage(1)->recipients[0].status, "unknown");
  EXPECT_FALSE(reopened.RecordAndClaim({}, "sms", 400));
}

TEST_F(SqliteApiStoreTest, PagesStayStableWhileMessagesAreAdded) {
  for (int i = 0; i < 5; ++i) store_.Accept({Message("m" + std::to_string(i), {{"sms", "+15551230001"}})}, 100);
  MessageFilter filter;
  const auto first = store_.ListMessages(filter, 1, 2);
  ASSERT_EQ(first.messages.size(), 2u);
  EXPECT_EQ(first.messages[0].id, 5);
  EXPECT_EQ(first.total_count, 5);
  store_.Accept({Message("new", {{"sms", "+15551230001"}})}, 200);
  filter.as_of_id = first.as_of_id;
  const auto second = store_.ListMessages(filter, 2, 2);
  ASSERT_EQ(second.messages.size(), 2u);
  EXPECT_EQ(second.messages[0].id, 3);
  EXPECT_EQ(second.total_count, 5);
  MessageFilter by_channel;
  by_channel.channel = "email";
  EXPECT_EQ(store_.ListMessages(by_channel, 1, 10).total_count, 0);
  by_channel.channel = "sms";
  by_channel.status = "queued";
  EXPECT_EQ(store_.ListMessages(by_channel, 1, 10).total_count, 6);
}

}  // namespace
}  // namespace herald::store::sqlite

namespace herald::store::sqlite {
namespace {

// A store written before messages had an html column opens, gains the column,
// keeps its rows, and carries HTML to the worker from then on.
TEST(SqliteApiStoreUpgrade, AddsTheHtmlColumnToAStoreFromAnEarlierVersion) {
  herald::testing::TempDir dir;
  const auto path = dir.path() + "/herald.db";
  {
    Database old(path);
    old.Execute(
        "CREATE TABLE api_keys (id INTEGER PRIMARY KEY, name TEXT NOT NULL, role TEXT NOT NULL, tier TEXT NOT NULL,"
        " key_hash TEXT NOT NULL UNIQUE, key_prefix TEXT NOT NULL, created_at INTEGER NOT NULL, revoked_at INTEGER);"
        "CREATE TABLE messages (id INTEGER PRIMARY KEY, owner_id INTEGER NOT NULL REFERENCES api_keys(id),"
        " idempotency_key TEXT, subject TEXT NOT NULL, content TEXT NOT NULL, priority INTEGER NOT NULL,"
        " scheduled_at INTEGER, created_at INTEGER NOT NULL, UNIQUE (owner_id, idempotency_key));"
        "INSERT INTO api_keys VALUES (1, 'old', 'user', 'free', 'h', 'hk_', 1, NULL);"
        "INSERT INTO messages VALUES (7, 1, NULL, '', 'from before', 1, NULL, 1);");
  }
  SqliteApiStore store(path);
  EXPECT_EQ(store.GetMessage(7)->content, "from before");
  EXPECT_EQ(store.GetMessage(7)->html, "");
  NewMessage message;
  message.owner_id = 1;
  message.subject = "Hi";
  message.content = "text";
  message.html = "<p>html</p>";
  message.recipients = {{"email", "ann@example.org"}};
  const auto id = store.Accept({message}, 10).at(0).message.id;
  EXPECT_EQ(store.GetMessage(id)->html, "<p>html</p>");
  const auto claimed = store.RecordAndClaim({}, "email", 10);
  ASSERT_TRUE(claimed);
  EXPECT_EQ(claimed->html, "<p>html</p>");
  // Opening it again finds the column there and changes nothing.
  SqliteApiStore again(path);
  EXPECT_EQ(again.GetMessage(id)->html, "<p>html</p>");
}

}  // namespace
}  // namespace herald::store::sqlite
