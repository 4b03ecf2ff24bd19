// Personalisation of campaign and template messages.
#include "app/campaign_content.hpp"

#include <gtest/gtest.h>

namespace herald::app {
namespace {

store::ContactRecord Ann() {
  store::ContactRecord c;
  c.id = 7;
  c.phone = "+15551230001";
  c.first_name = "Ann";
  c.location = "Nairobi";
  c.attributes_json = R"({"Tier":"gold","points":42,"gone":null})";
  return c;
}

std::string Render(const std::string& text, const store::ContactRecord& contact) {
  auto prepared = PrepareContent(text, false, "", "base_template");
  EXPECT_TRUE(std::holds_alternative<CampaignContent>(prepared));
  const auto& content = std::get<CampaignContent>(prepared);
  return RenderForContact(content.body, contact, content.escaping);
}

TEST(Personalisation, BothPlaceholderStylesNameTheSameField) {
  EXPECT_EQ(Render("Hi {first_name}, {{first_name}}, {{ first_name }}, {{.first_name}}!", Ann()),
            "Hi Ann, Ann, Ann, Ann!");
  EXPECT_EQ(Render("{FIRST_NAME} in {location}", Ann()), "Ann in Nairobi");
}

TEST(Personalisation, MissingAndNullFieldsRenderAsEmptyTextNeverAsPlaceholders) {
  const auto out = Render("Hi {first_name} {last_name}, try {preferred_product}{{nothing}}{gone}.", Ann());
  EXPECT_EQ(out, "Hi Ann , try .");
  EXPECT_EQ(out.find('{'), std::string::npos);
}

TEST(Personalisation, AttributesAndIdAreFieldsToo) {
  EXPECT_EQ(Render("{tier} {points} #{id}", Ann()), "gold 42 #7");
  EXPECT_EQ(Render("no placeholders { here", Ann()), "no placeholders { here");
}

TEST(Personalisation, HtmlTakesOnlyDoubleBracesAndEscapesValues) {
  auto contact = Ann();
  contact.first_name = "<Ann & Bo>";
  auto prepared = PrepareContent("<style>p {color: red}</style><p>{{first_name}}</p>", true, "", "html");
  ASSERT_TRUE(std::holds_alternative<CampaignContent>(prepared));
  const auto& content = std::get<CampaignContent>(prepared);
  EXPECT_EQ(RenderForContact(content.body, contact, content.escaping),
            "<style>p {color: red}</style><p>&lt;Ann &amp; Bo&gt;</p>");
}

TEST(Personalisation, AContactHasAnAddressPerChannel) {
  auto contact = Ann();
  EXPECT_EQ(AddressFor(contact, "sms"), "+15551230001");
  EXPECT_EQ(AddressFor(contact, "whatsapp"), "+15551230001");
  EXPECT_FALSE(AddressFor(contact, "email"));
  EXPECT_FALSE(AddressFor(contact, "telegram"));
}

}  // namespace
}  // namespace herald::app
