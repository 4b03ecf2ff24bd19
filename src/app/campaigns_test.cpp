// The campaign use cases on real stores (SQLite in a temporary directory) and
// the real group-commit intake.
#include "app/campaigns.hpp"

#include <gtest/gtest.h>

#include "store/sqlite/sqlite_stores.hpp"
#include "tests/support/process.hpp"

namespace herald::app {
namespace {

class CampaignServiceTest : public ::testing::Test {
 protected:
  CampaignServiceTest() {
    owner_ = stores_.keys().CreateKey("owner", "user", "free", "hash-owner", "hk_own", 1).id;
    other_ = stores_.keys().CreateKey("other", "user", "free", "hash-other", "hk_oth", 1).id;
  }
  ~CampaignServiceTest() override { intake_.Stop(); }

  store::ContactRecord Contact(std::int64_t owner, std::optional<std::string> email, std::string first_name) {
    store::ContactRecord c;
    c.owner_id = owner;
    c.email = std::move(email);
    if (!c.email) c.phone = "+15551230001";
    c.first_name = std::move(first_name);
    return c;
  }
  store::CampaignRecord Campaign(std::optional<std::int64_t> template_id = std::nullopt) {
    store::CampaignRecord c;
    c.owner_id = owner_;
    c.name = "launch";
    c.channel = "email";
    c.status = "draft";
    c.subject = "Hi {{first_name}}";
    if (template_id) {
      c.template_id = template_id;
    } else {
      c.base_template = "Hello {{first_name}}";
    }
    return c;
  }
  static MaySee Owner(std::int64_t id) {
    return [id](std::int64_t owner) { return owner == id; };
  }

