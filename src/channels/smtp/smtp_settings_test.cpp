#include "channels/smtp/smtp_settings.hpp"

#include <gtest/gtest.h>

namespace herald::channels::smtp {
namespace {

TEST(SmtpUrl, FullFormWithCredentialsPortAndOptions) {
  auto s = ParseSmtpUrl("smtp://user%40corp:p%3Ass@mail.example.org:587?starttls=required&verify=false&ca=/etc/ca.pem");
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_EQ(s->host, "mail.example.org");
  EXPECT_EQ(s->port, 587);
  EXPECT_EQ(s->username, "user@corp");
  EXPECT_EQ(s->password, "p:ss");
  EXPECT_EQ(s->tls, TlsMode::kRequired);
  EXPECT_FALSE(s->verify_peer);
  EXPECT_EQ(s->ca_file, "/etc/ca.pem");
  EXPECT_EQ(s->Describe(), "smtp://mail.example.org:587");  // no credentials in logs
}

TEST(SmtpUrl, Defaults) {
  auto plain = ParseSmtpUrl("smtp://localhost");
  ASSERT_TRUE(plain);
  EXPECT_EQ(plain->port, 25);
  EXPECT_EQ(plain->tls, TlsMode::kOpportunistic);
  auto implicit = ParseSmtpUrl("smtps://relay.example.org");
  ASSERT_TRUE(implicit);
  EXPECT_EQ(implicit->port, 465);
  EXPECT_EQ(implicit->tls, TlsMode::kImplicit);
  EXPECT_EQ(ParseSmtpUrl("smtp://h:2525?starttls=off")->tls, TlsMode::kNone);
}

TEST(SmtpUrl, ErrorsNameTheBadPart) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"http://x", "smtp://"},
      {"smtp://", "no host"},
      {"smtp://h:99999", "port"},
      {"smtp://h:abc", "port"},
      {"smtp://h?starttls=maybe", "starttls"},
      {"smtp://h?colour=blue", "colour"},
      {"smtp://u:%zz@h", "percent"},
  };
  for (const auto& [url, needle] : cases) {
    auto s = ParseSmtpUrl(url);
    ASSERT_FALSE(s) << url;
    EXPECT_NE(s.error().message.find(needle), std::string::npos) << url << ": " << s.error().message;
  }
}

}  // namespace
}  // namespace herald::channels::smtp
