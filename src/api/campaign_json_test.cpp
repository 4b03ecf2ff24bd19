// Parsing of the contacts, templates and campaigns APIs.
#include <gtest/gtest.h>

#include "api/campaign_json.hpp"
#include "api/contact_json.hpp"

namespace herald::api {
namespace {

using nlohmann::json;

TEST(TemplateRequest, VariablesAreCollectedAndBrokenTemplatesNameTheField) {
  auto parsed = ParseTemplateRequest({{"name", "welcome"},
                                      {"channel", "EMAIL"},
                                      {"subject", "Hi {{first_name}}"},
                                      {"html", "<p>{{.first_name}} {{location}}</p>"},
                                      {"text", "{first_name} {preferred_product}"}},
                                     3);
  ASSERT_TRUE(std::holds_alternative<store::TemplateRecord>(parsed)) << std::get<ApiError>(parsed).message;
  const auto& t = std::get<store::TemplateRecord>(parsed);
  EXPECT_EQ(t.channel, "email");
  EXPECT_EQ(t.owner_id, 3);
  EXPECT_EQ(t.variables, (std::vector<std::string>{"first_name", "preferred_product", "location"}));

  auto broken = ParseTemplateRequest({{"name", "x"}, {"text", "Hi {{first_name"}}, 3);
  ASSERT_TRUE(std::holds_alternative<ApiError>(broken));
  EXPECT_EQ(std::get<ApiError>(broken).status, 400);
  EXPECT_EQ(std::get<ApiError>(broken).message.rfind("text:", 0), 0u) << std::get<ApiError>(broken).message;
  auto no_body = ParseTemplateRequest({{"name", "x"}}, 3);
  ASSERT_TRUE(std::holds_alternative<ApiError>(no_body));
  EXPECT_NE(std::get<ApiError>(no_body).message.find("text"), std::string::npos);
}

TEST(TemplateRequest, PatchChangesOnlyNamedFields) {
  auto original = std::get<store::TemplateRecord>(ParseTemplateRequest({{"name", "a"}, {"text", "{x}"}}, 1));
  auto patched = ParseTemplateRequest({{"subject", "S {y}"}}, 1, &original);
  ASSERT_TRUE(std::holds_alternative<store::TemplateRecord>(patched));
  EXPECT_EQ(std::get<store::TemplateRecord>(patched).name, "a");
  EXPECT_EQ(std::get<store::TemplateRecord>(patched).variables, (std::vector<std::string>{"y", "x"}));
}

TEST(CampaignRequest, ValidatesEveryField) {
  const std::int64_t now = 1'800'000'000'000;
  auto ok = ParseCampaignRequest({{"name", "promo"}, {"channel", "sms"}, {"base_template", "Hi {first_name}"}}, 1, now);
  ASSERT_TRUE(std::holds_alternative<store::CampaignRecord>(ok));
  EXPECT_EQ(std::get<store::CampaignRecord>(ok).status, "draft");
  auto scheduled = ParseCampaignRequest(
      {{"name", "p"}, {"channel", "email"}, {"template_id", 4}, {"scheduled_at", "2027-01-15T10:00:00Z"}}, 1, now);
  ASSERT_TRUE(std::holds_alternative<store::CampaignRecord>(scheduled));
  EXPECT_EQ(std::get<store::CampaignRecord>(scheduled).status, "scheduled");
  EXPECT_EQ(std::get<store::CampaignRecord>(scheduled).template_id, 4);

  auto field_of = [&](const json& body) {
    auto parsed = ParseCampaignRequest(body, 1, now);
    if (!std::holds_alternative<ApiError>(parsed)) return std::string("accepted");
    EXPECT_EQ(std::get<ApiError>(parsed).code, "VALIDATION_FAILED");
    const auto& message = std::get<ApiError>(parsed).message;
    return message.substr(0, message.find(':'));
  };
  EXPECT_EQ(field_of({{"channel", "sms"}, {"base_template", "x"}}), "name");
  EXPECT_EQ(field_of({{"name", "p"}, {"channel", "fax"}, {"base_template", "x"}}), "channel");
  EXPECT_EQ(field_of({{"name", "p"}, {"channel", "sms"}}), "base_template");
  EXPECT_EQ(field_of({{"name", "p"}, {"channel", "sms"}, {"base_template", "Hi {{first_name"}}), "base_template");
  EXPECT_EQ(field_of({{"name", "p"}, {"channel", "sms"}, {"base_template", "x"}, {"template_id", 2}}),
            "base_template, template_id");
  EXPECT_EQ(field_of({{"name", "p"}, {"channel", "sms"}, {"base_template", "x"}, {"scheduled_at", "tomorrow"}}),
            "scheduled_at");
  EXPECT_EQ(field_of({{"name", "p"}, {"channel", "sms"}, {"template_id", "4"}}), "template_id");
}

TEST(ContactRequest, AddressesAreNormalisedAndOneIsRequired) {
  auto parsed = ParseContact({{"phone", "+1 (555) 123-0001"},
                              {"email", "Ann@Example.ORG"},
                              {"first_name", "Ann"},
                              {"telegram_chat_id", 12345},
                              {"attributes", {{"vip", true}}}},
                             5);
  ASSERT_TRUE(std::holds_alternative<store::ContactRecord>(parsed)) << std::get<ApiError>(parsed).message;
  const auto& c = std::get<store::ContactRecord>(parsed);
  EXPECT_EQ(c.phone, "+15551230001");
  EXPECT_EQ(c.email, "Ann@example.org");
  EXPECT_EQ(c.telegram_chat_id, "12345");
  EXPECT_EQ(c.owner_id, 5);
  EXPECT_EQ(json::parse(c.attributes_json)["vip"], true);

  auto none = ParseContact({{"first_name", "Ann"}}, 5);
  ASSERT_TRUE(std::holds_alternative<ApiError>(none));
  EXPECT_NE(std::get<ApiError>(none).message.find("at least one address"), std::string::npos);
  auto bad_phone = ParseContact({{"phone", "0123"}}, 5);
  ASSERT_TRUE(std::holds_alternative<ApiError>(bad_phone));
  EXPECT_EQ(std::get<ApiError>(bad_phone).message.rfind("phone:", 0), 0u);
  auto bad_attributes = ParseContact({{"phone", "+15551230001"}, {"attributes", "x"}}, 5);
  ASSERT_TRUE(std::holds_alternative<ApiError>(bad_attributes));

  // PATCH: clearing the only address is refused; other fields stay.
  auto cleared = ParseContact({{"phone", nullptr}, {"email", nullptr}, {"telegram_chat_id", nullptr}}, 5, &c);
  EXPECT_TRUE(std::holds_alternative<ApiError>(cleared));
  auto renamed = ParseContact({{"last_name", "Lee"}}, 5, &c);
  ASSERT_TRUE(std::holds_alternative<store::ContactRecord>(renamed));
  EXPECT_EQ(std::get<store::ContactRecord>(renamed).first_name, "Ann");
  EXPECT_EQ(std::get<store::ContactRecord>(renamed).last_name, "Lee");
}

TEST(ContactsCsv, ValidRowsAreKeptAndBadRowsReportedByLine) {
  const std::string csv =
      "phone,First_Name,email,tier\n"
      "+15551230001,Ann,,gold\n"
      "0123,Bob,,\n"
      "\"+1 555 123 0003\",\"Lee, Jr\",cy@example.org,\n"
      ",NoAddress,,\n"
      "+15551230005,Too,many,fields,here\n";
  auto parsed = ParseContactsCsv(csv, 9);
  ASSERT_TRUE(std::holds_alternative<CsvImport>(parsed));
  const auto& import = std::get<CsvImport>(parsed);
  ASSERT_EQ(import.contacts.size(), 2u);
  EXPECT_EQ(import.contacts[0].first_name, "Ann");
  EXPECT_EQ(json::parse(import.contacts[0].attributes_json)["tier"], "gold");
  EXPECT_EQ(import.contacts[1].phone, "+15551230003");
  EXPECT_EQ(import.contacts[1].first_name, "Lee, Jr");
  EXPECT_EQ(import.contacts[1].owner_id, 9);
  ASSERT_EQ(import.rejected.size(), 3u);
  EXPECT_EQ(import.rejected[0].line, 3);
  EXPECT_EQ(import.rejected[0].message.rfind("phone:", 0), 0u);
  EXPECT_EQ(import.rejected[1].line, 5);
  EXPECT_EQ(import.rejected[2].line, 6);

  EXPECT_TRUE(std::holds_alternative<ApiError>(ParseContactsCsv("first_name,last_name\nAnn,Lee\n", 9)));
  EXPECT_TRUE(std::holds_alternative<ApiError>(ParseContactsCsv("", 9)));
}

// Bytes that are not UTF-8 are refused where they are, never stored: a stored
// one would break every later page of the contact list.
TEST(ContactsCsv, BytesThatAreNotUtf8RejectTheirLineOrTheHeader) {
  const std::string csv =
      "phone,first_name,nickname,\n"
      "+15551230001,Ann,\xff\xfe,\n"
      "+15551230002,B\xc3,ok,\n"
      "+15551230003,Cy,ok,\x80\n"
      "+15551230004,D\xc3\xa9,ok,\n";
  auto parsed = ParseContactsCsv(csv, 9);
  ASSERT_TRUE(std::holds_alternative<CsvImport>(parsed));
  const auto& import = std::get<CsvImport>(parsed);
  ASSERT_EQ(import.contacts.size(), 1u);
  EXPECT_EQ(import.contacts[0].first_name, "D\xc3\xa9");
  ASSERT_EQ(import.rejected.size(), 3u);
  EXPECT_EQ(import.rejected[0].line, 2);
  EXPECT_EQ(import.rejected[0].message, "nickname: is not UTF-8");
  EXPECT_EQ(import.rejected[1].line, 3);
  EXPECT_EQ(import.rejected[1].message, "first_name: is not UTF-8");
  EXPECT_EQ(import.rejected[2].line, 4);
  EXPECT_EQ(import.rejected[2].message, "column 4: is not UTF-8");

  const auto header = ParseContactsCsv("phone,n\xffme\n+15551230001,x\n", 9);
  ASSERT_TRUE(std::holds_alternative<ApiError>(header));
  EXPECT_EQ(std::get<ApiError>(header).message, "body: line 1, column 2 of the header row is not UTF-8");
}

}  // namespace
}  // namespace herald::api
