#include "templating/html_text.hpp"

#include <gtest/gtest.h>

namespace herald::templating {
namespace {

TEST(PlainTextFromHtml, DropsTagsAndBreaksLinesAtBlocks) {
  EXPECT_EQ(PlainTextFromHtml("<h1>Welcome</h1><p>Hello <b>Ann</b>,</p><p>your code:<br>1234</p>"),
            "Welcome\nHello Ann,\nyour code:\n1234");
  EXPECT_EQ(PlainTextFromHtml("<ul><li>one</li><li>two</li></ul>after"), "one\ntwo\nafter");
}

TEST(PlainTextFromHtml, CollapsesSourceWhitespaceAsABrowserDoes) {
  EXPECT_EQ(PlainTextFromHtml("  <p>\n  Dear   Ann,\n\tthanks  </p>\n\n\n<p>Bye</p>  "), "Dear Ann, thanks\nBye");
  EXPECT_EQ(PlainTextFromHtml("a<br><br><br><br>b"), "a\n\nb");
}

TEST(PlainTextFromHtml, LeavesOutHeadScriptStyleAndComments) {
  EXPECT_EQ(PlainTextFromHtml("<!DOCTYPE html><html><head><title>T</title><style>p{color:red}</style></head>"
                              "<body><!-- hidden --><p>Shown</p><SCRIPT>alert(1)</SCRIPT></body></html>"),
            "Shown");
}

TEST(PlainTextFromHtml, DecodesCharacterReferences) {
  EXPECT_EQ(PlainTextFromHtml("Fish &amp; chips &lt;3 &quot;caf&#233;&quot; &#x263A;&nbsp;ok"),
            "Fish & chips <3 \"caf\xC3\xA9\" \xE2\x98\xBA ok");
  EXPECT_EQ(PlainTextFromHtml("AT&T &unknown; &#xZZ; & done"), "AT&T &unknown; &#xZZ; & done");
}

TEST(PlainTextFromHtml, BreaksAtOpeningBlocksAndSeparatesTableCells) {
  EXPECT_EQ(PlainTextFromHtml("Hi<p>Ann"), "Hi\nAnn");
  EXPECT_EQ(PlainTextFromHtml("<table><tr><td>Code</td><td>1234</td></tr><tr><td>Due</td><td>Mon</td></tr></table>"),
            "Code 1234\nDue Mon");
}

// Hostile templates (they are user input) must cost one pass, not one pass per
// tag or per "&": these inputs took minutes when each tag copied the rest of the
// document or each "&" searched to its end for a ";".
TEST(PlainTextFromHtml, HostileMarkupTakesOnePass) {
  std::string styles = "<p>kept</p>";
  for (int i = 0; i < 200000; ++i) styles += "<STYLE>x</Style>";
  styles += "<script>never closed";
  EXPECT_EQ(PlainTextFromHtml(styles), "kept");
  const std::string ampersands(1 << 20, '&');
  EXPECT_EQ(PlainTextFromHtml(ampersands), ampersands);
}

TEST(PlainTextFromHtml, KeepsMalformedMarkupAsText) {
  EXPECT_EQ(PlainTextFromHtml("1 < 2 and 3"), "1 < 2 and 3");
  EXPECT_EQ(PlainTextFromHtml("I <3 you, price > 5 <b>now</b>"), "I <3 you, price > 5 now");
  EXPECT_EQ(PlainTextFromHtml(""), "");
}

}  // namespace
}  // namespace herald::templating