  herald::testing::TempDir dir_;
  ManualClock clock_;
  store::sqlite::SqliteStores stores_{dir_.path() + "/herald.db", store::SchemaPolicy::kMigrate, clock_};
  MessageIntake intake_{stores_.messages(), clock_, [](const auto&) {}};
  CampaignService service_{stores_.contacts(), stores_.templates(), stores_.campaigns(), intake_, clock_};
  std::int64_t owner_ = 0;
  std::int64_t other_ = 0;
};

TEST_F(CampaignServiceTest, ASendQueuesOnePersonalisedMessagePerContactAndASecondSendAddsNothing) {
  const auto contacts = stores_.contacts().CreateContacts(
      {Contact(owner_, "ann@example.org", "Ann"), Contact(owner_, "bo@example.org", "Bo"),
       Contact(owner_, std::nullopt, "Phone only"), Contact(other_, "eve@example.org", "Eve")},
      1);
  const auto campaign = std::get<store::CampaignRecord>(service_.Create(Campaign(), Owner(owner_)));

  auto sent = service_.Send(campaign, std::nullopt);
  ASSERT_TRUE(std::holds_alternative<SendReport>(sent)) << std::get<Failure>(sent).message;
  const auto& report = std::get<SendReport>(sent);
  EXPECT_EQ(report.created, 2);
  EXPECT_EQ(report.already_queued, 0);
  EXPECT_EQ(report.skipped, 1);
  ASSERT_EQ(report.skipped_listed.size(), 1u);
  EXPECT_EQ(report.skipped_listed[0].contact_id, contacts[2].id);
  EXPECT_EQ(report.skipped_listed[0].reason, "no address for email");
  EXPECT_EQ(report.status, "sending");
  const auto stats = stores_.campaigns().Stats(campaign.id);
  EXPECT_EQ(stats.total, 2) << "another owner's contact is not reached";
  const auto page = stores_.messages().ListMessages({}, 1, 10);
  ASSERT_EQ(page.messages.size(), 2u);
  EXPECT_EQ(page.messages[0].subject, "Hi Bo");
  EXPECT_EQ(page.messages[0].content, "Hello Bo");

  const auto again = std::get<SendReport>(service_.Send(campaign, std::nullopt));
  EXPECT_EQ(again.created, 0);
  EXPECT_EQ(again.already_queued, 2);
  EXPECT_EQ(stores_.campaigns().Stats(campaign.id).total, 2);
}

TEST_F(CampaignServiceTest, NamedContactsMustAllBeTheOwnersAndAnEmptyListIsRefused) {
  const auto mine = stores_.contacts().CreateContacts({Contact(owner_, "ann@example.org", "Ann")}, 1);
  const auto theirs = stores_.contacts().CreateContacts({Contact(other_, "eve@example.org", "Eve")}, 1);
  const auto campaign = std::get<store::CampaignRecord>(service_.Create(Campaign(), Owner(owner_)));
  auto refused = service_.Send(campaign, std::vector<std::int64_t>{mine[0].id, theirs[0].id});
  ASSERT_TRUE(std::holds_alternative<Failure>(refused));
  EXPECT_EQ(std::get<Failure>(refused).kind, Failure::Kind::kNotFound);
  EXPECT_EQ(std::get<Failure>(refused).message, "customer_ids: no contacts " + std::to_string(theirs[0].id));
  EXPECT_EQ(stores_.campaigns().Stats(campaign.id).total, 0) << "nothing is queued when one id is wrong";

  store::CampaignRecord lonely = Campaign();
  lonely.owner_id = stores_.keys().CreateKey("new", "user", "free", "hash-new", "hk_new", 1).id;
  const auto nobody = std::get<store::CampaignRecord>(service_.Create(lonely, Owner(lonely.owner_id)));
  auto empty = service_.Send(nobody, std::nullopt);
  ASSERT_TRUE(std::holds_alternative<Failure>(empty));
  EXPECT_EQ(std::get<Failure>(empty).kind, Failure::Kind::kInvalid);
}

TEST_F(CampaignServiceTest, ATemplateMustBeVisibleAndFitTheChannelAndItsDeletionStopsTheSend) {
  store::TemplateRecord sms;
  sms.owner_id = owner_;
  sms.name = "sms only";
  sms.channel = "sms";
  sms.text = "Hi";
  const auto sms_id = stores_.templates().CreateTemplate(sms, 1).id;
  auto wrong_channel = service_.Create(Campaign(sms_id), Owner(owner_));
  ASSERT_TRUE(std::holds_alternative<Failure>(wrong_channel));
  EXPECT_EQ(std::get<Failure>(wrong_channel).kind, Failure::Kind::kInvalid);
  auto not_visible = service_.Create(Campaign(sms_id), Owner(other_));
  ASSERT_TRUE(std::holds_alternative<Failure>(not_visible));
  EXPECT_EQ(std::get<Failure>(not_visible).code, "TEMPLATE_NOT_FOUND");

  store::TemplateRecord mail = sms;
  mail.channel.reset();
  mail.text = "Dear {{first_name}}";
  const auto mail_id = stores_.templates().CreateTemplate(mail, 1).id;
  const auto campaign = std::get<store::CampaignRecord>(service_.Create(Campaign(mail_id), Owner(owner_)));
  const auto contact = stores_.contacts().CreateContacts({Contact(owner_, "ann@example.org", "Ann")}, 1)[0];
  const auto preview = service_.Preview(campaign, contact.id, std::nullopt, Owner(owner_));
  ASSERT_TRUE(std::holds_alternative<CampaignPreview>(preview));
  EXPECT_EQ(std::get<CampaignPreview>(preview).message, "Dear Ann");
  EXPECT_EQ(std::get<CampaignPreview>(preview).subject, "Hi Ann");
  auto hidden = service_.Preview(campaign, contact.id, std::nullopt, Owner(other_));
  ASSERT_TRUE(std::holds_alternative<Failure>(hidden));
  EXPECT_EQ(std::get<Failure>(hidden).code, "CONTACT_NOT_FOUND");

  ASSERT_TRUE(stores_.templates().DeleteTemplate(mail_id));
  auto stopped = service_.Send(campaign, std::nullopt);
  ASSERT_TRUE(std::holds_alternative<Failure>(stopped));
  EXPECT_EQ(std::get<Failure>(stopped).kind, Failure::Kind::kConflict);
  EXPECT_EQ(std::get<Failure>(stopped).code, "CAMPAIGN_NOT_SENDABLE");
}

}  // namespace
}  // namespace herald::app
