#include "store/sqlite/sqlite_campaign_store.hpp"

#include <gtest/gtest.h>

#include <set>

#include "store/sqlite/sqlite_api_store.hpp"
#include "tests/support/process.hpp"

namespace herald::store::sqlite {
namespace {

using herald::testing::TempDir;

class SqliteCampaignStoreTest : public ::testing::Test {
 protected:
  TempDir dir_;
  SqliteApiStore messages_{dir_.path() + "/herald.db"};
  SqliteCampaignStore store_{dir_.path() + "/herald.db"};

  static ContactRecord Contact(std::int64_t owner, std::string phone, std::optional<std::string> first_name = {}) {
    ContactRecord c;
    c.owner_id = owner;
    c.phone = std::move(phone);
    c.first_name = std::move(first_name);
    return c;
  }

  CampaignRecord Campaign(std::int64_t owner, std::string channel = "sms") {
    CampaignRecord c;
    c.owner_id = owner;
    c.name = "promo";
    c.channel = std::move(channel);
    c.status = "draft";
    c.base_template = "Hi {first_name}";
    return c;
  }
};

TEST_F(SqliteCampaignStoreTest, ContactsRoundTripWithNullFieldsAndAreUpdatedAndDeleted) {
  auto stored = store_.CreateContacts({Contact(1, "+15551230001", "Ann"), Contact(1, "+15551230002")}, 100);
  ASSERT_EQ(stored.size(), 2u);
  EXPECT_LT(stored[0].id, stored[1].id);
  auto read = store_.GetContact(stored[1].id);
  ASSERT_TRUE(read);
  EXPECT_EQ(read->phone, "+15551230002");
  EXPECT_FALSE(read->first_name);  // NULL stays missing, not ""
  EXPECT_EQ(read->attributes_json, "{}");
  read->last_name = "Lee";
  read->attributes_json = R"({"tier":"gold"})";
  EXPECT_TRUE(store_.UpdateContact(*read, 200));
  const auto updated = store_.GetContact(read->id);
  EXPECT_EQ(updated->last_name, "Lee");
  EXPECT_EQ(updated->attributes_json, R"({"tier":"gold"})");
  EXPECT_EQ(updated->created_at_ms, 100);
  EXPECT_EQ(updated->updated_at_ms, 200);
  EXPECT_TRUE(store_.DeleteContact(read->id));
  EXPECT_FALSE(store_.DeleteContact(read->id));
  EXPECT_FALSE(store_.GetContact(read->id));
}

TEST_F(SqliteCampaignStoreTest, AContactWithoutAnyAddressIsRefusedByTheSchema) {
  std::vector<ContactRecord> nobody(1);
  nobody[0].owner_id = 1;
  nobody[0].first_name = "Ann";
  EXPECT_THROW(store_.CreateContacts(std::move(nobody), 100), std::runtime_error);
}

TEST_F(SqliteCampaignStoreTest, ContactsOfAnOwnerAreScopedAndFilteredById) {
  const auto mine = store_.CreateContacts({Contact(1, "+15551230001"), Contact(1, "+15551230002")}, 100);
  const auto theirs = store_.CreateContacts({Contact(2, "+15551230003")}, 100);
  EXPECT_EQ(store_.ContactsAfter(1, 0, 100).size(), 2u);
  EXPECT_EQ(store_.ContactsAfter(2, 0, 100).size(), 1u);
  // Another owner's id is not returned even when asked for.
  const auto some = store_.ContactsOf(1, std::vector<std::int64_t>{mine[1].id, theirs[0].id});
  ASSERT_EQ(some.size(), 1u);
  EXPECT_EQ(some[0].id, mine[1].id);
}

TEST_F(SqliteCampaignStoreTest, ContactsComeInPagesByIdSoAListIsNeverLoadedWhole) {
  std::vector<ContactRecord> many;
  for (int i = 0; i < 25; ++i) many.push_back(Contact(1, "+155512300" + std::to_string(10 + i)));
  const auto stored = store_.CreateContacts(std::move(many), 100);
  std::vector<std::int64_t> seen;
  for (std::int64_t after = 0;;) {
    const auto page = store_.ContactsAfter(1, after, 10);
    if (page.empty()) break;
    EXPECT_LE(page.size(), 10u);
    for (const auto& contact : page) seen.push_back(contact.id);
    after = page.back().id;
  }
  ASSERT_EQ(seen.size(), 25u);
  for (std::size_t i = 0; i < seen.size(); ++i) EXPECT_EQ(seen[i], stored[i].id);
}

TEST_F(SqliteCampaignStoreTest, PagesAreNewestFirstAndStableWhileRowsAreAdded) {
  for (int i = 0; i < 5; ++i) store_.CreateCampaign(Campaign(1, i % 2 ? "email" : "sms"), 100 + i);
  store_.CreateCampaign(Campaign(2), 200);
  PageQuery query;
  query.owner_id = 1;
  query.page_size = 2;
  const auto first = store_.ListCampaigns(query, {});
  EXPECT_EQ(first.total_count, 5);
  ASSERT_EQ(first.rows.size(), 2u);
  EXPECT_GT(first.rows[0].id, first.rows[1].id);
  // New rows arrive; the next pages, cut from the first page's snapshot, still fit.
  store_.CreateCampaign(Campaign(1), 300);
  std::set<std::int64_t> seen;
  for (const auto& c : first.rows) seen.insert(c.id);
  query.as_of_id = first.as_of_id;
  for (int page = 2; page <= 3; ++page) {
    query.page = page;
    const auto next = store_.ListCampaigns(query, {});
    EXPECT_EQ(next.total_count, 5);
    for (const auto& c : next.rows) EXPECT_TRUE(seen.insert(c.id).second) << "duplicate " << c.id;
  }
  EXPECT_EQ(seen.size(), 5u);
  // Filters, and an admin (no owner) sees every owner's rows.
  query = PageQuery{};
  EXPECT_EQ(store_.ListCampaigns(query, {.channel = "email"}).total_count, 2);
  EXPECT_EQ(store_.ListCampaigns(query, {.status = "draft"}).total_count, 7);
  EXPECT_EQ(store_.ListCampaigns(query, {.status = "sent"}).total_count, 0);
}

TEST_F(SqliteCampaignStoreTest, TemplatesKeepTheirVariables) {
  TemplateRecord t;
  t.owner_id = 1;
  t.name = "welcome";
  t.channel = "email";
  t.subject = "Hi {{first_name}}";
  t.text = "Hello {{first_name}} from {{location}}";
  t.variables = {"first_name", "location"};
  const auto stored = store_.CreateTemplate(t, 100);
  auto read = store_.GetTemplate(stored.id);
  ASSERT_TRUE(read);
  EXPECT_EQ(read->variables, (std::vector<std::string>{"first_name", "location"}));
  EXPECT_EQ(read->channel, "email");
  read->channel.reset();
  read->variables = {};
  EXPECT_TRUE(store_.UpdateTemplate(*read, 200));
  EXPECT_FALSE(store_.GetTemplate(stored.id)->channel);
  EXPECT_TRUE(store_.GetTemplate(stored.id)->variables.empty());
  EXPECT_TRUE(store_.DeleteTemplate(stored.id));
  EXPECT_FALSE(store_.GetTemplate(stored.id));
}

TEST_F(SqliteCampaignStoreTest, StatsFollowTheDeliveryStateOfTheLinkedMessagesAndSettleTheStatus) {
  const auto key = messages_.CreateKey("owner", "user", "free", "hash", "hk_x", 1);
  auto campaign = store_.CreateCampaign(Campaign(key.id), 100);
  std::vector<NewMessage> batch;
  for (const char* to : {"+15551230001", "+15551230002"}) {
    NewMessage m;
    m.owner_id = key.id;
    m.content = "hi";
    m.recipients = {{"sms", to}};
    batch.push_back(m);
  }
  const auto accepted = messages_.Accept(batch, 100);
  store_.LinkMessages(campaign.id, {{10, accepted[0].message.id}, {11, accepted[1].message.id}});
  store_.LinkMessages(campaign.id, {{10, accepted[0].message.id}});  // linking again changes nothing
  EXPECT_TRUE(store_.SetCampaignStatus(campaign.id, {"draft"}, "sending", 110));
  EXPECT_FALSE(store_.SetCampaignStatus(campaign.id, {"draft"}, "sending", 110));
  auto stats = store_.Stats(campaign.id);
  EXPECT_EQ(stats.total, 2);
  EXPECT_EQ(stats.pending, 2);
  EXPECT_EQ(store_.Settle(120), 0);  // still pending
  // A worker sends one and fails the other.
  auto first = messages_.RecordAndClaim({}, "sms", 200);
  auto second = messages_.RecordAndClaim({{first->recipient.id, "sent", "p-1", "", 0}}, "sms", 200);
  messages_.Record({{second->recipient.id, "dead", "", "refused", 0}}, 210);
  stats = store_.Stats(campaign.id);
  EXPECT_EQ(stats.pending, 0);
  EXPECT_EQ(stats.sent, 1);
  EXPECT_EQ(stats.failed, 1);
  EXPECT_EQ(store_.Settle(300), 1);
  EXPECT_EQ(store_.GetCampaign(campaign.id)->status, "sent");
  // A campaign with no messages is never settled.
  const auto empty = store_.CreateCampaign(Campaign(key.id), 100);
  store_.SetCampaignStatus(empty.id, {"draft"}, "sending", 110);
  EXPECT_EQ(store_.Settle(400), 0);
  EXPECT_EQ(store_.GetCampaign(empty.id)->status, "sending");
}

}  // namespace
}  // namespace herald::store::sqlite
