// What both e-mail job tests (seed 002's fast path from RabbitMQ and from
// Redis) share: the jobs they publish, the template those name, and the check
// that each job became one message, delivered once.
#pragma once

#include "tests/e2e/serve_fixture.hpp"

namespace herald::testing {

class EmailJobsFixture : public ServeE2E {
 protected:
  // A welcome e-mail for reader n, naming the template by name unless told otherwise.
  static json Job(int n, const json& template_id = "welcome_template") {
    return json{{"type", "welcome_email"},
                {"recipient_email", "reader" + std::to_string(n) + "@example.org"},
                {"template_id", template_id},
                {"template_data", {{"user_name", "Reader " + std::to_string(n)}}},
                {"priority", 1}};
  }

  // The owner's template the jobs name; returns the id of the key `admin` is.
  std::int64_t CreateWelcomeTemplate(const std::string& admin) {
    CallJson("POST", "/api/v1/templates", admin,
             {{"name", "welcome_template"},
              {"channel", "email"},
              {"subject", "Welcome, {{user_name}}"},
              {"text", "Hello {{user_name}}, your booking account is ready."}},
             201);
    return CallJson("GET", "/api/v1/keys", admin, nullptr, 200)["data"][0]["id"].get<std::int64_t>();
  }

  std::int64_t Count(const std::string& key, const std::string& query) {
    return CallJson("GET", "/api/v1/messages?" + query, key, nullptr, 200)["pagination"]["total_count"].get<std::int64_t>();
  }

  static int FilesIn(const std::string& outbox) {
    if (!fs::exists(outbox)) return 0;
    int files = 0;
    for (const auto& entry : fs::recursive_directory_iterator(outbox)) files += entry.is_regular_file() ? 1 : 0;
    return files;
  }

  // Once every job's message is final: one message per job, at most the sends in
  // flight at the kill unknown, one .eml per sent message, rendered from the template.
  void ExpectOneMessagePerJob(const std::string& admin, int jobs, const std::string& outbox) {
    EXPECT_EQ(Count(admin, "channel=email"), jobs) << "one message per job, whatever was delivered twice";
    EXPECT_LE(Count(admin, "status=unknown"), 16) << "at most the sends in flight when the process was killed";
    EXPECT_LE(FilesIn(outbox), jobs);
    EXPECT_GE(FilesIn(outbox), Count(admin, "status=sent"));
    const auto page = CallJson("GET", "/api/v1/messages?page_size=1", admin, nullptr, 200);
    const auto message = CallJson("GET", "/api/v1/messages/" + page["data"][0]["id"].dump(), admin, nullptr, 200);
    EXPECT_NE(message.value("subject", "").find("Welcome, Reader"), std::string::npos) << message.dump();
  }
};

}  // namespace herald::testing
