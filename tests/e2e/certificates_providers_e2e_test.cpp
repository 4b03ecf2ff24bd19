// `herald certificates` through the HTTP e-mail providers: SendGrid (fields,
// the PDF as a base64 attachment) and SES (raw MIME, signed), against
// tests/support/provider_server.py on loopback.
#include "tests/e2e/certificates_fixture.hpp"
#include "tests/support/fake_http_server.hpp"

namespace herald::testing {
namespace {

class CertificatesProvidersE2E : public CertificatesE2E {
 protected:
  // Saved PDF file name -> its bytes in base64, for every PDF under --out.
  std::map<std::string, std::string> SavedPdfs() const {
    std::map<std::string, std::string> out;
    for (const auto& entry : fs::recursive_directory_iterator(out_dir())) {
      if (entry.path().extension() != ".pdf") continue;
      auto encoded = RunCommand({"base64", "-w0", entry.path().string()}, seconds(10)).output;
      out[entry.path().filename().string()] = std::move(encoded);
    }
    return out;
  }

  FakeHttpServer providers_{"provider_server.py", dir_.path(),
                            {"--sendgrid-key", "SG.cert-key", "--ses-key-id", "AKIACERT", "--ses-secret",
                             "cert-secret", "--ses-region", "eu-west-1"}};
};

TEST_F(CertificatesProvidersE2E, EachCertificateGoesToSendGridWithItsSavedPdfAttached) {
  WriteStudents(3);
  const auto run = Run({"--json"}, {{"HERALD_CHANNELS_EMAIL_PROVIDERS", "sendgrid"},
                                    {"HERALD_SENDGRID_BASE_URL", providers_.Url("")},
                                    {"HERALD_SENDGRID_API_KEY", "SG.cert-key"}});
  ASSERT_EQ(run.exit_code, 0) << run.output << run.errors;
  EXPECT_EQ(json::parse(run.output)["sent_this_run"], 6);
  const auto saved = SavedPdfs();
  ASSERT_EQ(saved.size(), 6u);
  std::set<std::string> recipients;
  for (const auto& request : providers_.Requests()) {
    const auto& body = request["body"];
    ASSERT_EQ(body["personalizations"].size(), 1u) << "personalised certificates never share a request";
    recipients.insert(body["personalizations"][0]["to"][0]["email"].get<std::string>());
    EXPECT_EQ(body["from"]["email"], "events@example.org");
    const auto& attachment = body["attachments"][0];
    EXPECT_EQ(attachment["type"], "application/pdf");
    const std::string name = attachment["filename"];
    ASSERT_TRUE(saved.count(name)) << name;
    EXPECT_EQ(attachment["content"], saved.at(name)) << name << " differs from the saved PDF";
  }
  EXPECT_EQ(recipients, expected_);
  EXPECT_EQ(run.errors.find("SG.cert-key"), std::string::npos);
}

TEST_F(CertificatesProvidersE2E, EachCertificateGoesToSesAsSignedRawMimeWithThePdf) {
  WriteStudents(2);
  const auto run = Run({"--json"}, {{"HERALD_CHANNELS_EMAIL_PROVIDERS", "ses"},
                                    {"HERALD_SES_BASE_URL", providers_.Url("")},
                                    {"HERALD_SES_REGION", "eu-west-1"},
                                    {"HERALD_SES_ACCESS_KEY_ID", "AKIACERT"},
                                    {"HERALD_SES_SECRET_ACCESS_KEY", "cert-secret"}});
  ASSERT_EQ(run.exit_code, 0) << run.output << run.errors;
  EXPECT_EQ(json::parse(run.output)["sent_this_run"], 4);
  const auto requests = providers_.Requests();
  ASSERT_EQ(requests.size(), 4u);
  for (const auto& request : requests) {
    EXPECT_EQ(request["answer"]["status"], 200) << request["answer"].dump();
    const std::string raw = request["raw"];
    EXPECT_NE(raw.find("Content-Type: application/pdf"), std::string::npos) << raw.substr(0, 600);
    EXPECT_NE(raw.find("From: Events <events@example.org>"), std::string::npos);
  }
}

}  // namespace
}  // namespace herald::testing
