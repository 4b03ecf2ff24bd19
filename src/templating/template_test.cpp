#include "templating/template.hpp"

#include <gtest/gtest.h>

#include <map>

namespace herald::templating {
namespace {

Template::Lookup From(const std::map<std::string, std::string>& values) {
  return [&values](std::string_view name) -> std::optional<std::string_view> {
    auto it = values.find(std::string(name));
    if (it == values.end()) return std::nullopt;
    return std::string_view(it->second);
  };
}

TEST(Template, RendersPlaceholdersWithInnerSpacesAndAnyCase) {
  auto tpl = Template::Parse("Hello {{ Student_Name }}, welcome to {{event_name}}!", "t");
  ASSERT_TRUE(tpl);
  EXPECT_EQ(tpl->Placeholders(), (std::vector<std::string>{"student_name", "event_name"}));
  const std::map<std::string, std::string> values{{"student_name", "Ada"}, {"event_name", "Go Day"}};
  EXPECT_EQ(tpl->Render(From(values), Escaping::kNone), "Hello Ada, welcome to Go Day!");
}

TEST(Template, XmlEscapingPrintsMarkupLiterally) {
  auto tpl = Template::Parse("<text>{{name}}</text>", "t");
  const std::map<std::string, std::string> values{{"name", "<b>Tom & \"Jerry\"</b>'"}};
  EXPECT_EQ(tpl->Render(From(values), Escaping::kXml),
            "<text>&lt;b&gt;Tom &amp; &quot;Jerry&quot;&lt;/b&gt;&apos;</text>");
  EXPECT_EQ(tpl->Render(From(values), Escaping::kNone), "<text><b>Tom & \"Jerry\"</b>'</text>");
}

TEST(Template, XmlEscapingDropsControlCharactersThatWouldBreakTheSvg) {
  auto tpl = Template::Parse("{{v}}", "t");
  const std::map<std::string, std::string> values{{"v", std::string("a\x01\x1b" "b\tc")}};
  EXPECT_EQ(tpl->Render(From(values), Escaping::kXml), "ab\tc");
}

TEST(Template, MissingValuesRenderEmptyAndAreListed) {
  auto tpl = Template::Parse("[{{a}}|{{b}}|{{a}}]", "t");
  const std::map<std::string, std::string> values{{"a", "x"}};
  EXPECT_EQ(tpl->Render(From(values), Escaping::kNone), "[x||x]");
  const auto missing = tpl->MissingFrom([&](std::string_view n) { return values.contains(std::string(n)); });
  EXPECT_EQ(missing, (std::vector<std::string>{"b"}));
}

TEST(Template, UnterminatedPlaceholderIsAnErrorWithLineAndColumn) {
  auto tpl = Template::Parse("line one\nHi {{ student_name", "cert.svg");
  ASSERT_FALSE(tpl);
  EXPECT_EQ(tpl.error().code, "template.syntax");
  EXPECT_NE(tpl.error().message.find("cert.svg:2:4"), std::string::npos) << tpl.error().message;
}

TEST(Template, SingleBraceFormOnlyWhenAsked) {
  const std::map<std::string, std::string> values{{"first_name", "Ada"}};
  auto plain = Template::Parse("Hi {first_name} {{first_name}}", "t");
  EXPECT_EQ(plain->Render(From(values), Escaping::kNone), "Hi {first_name} Ada");
  auto single = Template::Parse("Hi {first_name} {{first_name}} {not valid} {", "t", {.single_brace = true});
  ASSERT_TRUE(single);
  EXPECT_EQ(single->Render(From(values), Escaping::kNone), "Hi Ada Ada {not valid} {");
}

TEST(Template, CssBracesInSvgAreLiteralText) {
  auto tpl = Template::Parse("<style>.a { fill: red; }</style>{{x}}", "t");
  ASSERT_TRUE(tpl);
  const std::map<std::string, std::string> values{{"x", "1"}};
  EXPECT_EQ(tpl->Render(From(values), Escaping::kXml), "<style>.a { fill: red; }</style>1");
}

}  // namespace
}  // namespace herald::templating
