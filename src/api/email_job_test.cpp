#include "api/email_job.hpp"

#include <gtest/gtest.h>

namespace herald::api {
namespace {

constexpr std::int64_t kNow = 1'764'547'200'000;  // 2025-12-01T00:00:00Z

store::TemplateRecord Welcome() {
  store::TemplateRecord t;
  t.id = 7;
  t.owner_id = 3;
  t.name = "welcome_template";
  t.subject = "Welcome, {{user_name}}";
  t.text = "Hello {{user_name}}, welcome aboard.";
  t.html = "<p>Hello {{user_name}}</p>";
  return t;
}

TemplateLookup Templates() {
  return [](std::int64_t id) -> std::optional<store::TemplateRecord> {
    if (id == 7) return Welcome();
    return std::nullopt;
  };
}

TemplateNameLookup Names() {
  return [](const std::string& name) -> std::optional<std::int64_t> {
    if (name == "welcome_template") return 7;
    return std::nullopt;
  };
}

std::variant<EmailJob, ApiError> Parse(const std::string& body, const std::string& broker_id = "") {
  return ParseEmailJob(body, 3, kNow, broker_id, Templates(), Names());
}

TEST(EmailJobTest, TheSeedsJobBecomesARenderedEmailMessage) {
  const auto job = Parse(R"({"type": "welcome_email", "recipient_email": "User@Example.org",
      "template_id": "welcome_template", "template_data": {"user_name": "John Doe"}, "priority": 1})");
  ASSERT_TRUE(std::holds_alternative<EmailJob>(job)) << std::get<ApiError>(job).message;
  const auto& parsed = std::get<EmailJob>(job);
  EXPECT_EQ(parsed.type, "welcome_email");
  EXPECT_EQ(parsed.message.owner_id, 3);
  ASSERT_EQ(parsed.message.recipients.size(), 1u);
  EXPECT_EQ(parsed.message.recipients[0].channel, "email");
  EXPECT_EQ(parsed.message.subject, "Welcome, John Doe");
  EXPECT_EQ(parsed.message.content, "Hello John Doe, welcome aboard.");
  EXPECT_EQ(parsed.message.html, "<p>Hello John Doe</p>");
  EXPECT_EQ(parsed.message.priority, 1);
  EXPECT_TRUE(parsed.message.idempotency_key.empty());
}

TEST(EmailJobTest, SchedulingAndIdempotencyCarryOverAndTheBrokersIdKeysAJobWithoutOne) {
  const auto scheduled = Parse(R"({"type": "reminder", "recipient_email": "ann@example.org", "template_id": 7,
      "template_data": {"user_name": "Ann"}, "scheduled_at": "2025-12-24T09:00:00Z", "idempotency_key": "remind-ann"})",
                               "amqp-1");
  ASSERT_TRUE(std::holds_alternative<EmailJob>(scheduled)) << std::get<ApiError>(scheduled).message;
  const auto& message = std::get<EmailJob>(scheduled).message;
  ASSERT_TRUE(message.scheduled_at_ms);
  EXPECT_GT(*message.scheduled_at_ms, kNow);
  EXPECT_EQ(message.idempotency_key, "remind-ann") << "the job's own key wins";

  const auto keyed = Parse(R"({"type": "t", "recipient_email": "ann@example.org", "template_id": 7})", "amqp-1");
  ASSERT_TRUE(std::holds_alternative<EmailJob>(keyed)) << std::get<ApiError>(keyed).message;
  EXPECT_EQ(std::get<EmailJob>(keyed).message.idempotency_key, "email-job:amqp-1");
}

TEST(EmailJobTest, EveryRefusalNamesTheJobsField) {
  for (const auto& [body, field] : std::vector<std::pair<std::string, std::string>>{
           {"not json", "INVALID_JSON"},
           {"[1]", "JSON object"},
           {R"({"recipient_email": "a@example.org", "template_id": 7})", "type:"},
           {R"({"type": "t", "template_id": 7})", "recipient_email:"},
           {R"({"type": "t", "recipient_email": "not an address", "template_id": 7})", "recipient_email"},
           {R"({"type": "t", "recipient_email": "a@example.org"})", "template_id:"},
           {R"({"type": "t", "recipient_email": "a@example.org", "template_id": "missing"})", "no template is named \"missing\""},
           {R"({"type": "t", "recipient_email": "a@example.org", "template_id": 99})", "template 99"},
           {R"({"type": "t", "recipient_email": "a@example.org", "template_id": 7, "template_data": [1]})", "template_data:"},
           {R"({"type": "t", "recipient_email": "a@example.org", "template_id": 7, "priority": "urgent"})", "priority:"},
           {R"({"type": "t", "recipient_email": "a@example.org", "template_id": 7, "scheduled_at": "tomorrow"})", "scheduled_at:"},
           {R"({"type": "t", "recipient_email": "a@example.org", "template_id": 7, "recipient": "x"})", "recipient: is not a field"}}) {
    const auto job = Parse(body);
    ASSERT_TRUE(std::holds_alternative<ApiError>(job)) << body;
    const auto& error = std::get<ApiError>(job);
    EXPECT_NE((error.code + " " + error.message).find(field), std::string::npos) << body << " -> " << error.message;
  }
}

}  // namespace
}  // namespace herald::api
