#include "certificates/certificate_composer.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "tests/support/process.hpp"

namespace herald::certificates {
namespace {

templating::Template Parse(const std::string& text) { return templating::Template::Parse(text, "t").value(); }

TEST(CertificateComposer, AttachesThePdfItRenderedWithEscapedValues) {
  ManualClock clock;
  InProcessPdfRenderer renderer;
  CertificateComposer composer({Parse("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"300\" height=\"100\">"
                                      "<text x=\"10\" y=\"50\" font-family=\"DejaVu Sans\">{{student_name}}</text></svg>"),
                                Parse("Certificate: {{event_name}}"), Parse("Dear {{student_name}}")},
                               mime::Mailbox{"Events", "events@example.org"}, renderer, clock);
  ASSERT_TRUE(composer.CheckTemplate());
  store::CertificateDelivery row;
  row.id = "0123456789abcdef01234567";
  row.certificate_id = "0123-4567-89AB";
  row.event_name = "Go";
  row.student_name = "Tom & \"Jerry\"";
  row.email = "tom@example.org";
  row.variables_json = nlohmann::json{{"student_name", "<b>Tom & \"Jerry\"</b>"}, {"event_name", "Go"}}.dump();
  const auto composed = composer.Compose(row);
  ASSERT_TRUE(composed) << composed.error().message;
  EXPECT_EQ(composed->pdf_file_name, "tom-jerry-0123-4567-89AB.pdf");
  EXPECT_EQ(composed->email.to, "tom@example.org");
  EXPECT_TRUE(composed->email.recipients.empty());  // RCPT TO is `to`
  EXPECT_EQ(composed->email.envelope_from, "events@example.org");
  EXPECT_EQ(composed->email.message_id, "0123456789abcdef01234567@example.org");

  herald::testing::TempDir dir;
  herald::testing::WriteFile(dir.path() + "/c.pdf", composed->pdf);
  const auto text = herald::testing::RunCommand({"pdftotext", dir.path() + "/c.pdf", "-"}, std::chrono::seconds(30));
  EXPECT_NE(text.output.find("<b>Tom & \"Jerry\"</b>"), std::string::npos) << text.output;

  herald::testing::WriteFile(dir.path() + "/m.eml", composed->email.mime);
  const auto inspected = herald::testing::RunCommand(
      {HERALD_PYTHON, std::string(HERALD_SOURCE_DIR) + "/tests/support/mail_inspect.py", dir.path() + "/m.eml"},
      std::chrono::seconds(30));
  const auto message = nlohmann::json::parse(inspected.output).at(0);
  EXPECT_EQ(message["subject"], "Certificate: Go");
  ASSERT_EQ(message["attachments"].size(), 1u);
  EXPECT_EQ(message["attachments"][0]["size"], composed->pdf.size());
}

TEST(CertificateComposer, BrokenTemplateFailsTheCheck) {
  ManualClock clock;
  InProcessPdfRenderer renderer;
  CertificateComposer composer({Parse("<svg><text>{{student_name}}</svg>"), Parse("s"), Parse("b")},
                               mime::Mailbox{"", "e@example.org"}, renderer, clock);
  EXPECT_FALSE(composer.CheckTemplate());
}

TEST(CertificateComposer, AHeaderValueThatWouldSplitALineIsRefusedBeforeRendering) {
  ManualClock clock;
  InProcessPdfRenderer renderer;
  CertificateComposer composer({Parse("<svg/>"), Parse("Certificate for {{track}}"), Parse("b")},
                               mime::Mailbox{"", "e@example.org"}, renderer, clock);
  store::CertificateDelivery row;
  row.student_name = "Ada";
  row.email = "ada@example.org";
  row.variables_json = nlohmann::json{{"track", "Go"}}.dump();
  EXPECT_TRUE(composer.CheckHeaders(row));
  row.variables_json = nlohmann::json{{"track", "Go\r\nBcc: all@example.org"}}.dump();
  const auto subject = composer.CheckHeaders(row);
  ASSERT_FALSE(subject);
  EXPECT_EQ(subject.error().message.rfind("subject:", 0), 0u) << subject.error().message;
  row.variables_json = "{}";
  row.student_name = std::string("Ada\0Lovelace", 12);
  const auto name = composer.CheckHeaders(row);
  ASSERT_FALSE(name);
  EXPECT_EQ(name.error().message.rfind("student_name:", 0), 0u) << name.error().message;
}

}  // namespace
}  // namespace herald::certificates
