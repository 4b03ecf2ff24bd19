#include "certificates/certificate_job.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace herald::certificates {
namespace {

CertificateJob SampleJob() {
  return {.svg = "<svg>{{student_name}}</svg>",
          .svg_source = "/srv/template.svg",
          .subject = "Your certificate: {{event_name}}",
          .body = "Dear {{student_name}}",
          .body_source = "built-in body",
          .from = "Events <events@example.org>",
          .out_dir = "/srv/certificates"};
}

TEST(CertificateJob, RoundTripsThroughItsJson) {
  const auto parsed = ParseCertificateJob(ToJson(SampleJob()));
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_EQ(parsed->svg, "<svg>{{student_name}}</svg>");
  EXPECT_EQ(parsed->svg_source, "/srv/template.svg");
  EXPECT_EQ(parsed->subject, "Your certificate: {{event_name}}");
  EXPECT_EQ(parsed->body, "Dear {{student_name}}");
  EXPECT_EQ(parsed->from, "Events <events@example.org>");
  EXPECT_EQ(parsed->out_dir, "/srv/certificates");

  const auto compiled = Compile(*parsed);
  ASSERT_TRUE(compiled) << compiled.error().message;
  EXPECT_EQ(compiled->from.address, "events@example.org");
  EXPECT_EQ(compiled->templates.svg.Placeholders(), std::vector<std::string>{"student_name"});
}

TEST(CertificateJob, ABrokenJobIsRefusedNamingWhatIsWrong) {
  EXPECT_NE(ParseCertificateJob("[1]").error().message.find("not a JSON object"), std::string::npos);
  auto json = nlohmann::json::parse(ToJson(SampleJob()));
  json.erase("subject");
  EXPECT_NE(ParseCertificateJob(json.dump()).error().message.find("\"subject\""), std::string::npos);
  json = nlohmann::json::parse(ToJson(SampleJob()));
  json["out_dir"] = "relative/folder";
  EXPECT_NE(ParseCertificateJob(json.dump()).error().message.find("not an absolute path"), std::string::npos);

  auto job = SampleJob();
  job.svg = "<svg>{{student_name</svg>";
  const auto broken = Compile(job);
  ASSERT_FALSE(broken);
  EXPECT_NE(broken.error().message.find("/srv/template.svg"), std::string::npos) << broken.error().message;
  job = SampleJob();
  job.from = "not a mailbox";
  EXPECT_FALSE(Compile(job));
}

}  // namespace
}  // namespace herald::certificates
