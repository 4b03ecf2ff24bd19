#include "channels/http/http_outcome.hpp"

#include <gtest/gtest.h>

#include <stdexcept>

namespace herald::channels::http {
namespace {

TEST(FormEncode, EscapesAsHtmlFormsDoAndKeepsTheOrder) {
  EXPECT_EQ(FormEncode({{"To", "+15005550006"}, {"Body", "Hi Ana & co: 100% = done/ok?"}, {"Empty", ""}}),
            "To=%2B15005550006&Body=Hi+Ana+%26+co%3A+100%25+%3D+done%2Fok%3F&Empty=");
  // UTF-8 goes byte by byte.
  EXPECT_EQ(FormEncode({{"Body", "Gr\xC3\xBC\xC3\x9F"
                                 "e"}}),
            "Body=Gr%C3%BC%C3%9Fe");
  EXPECT_EQ(FormEncode({{"a-b_c.d~", "x"}}), "a-b_c.d~=x");
}

TEST(BasicAuthorization, IsTheRfc7617Example) {
  EXPECT_EQ(BasicAuthorization("Aladdin", "open sesame"), "Authorization: Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
}

TEST(DescribeHttpUrl, KeepsNoCredentialAndNamesTheSetting) {
  EXPECT_EQ(DescribeHttpUrl("https://user:pw@api.example.com:8443/v1/send?token=t", "x.url"),
            "https://api.example.com:8443/v1/send");
  try {
    DescribeHttpUrl("ftp://secret@host/", "twilio.base_url");
    FAIL() << "an ftp URL was accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("twilio.base_url must start with http:// or https://"), std::string::npos)
        << e.what();
    EXPECT_EQ(std::string(e.what()).find("secret"), std::string::npos) << e.what();
  }
  EXPECT_THROW(DescribeHttpUrl("not a url", "x"), std::invalid_argument);
}

TEST(Excerpt, IsOneLineOfValidUtf8) {
  EXPECT_EQ(Excerpt("bad\x07line\r\nnext \xFF end  "), "bad line  next ? end");
  EXPECT_EQ(Excerpt(std::string(300, 'a'), 10), std::string(10, 'a') + "...");
}

TEST(NoAnswerOutcome, IsUnknownOnlyOnceTheWholeRequestLeft) {
  HttpResponse response;
  response.error = "Operation timed out";
  response.resolved_and_connected = true;
  response.uploaded = 120;
  EXPECT_EQ(NoAnswerOutcome(response, 120, "p").kind, domain::OutcomeKind::kUnknown);
  EXPECT_EQ(NoAnswerOutcome(response, 121, "p").kind, domain::OutcomeKind::kTransient);
  response.resolved_and_connected = false;
  EXPECT_EQ(NoAnswerOutcome(response, 120, "p").kind, domain::OutcomeKind::kTransient);
}

}  // namespace
}  // namespace herald::channels::http
