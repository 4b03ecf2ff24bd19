// The plain-text reading of an HTML body: for an e-mail's text part, and for
// SMS and chat channels, when a template has only HTML.
#pragma once

#include <string>
#include <string_view>

namespace herald::templating {

// Tags are dropped (script and style with their content); <br> and the ends of
// block elements (p, div, li, tr, headings, tables, lists) become line breaks;
// other whitespace collapses to one space as a browser shows it; at most one
// blank line in a row; character references (&amp; &#233; &#xE9; &nbsp; ...)
// are decoded. Malformed markup is kept as text rather than lost.
std::string PlainTextFromHtml(std::string_view html);

}  // namespace herald::templating
